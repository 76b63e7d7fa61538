"""The web page's fixtures: one headless chromium per module (`tests.harness.browser`: Debian's chromium driven by
playwright, skipped with the reason without it, failing under CI), and where screenshots go."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.harness.browser import chromium

OUTPUT = Path(os.environ.get("GENMCP_TEST_OUTPUT", Path(__file__).resolve().parents[2] / "out"))
"""The test run's output folder (screenshots under `web/`); `GENMCP_TEST_OUTPUT` moves it."""


@pytest.fixture(scope="session")
def screenshots() -> Path:
    folder = OUTPUT / "web"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Module scope: playwright's sync API runs an event loop on this thread while it is open, and the tests after
    # these (which run their own loops) must not find it still running.
    with chromium() as running:
        yield running
