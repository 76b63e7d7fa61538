"""`credits`: a live balance is kept for the pages and the budget's questions, without a write on every call."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client

from providers.univers.simulator import UniversAccount, UniversSimulator
from server.credits import RECORD_UNCHANGED_EVERY
from tests.harness.clock import FakeClock
from tests.harness.results import data
from tests.harness.runtime import in_process_runtime
from tests.harness.settings import build_settings
from tests.providers.univers.support import KEY

pytestmark = pytest.mark.anyio


async def test_a_live_balance_is_written_when_it_changes_and_at_most_once_a_minute_when_it_does_not(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    sim = UniversSimulator(accounts={KEY: UniversAccount(balance=100)})
    settings = build_settings(tmp_path, providers={"univers": {"api_key": KEY, "base_url": "https://univers.test"}})
    async with in_process_runtime(settings, apps={"univers": sim.app}, clock=clock) as runtime:
        store = runtime.store

        async def balance_shown() -> float:
            (entry,) = data(await client.call_tool("credits", {"provider": "univers"}))["balances"]
            assert entry["live"] is True
            return float(entry["remaining"])

        async with Client(runtime.mcp) as client:
            assert await balance_shown() == 100
            first = await store.last_balance("univers")
            assert first is not None
            assert first.remaining == 100

            clock.advance(RECORD_UNCHANGED_EVERY - 1)
            assert await balance_shown() == 100
            assert await store.last_balance("univers") == first  # the same number, not written again

            sim.accounts[KEY].balance = 90
            assert await balance_shown() == 90
            changed = await store.last_balance("univers")
            assert changed is not None
            assert (changed.remaining, changed.as_of) == (90, clock.wall())  # a change is written at once

            clock.advance(RECORD_UNCHANGED_EVERY)
            assert await balance_shown() == 90
            refreshed = await store.last_balance("univers")
            assert refreshed is not None
            assert refreshed.as_of == clock.wall()  # unchanged, but a minute on: written again with its time
