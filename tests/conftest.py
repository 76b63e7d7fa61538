"""Shared fixtures: a fake clock, the ConceptViz simulator in process, and a genmcp runtime wired to it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import httpx2
import pytest

from providers import PROVIDERS
from providers.conceptviz.simulator import ConceptVizAccount, ConceptVizSimulator
from server.app import Runtime
from server.config import Settings, load_settings

KEY = "cvk_test_key_0123456789"


class FakeClock:
    """Time that moves only when someone sleeps on it (or a test advances it)."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.epoch = 1_700_000_000.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    def wall(self) -> float:
        return self.epoch + self.t

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += max(0.0, seconds)
        await anyio.lowlevel.checkpoint()

    async def wait_for(self, event: anyio.Event, timeout: float) -> bool:
        # Give the other tasks a chance to set the event; if they do not, the whole timeout has passed.
        for _ in range(50):
            if event.is_set():
                return True
            await anyio.lowlevel.checkpoint()
        self.t += max(0.0, timeout)
        return event.is_set()

    def advance(self, seconds: float) -> None:
        self.t += seconds


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
    data: dict[str, Any] = {
        "jobs": {"db_path": str(tmp_path / "jobs.sqlite3"), "wait_seconds": 45, "max_wait_seconds": 55},
        "artifacts": {"dir": str(tmp_path / "artifacts")},
        "providers": {"conceptviz": {"api_key": KEY, "base_url": "https://conceptviz.test/api/v1"}},
        "sandbox": {"mode": "off"},
        "upstream": {"backoff_base": 0.5, "backoff_max": 4},
    }
    for section, values in overrides.items():
        if section == "providers":
            for name, conf in values.items():
                data["providers"].setdefault(name, {}).update(conf)
        else:
            data.setdefault(section, {}).update(values)
    return load_settings(None, env={}, provider_names=[p.name for p in PROVIDERS], overrides=data)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
async def runtime(settings: Settings, clock: FakeClock, simulator: ConceptVizSimulator) -> AsyncIterator[Runtime]:
    transport = httpx2.ASGITransport(app=simulator.app)
    async with Runtime(settings, clock=clock, transports={"conceptviz": transport}) as rt:
        yield rt


@pytest.fixture(autouse=True)
def _no_provider_keys_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.endswith("_API_KEY") or name.startswith("GENMCP_"):
            monkeypatch.delenv(name)
