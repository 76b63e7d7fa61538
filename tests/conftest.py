"""Shared fixtures: a fake clock, the ConceptViz simulator in process, and a genmcp runtime wired to it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from providers import PROVIDERS
from providers.conceptviz.simulator import ConceptVizAccount, ConceptVizSimulator
from server.app import Runtime
from server.config import Settings
from tests.harness.clock import FakeClock
from tests.harness.postgres import PostgresServer, fresh_database, postgres_server
from tests.harness.process import pytest_runtest_makereport as pytest_runtest_makereport
from tests.harness.settings import build_settings

KEY = "cvk_test_key_0123456789"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def simulator(clock: FakeClock) -> ConceptVizSimulator:
    return ConceptVizSimulator(
        accounts={KEY: ConceptVizAccount(credits=100)},
        job_seconds=40,
        now=clock.now,
        public_url="https://r2.conceptviz.test",
    )


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for a live (non-sandbox) runtime whose ConceptViz key is `KEY`."""
    providers = {"conceptviz": {"api_key": KEY, "base_url": "https://conceptviz.test/api/v1"}}
    for name, conf in overrides.pop("providers", {}).items():
        providers.setdefault(name, {}).update(conf)
    return build_settings(tmp_path, providers=providers, **overrides)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
async def runtime(settings: Settings, clock: FakeClock, simulator: ConceptVizSimulator) -> AsyncIterator[Runtime]:
    transport = httpx2.ASGITransport(app=simulator.app)
    async with Runtime(settings, PROVIDERS, clock=clock, transports={"conceptviz": transport}) as rt:
        yield rt


@pytest.fixture(autouse=True)
def _no_provider_keys_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.endswith("_API_KEY") or name.startswith("GENMCP_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the session (a private cluster, or GENMCP_TEST_POSTGRES_URL)."""
    with postgres_server() as server:
        yield server


@pytest.fixture
def postgres_url(postgres: PostgresServer) -> Iterator[str]:
    """A fresh, empty database for one test."""
    with fresh_database(postgres) as url:
        yield url
