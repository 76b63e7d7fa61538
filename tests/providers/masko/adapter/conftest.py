"""Fixtures of the Masko adapter tests: the simulator in both response shapes (the newer `{data: …}` envelope and
the older bare objects) on the fake clock, a genmcp runtime wired to it, and an MCP client of that runtime (in
memory). Held polls advance the fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mcp import Client

from providers.masko.simulator import MaskoAccount, MaskoSimulator
from server.app import Runtime
from tests.harness.clock import FakeClock
from tests.providers.masko.adapter.support import CDN, KEY, masko_runtime


@pytest.fixture(params=[True, False], ids=["envelope", "bare"])
def sim(request: pytest.FixtureRequest, clock: FakeClock) -> MaskoSimulator:
    return MaskoSimulator(
        accounts={KEY: MaskoAccount(subscription_credits=500, topup_credits=500)},
        job_seconds=8.0,
        now=clock.now,
        sleep=clock.sleep,
        public_url=CDN,
        envelope=request.param,
    )


@pytest.fixture
async def runtime(tmp_path: Path, clock: FakeClock, sim: MaskoSimulator) -> AsyncIterator[Runtime]:
    async with masko_runtime(tmp_path, clock, sim) as rt:
        yield rt


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[Client]:
    async with Client(runtime.mcp) as connected:
        yield connected
