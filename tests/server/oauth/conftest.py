"""Fixtures for the built-in authorization server in process (see `tests.harness.oauth`); `auth_server` runs each
test on both stores: the registry's SQLite file and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.harness.clock import FakeClock
from tests.harness.oauth import AuthServer, aligned_clock, builtin_settings, running_auth_server


@pytest.fixture
def clock() -> FakeClock:
    return aligned_clock()


@pytest.fixture(params=["sqlite", "postgres"])
async def auth_server(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> AsyncIterator[AuthServer]:
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    async with running_auth_server(builtin_settings(tmp_path, store_url=url), clock) as server:
        yield server
