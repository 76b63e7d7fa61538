"""One contract for every store backend: SQLite (and artifact files) and PostgreSQL (a real server), alike.

Each test runs once per backend. "Another replica" is a second store object on the same file or database.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import anyio
import anyio.lowlevel
import psycopg
import pytest

from server.artifacts import ArtifactStore, FileArtifactStore
from server.clock import SystemClock
from server.errors import ConfigError
from server.jobs import JobRecord
from server.store.base import Store
from server.store.migrations import POSTGRES, SQLITE
from server.store.pg_artifacts import CLEANUP_LOCK, PostgresArtifactStore
from server.store.postgres import PostgresStore
from server.store.sqlite import SqliteStore
from tests.harness.clock import FakeClock

pytestmark = pytest.mark.anyio

T0 = 1_700_000_000.0


@dataclass
class Backend:
    name: str
    make: Callable[[], Store]
    artifacts: Callable[[Store, Callable[[], float]], ArtifactStore]
    latest: int
    url: str | None = None

    async def open(self) -> Store:
        store = self.make()
        await store.open()
        return store


@pytest.fixture(params=["sqlite", "postgres"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "sqlite":
        yield Backend(
            "sqlite",
            lambda: SqliteStore(tmp_path / "jobs.sqlite3", redact=_redact),
            lambda _store, wall: FileArtifactStore(tmp_path / "artifacts", ttl_seconds=60, clock=wall),
            SQLITE[-1].version,
        )
        return
    url: str = request.getfixturevalue("postgres_url")

    def artifacts(store: Store, wall: Callable[[], float]) -> ArtifactStore:
        assert isinstance(store, PostgresStore)
        return PostgresArtifactStore(store, ttl_seconds=60, clock=wall)

    yield Backend("postgres", lambda: PostgresStore(url, redact=_redact), artifacts, POSTGRES[-1].version, url)


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[Store]:
    opened = await backend.open()
    try:
        yield opened
    finally:
        await opened.close()


def _redact(text: str) -> str:
    return text.replace("sk-canary-secret", "[redacted]")


def _job(**changes: object) -> JobRecord:
    fields: dict[str, object] = {"provider": "conceptviz", "operation": "generate", "created_at": T0, "updated_at": T0}
    fields.update(changes)
    return JobRecord.model_validate(fields)


# --- records ---------------------------------------------------------------------------------------------------------


async def test_records_round_trip_and_filter(store: Store) -> None:
    first = _job(caller="ann", created_at=T0)
    second = _job(provider="kolbo", caller="bob", created_at=T0 + 1, updated_at=T0 + 1)
    await store.create(first)
    await store.create(second)
    running = first.model_copy(update={"status": "running", "upstream_id": "t1", "updated_at": T0 + 5})
    await store.save(running)

    assert await store.get(first.id) == running
    assert await store.find("conceptviz", "t1") == running
    assert await store.find("kolbo", "t1") is None
    assert [j.id for j in await store.list()] == [second.id, first.id]
    assert [j.id for j in await store.list(provider="kolbo")] == [second.id]
    assert [j.id for j in await store.list(status="running")] == [first.id]
    assert [j.id for j in await store.list(caller="ann")] == [first.id]
    assert [j.id for j in await store.list(status="submitting", updated_before=T0 + 2)] == [second.id]
    assert [j.id for j in await store.list(limit=1)] == [second.id]
    await store.delete(second.id)
    assert await store.get(second.id) is None


async def test_a_provider_id_is_unique_and_secrets_are_never_written(store: Store) -> None:
    await store.create(_job(status="running", upstream_id="same"))
    with pytest.raises((psycopg.errors.UniqueViolation, sqlite3.IntegrityError)):
        await store.create(_job(status="running", upstream_id="same"))
    leaky = _job(text="answer echoing sk-canary-secret")
    await store.create(leaky)
    stored = await store.get(leaky.id)
    assert stored is not None
    assert stored.text == "answer echoing [redacted]"


async def test_balances_keep_the_newest(store: Store) -> None:
    await store.record_balance("kolbo", 90, T0 + 10)
    await store.record_balance("kolbo", 95, T0 + 5)  # older news: ignored
    balance = await store.last_balance("kolbo")
    assert balance is not None
    assert (balance.remaining, balance.as_of) == (90, T0 + 10)
    assert await store.last_balance("masko") is None


# --- schema ----------------------------------------------------------------------------------------------------------


async def test_the_schema_is_migrated_once_and_opening_again_changes_nothing(backend: Backend, store: Store) -> None:
    assert await store.schema_version() == backend.latest
    again = await backend.open()
    try:
        assert await again.schema_version() == backend.latest
    finally:
        await again.close()


async def test_replicas_opening_an_empty_store_at_the_same_instant_make_one_schema(backend: Backend) -> None:
    stores = [backend.make() for _ in range(4)]
    async with anyio.create_task_group() as group:
        for each in stores:
            group.start_soon(each.open)
    try:
        versions = {await each.schema_version() for each in stores}
        assert versions == {backend.latest}
    finally:
        for each in stores:
            await each.close()
    if backend.url is not None:
        with psycopg.connect(backend.url) as conn:
            rows = conn.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
        assert [row[0] for row in rows] == [m.version for m in POSTGRES]


async def test_a_schema_newer_than_this_genmcp_is_refused(backend: Backend, tmp_path: Path) -> None:
    if backend.url is not None:
        with psycopg.connect(backend.url, autocommit=True) as conn:
            conn.execute("CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL)")
            conn.execute("INSERT INTO schema_migrations VALUES (99, 'from the future')")
    else:
        with sqlite3.connect(tmp_path / "jobs.sqlite3") as db:
            db.execute("PRAGMA user_version = 99")
    with pytest.raises(ConfigError, match="schema version 99, newer than this genmcp"):
        await backend.open()


# --- leases ----------------------------------------------------------------------------------------------------------


async def test_a_lease_has_one_holder_until_it_expires(backend: Backend, store: Store) -> None:
    job = _job(status="running", upstream_id="t1")
    await store.create(job)
    other = await backend.open()  # another replica
    try:
        assert await store.claim(job.id, "a", until=T0 + 15, now=T0)
        assert not await other.claim(job.id, "b", until=T0 + 16, now=T0 + 1)
        assert await store.claim(job.id, "a", until=T0 + 20, now=T0 + 5)  # renewing one's own
        lease = await other.lease(job.id)
        assert lease is not None
        assert (lease.owner, lease.expires_at) == ("a", T0 + 20)
        assert lease.live(T0 + 20)
        assert not lease.live(T0 + 20.1)
        # "a" died: past the expiry, exactly one of two replicas racing wins.
        results = await _race(
            lambda: store.claim(job.id, "c", until=T0 + 40, now=T0 + 21),
            lambda: other.claim(job.id, "b", until=T0 + 40, now=T0 + 21),
        )
        assert sorted(results) == [False, True]
    finally:
        await other.close()


async def _race(*claims: Callable[[], Awaitable[bool]]) -> list[bool]:
    results: list[bool] = []

    async def one(claim: Callable[[], Awaitable[bool]]) -> None:
        results.append(await claim())

    async with anyio.create_task_group() as group:
        for claim in claims:
            group.start_soon(one, claim)
    return results


async def test_release_renew_and_orphans(store: Store) -> None:
    running = _job(status="running", upstream_id="t1")
    submitting = _job()
    finished = _job(status="completed", upstream_id="t2")
    for job in (running, submitting, finished):
        await store.create(job)
    for job in (running, submitting, finished):
        assert await store.claim(job.id, "dead", until=T0 + 10, now=T0)
    mine = _job(status="running", upstream_id="t3")
    await store.create(mine)
    assert await store.claim(mine.id, "me", until=T0 + 10, now=T0)

    # Only unfinished jobs whose holder stopped renewing, never the asker's own.
    assert {j.id for j in await store.orphaned(now=T0 + 11, exclude_owner="me")} == {running.id, submitting.id}
    assert await store.orphaned(now=T0 + 9, exclude_owner="me") == []
    assert await store.renew("me", [mine.id, running.id], until=T0 + 30) == 1  # not "me"'s lease: untouched
    assert [j.id for j in await store.orphaned(now=T0 + 11, exclude_owner="other")] != [mine.id]
    await store.release(running.id, "someone else")  # not the holder: nothing happens
    assert await store.lease(running.id) is not None
    await store.release(running.id, "dead")
    assert await store.lease(running.id) is None
    assert await store.claim(running.id, "me", until=T0 + 30, now=T0 + 1)


async def test_a_leased_record_is_created_with_its_lease(store: Store) -> None:
    from server.store.base import Lease

    job = _job()
    await store.create_leased(job, Lease(owner="me", expires_at=T0 + 15))
    assert await store.lease(job.id) == Lease(owner="me", expires_at=T0 + 15)
    assert not await store.claim(job.id, "other", until=T0 + 20, now=T0 + 1)


# --- call counters ---------------------------------------------------------------------------------------------------


async def test_calls_per_minute_are_counted_across_replicas(backend: Backend, store: Store) -> None:
    other = await backend.open()
    try:
        for index, each in enumerate((store, other, store)):
            admitted = await each.admit_call(
                "ann", f"s{index}", now=T0 + index, per_minute=3, concurrent=0, slot_until=T0 + 100
            )
            assert admitted.refused is None
        refused = await other.admit_call("ann", "s3", now=T0 + 10, per_minute=3, concurrent=0, slot_until=T0 + 100)
        assert refused.refused == "rate"
        assert refused.retry_after == pytest.approx(50)
        # Another caller has its own count; after a minute the first call leaves the window.
        assert (await store.admit_call("bob", "b", now=T0 + 10, per_minute=3, concurrent=0, slot_until=T0)).slot
        later = await store.admit_call("ann", "s4", now=T0 + 60.5, per_minute=3, concurrent=0, slot_until=T0 + 100)
        assert later.refused is None
    finally:
        await other.close()


async def test_calls_in_flight_are_counted_released_and_expire(backend: Backend, store: Store) -> None:
    other = await backend.open()
    try:
        first = await store.admit_call("ann", "a1", now=T0, per_minute=0, concurrent=2, slot_until=T0 + 100)
        second = await other.admit_call("ann", "a2", now=T0, per_minute=0, concurrent=2, slot_until=T0 + 100)
        assert (first.slot, second.slot) == ("a1", "a2")
        full = await store.admit_call("ann", "a3", now=T0, per_minute=0, concurrent=2, slot_until=T0 + 100)
        assert (full.refused, full.running) == ("concurrency", 2)
        await other.release_call("a1")
        assert (await store.admit_call("ann", "a4", now=T0, per_minute=0, concurrent=2, slot_until=T0 + 100)).slot
        # The slots of a replica that died time out.
        after = await store.admit_call("ann", "a5", now=T0 + 101, per_minute=0, concurrent=2, slot_until=T0 + 200)
        assert after.refused is None
    finally:
        await other.close()


async def test_concurrent_admissions_never_exceed_the_limit(backend: Backend, store: Store) -> None:
    others = [await backend.open() for _ in range(3)]
    admitted: list[str] = []

    async def ask(each: Store, index: int) -> None:
        answer = await each.admit_call("ann", f"c{index}", now=T0, per_minute=0, concurrent=5, slot_until=T0 + 100)
        if answer.slot is not None:
            admitted.append(answer.slot)

    try:
        async with anyio.create_task_group() as group:
            for index in range(20):
                group.start_soon(ask, [store, *others][index % 4], index)
        assert len(admitted) == 5
    finally:
        for each in others:
            await each.close()


# --- events ----------------------------------------------------------------------------------------------------------


async def test_a_change_wakes_a_waiter_and_the_listeners(backend: Backend, store: Store) -> None:
    clock = SystemClock()  # the notification arrives on its own time; the wait is bounded by fail_after below
    heard: list[str] = []
    twice = anyio.Event()

    def hear(job_id: str) -> None:
        heard.append(job_id)
        if len(heard) == 2:
            twice.set()

    store.events.subscribe(hear)
    job = _job()
    # With PostgreSQL the change comes from another replica, through LISTEN/NOTIFY; SQLite announces in process.
    writer = await backend.open() if backend.url is not None else store
    changed = anyio.Event()

    async def wait() -> None:
        if await store.events.wait(job.id, 30, clock):
            changed.set()

    try:
        async with anyio.create_task_group() as group:
            await group.start(store.listen)
            group.start_soon(wait)
            await anyio.lowlevel.checkpoint()
            await writer.create(job)
            with anyio.fail_after(10):
                await changed.wait()
            await writer.save(job.model_copy(update={"status": "running", "upstream_id": "t9"}))
            with anyio.fail_after(10):
                await twice.wait()
            group.cancel_scope.cancel()
    finally:
        if writer is not store:
            await writer.close()
    assert heard == [job.id, job.id]


# --- artifacts -------------------------------------------------------------------------------------------------------


async def test_artifacts_round_trip_expire_and_are_cleaned(backend: Backend, store: Store) -> None:
    clock = FakeClock()
    artifacts = backend.artifacts(store, clock.wall)
    await artifacts.open()
    kept = await artifacts.put(b"\x89PNG data", mime_type="image/png", filename="../../x/page.png", parent=None)
    assert kept.filename == "page.png"
    found = await artifacts.get(kept.id)
    assert found == kept
    assert await artifacts.read(kept) == b"\x89PNG data"
    assert await artifacts.get("../" + kept.id[3:]) is None
    assert await artifacts.get("A" * 32) is None
    clock.advance(61)
    assert await artifacts.get(kept.id) is None
    assert await artifacts.cleanup() == 1
    assert await artifacts.cleanup() == 0
    await artifacts.close()


async def test_artifact_cleanup_runs_on_one_replica_at_a_time(postgres_url: str) -> None:
    clock = FakeClock()
    store = PostgresStore(postgres_url)
    await store.open()
    try:
        artifacts = PostgresArtifactStore(store, ttl_seconds=60, clock=clock.wall)
        await artifacts.put(b"x", mime_type="text/plain", filename="x.txt")
        clock.advance(61)
        with psycopg.connect(postgres_url) as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (CLEANUP_LOCK,))  # another replica is cleaning up
            assert await artifacts.cleanup() == 0
        assert await artifacts.cleanup() == 1
    finally:
        await store.close()
