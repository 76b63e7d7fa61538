"""The hosted store: PostgreSQL (psycopg 3, async, one connection pool per replica) shared by every replica.

Jobs, balances, leases, call counters and artifacts live in one database. Each job write sends
`NOTIFY genmcp_jobs, '<job id>'` in the same statement (delivered at commit, to every replica); `listen` keeps one
connection per replica on `LISTEN genmcp_jobs` and feeds `events`. The schema is migrated at `open` under an
advisory lock (`server.store.migrations`).
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import anyio
import psycopg
from anyio.abc import TaskStatus
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from server.errors import ConfigError
from server.jobs import JobRecord, StoredBalance
from server.store.base import Admission, Lease, job_filters
from server.store.events import JOB_CHANNEL, JobEvents
from server.store.migrations import MIGRATION_LOCK, POSTGRES, check_known

__all__ = ["PostgresStore", "public_url"]

log = logging.getLogger("genmcp.store")

_UNFINISHED = "('submitting', 'running')"
_NOTIFY = f"SELECT pg_notify('{JOB_CHANNEL}', id) FROM changed"
_RECONNECT_MAX = 30.0
_QUEUE_TIMEOUT = 120.0
"""Seconds a store operation may wait for one of the pool's connections."""


def public_url(url: str) -> str:
    """The store URL without its password (for logs and `genmcp check`)."""
    parts = urlsplit(url)
    if parts.password is None:
        return urlunsplit(parts._replace(query=""))
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit(parts._replace(netloc=f"{user}{netloc}", query=""))


class PostgresStore:
    """Everything genmcp keeps about jobs (and its artifacts, see `PostgresArtifactStore`) in PostgreSQL."""

    def __init__(
        self, url: str, *, pool_size: int = 10, connect_timeout: float = 10.0, redact: Callable[[str], str] = str
    ) -> None:
        self.url = url
        self._redact = redact
        self.connect_timeout = connect_timeout
        self.events = JobEvents()
        self.pool = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            open=False,
            kwargs={"autocommit": True, "connect_timeout": max(1, int(connect_timeout))},
            name="genmcp",
            # Waiting for a free connection under load is queueing, not a failed connection: a store write that
            # gave up would turn an accepted (and paid) job into `submit_unknown`.
            timeout=max(_QUEUE_TIMEOUT, connect_timeout),
        )
        self._open = False

    @property
    def description(self) -> str:
        return f"postgresql {public_url(self.url)}"

    async def open(self) -> None:
        if self._open:
            return
        try:
            await self.pool.open(wait=True, timeout=self.connect_timeout)
        except PoolTimeout:
            await self.pool.close()
            raise ConfigError(
                f"cannot connect to the store {public_url(self.url)} within {self.connect_timeout:g} s; check "
                "store.url (host, port, database, user and password) and that PostgreSQL accepts connections."
            ) from None
        try:
            await self._migrate()
        except BaseException:
            await self.pool.close()
            raise
        self._open = True

    async def _migrate(self) -> None:
        async with self.pool.connection() as conn:
            # Session-level lock: a replica starting at the same instant waits here, then finds nothing to do.
            await conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
            try:
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, "
                    "applied_at timestamptz NOT NULL DEFAULT now())"
                )
                cursor = await conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations")
                row = await cursor.fetchone()
                applied = int(row[0]) if row else 0
                check_known(applied, POSTGRES, public_url(self.url))
                for migration in POSTGRES:
                    if migration.version <= applied:
                        continue
                    async with conn.transaction():
                        for statement in migration.statements:
                            await conn.execute(statement)
                        await conn.execute(
                            "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                            (migration.version, migration.name),
                        )
                    log.info("store: applied migration %d (%s)", migration.version, migration.name)
            finally:
                await conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))

    async def schema_version(self) -> int:
        row = await self._one_row("SELECT coalesce(max(version), 0) FROM schema_migrations")
        return int(row[0]) if row else 0

    async def listen(self, *, task_status: TaskStatus[None]) -> None:
        started = False
        delay = 1.0
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.url, autocommit=True, connect_timeout=max(1, int(self.connect_timeout))
                ) as conn:
                    await conn.execute(f"LISTEN {JOB_CHANNEL}")
                    if not started:
                        started = True
                        task_status.started()
                    delay = 1.0
                    async for note in conn.notifies():
                        self.events.changed(note.payload)
            except psycopg.OperationalError as exc:
                if not started:
                    raise ConfigError(
                        f"cannot listen for job changes on {public_url(self.url)} ({type(exc).__name__})"
                    ) from None
                # Waiters' waits are bounded: a missed notification delays an answer, it loses nothing.
                log.warning("store: lost the LISTEN connection (%s); reconnecting in %g s", type(exc).__name__, delay)
                await anyio.sleep(delay)  # real time: a reconnect pace, not part of any test's timeline
                delay = min(delay * 2, _RECONNECT_MAX)

    async def close(self) -> None:
        await self.pool.close()
        self._open = False

    # --- helpers ---------------------------------------------------------------------------------------------------

    async def _one_row(self, sql: str, args: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        async with self.pool.connection() as conn:
            cursor = await conn.execute(sql, args)
            return await cursor.fetchone()

    async def _all_rows(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        async with self.pool.connection() as conn:
            cursor = await conn.execute(sql, args)
            return await cursor.fetchall()

    async def _count(self, sql: str, args: Sequence[Any] = ()) -> int:
        async with self.pool.connection() as conn:
            cursor = await conn.execute(sql, args)
            return cursor.rowcount

    def _row(self, job: JobRecord) -> tuple[Any, ...]:
        record = self._redact(job.model_dump_json())
        return (job.provider, job.upstream_id, job.status, job.caller, job.created_at, job.updated_at, record, job.id)

    async def _records(self, sql: str, args: Sequence[Any]) -> list[JobRecord]:
        return [JobRecord.model_validate_json(row[0]) for row in await self._all_rows(sql, args)]

    # --- records ---------------------------------------------------------------------------------------------------

    async def _insert(self, job: JobRecord, lease: Lease | None) -> None:
        await self._one_row(
            "WITH changed AS (INSERT INTO jobs (provider, upstream_id, status, caller, created_at, updated_at, record, "
            "id, lease_owner, lease_expires) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id) " + _NOTIFY,
            (*self._row(job), lease.owner if lease else None, lease.expires_at if lease else None),
        )

    async def create(self, job: JobRecord) -> None:
        await self._insert(job, None)

    async def create_leased(self, job: JobRecord, lease: Lease) -> None:
        await self._insert(job, lease)

    async def save(self, job: JobRecord) -> None:
        await self._one_row(
            "WITH changed AS (UPDATE jobs SET provider=%s, upstream_id=%s, status=%s, caller=%s, created_at=%s, "
            "updated_at=%s, record=%s WHERE id=%s RETURNING id) " + _NOTIFY,
            self._row(job),
        )

    async def delete(self, job_id: str) -> None:
        await self._one_row("WITH changed AS (DELETE FROM jobs WHERE id=%s RETURNING id) " + _NOTIFY, (job_id,))

    async def get(self, job_id: str) -> JobRecord | None:
        row = await self._one_row("SELECT record FROM jobs WHERE id=%s", (job_id,))
        return JobRecord.model_validate_json(row[0]) if row else None

    async def find(self, provider: str, upstream_id: str) -> JobRecord | None:
        row = await self._one_row(
            "SELECT record FROM jobs WHERE provider=%s AND upstream_id=%s", (provider, upstream_id)
        )
        return JobRecord.model_validate_json(row[0]) if row else None

    async def list(
        self,
        *,
        provider: str | None = None,
        status: str | None = None,
        caller: str | None = None,
        updated_before: float | None = None,
        limit: int = 20,
    ) -> list[JobRecord]:
        where, args = job_filters("%s", provider=provider, status=status, caller=caller, updated_before=updated_before)
        return await self._records(f"SELECT record FROM jobs {where} ORDER BY created_at DESC LIMIT %s", (*args, limit))

    async def record_balance(self, provider: str, remaining: float, as_of: float) -> None:
        await self._count(
            "INSERT INTO balances (provider, remaining, as_of) VALUES (%s, %s, %s) "
            "ON CONFLICT (provider) DO UPDATE SET remaining=excluded.remaining, as_of=excluded.as_of "
            "WHERE excluded.as_of >= balances.as_of",
            (provider, remaining, as_of),
        )

    async def last_balance(self, provider: str) -> StoredBalance | None:
        row = await self._one_row("SELECT remaining, as_of FROM balances WHERE provider=%s", (provider,))
        return StoredBalance(remaining=row[0], as_of=row[1]) if row else None

    # --- leases ----------------------------------------------------------------------------------------------------

    async def claim(self, job_id: str, owner: str, *, until: float, now: float) -> bool:
        claimed = await self._count(
            "UPDATE jobs SET lease_owner=%s, lease_expires=%s WHERE id=%s "
            "AND (lease_owner IS NULL OR lease_owner=%s OR lease_expires < %s)",
            (owner, until, job_id, owner, now),
        )
        return claimed == 1

    async def release(self, job_id: str, owner: str) -> None:
        # Notified: a replica following the job may take it over at once.
        await self._one_row(
            "WITH changed AS (UPDATE jobs SET lease_owner=NULL, lease_expires=NULL WHERE id=%s AND lease_owner=%s "
            "RETURNING id) " + _NOTIFY,
            (job_id, owner),
        )

    async def renew(self, owner: str, job_ids: builtins.list[str], *, until: float) -> int:
        if not job_ids:
            return 0
        return await self._count(
            "UPDATE jobs SET lease_expires=%s WHERE lease_owner=%s AND id = ANY(%s)", (until, owner, job_ids)
        )

    async def lease(self, job_id: str) -> Lease | None:
        row = await self._one_row("SELECT lease_owner, lease_expires FROM jobs WHERE id=%s", (job_id,))
        return Lease(owner=row[0], expires_at=row[1]) if row and row[0] is not None else None

    async def orphaned(self, *, now: float, exclude_owner: str, limit: int = 1000) -> builtins.list[JobRecord]:
        return await self._records(
            f"SELECT record FROM jobs WHERE lease_owner IS NOT NULL AND lease_expires < %s AND lease_owner <> %s "
            f"AND status IN {_UNFINISHED} ORDER BY lease_expires LIMIT %s",
            (now, exclude_owner, limit),
        )

    # --- call counters ---------------------------------------------------------------------------------------------

    async def admit_call(
        self, caller: str, slot: str, *, now: float, per_minute: int, concurrent: int, slot_until: float
    ) -> Admission:
        row = await self._one_row(
            "SELECT refused, retry_after, running FROM genmcp_admit_call(%s, %s, %s, %s, %s, %s)",
            (caller, slot, now, per_minute, concurrent, slot_until),
        )
        if row is None or row[0] is None:
            return Admission(slot=slot)
        if row[0] == "rate":
            return Admission(refused="rate", retry_after=float(row[1]))
        return Admission(refused="concurrency", running=int(row[2]))

    async def release_call(self, slot: str) -> None:
        await self._count("DELETE FROM call_slots WHERE id=%s", (slot,))
