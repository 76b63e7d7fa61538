"""A connector's sign-in, end to end: `genmcp serve` in `[auth] mode = "builtin"` (a real process, over http on
loopback and over https with its own certificate), the MCP Python SDK's OAuth client, and a person who signs in and
approves on the pages. Discovery from a 401, dynamic registration, authorization with PKCE, the token, a tool call,
a refresh, a revocation → 401, and the client asking the person again.

Each run prints the request sequence (client and browser, in order) — the closing note of the issue shows one.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.auth import OAuthClientProvider, TokenStorage
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken
from pydantic import AnyUrl

from tests.harness.config_file import write_config
from tests.harness.oauth import PASSWORD, Person, query_of
from tests.harness.process import GenmcpProcess, clean_env, run_genmcp, start_genmcp
from tests.harness.results import data
from tests.harness.settings import settings_data
from tests.harness.tls import make_tls

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

CALLBACK = "http://127.0.0.1:47113/callback"


def oauth_config(workdir: Path, **server: Any) -> dict[str, Any]:
    """Sandbox providers, the built-in authorization server, and `server` settings (TLS files)."""
    return settings_data(
        workdir, auth={"mode": "builtin"}, sandbox={"mode": "on", "job_seconds": 3}, server=dict(server)
    )


def add_user(workdir: Path, config: dict[str, Any], name: str = "alice") -> None:
    """`genmcp users add NAME --password-stdin`, as an operator runs it."""
    path = write_config(workdir / "users.toml", config)
    added = run_genmcp(
        ["users", "add", name, "--password-stdin", "--config", str(path)],
        workdir=workdir,
        env=clean_env(),
        input=PASSWORD + "\n",
    )
    assert added.returncode == 0, added.stderr
    assert f"added {name}" in added.stdout


@pytest.fixture(params=["http", "https"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GenmcpProcess]:
    workdir = tmp_path / "genmcp"
    workdir.mkdir()
    tls = make_tls(tmp_path / "tls") if request.param == "https" else None
    config = oauth_config(workdir, **({"tls_certfile": str(tls.cert), "tls_keyfile": str(tls.key)} if tls else {}))
    add_user(workdir, config)
    with start_genmcp(workdir, config=config, tls_ca=tls.ca if tls else None) as running:
        yield running


class Memory(TokenStorage):
    """The client's token and registration storage."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


class Sequence:
    """Every request of the client and the browser, in order, as `who METHOD path → status`."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def hook(self, who: str) -> Any:
        async def record(response: httpx2.Response) -> None:
            request = response.request
            grant = ""
            if request.url.path == "/token":
                grant = " (" + query_of("?" + request.content.decode())["grant_type"] + ")"
            self.lines.append(f"{who:<8} {request.method:<4} {request.url.path}{grant} → {response.status_code}")

        return record


class Approver:
    """The person: opens the authorization URL the client hands over, signs in, approves."""

    def __init__(self, person: Person) -> None:
        self.person = person
        self.asked = 0
        self.result: dict[str, str] = {}

    async def redirect(self, url: str) -> None:
        self.asked += 1
        self.result = query_of(await self.person.consent(url))

    async def callback(self) -> AuthorizationCodeResult:
        return AuthorizationCodeResult(code=self.result["code"], state=self.result.get("state"), iss=self.result["iss"])


async def test_a_connector_signs_in_calls_refreshes_and_is_revoked(server: GenmcpProcess) -> None:
    sequence = Sequence()
    storage = Memory()
    browser = httpx2.AsyncClient(verify=server.verify(), event_hooks={"response": [sequence.hook("browser")]})
    approver = Approver(Person(browser))
    oauth = OAuthClientProvider(
        server_url=server.mcp_url,
        client_metadata=OAuthClientMetadata(
            client_name="Claude (test)",
            redirect_uris=[AnyUrl(CALLBACK)],
            token_endpoint_auth_method="client_secret_post",
        ),
        storage=storage,
        redirect_handler=approver.redirect,
        callback_handler=approver.callback,
    )
    http = httpx2.AsyncClient(
        auth=oauth, verify=server.verify(), timeout=30, event_hooks={"response": [sequence.hook("client")]}
    )
    async with browser, http, Client(streamable_http_client(server.mcp_url, http_client=http)) as client:
        listed = await client.call_tool("jobs", {})
        assert not listed.is_error
        generated = await client.call_tool("conceptviz_generate", {"prompts": ["a lighthouse"], "wait": 20})
        assert data(generated)["status"] == "completed", generated.structured_content
        first = storage.tokens
        assert first is not None
        assert approver.asked == 1

        oauth.context.token_expiry_time = time.time() - 1  # the client's view: its access token has expired
        credits = await client.call_tool("credits", {})
        assert not credits.is_error
        assert storage.tokens is not None
        assert storage.tokens.access_token != first.access_token
        assert storage.tokens.refresh_token != first.refresh_token
        assert approver.asked == 1  # refreshed, not asked again

        current = storage.tokens.access_token
        assert storage.client is not None
        revoked = await browser.post(
            f"{server.base_url}/revoke",
            data={
                "token": current,
                "client_id": storage.client.client_id,
                "client_secret": storage.client.client_secret or "",
            },
        )
        assert revoked.status_code == 200
        refused = await browser.post(
            server.mcp_url,
            json={"jsonrpc": "2.0", "id": 9, "method": "ping"},
            headers={"Authorization": f"Bearer {current}", "Accept": "application/json, text/event-stream"},
        )
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith('Bearer error="invalid_token"')

        again = await client.call_tool("jobs", {})  # 401 → the refresh token is revoked too → ask the person
        assert not again.is_error
        assert approver.asked == 2
        assert [job["job"] for job in data(again)["jobs"]] == [data(generated)["job"]]  # alice's own job

    print(f"\nrequest sequence ({server.base_url}):\n" + "\n".join(sequence.lines))
    assert sequence.lines[0].startswith("client   POST /mcp → 401")
    discovery = [line.split()[2] for line in sequence.lines[1:4]]
    assert discovery == [
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-authorization-server",
        "/register",
    ]


async def test_https_pages_set_secure_host_only_cookies(server: GenmcpProcess) -> None:
    async with httpx2.AsyncClient(verify=server.verify()) as http:
        metadata = (await http.get(f"{server.base_url}/.well-known/oauth-authorization-server")).json()
        page = await http.get(f"{server.base_url}/oauth/sign-in")
    assert metadata["issuer"] == server.base_url
    cookie = page.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    if server.base_url.startswith("https://"):
        assert cookie.startswith("__Host-genmcp_csrf=")
        assert "Secure" in cookie
    else:
        assert cookie.startswith("genmcp_csrf=")
        assert "Secure" not in cookie
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
