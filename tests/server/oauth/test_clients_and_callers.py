"""Who the clients are and who the caller is: a client identified by its metadata document, pre-registered clients
when dynamic registration is off (a confidential one authenticating with HTTP Basic), the signed-in user as the
caller every job is stamped with, and settings the built-in server refuses."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientMetadata
from pydantic import AnyUrl
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.app import Runtime
from server.errors import ConfigError
from server.oauth import credentials
from server.oauth.server import BuiltinAuthServer, open_store
from server.oauth.store import ClientRecord
from tests.e2e.test_oauth import Memory
from tests.harness.clock import FakeClock
from tests.harness.oauth import (
    ISSUER,
    MCP,
    REDIRECT,
    AuthServer,
    Person,
    authorize_url,
    builtin_settings,
    pkce,
    query_of,
    running_auth_server,
)
from tests.harness.results import data
from tests.harness.settings import build_settings

pytestmark = pytest.mark.anyio

DOCUMENT_URL = "https://client.example.test/oauth/client.json"


def _document_app(document: dict[str, Any], fetched: list[str]) -> Starlette:
    async def serve(request: Request) -> Response:
        fetched.append(str(request.url.path))
        return JSONResponse(document)

    return Starlette(routes=[Route("/oauth/client.json", serve)])


class _Approver:
    def __init__(self, person: Person) -> None:
        self.person = person
        self.back: dict[str, str] = {}

    async def redirect(self, url: str) -> None:
        self.back = query_of(await self.person.consent(url))

    async def callback(self) -> AuthorizationCodeResult:
        return AuthorizationCodeResult(code=self.back["code"], state=self.back.get("state"), iss=self.back.get("iss"))


async def test_a_client_identified_by_its_metadata_document_signs_in(tmp_path: Path, clock: FakeClock) -> None:
    fetched: list[str] = []
    document = {
        "client_id": DOCUMENT_URL,
        "client_name": "Document Client",
        "redirect_uris": [REDIRECT],
        "token_endpoint_auth_method": "none",
    }
    settings = builtin_settings(tmp_path)
    async with running_auth_server(settings, clock, fetch_app=_document_app(document, fetched)) as server:
        async with server.person() as person:
            approver = _Approver(person)
            oauth = OAuthClientProvider(
                server_url=MCP,
                client_metadata=OAuthClientMetadata(redirect_uris=[AnyUrl(REDIRECT)], client_name="Document Client"),
                storage=Memory(),
                redirect_handler=approver.redirect,
                callback_handler=approver.callback,
                client_metadata_url=DOCUMENT_URL,
            )
            async with server.http() as http:
                http.auth = oauth
                async with Client(streamable_http_client(MCP, http_client=http)) as client:
                    listed = await client.call_tool("jobs", {})
        assert not listed.is_error
        assert fetched == ["/oauth/client.json"]  # read once, then cached
        store = open_store(settings)
        await store.open()
        record = await store.get_client(DOCUMENT_URL)
        await store.close()
    assert record is not None
    assert record.origin == "document"


async def test_a_metadata_document_that_names_another_client_is_refused(tmp_path: Path, clock: FakeClock) -> None:
    document = {"client_id": "https://evil.example/client.json", "redirect_uris": [REDIRECT]}
    async with running_auth_server(builtin_settings(tmp_path), clock, fetch_app=_document_app(document, [])) as server:
        _, challenge = pkce()
        async with server.http() as http:
            response = await http.get(authorize_url(ISSUER, DOCUMENT_URL, REDIRECT, challenge))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_without_dynamic_registration_only_pre_registered_clients_sign_in(
    tmp_path: Path, clock: FakeClock
) -> None:
    settings = builtin_settings(tmp_path, dynamic_registration=False)
    secret = credentials.mint("cs")
    async with running_auth_server(settings, clock) as server:
        store = open_store(settings)
        await store.open()
        await store.put_client(
            ClientRecord(
                client_id="ops-client",
                origin="operator",
                metadata={
                    "client_name": "Ops",
                    "redirect_uris": [REDIRECT],
                    "token_endpoint_auth_method": "client_secret_basic",
                },
                secret_digest=credentials.digest(secret),
                created_at=clock.wall(),
            )
        )
        await store.close()
        async with server.http() as http:
            metadata = (await http.get("/.well-known/oauth-authorization-server")).json()
            assert "registration_endpoint" not in metadata
            assert (await http.post("/register", json={"redirect_uris": [REDIRECT]})).status_code in (404, 405)
        verifier, challenge = pkce()
        async with server.person() as person:
            back = await person.consent(authorize_url(ISSUER, "ops-client", REDIRECT, challenge))
        form = {
            "grant_type": "authorization_code",
            "code": query_of(back)["code"],
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
            "client_id": "ops-client",
        }
        basic = base64.b64encode(f"ops-client:{secret}".encode()).decode()
        async with server.http() as http:
            wrong = await http.post(
                "/token", data=form, headers={"Authorization": "Basic " + base64.b64encode(b"ops-client:nope").decode()}
            )
            right = await http.post("/token", data=form, headers={"Authorization": f"Basic {basic}"})
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    assert right.status_code == 200, right.text


async def _token(server: AuthServer, user: str) -> str:
    async with server.http() as http:
        client = (await http.post("/register", json={"redirect_uris": [REDIRECT], "client_name": user})).json()
    verifier, challenge = pkce()
    async with server.person(user) as person:
        back = await person.consent(authorize_url(ISSUER, client["client_id"], REDIRECT, challenge))
    async with server.http() as http:
        answer = await http.post(
            "/token",
            data={
                "grant_type": "authorization_code",
                "code": query_of(back)["code"],
                "redirect_uri": REDIRECT,
                "code_verifier": verifier,
                "client_id": client["client_id"],
                "client_secret": client["client_secret"],
            },
        )
    token: str = answer.json()["access_token"]
    return token


async def test_the_signed_in_user_is_the_caller_of_their_jobs(tmp_path: Path, clock: FakeClock) -> None:
    async with running_auth_server(builtin_settings(tmp_path), clock, users=("alice", "bob")) as server:
        tokens = {user: await _token(server, user) for user in ("alice", "bob")}
        results: dict[str, Any] = {}
        for user, token in tokens.items():
            async with (
                server.http(Authorization=f"Bearer {token}") as http,
                Client(streamable_http_client(MCP, http_client=http)) as client,
            ):
                if user == "alice":
                    started = await client.call_tool("conceptviz_generate", {"prompts": ["a fox"], "wait": 0})
                    results["handle"] = data(started)["job"]
                results[user] = data(await client.call_tool("jobs", {}))["jobs"]
                results[f"{user}-poll"] = await client.call_tool("poll", {"job": results["handle"], "wait": 0})
        records = await server.runtime.store.list(limit=5)
    assert [r.caller for r in records] == ["alice"]
    assert [j["job"] for j in results["alice"]] == [results["handle"]]
    assert results["bob"] == []
    assert results["bob-poll"].is_error
    assert not results["alice-poll"].is_error


@pytest.mark.parametrize(
    ("server", "message"),
    [
        ({"host": "0.0.0.0", "port": 8000}, "needs https"),
        ({"public_url": "http://genmcp.example.com"}, "needs https"),
        ({"public_url": "https://example.com/genmcp"}, "must be an origin"),
    ],
)
def test_the_built_in_server_refuses_an_issuer_that_is_not_https(
    tmp_path: Path, server: dict[str, Any], message: str
) -> None:
    settings = build_settings(tmp_path, server=server, auth={"mode": "builtin"}, sandbox={"mode": "on"})
    from providers import PROVIDERS

    with pytest.raises(ConfigError, match=message):
        BuiltinAuthServer(Runtime(settings, PROVIDERS))


def test_a_tls_certificate_needs_its_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="tls_certfile and tls_keyfile go together"):
        build_settings(tmp_path, server={"tls_certfile": str(tmp_path / "cert.pem")})
