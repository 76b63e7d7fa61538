"""The embedded store: one SQLite file in WAL mode, listed with filters, and the balances seen in answers."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from server.jobs import JobRecord
from server.store.sqlite import SqliteStore

pytestmark = pytest.mark.anyio


async def test_the_store_is_a_wal_sqlite_file_with_filters(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    store = SqliteStore(path)
    await store.open()
    for index, status in enumerate(["running", "completed", "failed"]):
        job = JobRecord(
            provider="conceptviz",
            operation="generate",
            status=status,
            upstream_id=f"t{index}",
            created_at=float(index),
            updated_at=float(index),
        )
        await store.create(job)
    assert [j.upstream_id for j in await store.list()] == ["t2", "t1", "t0"]
    assert [j.upstream_id for j in await store.list(status="completed")] == ["t1"]
    assert await store.list(provider="kolbo") == []
    await store.close()

    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_balances_seen_in_responses_are_kept_newest_first(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "jobs.sqlite3")
    await store.open()
    await store.record_balance("conceptviz", 50, as_of=20)
    await store.record_balance("conceptviz", 80, as_of=10)  # older: ignored
    balance = await store.last_balance("conceptviz")
    assert balance is not None
    assert balance.remaining == 50
    assert balance.as_of == 20
    await store.close()
