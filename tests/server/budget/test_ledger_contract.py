"""The spend ledger and the pending saves behave alike on every backend: SQLite (one process) and PostgreSQL (a real
server, shared by replicas — "another replica" is a second store object on the same database)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest

from server.budget.ledger import Charge, SpendLedger, SqliteSpendLedger
from server.budget.policy import Cap
from server.saving.pending import PendingSaves, SaveRequest, SqlitePendingSaves
from server.store.pg_spend import PostgresPendingSaves, PostgresSpendLedger
from server.store.postgres import PostgresStore

pytestmark = pytest.mark.anyio

DAY = "2026-05-01"


@dataclass
class Pair:
    """A ledger and a save store, and a way to open the same ones again (another replica / a restart)."""

    ledger: SpendLedger
    saves: PendingSaves
    again: Callable[[], Awaitable[tuple[SpendLedger, PendingSaves]]]


@pytest.fixture(params=["sqlite", "postgres"])
async def stores(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Pair]:
    closers: list[Callable[[], Awaitable[None]]] = []
    if request.param == "sqlite":

        async def make() -> tuple[SpendLedger, PendingSaves]:
            ledger, saves = SqliteSpendLedger(tmp_path / "jobs.sqlite3"), SqlitePendingSaves(tmp_path / "jobs.sqlite3")
            await ledger.open()
            await saves.open()
            closers.extend([ledger.close, saves.close])
            return ledger, saves

    else:
        url: str = request.getfixturevalue("postgres_url")

        async def make() -> tuple[SpendLedger, PendingSaves]:
            store = PostgresStore(url)
            await store.open()  # migrates: the spend and saves tables are migration 4
            closers.append(store.close)
            return PostgresSpendLedger(store), PostgresPendingSaves(store)

    ledger, saves = await make()
    try:
        yield Pair(ledger, saves, make)
    finally:
        for close in reversed(closers):
            await close()


def charge(amount: float, *, caller: str = "ann", known: bool = True, provider: str = "kolbo") -> Charge:
    return Charge(day=DAY, provider=provider, caller=caller, amount=amount, known=known, at=1.0)


async def test_a_reservation_is_refused_at_the_cap_it_would_pass(stores: Pair) -> None:
    ledger = stores.ledger
    yours = Cap("budget.daily_per_caller", "kolbo", "ann", 10)
    shared = Cap("budget.providers.kolbo.daily", "kolbo", None, 15)
    assert await ledger.reserve(charge(6), [yours, shared]) is None
    blocked = await ledger.reserve(charge(5), [yours, shared])
    assert blocked is not None
    assert (blocked.cap, blocked.spent) == (yours, 6.0)
    assert await ledger.reserve(charge(8, caller="bob"), [shared]) is None
    blocked = await ledger.reserve(charge(2, caller="bob"), [shared])
    assert blocked is not None
    assert (blocked.cap, blocked.spent) == (shared, 14.0)
    # A call of unknown cost is admitted while the cap has room, refused once it is reached.
    assert await ledger.reserve(charge(0, known=False), [yours]) is None
    await ledger.record(charge(4))
    assert await ledger.reserve(charge(0, known=False), [yours]) is not None
    assert await ledger.spent(DAY, "kolbo") == 18.0
    assert await ledger.spent_by(DAY, "kolbo", "ann") == (18.0, 10.0)


async def test_settling_releasing_and_refunds_change_the_counts(stores: Pair) -> None:
    ledger = stores.ledger
    first, second = charge(5), charge(7)
    await ledger.reserve(first, [])
    await ledger.reserve(second, [])
    await ledger.settle(first.id, amount=3, job="kolbo:a")
    await ledger.release(second.id)
    assert await ledger.spent(DAY, "kolbo", "ann") == 3.0
    await ledger.settle_job("kolbo:a", 0)  # refunded later
    await ledger.record(charge(2, provider="univers"), job="univers:b")
    assert await ledger.by_day([DAY, "2026-05-02"]) == [(DAY, "kolbo", 0.0), (DAY, "univers", 2.0)]
    assert await ledger.by_day([DAY], caller="bob") == []


async def test_two_replicas_cannot_both_squeeze_under_a_cap(stores: Pair) -> None:
    other, _ = await stores.again()
    cap = [Cap("budget.providers.kolbo.daily", "kolbo", None, 10)]
    outcomes: list[bool] = []

    async def reserve(ledger: SpendLedger) -> None:
        outcomes.append(await ledger.reserve(charge(6), cap) is None)

    async with anyio.create_task_group() as group:
        group.start_soon(reserve, stores.ledger)
        group.start_soon(reserve, other)
    assert sorted(outcomes) == [False, True]
    assert await other.spent(DAY, "kolbo") == 6.0


def request(handle: str = "kolbo:j1", created: float = 1.0) -> SaveRequest:
    return SaveRequest(
        handle=handle,
        asked="public/a.png",
        root="/tmp/project",
        origin="outputs.dirs",
        named="/tmp/project",
        parts=["public"],
        filename="a.png",
        stem="kolbo-generate",
        created_at=created,
        updated_at=created,
    )


async def test_a_pending_save_is_claimed_once_and_survives_a_restart(stores: Pair) -> None:
    saves = stores.saves
    first, second = request(created=1.0), request(created=2.0)
    await saves.add(first)
    await saves.add(second)
    _, replica = await stores.again()
    assert [r.id for r in await replica.for_job("kolbo:j1")] == [first.id, second.id]
    assert await saves.claim(first.id, 5.0)
    assert not await replica.claim(first.id, 5.0)
    await saves.finish(first.model_copy(update={"state": "saved", "message": "Saved 1 file."}))
    pending = await replica.unfinished()
    assert [r.id for r in pending] == [second.id]
    [done, waiting] = await replica.for_job("kolbo:j1")
    assert (done.state, done.report().status, done.message) == ("saved", "saved", "Saved 1 file.")
    assert waiting.report().status == "pending"
    assert await saves.for_job("kolbo:other") == []
