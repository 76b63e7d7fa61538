"""The spend ledger: what each call counted against the daily caps, per budget day, provider and caller.

A spending call reserves its estimate before it is sent (checking every cap and writing the entry in one
transaction, so two calls cannot both squeeze under a cap), and the entry is settled with what the provider
reported (refunds lower it; a call refused before anything was spent is released). `SpendLedger` is the small
interface a networked store implements too; `SqliteSpendLedger` shares the registry's SQLite file.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from server.budget.policy import Cap
from server.sqlite_file import SqliteFile

__all__ = ["Blocked", "Charge", "SpendLedger", "SqliteSpendLedger"]

_EPSILON = 1e-9


@dataclass(frozen=True)
class Charge:
    """One call's entry in the ledger."""

    day: str
    provider: str
    caller: str
    amount: float
    """Credits counted: the estimate until the provider says what the call cost."""
    known: bool
    """Whether `amount` is known; a call of unknown cost is admitted only while a cap has room."""
    at: float
    id: str = field(default_factory=lambda: uuid.uuid4().hex)


@dataclass(frozen=True)
class Blocked:
    """The cap a call would pass, and what was already spent against it today."""

    cap: Cap
    spent: float


class SpendLedger(Protocol):
    """Where spend is counted. Every method is one transaction."""

    async def open(self) -> None:
        """Connect (and create the table)."""
        ...

    async def reserve(self, charge: Charge, caps: Sequence[Cap]) -> Blocked | None:
        """Record `charge` unless it would pass one of `caps` (then return that cap, recording nothing)."""
        ...

    async def record(self, charge: Charge, *, job: str | None = None) -> None:
        """Record a charge no cap needed to check (written once, when the call has answered)."""
        ...

    async def settle(self, charge_id: str, *, amount: float | None = None, job: str | None = None) -> None:
        """Set what a charge really cost (when known) and the job it belongs to."""
        ...

    async def settle_job(self, job: str, amount: float) -> None:
        """Set what a job's charge really cost (a later refund, or the price a poll revealed)."""
        ...

    async def release(self, charge_id: str) -> None:
        """Forget a charge (the call was refused before anything was spent)."""
        ...

    async def spent(self, day: str, provider: str, caller: str | None = None) -> float:
        """Credits counted on `day` for `provider` (by one caller, or by all)."""
        ...

    async def spent_by(self, day: str, provider: str, caller: str) -> tuple[float, float]:
        """Credits counted on `day` for `provider`: by everyone, and by `caller`."""
        ...

    async def by_day(self, days: Sequence[str], caller: str | None = None) -> list[tuple[str, str, float]]:
        """(day, provider, credits) for each of `days` with spend (one caller's, or everyone's)."""
        ...

    async def close(self) -> None:
        """Release the store."""
        ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS spend (
    id TEXT PRIMARY KEY,
    day TEXT NOT NULL,
    provider TEXT NOT NULL,
    caller TEXT NOT NULL,
    job TEXT,
    amount REAL NOT NULL,
    known INTEGER NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS spend_day ON spend (day, provider, caller);
CREATE INDEX IF NOT EXISTS spend_job ON spend (job) WHERE job IS NOT NULL;
"""


class SqliteSpendLedger(SqliteFile):
    """The ledger in the registry's SQLite file (a connection of its own; `BEGIN IMMEDIATE` makes a reservation
    atomic against other processes sharing the file too)."""

    what = "spend ledger"

    async def open(self) -> None:
        db = self._connect()
        if db is not None:
            db.executescript(_SCHEMA)

    def _sum(self, day: str, provider: str, caller: str | None) -> float:
        sql = "SELECT COALESCE(SUM(amount), 0) FROM spend WHERE day=? AND provider=?"
        args: tuple[str, ...] = (day, provider)
        if caller is not None:
            sql += " AND caller=?"
            args = (*args, caller)
        return float(self._db.execute(sql, args).fetchone()[0])

    async def reserve(self, charge: Charge, caps: Sequence[Cap]) -> Blocked | None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            for cap in caps:
                spent = self._sum(charge.day, cap.provider, cap.caller)
                over = spent + charge.amount > cap.limit + _EPSILON if charge.known else spent >= cap.limit - _EPSILON
                if over:
                    db.execute("ROLLBACK")
                    return Blocked(cap=cap, spent=spent)
            self._insert(charge, None)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return None

    def _insert(self, charge: Charge, job: str | None) -> None:
        self._db.execute(
            "INSERT INTO spend (id, day, provider, caller, job, amount, known, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (charge.id, charge.day, charge.provider, charge.caller, job, charge.amount, int(charge.known), charge.at),
        )

    async def record(self, charge: Charge, *, job: str | None = None) -> None:
        self._insert(charge, job)

    async def settle(self, charge_id: str, *, amount: float | None = None, job: str | None = None) -> None:
        if amount is not None:
            self._db.execute("UPDATE spend SET amount=?, known=1 WHERE id=?", (max(0.0, amount), charge_id))
        if job is not None:
            self._db.execute("UPDATE spend SET job=? WHERE id=?", (job, charge_id))

    async def settle_job(self, job: str, amount: float) -> None:
        # Polls of a finished job repeat this: a row that already says so is not written again.
        value = max(0.0, amount)
        self._db.execute(
            "UPDATE spend SET amount=?, known=1 WHERE job=? AND (amount<>? OR known=0)", (value, job, value)
        )

    async def release(self, charge_id: str) -> None:
        self._db.execute("DELETE FROM spend WHERE id=?", (charge_id,))

    async def spent(self, day: str, provider: str, caller: str | None = None) -> float:
        return self._sum(day, provider, caller)

    async def spent_by(self, day: str, provider: str, caller: str) -> tuple[float, float]:
        row = self._db.execute(
            "SELECT COALESCE(SUM(amount), 0), COALESCE(SUM(CASE WHEN caller=? THEN amount ELSE 0 END), 0) "
            "FROM spend WHERE day=? AND provider=?",
            (caller, day, provider),
        ).fetchone()
        return float(row[0]), float(row[1])

    async def by_day(self, days: Sequence[str], caller: str | None = None) -> list[tuple[str, str, float]]:
        if not days:
            return []
        marks = ", ".join("?" for _ in days)
        sql = f"SELECT day, provider, SUM(amount) FROM spend WHERE day IN ({marks})"
        args: list[str] = list(days)
        if caller is not None:
            sql += " AND caller=?"
            args.append(caller)
        rows = self._db.execute(sql + " GROUP BY day, provider ORDER BY day, provider", args).fetchall()
        return [(str(day), str(provider), float(total)) for day, provider, total in rows]
