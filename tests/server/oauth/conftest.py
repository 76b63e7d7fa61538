"""Fixtures for the built-in authorization server in process: a runtime in `[auth] mode = "builtin"` whose
ConceptViz talks to its simulator, served as an ASGI app (as if on http://127.0.0.1:8000), a user `alice`, and a
clock the tests move (its wall time starts at the real time, because the SDK's handlers check expiry on the real
clock too)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from starlette.types import ASGIApp

from providers import PROVIDERS
from providers.conceptviz.simulator import ConceptVizAccount, ConceptVizSimulator
from server.app import Runtime
from server.config import Settings
from tests.conftest import KEY
from tests.harness.clock import FakeClock
from tests.harness.oauth import Person, add_user
from tests.harness.settings import build_settings
from tests.security.conftest import IN_PROCESS, asgi_http, serving

ISSUER = IN_PROCESS
MCP = f"{IN_PROCESS}/mcp"
REDIRECT = "http://127.0.0.1:33418/callback"


def builtin_settings(tmp_path: Path, **builtin: Any) -> Settings:
    """Live settings (ConceptViz with `KEY`) with the built-in authorization server on 127.0.0.1:8000."""
    return build_settings(
        tmp_path,
        providers={"conceptviz": {"api_key": KEY, "base_url": "https://conceptviz.test/api/v1"}},
        server={"host": "127.0.0.1", "port": 8000},
        auth={"mode": "builtin", "builtin": builtin},
    )


@pytest.fixture
def clock() -> FakeClock:
    fake = FakeClock()
    fake.epoch = time.time() - fake.t
    return fake


@dataclass
class AuthServer:
    """genmcp in process with its authorization server, and what the tests need around it."""

    app: ASGIApp
    runtime: Runtime
    clock: FakeClock
    simulator: ConceptVizSimulator

    def http(self, **headers: str) -> httpx2.AsyncClient:
        """A new HTTP client (its own cookie jar) talking to the app."""
        return asgi_http(self.app, headers)

    def person(self, user: str = "alice") -> Person:
        """Someone with a browser-like client of their own."""
        return Person(self.http(), user=user)


async def serve_builtin(settings: Settings, clock: FakeClock, users: tuple[str, ...] = ("alice",)) -> Any:
    for user in users:
        await add_user(settings.jobs.resolved_db_path(), user)
    simulator = ConceptVizSimulator(accounts={KEY: ConceptVizAccount(credits=100)}, job_seconds=5, now=clock.now)
    runtime = Runtime(settings, PROVIDERS, clock=clock, transports={"conceptviz": httpx2.ASGITransport(app=simulator.app)})
    return runtime, simulator, serving(runtime)


@pytest.fixture
async def auth_server(tmp_path: Path, clock: FakeClock) -> AsyncIterator[AuthServer]:
    runtime, simulator, served = await serve_builtin(builtin_settings(tmp_path), clock)
    async with served as app:
        yield AuthServer(app=app, runtime=runtime, clock=clock, simulator=simulator)
