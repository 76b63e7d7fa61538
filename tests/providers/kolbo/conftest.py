"""Fixtures of the Kolbo tests. Simulator tests talk HTTP to `sim` through `api`; adapter tests drive a genmcp
runtime through the MCP `client`, its Kolbo provider wired to the `upstream` simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest
from mcp import Client

from providers.kolbo.simulator import KolboAccount, KolboSimulator
from server.app import Runtime
from tests.harness.clock import FakeClock
from tests.providers.kolbo.support import AUTH, CDN, KEY, OTHER_KEY, kolbo_runtime


@pytest.fixture
def sim(clock: FakeClock) -> KolboSimulator:
    """A simulator with two keys of 100 plan credits each; a generation takes 10 s per unit of its time factor."""
    accounts = {KEY: KolboAccount(plan_credits=100), OTHER_KEY: KolboAccount(plan_credits=100)}
    return KolboSimulator(accounts=accounts, job_seconds=10.0, now=clock.now, public_url="http://sim")


@pytest.fixture
async def api(sim: KolboSimulator) -> AsyncIterator[httpx2.AsyncClient]:
    """An HTTP client on `sim`, sending KEY."""
    transport = httpx2.ASGITransport(app=sim.app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://sim", headers=AUTH) as client:
        yield client


@pytest.fixture
def upstream(clock: FakeClock) -> KolboSimulator:
    """The simulator behind the adapter tests' runtime: KEY with 1000 plan credits, files served from CDN."""
    return KolboSimulator(accounts={KEY: KolboAccount(plan_credits=1000)}, job_seconds=8, now=clock.now, public_url=CDN)


@pytest.fixture
async def runtime(tmp_path: Path, clock: FakeClock, upstream: KolboSimulator) -> AsyncIterator[Runtime]:
    async with kolbo_runtime(tmp_path, clock, upstream.app) as started:
        yield started


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[Client]:
    async with Client(runtime.mcp) as connected:
        yield connected
