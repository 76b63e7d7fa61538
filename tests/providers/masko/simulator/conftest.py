"""Fixtures of the Masko simulator tests: the simulator on the fake clock with three accounts (a Pro one with 100
subscription and 50 top-up credits, another workspace, a Free plan), and an HTTP client with the first key."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx2
import pytest

from providers.masko.simulator import MaskoAccount, MaskoSimulator
from tests.harness.clock import FakeClock
from tests.providers.masko.simulator.support import AUTH, FREE_KEY, KEY, OTHER_KEY


@pytest.fixture
def sim(clock: FakeClock) -> MaskoSimulator:
    accounts = {
        KEY: MaskoAccount(subscription_credits=100, topup_credits=50),
        OTHER_KEY: MaskoAccount(),
        FREE_KEY: MaskoAccount(plan="free"),
    }
    return MaskoSimulator(
        accounts=accounts, job_seconds=10.0, now=clock.now, sleep=clock.sleep, public_url="http://sim"
    )


@pytest.fixture
async def client(sim: MaskoSimulator) -> AsyncIterator[httpx2.AsyncClient]:
    transport = httpx2.ASGITransport(app=sim.app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://sim", headers=AUTH) as client:
        yield client
