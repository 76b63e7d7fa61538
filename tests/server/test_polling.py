"""The shared long-poll helper, driven by a fake clock against the ConceptViz simulator."""

from __future__ import annotations

import email.utils
import itertools

import anyio
import httpx2
import pytest

from providers import PROVIDERS
from providers.conceptviz.simulator import ConceptVizSimulator
from server.app import Runtime
from server.callers import LOCAL
from server.config import Settings
from tests.harness.clock import FakeClock

pytestmark = pytest.mark.anyio

GENERATE = "POST /api/v1/generate"
TASK = "GET /api/v1/task/"


def _provider_and_op(runtime: Runtime, op: str = "generate"):  # type: ignore[no-untyped-def]
    provider = runtime.providers["conceptviz"]
    operation = next(o for o in provider.operations() if o.name == op)
    return provider, operation


async def _generate(runtime: Runtime, wait: float, progress=None, **args: object):  # type: ignore[no-untyped-def]
    provider, operation = _provider_and_op(runtime)
    parsed = operation.input_model.model_validate({"prompt": "water cycle", **args})
    return await runtime.calls.run(provider, operation, parsed, wait=wait, progress=progress, caller=LOCAL)


async def test_budget_that_runs_out_returns_handle_not_error(
    runtime: Runtime, simulator: ConceptVizSimulator, clock: FakeClock
) -> None:
    started = clock.now()
    result = await _generate(runtime, wait=10)

    assert result.status == "running"
    assert result.error is None
    assert result.job is not None
    assert result.job.startswith("conceptviz:")
    assert result.next is not None
    assert result.job in result.next
    assert clock.now() - started == pytest.approx(10, abs=0.01)
    assert simulator.requests.count(GENERATE) == 1


async def test_polls_at_the_hinted_interval_and_reports_progress_at_each_poll(
    runtime: Runtime, simulator: ConceptVizSimulator, clock: FakeClock
) -> None:
    reports: list[tuple[float, float | None, str]] = []

    async def progress(value: float, total: float | None, message: str) -> None:
        reports.append((value, total, message))

    result = await _generate(runtime, wait=55, progress=progress)

    assert result.status == "completed"
    polls = simulator.requests.count(TASK, prefix=True)
    assert len(reports) == polls
    # 40 s job, ~4 s hint with ±10 % jitter: about ten polls, never a burst.
    assert 9 <= polls <= 12
    assert all(3.5 <= s <= 4.5 for s in clock.sleeps)
    assert [v for v, _, _ in reports] == sorted(v for v, _, _ in reports)
    assert reports[0][2].startswith("conceptviz generate: ")


async def test_retry_after_in_seconds_is_honoured_on_a_poll(
    runtime: Runtime, simulator: ConceptVizSimulator, clock: FakeClock
) -> None:
    simulator.faults.add("GET", "/api/v1/task/", status=429, body={"error": "slow down"}, headers={"Retry-After": "7"})

    result = await _generate(runtime, wait=55)

    assert result.status == "completed"
    assert 7.0 in clock.sleeps


async def test_retry_after_as_http_date_is_honoured(
    runtime: Runtime, simulator: ConceptVizSimulator, clock: FakeClock
) -> None:
    # The upstream client reads HTTP dates against real time, so the date is set from it.
    import time

    when = email.utils.formatdate(time.time() + 12, usegmt=True)
    simulator.faults.add("GET", "/api/v1/task/", status=503, headers={"Retry-After": when})

    result = await _generate(runtime, wait=55)

    assert result.status == "completed"
    assert any(10.0 <= s <= 12.5 for s in clock.sleeps)


async def test_a_5xx_on_a_poll_is_retried(runtime: Runtime, simulator: ConceptVizSimulator) -> None:
    simulator.faults.add("GET", "/api/v1/task/", status=502, body="<html>Bad gateway</html>", times=2)

    result = await _generate(runtime, wait=55)

    assert result.status == "completed"
    assert simulator.requests.count(GENERATE) == 1


async def test_persistent_poll_failures_end_in_running_not_error(
    runtime: Runtime, simulator: ConceptVizSimulator
) -> None:
    simulator.faults.add("GET", "/api/v1/task/", status=503, times=None)

    result = await _generate(runtime, wait=30)

    assert result.status == "running"
    assert result.job is not None
    job = await runtime.store.find("conceptviz", result.job.split(":", 1)[1])
    assert job is not None
    assert job.status == "running"


async def test_cancellation_keeps_the_job_and_poll_finishes_it(
    runtime: Runtime, simulator: ConceptVizSimulator
) -> None:
    with anyio.CancelScope() as scope:

        async def cancel_at_first_progress(value: float, total: float | None, message: str) -> None:
            scope.cancel()

        await _generate(runtime, wait=55, progress=cancel_at_first_progress)
    assert scope.cancelled_caught

    jobs = await runtime.store.list(provider="conceptviz")
    assert [j.status for j in jobs] == ["running"]
    handle = jobs[0].handle
    assert handle is not None

    result = await runtime.handles.poll(handle, wait=55, progress=None, caller=LOCAL)
    assert result.status == "completed"
    assert simulator.requests.count(GENERATE) == 1


class _AnswerLostTransport(httpx2.AsyncBaseTransport):
    """Delivers POSTs to the simulator, then loses the answer (a read timeout after sending)."""

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == "POST":
            await response.aclose()
            raise httpx2.ReadTimeout("timed out reading the answer", request=request)
        return response


async def test_read_timeout_on_submit_sends_once_and_records_submit_unknown(
    settings: Settings, clock: FakeClock, simulator: ConceptVizSimulator
) -> None:
    transport = _AnswerLostTransport(httpx2.ASGITransport(app=simulator.app))
    async with Runtime(settings, PROVIDERS, clock=clock, transports={"conceptviz": transport}) as runtime:
        provider, operation = _provider_and_op(runtime)
        parsed = operation.input_model.model_validate({"prompt": "water cycle"})
        from server.errors import SubmitUnknown

        with pytest.raises(SubmitUnknown) as caught:
            await runtime.calls.run(provider, operation, parsed, wait=30, progress=None, caller=LOCAL)

        assert caught.value.charged is None
        assert simulator.requests.count(GENERATE) == 1
        jobs = await runtime.store.list()
        assert [j.status for j in jobs] == ["submit_unknown"]
        assert jobs[0].error is not None
        assert jobs[0].error.charged is None


async def test_progress_only_increases_even_when_a_job_finishes_long_after_it_started(
    runtime: Runtime, simulator: ConceptVizSimulator, clock: FakeClock
) -> None:
    simulator.job_seconds = 200
    started = await _generate(runtime, wait=0)
    assert started.job is not None
    clock.advance(160)
    values: list[float] = []

    async def progress(value: float, total: float | None, message: str) -> None:
        values.append(value)

    result = await runtime.handles.poll(started.job, wait=55, progress=progress, caller=LOCAL)

    assert result.status == "completed"
    assert len(values) >= 5
    assert all(later > earlier for earlier, later in itertools.pairwise(values))
