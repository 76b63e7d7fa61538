"""Fixtures of the Univers tests: a simulator with two accounts whose delay sleeps on the fake clock and an HTTP
client with the first account's key; and for the adapter, a runtime routed to a simulator, with an MCP client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest
from mcp import Client

from providers.univers.simulator import UniversAccount, UniversSimulator
from tests.harness.clock import FakeClock
from tests.harness.runtime import in_process_runtime
from tests.harness.settings import build_settings
from tests.providers.univers.support import KEY, OTHER_KEY, World, connect


@pytest.fixture
def sim(clock: FakeClock) -> UniversSimulator:
    accounts = {KEY: UniversAccount(balance=100), OTHER_KEY: UniversAccount(plan_name="creator", balance=50)}
    return UniversSimulator(accounts=accounts, delay_seconds=2.5, sleep=clock.sleep)


@pytest.fixture
async def client(sim: UniversSimulator) -> AsyncIterator[httpx2.AsyncClient]:
    async with connect(sim) as connected:
        yield connected


@pytest.fixture
async def univers(tmp_path: Path) -> AsyncIterator[World]:
    """A runtime with Univers at `KEY` (100 credits), local images allowed from `tmp_path / "pictures"`."""
    sim = UniversSimulator(accounts={KEY: UniversAccount(balance=100)})
    allowed = tmp_path / "pictures"
    allowed.mkdir()
    settings = build_settings(
        tmp_path,
        providers={"univers": {"api_key": KEY, "base_url": "https://univers.test"}},
        inputs={"allowed_dirs": [str(allowed)]},
    )
    # Real time: the background call is awaited on events, never slept on.
    async with in_process_runtime(settings, apps={"univers": sim.app}) as runtime, Client(runtime.mcp) as mcp:
        yield World(sim, runtime, mcp)
