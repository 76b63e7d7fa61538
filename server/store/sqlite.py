"""The embedded store: one SQLite file in WAL mode (jobs, balances, leases, call counters); artifacts stay files.

Writes are tiny and local (WAL with `synchronous=NORMAL` does not fsync per commit), so they run inline on the
event loop instead of paying a thread hop per call. Several genmcp processes may share the file; job-change events
reach only this process's waiters (others find changes when their bounded wait ends).
"""

from __future__ import annotations

import builtins
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from anyio.abc import TaskStatus

from server.jobs import JobRecord, StoredBalance
from server.sqlite_file import SqliteFile
from server.store.base import Admission, Lease, job_filters
from server.store.events import JobEvents
from server.store.migrations import SQLITE, check_known

__all__ = ["SqliteStore"]

_UNFINISHED = "('submitting', 'running')"


class SqliteStore(SqliteFile):
    """Jobs, balances, leases and call counters in one SQLite file."""

    def __init__(self, path: Path, redact: Callable[[str], str] = str) -> None:
        super().__init__(path)
        self._redact = redact
        self.events = JobEvents()

    @property
    def description(self) -> str:
        return f"sqlite {self.path}"

    async def open(self) -> None:
        db = self._connect()
        if db is not None:
            self._migrate(db)

    def _migrate(self, db: sqlite3.Connection) -> None:
        check_known(db.execute("PRAGMA user_version").fetchone()[0], SQLITE, str(self.path))
        for migration in SQLITE:
            # BEGIN IMMEDIATE takes the write lock first: a second process opening the same file at the same
            # instant waits, then sees the version already bumped and skips the step.
            db.execute("BEGIN IMMEDIATE")
            try:
                if db.execute("PRAGMA user_version").fetchone()[0] < migration.version:
                    for statement in migration.statements:
                        db.execute(statement)
                    db.execute(f"PRAGMA user_version = {migration.version:d}")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    async def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    async def listen(self, *, task_status: TaskStatus[None]) -> None:
        task_status.started()  # changes are announced in process, by the writes themselves

    # --- records ---------------------------------------------------------------------------------------------------

    def _row(self, job: JobRecord) -> tuple[Any, ...]:
        # A provider that echoes a key (even as a job id) must not get it written to disk.
        record = self._redact(job.model_dump_json())
        return (job.provider, job.upstream_id, job.status, job.caller, job.created_at, job.updated_at, record, job.id)

    def _insert(self, job: JobRecord, lease: Lease | None) -> None:
        self._db.execute(
            "INSERT INTO jobs (provider, upstream_id, status, caller, created_at, updated_at, record, id, "
            "lease_owner, lease_expires) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*self._row(job), lease.owner if lease else None, lease.expires_at if lease else None),
        )
        self.events.changed(job.id)

    async def create(self, job: JobRecord) -> None:
        self._insert(job, None)

    async def create_leased(self, job: JobRecord, lease: Lease) -> None:
        self._insert(job, lease)

    async def save(self, job: JobRecord) -> None:
        self._db.execute(
            "UPDATE jobs SET provider=?, upstream_id=?, status=?, caller=?, created_at=?, updated_at=?, record=? "
            "WHERE id=?",
            self._row(job),
        )
        self.events.changed(job.id)

    async def delete(self, job_id: str) -> None:
        self._db.execute("DELETE FROM jobs WHERE id=?", (job_id,))
        self.events.changed(job_id)

    def _one(self, sql: str, args: tuple[Any, ...]) -> JobRecord | None:
        row = self._db.execute(sql, args).fetchone()
        return JobRecord.model_validate_json(row[0]) if row else None

    async def get(self, job_id: str) -> JobRecord | None:
        return self._one("SELECT record FROM jobs WHERE id=?", (job_id,))

    async def find(self, provider: str, upstream_id: str) -> JobRecord | None:
        return self._one("SELECT record FROM jobs WHERE provider=? AND upstream_id=?", (provider, upstream_id))

    async def list(
        self,
        *,
        provider: str | None = None,
        status: str | None = None,
        caller: str | None = None,
        updated_before: float | None = None,
        limit: int = 20,
    ) -> list[JobRecord]:
        where, args = job_filters("?", provider=provider, status=status, caller=caller, updated_before=updated_before)
        rows = self._db.execute(
            f"SELECT record FROM jobs {where} ORDER BY created_at DESC LIMIT ?", (*args, limit)
        ).fetchall()
        return [JobRecord.model_validate_json(row[0]) for row in rows]

    async def record_balance(self, provider: str, remaining: float, as_of: float) -> None:
        self._db.execute(
            "INSERT INTO balances (provider, remaining, as_of) VALUES (?, ?, ?) "
            "ON CONFLICT(provider) DO UPDATE SET remaining=excluded.remaining, as_of=excluded.as_of "
            "WHERE excluded.as_of >= balances.as_of",
            (provider, remaining, as_of),
        )

    async def last_balance(self, provider: str) -> StoredBalance | None:
        row = self._db.execute("SELECT remaining, as_of FROM balances WHERE provider=?", (provider,)).fetchone()
        return StoredBalance(remaining=row[0], as_of=row[1]) if row else None

    # --- leases ----------------------------------------------------------------------------------------------------

    async def claim(self, job_id: str, owner: str, *, until: float, now: float) -> bool:
        cursor = self._db.execute(
            "UPDATE jobs SET lease_owner=?, lease_expires=? WHERE id=? "
            "AND (lease_owner IS NULL OR lease_owner=? OR lease_expires < ?)",
            (owner, until, job_id, owner, now),
        )
        return cursor.rowcount == 1

    async def release(self, job_id: str, owner: str) -> None:
        self._db.execute(
            "UPDATE jobs SET lease_owner=NULL, lease_expires=NULL WHERE id=? AND lease_owner=?", (job_id, owner)
        )
        self.events.changed(job_id)  # a replica following the job may take it over at once

    async def renew(self, owner: str, job_ids: builtins.list[str], *, until: float) -> int:
        if not job_ids:
            return 0
        cursor = self._db.execute(
            "UPDATE jobs SET lease_expires=? WHERE lease_owner=? AND id IN (SELECT value FROM json_each(?))",
            (until, owner, json.dumps(job_ids)),
        )
        return cursor.rowcount

    async def lease(self, job_id: str) -> Lease | None:
        row = self._db.execute("SELECT lease_owner, lease_expires FROM jobs WHERE id=?", (job_id,)).fetchone()
        return Lease(owner=row[0], expires_at=row[1]) if row and row[0] is not None else None

    async def orphaned(self, *, now: float, exclude_owner: str, limit: int = 1000) -> builtins.list[JobRecord]:
        rows = self._db.execute(
            f"SELECT record FROM jobs WHERE lease_owner IS NOT NULL AND lease_expires < ? AND lease_owner != ? "
            f"AND status IN {_UNFINISHED} ORDER BY lease_expires LIMIT ?",
            (now, exclude_owner, limit),
        ).fetchall()
        return [JobRecord.model_validate_json(row[0]) for row in rows]

    # --- call counters ---------------------------------------------------------------------------------------------

    async def admit_call(
        self, caller: str, slot: str, *, now: float, per_minute: int, concurrent: int, slot_until: float
    ) -> Admission:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            admission = self._admit(db, caller, slot, now, per_minute, concurrent, slot_until)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return admission

    @staticmethod
    def _admit(
        db: sqlite3.Connection,
        caller: str,
        slot: str,
        now: float,
        per_minute: int,
        concurrent: int,
        slot_until: float,
    ) -> Admission:
        db.execute("DELETE FROM call_starts WHERE caller=? AND at <= ?", (caller, now - 60))
        db.execute("DELETE FROM call_slots WHERE caller=? AND expires_at < ?", (caller, now))
        if per_minute:
            recent, oldest = db.execute(
                "SELECT count(*), min(at) FROM call_starts WHERE caller=?", (caller,)
            ).fetchone()
            if recent >= per_minute:
                return Admission(refused="rate", retry_after=oldest + 60 - now)
        if concurrent:
            (running,) = db.execute("SELECT count(*) FROM call_slots WHERE caller=?", (caller,)).fetchone()
            if running >= concurrent:
                return Admission(refused="concurrency", running=running)
            db.execute("INSERT INTO call_slots (id, caller, expires_at) VALUES (?, ?, ?)", (slot, caller, slot_until))
        if per_minute:
            db.execute("INSERT INTO call_starts (caller, at) VALUES (?, ?)", (caller, now))
        return Admission(slot=slot)

    async def release_call(self, slot: str) -> None:
        self._db.execute("DELETE FROM call_slots WHERE id=?", (slot,))
