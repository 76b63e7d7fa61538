"""The job registry: durable across restarts, and the source of truth for finished jobs."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx2
import pytest

from providers import PROVIDERS
from providers.conceptviz.simulator import ConceptVizSimulator
from server.app import Runtime
from server.callers import LOCAL
from server.config import Settings
from server.jobs import JobRecord
from server.store.sqlite import SqliteStore
from tests.harness.clock import FakeClock

pytestmark = pytest.mark.anyio


def _runtime(settings: Settings, clock: FakeClock, simulator: ConceptVizSimulator) -> Runtime:
    return Runtime(settings, PROVIDERS, clock=clock, transports={"conceptviz": httpx2.ASGITransport(app=simulator.app)})


async def _start(runtime: Runtime) -> str:
    provider = runtime.providers["conceptviz"]
    operation = next(o for o in provider.operations() if o.name == "generate")
    args = operation.input_model.model_validate({"prompts": ["a", "b"]})
    result = await runtime.calls.run(provider, operation, args, wait=0, progress=None, caller=LOCAL)
    assert result.status == "running"
    assert result.job is not None
    return result.job


async def test_a_restarted_server_finishes_a_job_from_the_same_file(
    settings: Settings, clock: FakeClock, simulator: ConceptVizSimulator
) -> None:
    async with _runtime(settings, clock, simulator) as first:
        handle = await _start(first)

    clock.advance(60)
    async with _runtime(settings, clock, simulator) as second:
        result = await second.handles.poll(handle, wait=0, progress=None, caller=LOCAL)

    assert result.status == "completed"
    assert len(result.assets) == 2
    assert result.credits is not None
    assert result.credits.charged == 4
    assert simulator.requests.count("POST /api/v1/generate") == 1


async def test_a_finished_job_is_answered_from_the_registry_with_zero_upstream_requests(
    runtime: Runtime, simulator: ConceptVizSimulator, clock: FakeClock
) -> None:
    handle = await _start(runtime)
    clock.advance(60)
    first = await runtime.handles.poll(handle, wait=10, progress=None, caller=LOCAL)
    assert first.status == "completed"
    before = simulator.requests.total

    again = await runtime.handles.poll(handle, wait=10, progress=None, caller=LOCAL)

    assert simulator.requests.total == before
    assert again == first


async def test_records_move_from_running_to_completed_with_their_credits(runtime: Runtime, clock: FakeClock) -> None:
    handle = await _start(runtime)
    upstream_id = handle.split(":", 1)[1]
    running = await runtime.store.find("conceptviz", upstream_id)
    assert running is not None
    assert running.status == "running"
    assert running.credits is not None
    assert running.credits.charged == 4
    assert running.credits.remaining == 96

    clock.advance(60)
    await runtime.handles.poll(handle, wait=0, progress=None, caller=LOCAL)
    done = await runtime.store.find("conceptviz", upstream_id)
    assert done is not None
    assert done.status == "completed"
    assert done.progress == 100


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


async def test_submissions_interrupted_by_a_crash_become_submit_unknown_after_restart(
    settings: Settings, clock: FakeClock, simulator: ConceptVizSimulator
) -> None:
    store = SqliteStore(settings.jobs.resolved_db_path())
    await store.open()
    now = clock.wall()
    stale = JobRecord(provider="conceptviz", operation="generate", created_at=now - 900, updated_at=now - 900)
    fresh = JobRecord(provider="conceptviz", operation="generate", created_at=now - 10, updated_at=now - 10)
    await store.create(stale)
    await store.create(fresh)
    await store.close()

    async with _runtime(settings, clock, simulator) as runtime:
        after = await runtime.store.get(stale.id)
        untouched = await runtime.store.get(fresh.id)

    assert after is not None
    assert after.status == "submit_unknown"
    assert after.error is not None
    assert after.error.charged is None
    assert untouched is not None
    assert untouched.status == "submitting"


async def test_the_store_is_a_wal_sqlite_file_with_filters(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    store = SqliteStore(path)
    await store.open()
    for index, status in enumerate(["running", "completed", "failed"]):
        job = JobRecord(
            provider="conceptviz",
            operation="generate",
            status=status,
            upstream_id=f"t{index}",
            created_at=float(index),
            updated_at=float(index),
        )
        await store.create(job)
    assert [j.upstream_id for j in await store.list()] == ["t2", "t1", "t0"]
    assert [j.upstream_id for j in await store.list(status="completed")] == ["t1"]
    assert await store.list(provider="kolbo") == []
    await store.close()

    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_balances_seen_in_responses_are_kept_newest_first(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "jobs.sqlite3")
    await store.open()
    await store.record_balance("conceptviz", 50, as_of=20)
    await store.record_balance("conceptviz", 80, as_of=10)  # older: ignored
    balance = await store.last_balance("conceptviz")
    assert balance is not None
    assert balance.remaining == 50
    assert balance.as_of == 20
    await store.close()
