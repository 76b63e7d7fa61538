"""Fixtures of the Cosmiq tests (what they share beyond fixtures is in `support`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mcp import Client

from providers.cosmiq.simulator import CosmiqAccount, CosmiqSimulator
from tests.harness.clock import FakeClock
from tests.providers.cosmiq.support import KEY, POOR_KEY, PUBLIC, Gate, World, connect, serve


@pytest.fixture
async def cosmiq(tmp_path: Path) -> AsyncIterator[World]:
    """genmcp with Cosmiq configured (key `KEY`, 100 credits); generating calls pass `world.gate`."""
    gate = Gate()
    sim = CosmiqSimulator(accounts={KEY: CosmiqAccount(credits=100)}, delay_seconds=1.0, sleep=gate, public_url=PUBLIC)
    async with serve(tmp_path, sim) as world:
        world.gate = gate
        yield world


@pytest.fixture
def sim(clock: FakeClock) -> CosmiqSimulator:
    """The simulator alone (not yet entered): `KEY` has 100 credits, `POOR_KEY` 3; generating sleeps on `clock`."""
    accounts = {KEY: CosmiqAccount(credits=100), POOR_KEY: CosmiqAccount(credits=3)}
    return CosmiqSimulator(accounts=accounts, sleep=clock.sleep, public_url=PUBLIC)


@pytest.fixture
async def client(sim: CosmiqSimulator) -> AsyncIterator[Client]:
    """An MCP client of the running simulator, with `KEY`."""
    async with sim, connect(sim) as mcp:
        yield mcp
