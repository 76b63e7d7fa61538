"""The web page's fixtures: Debian's chromium driven by playwright, and where screenshots go.

Chromium comes from the system (`apt-get install chromium`; `.ci/run` installs it), never from `playwright install`.
Without it these tests skip, saying so — except under CI (`CI` set), where they fail.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

CHROMIUM = os.environ.get("GENMCP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
OUTPUT = Path(os.environ.get("GENMCP_TEST_OUTPUT", Path(__file__).resolve().parents[2] / "out"))
"""The test run's output folder (screenshots under `web/`); `GENMCP_TEST_OUTPUT` moves it."""


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def screenshots() -> Path:
    folder = OUTPUT / "web"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    # Module scope: playwright's sync API runs an event loop on this thread while it is open, and the tests after
    # these (which run their own loops) must not find it still running.
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        why = f"chromium not found at {CHROMIUM} (apt-get install chromium)"
        if _in_ci():
            pytest.fail(f"{why}; CI must run the browser tests, not skip them")
        pytest.skip(why)
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield launched
    launched.close()
