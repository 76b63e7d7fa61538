"""Runaway callers and failing providers: per-caller rate and concurrency limits, per-provider concurrency, and the
circuit breaker (fails fast while open, closed again only by a cheap read). Upstream is the ConceptViz simulator
in process, counting requests; time is a fake clock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from starlette.types import ASGIApp, Receive, Scope, Send

from providers import PROVIDERS
from providers.conceptviz.simulator import ConceptVizAccount, ConceptVizSimulator
from server.app import Runtime
from tests.harness.clock import FakeClock
from tests.harness.settings import build_settings
from tests.security.conftest import (
    CANARIES,
    IN_PROCESS,
    TOKENS,
    Leaks,
    asgi_http,
    data,
    error_code,
    serving,
    text,
)

pytestmark = pytest.mark.anyio

GENERATE = "POST /api/v1/generate"


class Gate:
    """Holds POST /api/v1/generate (before the simulator sees it) until opened; counts who arrived."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.open = anyio.Event()
        self.arrived = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == "/api/v1/generate":
            self.arrived += 1
            await self.open.wait()
        await self.app(scope, receive, send)


class FlakyTransport(httpx2.AsyncBaseTransport):
    """Connection failures for the next `fail` requests, then the simulator."""

    def __init__(self, app: ASGIApp) -> None:
        self.inner = httpx2.ASGITransport(app=app)
        self.fail = 0

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if self.fail:
            self.fail -= 1
            raise httpx2.ConnectError("connection refused", request=request)
        return await self.inner.handle_async_request(request)


def _sim(clock: FakeClock) -> ConceptVizSimulator:
    return ConceptVizSimulator(accounts={CANARIES["conceptviz"]: ConceptVizAccount()}, job_seconds=40, now=clock.now)


def _runtime(
    tmp_path: Path, clock: FakeClock, transport: httpx2.AsyncBaseTransport, auth: bool = False, **limits: Any
) -> Runtime:
    settings = build_settings(
        tmp_path,
        providers={"conceptviz": {"api_key": CANARIES["conceptviz"], "base_url": "https://conceptviz.test/api/v1"}},
        limits={"calls_per_minute": 0, "concurrent_calls": 0, **limits},
        upstream={"max_retries": 0},
        **({"auth": {"tokens": TOKENS}} if auth else {}),
    )
    return Runtime(settings, PROVIDERS, clock=clock, transports={"conceptviz": transport})


@asynccontextmanager
async def _as(app: ASGIApp, token: str) -> AsyncIterator[Client]:
    async with (
        asgi_http(app, {"Authorization": f"Bearer {token}"}) as http,
        Client(streamable_http_client(f"{IN_PROCESS}/mcp", http_client=http)) as client,
    ):
        yield client


def _generate(n: int) -> dict[str, Any]:
    return {"prompt": f"diagram {n}", "wait": 0}


# ---------------------------------------------------------------------------------------------------------------------
# per-caller limits


async def test_the_rate_limit_answers_retry_after_and_sends_nothing(tmp_path: Path, leaks: Leaks) -> None:
    clock = FakeClock()
    sim = _sim(clock)
    async with (
        _runtime(tmp_path, clock, httpx2.ASGITransport(app=sim.app), calls_per_minute=3) as runtime,
        Client(runtime.mcp) as client,
    ):
        for n in range(3):
            assert not (await client.call_tool("conceptviz_generate", _generate(n))).is_error
        clock.advance(20)
        refused = leaks.result("refused", await client.call_tool("conceptviz_generate", _generate(3)))
        also = await client.call_tool("jobs", {})  # every tool counts
        assert sim.requests.count(GENERATE) == 3

        assert refused.is_error, text(refused)
        assert error_code(refused) == "rate_limited", text(refused)
        error = data(refused)["error"]
        assert error["retryable"] is True
        assert error["charged"] is False
        assert error["retry_after"] == 40
        assert "Retry after 40 s" in text(refused)
        assert also.is_error
        assert error_code(also) == "rate_limited"

        clock.advance(41)  # the window has moved on
        assert not (await client.call_tool("conceptviz_generate", _generate(4))).is_error
    assert sim.requests.count(GENERATE) == 4


async def test_rate_limits_are_per_caller(tmp_path: Path, leaks: Leaks) -> None:
    clock = FakeClock()
    sim = _sim(clock)
    runtime = _runtime(tmp_path, clock, httpx2.ASGITransport(app=sim.app), auth=True, calls_per_minute=2)
    async with serving(runtime) as app, _as(app, TOKENS["alice"]) as alice, _as(app, TOKENS["bob"]) as bob:
        for n in range(2):
            assert not (await alice.call_tool("conceptviz_generate", _generate(n))).is_error
        limited = leaks.result("alice", await alice.call_tool("conceptviz_generate", _generate(2)))
        for n in range(2):
            fine = leaks.result("bob", await bob.call_tool("conceptviz_generate", _generate(10 + n)))
            assert not fine.is_error, text(fine)
    assert error_code(limited) == "rate_limited"
    assert sim.requests.count(GENERATE) == 4


async def test_the_concurrency_cap_refuses_at_once_and_sends_nothing(tmp_path: Path, leaks: Leaks) -> None:
    clock = FakeClock()
    sim = _sim(clock)
    gate = Gate(sim.app)
    async with (
        _runtime(tmp_path, clock, httpx2.ASGITransport(app=gate), concurrent_calls=1) as runtime,
        Client(runtime.mcp) as client,
    ):
        first: list[Any] = []
        async with anyio.create_task_group() as group:

            async def hold() -> None:
                first.append(await client.call_tool("conceptviz_generate", _generate(1)))

            group.start_soon(hold)
            try:
                with anyio.fail_after(5):
                    while gate.arrived == 0:
                        await anyio.lowlevel.checkpoint()
                refused = leaks.result("refused", await client.call_tool("conceptviz_generate", _generate(2)))
                assert refused.is_error, text(refused)
                assert error_code(refused) == "rate_limited", text(refused)
                assert "already running" in text(refused)
                assert "wait=0" in text(refused)
                assert gate.arrived == 1
            finally:
                gate.open.set()
        assert not first[0].is_error
        again = await client.call_tool("conceptviz_generate", _generate(3))
        assert not again.is_error, text(again)
    assert sim.requests.count(GENERATE) == 2


async def test_provider_concurrency_queues_upstream_requests(tmp_path: Path) -> None:
    clock = FakeClock()
    sim = _sim(clock)
    gate = Gate(sim.app)
    async with _runtime(tmp_path, clock, httpx2.ASGITransport(app=gate), provider_concurrency=1) as runtime:
        slots = runtime.providers["conceptviz"].client._slots
        async with Client(runtime.mcp) as client, anyio.create_task_group() as group:
            try:
                for n in range(3):
                    group.start_soon(client.call_tool, "conceptviz_generate", _generate(n))
                with anyio.fail_after(5):
                    while slots.statistics().tasks_waiting < 2 or gate.arrived == 0:
                        await anyio.lowlevel.checkpoint()
                for _ in range(100):
                    await anyio.lowlevel.checkpoint()
                assert gate.arrived == 1  # one request upstream at a time; the others wait their turn
            finally:
                gate.open.set()  # a paid POST is shielded from cancellation: always let it finish
    assert sim.requests.count(GENERATE) == 3


# ---------------------------------------------------------------------------------------------------------------------
# circuit breaker


async def test_the_breaker_fails_fast_and_is_closed_by_a_cheap_read(tmp_path: Path, leaks: Leaks) -> None:
    clock = FakeClock()
    sim = _sim(clock)
    flaky = FlakyTransport(sim.app)
    async with (
        _runtime(tmp_path, clock, flaky, breaker_threshold=3, breaker_cooldown=30) as runtime,
        Client(runtime.mcp) as client,
    ):
        sim.faults.add("POST", "/api/v1/generate", status=503, times=2)
        flaky.fail = 0
        for n in range(2):
            failed = leaks.result("5xx", await client.call_tool("conceptviz_generate", _generate(n)))
            assert error_code(failed) == "upstream_error", text(failed)
        flaky.fail = 1  # the third failure in a row: no connection
        failed = leaks.result("connect", await client.call_tool("conceptviz_generate", _generate(2)))
        assert error_code(failed) == "upstream_error", text(failed)
        seen = sim.requests.total

        # Open: calls fail at once, nothing is sent.
        for n in range(3):
            fast = leaks.result("open", await client.call_tool("conceptviz_generate", _generate(10 + n)))
            assert fast.is_error
            assert error_code(fast) == "upstream_error"
            assert "not sending it requests" in text(fast)
            assert data(fast)["error"]["retry_after"] > 0
            clock.advance(5)
        assert sim.requests.total == seen

        # After the cool-down, one probe: a free authenticated read, never a paid POST.
        clock.advance(30)
        before = len(sim.requests.entries)
        ok = leaks.result("probe", await client.call_tool("conceptviz_generate", _generate(20)))
        assert not ok.is_error, text(ok)
        after = [r.key for r in list(sim.requests.entries)[before:]]
        assert after[0].startswith("GET /api/v1/task/"), after
        assert after[1:] == [GENERATE], after
        assert runtime.providers["conceptviz"].client.breaker.open is False


async def test_a_failed_probe_keeps_the_breaker_open_without_any_post(tmp_path: Path, leaks: Leaks) -> None:
    clock = FakeClock()
    sim = _sim(clock)
    async with (
        _runtime(
            tmp_path, clock, httpx2.ASGITransport(app=sim.app), breaker_threshold=2, breaker_cooldown=10
        ) as runtime,
        Client(runtime.mcp) as client,
    ):
        sim.faults.add("POST", "/api/v1/generate", status=502, times=2)
        for n in range(2):
            await client.call_tool("conceptviz_generate", _generate(n))
        assert runtime.providers["conceptviz"].client.breaker.open
        clock.advance(11)
        sim.faults.add("GET", "/api/v1/task/", status=503, times=1)
        before = len(sim.requests.entries)
        probed = leaks.result("probe", await client.call_tool("conceptviz_generate", _generate(3)))
        assert probed.is_error
        assert "still failing" in text(probed)
        assert [r.method for r in list(sim.requests.entries)[before:]] == ["GET"]
        fast = await client.call_tool("conceptviz_generate", _generate(4))
        assert fast.is_error
        assert "not sending it requests" in text(fast)
        assert [r.method for r in list(sim.requests.entries)[before:]] == ["GET"]
