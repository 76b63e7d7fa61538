"""The whole authorization code flow against the built-in authorization server, in process: metadata, dynamic
registration, the person's sign-in and consent, the code exchange with PKCE, a tool call with the token, refresh
with rotation, revocation — each step over HTTP as a client sends it."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from server.oauth import scopes
from tests.harness.oauth import ISSUER, MCP, REDIRECT, AuthServer, authorize_url, pkce, query_of
from tests.harness.results import data

pytestmark = pytest.mark.anyio


async def register(http: httpx2.AsyncClient, **metadata: Any) -> dict[str, Any]:
    body = {"client_name": "Test Agent", "redirect_uris": [REDIRECT], **metadata}
    response = await http.post("/register", json=body)
    assert response.status_code == 201, response.text
    registered: dict[str, Any] = response.json()
    return registered


async def tokens_for(
    server: AuthServer, client: dict[str, Any], *, scopes_kept: list[str] | None = None, **extra: str
) -> dict[str, Any]:
    verifier, challenge = pkce()
    url = authorize_url(ISSUER, client["client_id"], REDIRECT, challenge, resource=MCP, **extra)
    async with server.person() as person:
        back = await person.consent(url, scopes=scopes_kept)
    code = query_of(back)["code"]
    async with server.http() as http:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
            "client_id": client["client_id"],
            "resource": MCP,
        }
        if client.get("client_secret"):
            form["client_secret"] = client["client_secret"]
        response = await http.post("/token", data=form)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def test_metadata_describes_the_authorization_server(auth_server: AuthServer) -> None:
    async with auth_server.http() as http:
        document = (await http.get("/.well-known/oauth-authorization-server")).json()
        resource = (await http.get("/.well-known/oauth-protected-resource/mcp")).json()
    assert document["issuer"] == ISSUER
    assert document["authorization_endpoint"] == f"{ISSUER}/authorize"
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["client_id_metadata_document_supported"] is True
    assert document["authorization_response_iss_parameter_supported"] is True
    assert document["scopes_supported"] == list(scopes.ALL)
    assert document["registration_endpoint"] == f"{ISSUER}/register"
    assert document["revocation_endpoint"] == f"{ISSUER}/revoke"
    assert resource["resource"] == MCP
    assert resource["authorization_servers"] == [ISSUER]


async def test_a_registered_client_gets_tokens_calls_a_tool_refreshes_and_is_revoked(auth_server: AuthServer) -> None:
    client = await register(auth_server.http())
    answer = await tokens_for(auth_server, client)
    assert answer["token_type"] == "Bearer"
    assert answer["scope"] == " ".join(scopes.ALL)
    access, refresh = answer["access_token"], answer["refresh_token"]

    async with (
        auth_server.http(Authorization=f"Bearer {access}") as http,
        Client(streamable_http_client(MCP, http_client=http)) as mcp,
    ):
        listed = await mcp.call_tool("jobs", {})
    assert not listed.is_error
    assert data(listed)["jobs"] == []

    async with auth_server.http() as http:
        refreshed = await http.post(
            "/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": refresh,
                "client_id": client["client_id"],
                "client_secret": client["client_secret"],
            },
        )
        assert refreshed.status_code == 200, refreshed.text
        rotated = refreshed.json()
        assert rotated["refresh_token"] != refresh
        revoked = await http.post(
            "/revoke",
            data={
                "token": rotated["access_token"],
                "client_id": client["client_id"],
                "client_secret": client["client_secret"],
            },
        )
        assert revoked.status_code == 200
        for token in (access, rotated["access_token"]):
            response = await http.post("/mcp", json={}, headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 401
            assert 'error="invalid_token"' in response.headers["www-authenticate"]
