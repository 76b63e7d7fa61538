"""A real browser for the page tests: Debian's chromium (`apt-get install chromium`), driven by Python playwright
(`executable_path`, never `playwright install`), headless; and a loopback callback server to land on.

Without chromium or playwright the tests that need them skip, saying why — except under CI (`CI` set), where they
fail: CI installs both (`.ci/run`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser

__all__ = ["CallbackServer", "chromium", "in_ci", "screenshot"]

CHROMIUM = os.environ.get("GENMCP_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _missing(why: str) -> None:
    if in_ci():
        pytest.fail(f"{why}; CI must run the browser tests (.ci/run installs chromium and playwright)")
    pytest.skip(why)


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    """Headless chromium, closed at the end of the block."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install -e '.[dev]')")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        _missing(f"{CHROMIUM} is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def screenshot(page: Any, folder: Path, name: str) -> Path:
    """A full-page screenshot into `folder` (the test's output folder); its path is printed."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self.server.seen.append(f"http://{self.headers.get('Host')}{self.path}")
        body = b"<!doctype html><html lang=en><title>Back in the app</title><h1>Back in the app</h1></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return None


class _Server(ThreadingHTTPServer):
    seen: list[str]


class CallbackServer:
    """A client's redirect URI on loopback: records the URLs the browser lands on. Use as a context manager."""

    def __init__(self) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.seen = []
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/callback"
        self._thread = threading.Thread(target=self._server.serve_forever, name="callback-server", daemon=True)

    @property
    def seen(self) -> list[str]:
        return self._server.seen

    def __enter__(self) -> CallbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
