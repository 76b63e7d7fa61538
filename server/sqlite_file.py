"""A connection of its own to the SQLite file genmcp keeps its tables in (the job registry's file, by default).

Every user of the file opens it the same way: WAL, so several connections and processes share it while one writes;
`synchronous=NORMAL`, which under WAL loses nothing committed when the process crashes; a busy timeout instead of
an immediate "database is locked".
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

__all__ = ["SqliteFile"]


class SqliteFile:
    """The connection of one set of tables in a SQLite file; `open` (idempotent) in the subclass, `close` here."""

    what = "store"
    """What the tables hold, for the error raised when they are used before `open`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._connection: sqlite3.Connection | None = None

    @property
    def _db(self) -> sqlite3.Connection:
        if self._connection is None:
            raise RuntimeError(f"the {self.what} is not open (start the runtime first)")
        return self._connection

    def _connect(self) -> sqlite3.Connection | None:
        """Open the file and keep the connection; None when it is open already."""
        if self._connection is not None:
            return None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA busy_timeout=5000")
        self._connection = db
        return db

    async def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
