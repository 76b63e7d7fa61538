"""Fixtures for the built-in authorization server in process (see `tests.harness.oauth`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.harness.clock import FakeClock
from tests.harness.oauth import AuthServer, aligned_clock, builtin_settings, running_auth_server


@pytest.fixture
def clock() -> FakeClock:
    return aligned_clock()


@pytest.fixture
async def auth_server(tmp_path: Path, clock: FakeClock) -> AsyncIterator[AuthServer]:
    async with running_auth_server(builtin_settings(tmp_path), clock) as server:
        yield server
