"""Saves waiting for their job, kept in the registry's database so a restart still writes the files.

A save asked for a job that is still running is recorded here (beside the job record, keyed by the job's handle)
and written when the job completes — by whichever of the watcher or a client's `poll` sees it first: `claim` lets
exactly one of them write. `PendingSaves` is the small interface a networked store implements too;
`SqlitePendingSaves` shares the registry's SQLite file.
"""

from __future__ import annotations

import uuid
from typing import Literal, Protocol

from pydantic import BaseModel, Field

from server.results import SavedFile, SaveReport
from server.sqlite_file import SqliteFile

__all__ = ["PendingSaves", "SaveRequest", "SqlitePendingSaves"]

SaveState = Literal["pending", "writing", "saved", "failed"]


class SaveRequest(BaseModel):
    """One save of a job's files, as the registry keeps it."""

    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    handle: str
    caller: str | None = None
    asked: str
    """The save_to as given."""
    root: str
    origin: str
    named: str
    parts: list[str]
    filename: str | None
    overwrite: bool = False
    stem: str
    state: SaveState = "pending"
    files: list[SavedFile] = Field(default_factory=list)
    message: str = ""
    created_at: float
    updated_at: float

    def report(self) -> SaveReport:
        """The save as a result shows it."""
        status: Literal["saved", "pending", "failed"] = (
            "saved" if self.state == "saved" else "failed" if self.state == "failed" else "pending"
        )
        return SaveReport(status=status, target=self.asked, files=self.files, message=self.message)


class PendingSaves(Protocol):
    """Where saves waiting for their job live. Every method is one transaction."""

    async def open(self) -> None:
        """Connect (and create the table)."""
        ...

    async def add(self, request: SaveRequest) -> None:
        """Record a new save."""
        ...

    async def claim(self, save_id: str, now: float) -> bool:
        """Move a pending save to `writing`; False when someone else already has it."""
        ...

    async def finish(self, request: SaveRequest) -> None:
        """Record what a save wrote (state saved or failed)."""
        ...

    async def for_job(self, handle: str) -> list[SaveRequest]:
        """A job's saves, oldest first."""
        ...

    async def unfinished(self) -> list[SaveRequest]:
        """Saves not written yet; those a stopped process was writing are pending again."""
        ...

    async def close(self) -> None:
        """Release the store."""
        ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS saves (
    id TEXT PRIMARY KEY,
    handle TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at REAL NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS saves_handle ON saves (handle);
CREATE INDEX IF NOT EXISTS saves_state ON saves (state);
"""


class SqlitePendingSaves(SqliteFile):
    """Pending saves in the registry's SQLite file (a connection of their own; WAL lets both write)."""

    what = "save store"

    async def open(self) -> None:
        db = self._connect()
        if db is not None:
            db.executescript(_SCHEMA)

    async def add(self, request: SaveRequest) -> None:
        self._db.execute(
            "INSERT INTO saves (id, handle, state, created_at, record) VALUES (?, ?, ?, ?, ?)",
            (request.id, request.handle, request.state, request.created_at, request.model_dump_json()),
        )

    async def claim(self, save_id: str, now: float) -> bool:
        row = self._db.execute("SELECT record FROM saves WHERE id=? AND state='pending'", (save_id,)).fetchone()
        if row is None:
            return False
        record = SaveRequest.model_validate_json(row[0]).model_copy(update={"state": "writing", "updated_at": now})
        cursor = self._db.execute(
            "UPDATE saves SET state='writing', record=? WHERE id=? AND state='pending'",
            (record.model_dump_json(), save_id),
        )
        return cursor.rowcount == 1

    async def finish(self, request: SaveRequest) -> None:
        self._db.execute(
            "UPDATE saves SET state=?, record=? WHERE id=?", (request.state, request.model_dump_json(), request.id)
        )

    async def for_job(self, handle: str) -> list[SaveRequest]:
        rows = self._db.execute("SELECT record FROM saves WHERE handle=? ORDER BY created_at", (handle,)).fetchall()
        return [SaveRequest.model_validate_json(row[0]) for row in rows]

    async def unfinished(self) -> list[SaveRequest]:
        # A save a stopped process was writing is written again: its temporary files never got a final name.
        self._db.execute("UPDATE saves SET state='pending' WHERE state='writing'")
        rows = self._db.execute("SELECT record FROM saves WHERE state='pending' ORDER BY created_at").fetchall()
        return [SaveRequest.model_validate_json(row[0]).model_copy(update={"state": "pending"}) for row in rows]
