"""One watcher per job, in process: a job whose lease another replica holds is followed, not polled; a lease that
expires is taken over; the orphan sweep resolves what a dead replica left (SQLite store, fake clock)."""

from __future__ import annotations

from typing import Any

import anyio
import anyio.lowlevel
import pytest

from providers.base import JobUpdate
from providers.conceptviz.simulator import ConceptVizSimulator
from server.app import Runtime
from server.callers import LOCAL
from server.jobs import JobRecord
from server.store.base import Lease
from tests.harness.clock import FakeClock

pytestmark = pytest.mark.anyio

POLL = "GET /api/v1/task/"


async def _running_job(runtime: Runtime) -> str:
    provider = runtime.providers["conceptviz"]
    operation = next(o for o in provider.operations() if o.name == "generate")
    args = operation.input_model.model_validate({"prompts": ["a"]})
    result = await runtime.calls.run(provider, operation, args, wait=0, progress=None, caller=LOCAL)
    assert result.status == "running"
    assert result.job is not None
    return result.job


async def _hand_to(runtime: Runtime, handle: str, owner: str, seconds: float) -> tuple[JobRecord, float]:
    """As if another replica were watching the job, its lease renewed until `seconds` from now; the record and the
    lease's expiry."""
    job = await runtime.store.find("conceptviz", handle.split(":", 1)[1])
    assert job is not None
    until = runtime.clock.wall() + seconds
    assert await runtime.store.claim(job.id, owner, until=until, now=runtime.clock.wall())
    return job, until


async def test_a_poll_follows_a_job_another_replica_watches_without_polling_it(
    runtime: Runtime, simulator: ConceptVizSimulator
) -> None:
    handle = await _running_job(runtime)
    job, until = await _hand_to(runtime, handle, "other-replica:1:abcd", seconds=600)
    polls = simulator.requests.count(POLL, prefix=True)

    async def holder_finishes() -> None:
        # The other replica's poll sees the job done and records it (the store announces the change).
        await anyio.lowlevel.checkpoint()
        done = (await runtime.store.get(job.id)) or job
        await runtime.store.save(done.model_copy(update={"status": "completed", "progress": 100.0}))

    async with anyio.create_task_group() as group:
        group.start_soon(holder_finishes)
        result = await runtime.handles.poll(handle, wait=45, progress=None, caller=LOCAL)

    assert result.status == "completed"
    assert simulator.requests.count(POLL, prefix=True) == polls  # answered from the store alone
    assert await runtime.store.lease(job.id) == Lease(owner="other-replica:1:abcd", expires_at=until)


async def test_a_lease_that_expires_is_taken_over_and_the_job_finished(
    runtime: Runtime, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    handle = await _running_job(runtime)
    job, until = await _hand_to(runtime, handle, "dead-replica:1:abcd", seconds=15)
    provider = runtime.providers["conceptviz"]
    asked_at: list[float] = []
    status = provider.status

    async def watched_status(upstream_id: str, state: dict[str, Any], hold: float = 0.0) -> JobUpdate:
        asked_at.append(clock.wall())
        return await status(upstream_id, state, hold=hold)

    monkeypatch.setattr(provider, "status", watched_status)

    result = await runtime.handles.poll(handle, wait=45, progress=None, caller=LOCAL)

    assert result.status == "completed"
    assert asked_at
    assert min(asked_at) >= until  # nobody polled it before its holder's lease ran out
    assert await runtime.store.lease(job.id) is None  # released once the wait ended


async def test_the_sweep_resolves_what_a_dead_replica_left(
    runtime: Runtime, clock: FakeClock, simulator: ConceptVizSimulator
) -> None:
    now = clock.wall()
    dead = Lease(owner="dead-replica:1:abcd", expires_at=now + 15)
    sending = JobRecord(provider="conceptviz", operation="generate", created_at=now, updated_at=now)
    blocking = JobRecord(
        provider="conceptviz",
        operation="generate",
        created_at=now,
        updated_at=now,
    ).running_here("run123", owner=dead.owner, expires_at=now + 3600, now=now)
    await runtime.store.create_leased(sending, dead)
    await runtime.store.create_leased(blocking, dead)
    watched = await _running_job(runtime)
    watched_job, _ = await _hand_to(runtime, watched, dead.owner, seconds=15)

    async with anyio.create_task_group() as group:
        assert await runtime.sweeper.sweep(group) == 0  # the leases are still live: nothing to do
        clock.advance(60)
        assert await runtime.sweeper.sweep(group) == 3

    after = {job.id: job for job in await runtime.store.list(limit=10)}
    assert after[sending.id].status == "submit_unknown"
    assert after[blocking.id].status == "interrupted"
    assert after[watched_job.id].status == "completed"  # taken over and watched to its end
    for job_id in (sending.id, blocking.id, watched_job.id):
        assert await runtime.store.lease(job_id) is None


async def test_limits_are_counted_in_the_store(runtime: Runtime, clock: FakeClock) -> None:
    limits = runtime.limits
    limits.per_minute, limits.concurrent = 2, 1
    async with limits.admit("ann"):
        with pytest.raises(Exception, match="already running"):
            async with limits.admit("ann"):
                pass
    async with limits.admit("ann"):
        pass
    with pytest.raises(Exception, match="at most 2 a minute"):
        async with limits.admit("ann"):
            pass
    clock.advance(61)
    async with limits.admit("ann"):
        pass
