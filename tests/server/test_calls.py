"""`Calls`: a spending call is registered (with what the provider said it cost) before it is awaited, and a
submission a crash interrupted becomes `submit_unknown` at the next start — never sent again."""

from __future__ import annotations

import pytest

from providers.conceptviz.simulator import ConceptVizSimulator
from server.app import Runtime
from server.callers import LOCAL
from server.config import Settings
from server.jobs import JobRecord
from server.store.sqlite import SqliteStore
from tests.harness.clock import FakeClock
from tests.server.conceptviz_jobs import conceptviz_runtime, start_job

pytestmark = pytest.mark.anyio


async def test_records_move_from_running_to_completed_with_their_credits(runtime: Runtime, clock: FakeClock) -> None:
    handle = await start_job(runtime)
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

    async with conceptviz_runtime(settings, clock, simulator) as runtime:
        after = await runtime.store.get(stale.id)
        untouched = await runtime.store.get(fresh.id)

    assert after is not None
    assert after.status == "submit_unknown"
    assert after.error is not None
    assert after.error.charged is None
    assert untouched is not None
    assert untouched.status == "submitting"
