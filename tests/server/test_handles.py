"""`Handles`: `poll` finishes a job from the registry — after a restart, with zero upstream requests once it has
finished — and adopts a job started elsewhere with the same key."""

from __future__ import annotations

import httpx2
import pytest

from providers.conceptviz.simulator import ConceptVizSimulator
from server.app import Runtime
from server.callers import LOCAL
from server.config import Settings
from tests.harness.clock import FakeClock
from tests.server.conceptviz_jobs import conceptviz_runtime, start_job

pytestmark = pytest.mark.anyio


async def test_a_restarted_server_finishes_a_job_from_the_same_file(
    settings: Settings, clock: FakeClock, simulator: ConceptVizSimulator
) -> None:
    async with conceptviz_runtime(settings, clock, simulator) as first:
        handle = await start_job(first)

    clock.advance(60)
    async with conceptviz_runtime(settings, clock, simulator) as second:
        result = await second.handles.poll(handle, wait=0, progress=None, caller=LOCAL)

    assert result.status == "completed"
    assert len(result.assets) == 2
    assert result.credits is not None
    assert result.credits.charged == 4
    assert simulator.requests.count("POST /api/v1/generate") == 1


async def test_a_finished_job_is_answered_from_the_registry_with_zero_upstream_requests(
    runtime: Runtime, simulator: ConceptVizSimulator, clock: FakeClock
) -> None:
    handle = await start_job(runtime)
    clock.advance(60)
    first = await runtime.handles.poll(handle, wait=10, progress=None, caller=LOCAL)
    assert first.status == "completed"
    before = simulator.requests.total

    again = await runtime.handles.poll(handle, wait=10, progress=None, caller=LOCAL)

    assert simulator.requests.total == before
    assert again == first


async def test_a_job_started_elsewhere_is_adopted_by_poll(
    runtime: Runtime, simulator: ConceptVizSimulator, clock: FakeClock, settings: Settings
) -> None:
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=simulator.app),
        base_url="https://conceptviz.test",
        headers={"Authorization": "Bearer cvk_test_key_0123456789"},
    ) as direct:
        task = (await direct.post("/api/v1/generate", json={"prompt": "outside"})).json()["taskId"]

    clock.advance(60)
    result = await runtime.handles.poll(f"conceptviz:{task}", wait=0, progress=None, caller=LOCAL)

    assert result.status == "completed"
    assert result.operation == "external"
    assert (await runtime.store.find("conceptviz", task)) is not None
