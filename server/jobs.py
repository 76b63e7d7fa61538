"""The job registry: every paid job, written before its upstream request and kept until it finishes.

`JobStore` is the small interface a networked store can implement later (for several replicas); `SqliteJobStore`
is the embedded default (one SQLite file in WAL mode, which survives a crash of the process).
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from server.results import Asset, CreditsInfo, ErrorInfo

__all__ = ["TERMINAL", "JobRecord", "JobStatus", "JobStore", "SqliteJobStore", "StoredBalance"]

JobStatus = Literal["submitting", "running", "completed", "failed", "submit_unknown", "interrupted", "cancelled"]
TERMINAL: frozenset[str] = frozenset({"completed", "failed", "submit_unknown", "interrupted", "cancelled"})


class JobRecord(BaseModel):
    """One job as the registry holds it. Nothing secret is ever stored here."""

    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    provider: str
    operation: str
    status: JobStatus = "submitting"
    upstream_id: str | None = None
    created_at: float
    updated_at: float
    caller: str | None = None
    key_ref: str | None = None
    """A fingerprint of the caller's own key when one was used: only that key can poll or cancel the job."""
    sandbox: bool = False
    poll_interval: float = 5.0
    poll_state: dict[str, Any] = Field(default_factory=dict)
    progress: float | None = None
    upstream_status: str | None = None
    assets: list[Asset] = Field(default_factory=list)
    credits: CreditsInfo | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    text: str | None = None
    error: ErrorInfo | None = None
    related: list[str] = Field(default_factory=list)
    """Handles of the other jobs the same request started; polling this one finishes them too."""
    part_of: str | None = None
    """The handle of the job whose request started this one."""

    @property
    def handle(self) -> str | None:
        """`<provider>:<upstream id>`, once the provider has given an id."""
        return f"{self.provider}:{self.upstream_id}" if self.upstream_id else None

    @property
    def finished(self) -> bool:
        """Whether the job reached a terminal state."""
        return self.status in TERMINAL


class StoredBalance(BaseModel):
    """A provider balance as last seen in one of its responses."""

    remaining: float
    as_of: float


class JobStore(Protocol):
    """Where job records live. Every method is one transaction."""

    async def create(self, job: JobRecord) -> None:
        """Insert a new record."""
        ...

    async def save(self, job: JobRecord) -> None:
        """Replace a record (matched by id)."""
        ...

    async def delete(self, job_id: str) -> None:
        """Forget a record (a request refused before anything was spent)."""
        ...

    async def get(self, job_id: str) -> JobRecord | None:
        """A record by its local id."""
        ...

    async def find(self, provider: str, upstream_id: str) -> JobRecord | None:
        """A record by its provider's job id."""
        ...

    async def list(
        self, *, provider: str | None = None, status: str | None = None, caller: str | None = None, limit: int = 20
    ) -> list[JobRecord]:
        """Recent records, newest first."""
        ...

    async def mark_interrupted(self, now: float, older_than: float) -> int:
        """After a restart: records left `submitting` since before `older_than` become `submit_unknown`.

        Their POST may have been sent. Younger ones may belong to another live process sharing the file.
        """
        ...

    async def record_balance(self, provider: str, remaining: float, as_of: float) -> None:
        """Remember a balance a provider reported in passing."""
        ...

    async def last_balance(self, provider: str) -> StoredBalance | None:
        """The balance last remembered for a provider."""
        ...

    async def close(self) -> None:
        """Release the store."""
        ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    upstream_id TEXT,
    status TEXT NOT NULL,
    caller TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    record TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_upstream ON jobs (provider, upstream_id) WHERE upstream_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_recent ON jobs (created_at DESC);
CREATE TABLE IF NOT EXISTS balances (
    provider TEXT PRIMARY KEY,
    remaining REAL NOT NULL,
    as_of REAL NOT NULL
);
"""


class SqliteJobStore:
    """The embedded registry: one SQLite file in WAL mode.

    Writes are tiny and local (WAL with `synchronous=NORMAL` does not fsync per commit), so they run inline on the
    event loop instead of paying a thread hop per call.
    """

    def __init__(self, path: Path, redact: Callable[[str], str] = str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._redact = redact
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)

    def _write(self, job: JobRecord, *, insert: bool) -> None:
        row = (
            job.provider,
            job.upstream_id,
            job.status,
            job.caller,
            job.created_at,
            job.updated_at,
            # A provider that echoes a key (even as a job id) must not get it written to disk.
            self._redact(job.model_dump_json()),
            job.id,
        )
        sql = (
            "INSERT INTO jobs (provider, upstream_id, status, caller, created_at, updated_at, record, id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            if insert
            else "UPDATE jobs SET provider=?, upstream_id=?, status=?, caller=?, created_at=?, updated_at=?, record=? "
            "WHERE id=?"
        )
        self._db.execute(sql, row)

    async def create(self, job: JobRecord) -> None:
        self._write(job, insert=True)

    async def save(self, job: JobRecord) -> None:
        self._write(job, insert=False)

    async def delete(self, job_id: str) -> None:
        self._db.execute("DELETE FROM jobs WHERE id=?", (job_id,))

    def _one(self, sql: str, args: tuple[Any, ...]) -> JobRecord | None:
        row = self._db.execute(sql, args).fetchone()
        return JobRecord.model_validate_json(row[0]) if row else None

    async def get(self, job_id: str) -> JobRecord | None:
        return self._one("SELECT record FROM jobs WHERE id=?", (job_id,))

    async def find(self, provider: str, upstream_id: str) -> JobRecord | None:
        return self._one("SELECT record FROM jobs WHERE provider=? AND upstream_id=?", (provider, upstream_id))

    async def list(
        self, *, provider: str | None = None, status: str | None = None, caller: str | None = None, limit: int = 20
    ) -> list[JobRecord]:
        clauses, args = [], []
        for column, value in (("provider", provider), ("status", status), ("caller", caller)):
            if value is not None:
                clauses.append(f"{column}=?")
                args.append(value)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._db.execute(
            f"SELECT record FROM jobs {where} ORDER BY created_at DESC LIMIT ?", (*args, limit)
        ).fetchall()
        return [JobRecord.model_validate_json(row[0]) for row in rows]

    async def mark_interrupted(self, now: float, older_than: float) -> int:
        rows = self._db.execute(
            "SELECT record FROM jobs WHERE status='submitting' AND updated_at < ?", (older_than,)
        ).fetchall()
        for (raw,) in rows:
            job = JobRecord.model_validate_json(raw)
            job.status = "submit_unknown"
            job.updated_at = now
            job.error = ErrorInfo(
                code="submit_unknown",
                message="genmcp stopped while sending this request; it may have reached the provider and may have "
                "been charged. It was not sent again.",
                retryable=False,
                charged=None,
            )
            self._write(job, insert=False)
        return len(rows)

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

    async def close(self) -> None:
        self._db.close()
