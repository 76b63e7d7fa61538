"""The spend ledger and the pending saves in PostgreSQL, on the pool of the replica's `PostgresStore` (their tables
are its migration 4), so every replica counts against the same caps and any replica can write a save whose job
finished elsewhere.

A reservation checks the caps and inserts in one transaction under a per-provider advisory lock: two replicas cannot
both squeeze under a cap. A pending save is claimed with one conditional UPDATE: exactly one replica writes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from server.budget.ledger import Blocked, Charge
from server.budget.policy import Cap
from server.saving.pending import SaveRequest
from server.store.postgres import PostgresStore

__all__ = ["PostgresPendingSaves", "PostgresSpendLedger"]

_EPSILON = 1e-9
_SUM = "SELECT COALESCE(SUM(amount), 0) FROM spend WHERE day = %s AND provider = %s"


class PostgresSpendLedger:
    """`SpendLedger` in PostgreSQL."""

    def __init__(self, store: PostgresStore) -> None:
        self.store = store

    async def open(self) -> None:
        """Nothing of its own to open: the store's pool and migrations serve it."""

    async def close(self) -> None:
        """The store closes the pool."""

    async def _one(self, sql: str, args: Sequence[Any]) -> tuple[Any, ...]:
        async with self.store.pool.connection() as conn:
            cursor = await conn.execute(sql, args)
            row = await cursor.fetchone()
        assert row is not None
        return row

    async def _execute(self, sql: str, args: Sequence[Any]) -> None:
        async with self.store.pool.connection() as conn:
            await conn.execute(sql, args)

    async def reserve(self, charge: Charge, caps: Sequence[Cap]) -> Blocked | None:
        async with self.store.pool.connection() as conn, conn.transaction():
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"genmcp.spend:{charge.provider}",)
            )
            for cap in caps:
                sql, args = _SUM, [charge.day, cap.provider]
                if cap.caller is not None:
                    sql, args = sql + " AND caller = %s", [*args, cap.caller]
                cursor = await conn.execute(sql, args)
                row = await cursor.fetchone()
                spent = float(row[0]) if row else 0.0
                over = spent + charge.amount > cap.limit + _EPSILON if charge.known else spent >= cap.limit - _EPSILON
                if over:
                    return Blocked(cap=cap, spent=spent)
            await conn.execute(_INSERT, _row(charge, None))
        return None

    async def record(self, charge: Charge, *, job: str | None = None) -> None:
        await self._execute(_INSERT, _row(charge, job))

    async def settle(self, charge_id: str, *, amount: float | None = None, job: str | None = None) -> None:
        if amount is not None:
            await self._execute(
                "UPDATE spend SET amount = %s, known = true WHERE id = %s", (max(0.0, amount), charge_id)
            )
        if job is not None:
            await self._execute("UPDATE spend SET job = %s WHERE id = %s", (job, charge_id))

    async def settle_job(self, job: str, amount: float) -> None:
        value = max(0.0, amount)
        await self._execute(
            "UPDATE spend SET amount = %s, known = true WHERE job = %s AND (amount <> %s OR NOT known)",
            (value, job, value),
        )

    async def release(self, charge_id: str) -> None:
        await self._execute("DELETE FROM spend WHERE id = %s", (charge_id,))

    async def spent(self, day: str, provider: str, caller: str | None = None) -> float:
        if caller is None:
            return float((await self._one(_SUM, (day, provider)))[0])
        return float((await self._one(_SUM + " AND caller = %s", (day, provider, caller)))[0])

    async def spent_by(self, day: str, provider: str, caller: str) -> tuple[float, float]:
        row = await self._one(
            "SELECT COALESCE(SUM(amount), 0), COALESCE(SUM(CASE WHEN caller = %s THEN amount ELSE 0 END), 0) "
            "FROM spend WHERE day = %s AND provider = %s",
            (caller, day, provider),
        )
        return float(row[0]), float(row[1])

    async def by_day(self, days: Sequence[str], caller: str | None = None) -> list[tuple[str, str, float]]:
        sql = "SELECT day, provider, SUM(amount) FROM spend WHERE day = ANY(%s)"
        args: list[Any] = [list(days)]
        if caller is not None:
            sql += " AND caller = %s"
            args.append(caller)
        async with self.store.pool.connection() as conn:
            cursor = await conn.execute(sql + " GROUP BY day, provider ORDER BY day, provider", args)
            rows = await cursor.fetchall()
        return [(str(day), str(provider), float(total)) for day, provider, total in rows]


_INSERT = (
    "INSERT INTO spend (id, day, provider, caller, job, amount, known, at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
)


def _row(charge: Charge, job: str | None) -> tuple[Any, ...]:
    return (charge.id, charge.day, charge.provider, charge.caller, job, charge.amount, charge.known, charge.at)


class PostgresPendingSaves:
    """`PendingSaves` in PostgreSQL."""

    def __init__(self, store: PostgresStore) -> None:
        self.store = store

    async def open(self) -> None:
        """Nothing of its own to open: the store's pool and migrations serve it."""

    async def close(self) -> None:
        """The store closes the pool."""

    async def add(self, request: SaveRequest) -> None:
        async with self.store.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO saves (id, handle, state, created_at, record) VALUES (%s, %s, %s, %s, %s)",
                (request.id, request.handle, request.state, request.created_at, request.model_dump_json()),
            )

    async def claim(self, save_id: str, now: float) -> bool:
        async with self.store.pool.connection() as conn:
            cursor = await conn.execute(
                "UPDATE saves SET state = 'writing', record = jsonb_set(record::jsonb, '{state}', '\"writing\"')::text "
                "WHERE id = %s AND state = 'pending'",
                (save_id,),
            )
            return cursor.rowcount == 1

    async def finish(self, request: SaveRequest) -> None:
        async with self.store.pool.connection() as conn:
            await conn.execute(
                "UPDATE saves SET state = %s, record = %s WHERE id = %s",
                (request.state, request.model_dump_json(), request.id),
            )

    async def for_job(self, handle: str) -> list[SaveRequest]:
        async with self.store.pool.connection() as conn:
            cursor = await conn.execute("SELECT record FROM saves WHERE handle = %s ORDER BY created_at", (handle,))
            rows = await cursor.fetchall()
        return [SaveRequest.model_validate_json(row[0]) for row in rows]

    async def unfinished(self) -> list[SaveRequest]:
        # Unlike one SQLite process, another replica may be writing a save right now: only `pending` ones are taken
        # up again. (A save whose replica died while writing it stays `writing`: a known gap, no lease covers it.)
        async with self.store.pool.connection() as conn:
            cursor = await conn.execute("SELECT record FROM saves WHERE state = 'pending' ORDER BY created_at")
            rows = await cursor.fetchall()
        return [SaveRequest.model_validate_json(row[0]) for row in rows]
