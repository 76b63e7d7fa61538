"""The sign-in and consent pages in a real browser (Debian's chromium, headless, JavaScript off): a person signs
in, approves, and lands on the client's redirect URI with a code that the client then exchanges; a one-time link
signs in; Deny sends the person back with `access_denied`. Screenshots go to each test's output folder (printed).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.e2e.test_oauth import add_user, oauth_config
from tests.harness.browser import CallbackServer, chromium, screenshot
from tests.harness.config_file import write_config
from tests.harness.oauth import PASSWORD, authorize_url, pkce, query_of
from tests.harness.process import GenmcpProcess, clean_env, run_genmcp, start_genmcp
from tests.security.conftest import INITIALIZE, MCP_HEADERS

pytestmark = [pytest.mark.e2e]


class Running:
    """genmcp with the built-in authorization server, a user `alice`, and a pre-registered public client."""

    def __init__(self, server: GenmcpProcess, config_path: Path, client_id: str) -> None:
        self.server = server
        self.config_path = config_path
        self.client_id = client_id

    def genmcp(self, *args: str) -> str:
        env = clean_env(GENMCP_SERVER__PORT=str(self.server.port))  # the port it was started on (`--port`)
        done = run_genmcp([*args, "--config", str(self.config_path)], workdir=self.server.workdir, env=env)
        assert done.returncode == 0, done.stderr
        return done.stdout


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    workdir = tmp_path_factory.mktemp("genmcp-browser")
    config = oauth_config(workdir)
    add_user(workdir, config)
    path = write_config(workdir / "operator.toml", config)
    added = run_genmcp(
        [
            "clients",
            "add",
            "Browser Test App",
            "--redirect-uri",
            "http://127.0.0.1/callback",
            "--public",
            "--config",
            str(path),
        ],
        workdir=workdir,
        env=clean_env(),
    )
    assert added.returncode == 0, added.stderr
    client_id = re.search(r"client_id:\s+(\S+)", added.stdout)
    assert client_id, added.stdout
    with start_genmcp(workdir, config=config) as server:
        yield Running(server, path, client_id[1])


def _exchange(running: Running, code: str, verifier: str, redirect: str) -> dict[str, Any]:
    answer = httpx2.post(
        f"{running.server.base_url}/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect,
            "code_verifier": verifier,
            "client_id": running.client_id,
            "resource": running.server.mcp_url,
        },
    )
    assert answer.status_code == 200, answer.text
    tokens: dict[str, Any] = answer.json()
    return tokens


def test_a_person_signs_in_and_approves_and_the_client_gets_its_code(running: Running, tmp_path: Path) -> None:
    shots = tmp_path / "screenshots"
    verifier, challenge = pkce()
    issuer = running.server.base_url
    with CallbackServer() as callback, chromium() as browser:
        url = authorize_url(
            issuer, running.client_id, callback.url, challenge, state="st-1", resource=running.server.mcp_url
        )
        context = browser.new_context(java_script_enabled=False, viewport={"width": 640, "height": 900})
        page = context.new_page()
        page.goto(url)
        assert page.get_by_role("heading", name="Sign in to genmcp").is_visible()
        assert page.locator("html").get_attribute("lang") == "en"
        assert page.get_by_text("Browser Test App is asking to use genmcp").is_visible()

        page.get_by_label("User name").fill("alice")
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Sign in", exact=True).click()
        assert page.get_by_role("alert").inner_text() == "That user name and password do not match."
        screenshot(page, shots, "1-sign-in-wrong-password")

        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_label("Password").press("Enter")  # the keyboard alone submits the form
        page.wait_for_url("**/oauth/consent?**")
        assert page.get_by_role("heading", name="Allow Browser Test App to use genmcp?").is_visible()
        assert page.get_by_text("127.0.0.1", exact=True).is_visible()  # where the code will go
        assert page.get_by_role("checkbox", name=re.compile("^Spend credits")).is_checked()
        assert page.get_by_role("checkbox", name=re.compile("^Create for free")).is_checked()
        assert page.get_by_text("Read your jobs").is_visible()
        screenshot(page, shots, "2-consent")

        page.get_by_role("checkbox", name=re.compile("^Spend credits")).uncheck()
        page.get_by_role("button", name="Approve").click()
        page.wait_for_url(f"{callback.url}?**")
        screenshot(page, shots, "3-back-in-the-app")
        landed = query_of(page.url)
        context.close()
    assert landed["state"] == "st-1"
    assert landed["iss"] == issuer
    assert [url for url in callback.seen if "/callback" in url] == [page.url]

    tokens = _exchange(running, landed["code"], verifier, callback.url)
    assert tokens["scope"] == "genmcp:read genmcp:write"  # the person unticked spending
    initialized = httpx2.post(
        running.server.mcp_url,
        json=INITIALIZE,
        headers={**MCP_HEADERS, "Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert initialized.status_code == 200


def test_a_one_time_link_signs_in_and_deny_returns_access_denied(running: Running, tmp_path: Path) -> None:
    printed = running.genmcp("auth", "link", "alice")
    link = re.search(r"(http://\S+/oauth/link/\S+)", printed)
    assert link, printed
    _, challenge = pkce()
    with CallbackServer() as callback, chromium() as browser:
        context = browser.new_context(java_script_enabled=False)
        page = context.new_page()
        page.goto(link[1])
        screenshot(page, tmp_path, "link")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/oauth/signed-in")
        assert page.get_by_role("heading", name="You are signed in").is_visible()

        page.goto(link[1])  # a link works once
        page.get_by_role("button", name="Sign in").click()
        assert "not valid" in page.get_by_role("alert").inner_text()

        page.goto(authorize_url(running.server.base_url, running.client_id, callback.url, challenge, state="st-2"))
        page.wait_for_url("**/oauth/consent?**")  # already signed in: straight to the question
        page.get_by_role("button", name="Deny").click()
        page.wait_for_url(f"{callback.url}?**")
        landed = query_of(page.url)
        context.close()
    assert landed["error"] == "access_denied"
    assert landed["state"] == "st-2"
    assert "code" not in landed
