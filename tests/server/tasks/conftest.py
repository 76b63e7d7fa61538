"""Fixtures of the tasks tests: a genmcp runtime whose Kolbo provider talks to its simulator in process (on the fake
clock), and clients with and without the Tasks extension."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mcp import Client

from providers.kolbo.simulator import KolboAccount, KolboSimulator
from server.app import Runtime
from tests.harness.clock import FakeClock
from tests.harness.tasks_client import TasksClient
from tests.providers.kolbo.support import CDN, KEY, kolbo_runtime


@pytest.fixture
def upstream(clock: FakeClock) -> KolboSimulator:
    """Kolbo with 1000 plan credits; a generation takes 8 s (per unit of its time factor)."""
    return KolboSimulator(accounts={KEY: KolboAccount(plan_credits=1000)}, job_seconds=8, now=clock.now, public_url=CDN)


@pytest.fixture
async def runtime(tmp_path: Path, clock: FakeClock, upstream: KolboSimulator) -> AsyncIterator[Runtime]:
    async with kolbo_runtime(tmp_path, clock, upstream.app) as started:
        yield started


@pytest.fixture
def tasks(clock: FakeClock) -> TasksClient:
    """The client side of the Tasks extension, polling on the fake clock."""
    return TasksClient(sleep=clock.sleep)


@pytest.fixture
async def client(runtime: Runtime, tasks: TasksClient) -> AsyncIterator[Client]:
    """A 2026-07-28 client (the SDK's default mode) that declares the Tasks extension."""
    async with Client(runtime.mcp, extensions=[tasks]) as connected:
        yield connected


@pytest.fixture
async def plain(runtime: Runtime) -> AsyncIterator[Client]:
    """A 2026-07-28 client without the Tasks extension."""
    async with Client(runtime.mcp) as connected:
        yield connected
