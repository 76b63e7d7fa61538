"""The built-in authorization server under attack: every bad input is refused with the right OAuth error and
nothing is granted; issued secrets never reach a log or the database.

genmcp runs in process with a fake clock (expiry without waiting); the person and the client speak plain HTTP
(`tests.harness.oauth`). Cases: a wrong PKCE verifier, a replayed code (its tokens revoked too), an unregistered
redirect URI, a redirect to another host, a token for another resource (at /authorize, at /token, at another
endpoint), expired and revoked tokens, a replayed refresh token, a spend call without the spend scope, forged CSRF,
fifty wrong passwords in a row. Every case runs on both stores: the registry's SQLite file and PostgreSQL (where
two replicas also count wrong passwords together, and the rows are searched for secrets like the files are).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from server.oauth import credentials, scopes
from tests.harness.clock import FakeClock
from tests.harness.oauth import (
    ISSUER,
    MCP,
    PASSWORD,
    REDIRECT,
    AuthServer,
    FormPage,
    Person,
    aligned_clock,
    authorize_url,
    builtin_settings,
    pkce,
    query_of,
    running_auth_server,
)
from tests.harness.postgres import table_dump
from tests.harness.results import data, error_code, text
from tests.security.conftest import INITIALIZE, MCP_HEADERS, Leaks

pytestmark = pytest.mark.anyio


@pytest.fixture
def clock() -> FakeClock:
    return aligned_clock()


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, leaks: Leaks) -> str | None:
    """Where the records live: the registry's SQLite file (None), or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("postgres_url")
    leaks.watch(urlsplit(url).password or "")  # the store's password is a secret like any other
    return url


@pytest.fixture
async def server(tmp_path: Path, clock: FakeClock, store_url: str | None) -> AsyncIterator[AuthServer]:
    async with running_auth_server(builtin_settings(tmp_path, store_url=store_url), clock) as running:
        yield running


async def _register(server: AuthServer, leaks: Leaks, **metadata: Any) -> dict[str, Any]:
    async with server.http() as http:
        response = await http.post("/register", json={"client_name": "Agent", "redirect_uris": [REDIRECT], **metadata})
    assert response.status_code == 201, response.text
    client: dict[str, Any] = response.json()
    leaks.watch(client.get("client_secret") or "")
    return client


async def _code(server: AuthServer, client: dict[str, Any], challenge: str, **extra: Any) -> str:
    url = authorize_url(ISSUER, client["client_id"], extra.pop("redirect_uri", REDIRECT), challenge, **extra)
    async with server.person() as person:
        back = await person.consent(url, scopes=extra.get("kept"))
    return query_of(back)["code"]


async def _exchange(
    server: AuthServer, client: dict[str, Any], code: str, verifier: str, **extra: str
) -> httpx2.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
        "client_id": client["client_id"],
        "client_secret": client["client_secret"],
        **extra,
    }
    async with server.http() as http:
        return await http.post("/token", data=form)


async def _tokens(server: AuthServer, client: dict[str, Any], leaks: Leaks, **extra: Any) -> dict[str, Any]:
    verifier, challenge = pkce()
    code = await _code(server, client, challenge, **extra)
    leaks.watch(code)
    response = await _exchange(server, client, code, verifier, resource=extra.get("resource", MCP))
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    leaks.watch(answer["access_token"], answer["refresh_token"])
    return answer


async def _status(server: AuthServer, token: str, path: str = "/mcp") -> httpx2.Response:
    async with server.http(Authorization=f"Bearer {token}") as http:
        return await http.post(path, json=INITIALIZE, headers=MCP_HEADERS)


async def _grants(server: AuthServer) -> int:
    from server.oauth.server import open_store

    store = open_store(server.runtime.settings)
    await store.open()
    try:
        return len(await store.list_grants(include_revoked=True))
    finally:
        await store.close()


def _refused(response: httpx2.Response, error: str, status: int = 400) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == error, response.text


# ---------------------------------------------------------------------------------------------------------------------


async def test_a_wrong_pkce_verifier_is_invalid_grant_and_grants_nothing(server: AuthServer, leaks: Leaks) -> None:
    client = await _register(server, leaks)
    _verifier, challenge = pkce()
    code = await _code(server, client, challenge)
    other_verifier, _ = pkce()
    _refused(await _exchange(server, client, code, other_verifier), "invalid_grant")
    assert await _grants(server) == 0


async def test_a_replayed_code_is_refused_and_revokes_what_its_first_use_gave(server: AuthServer, leaks: Leaks) -> None:
    client = await _register(server, leaks)
    verifier, challenge = pkce()
    code = await _code(server, client, challenge)
    first = await _exchange(server, client, code, verifier)
    assert first.status_code == 200
    leaks.watch(first.json()["access_token"], first.json()["refresh_token"])
    assert (await _status(server, first.json()["access_token"])).status_code == 200
    _refused(await _exchange(server, client, code, verifier), "invalid_grant")
    assert (await _status(server, first.json()["access_token"])).status_code == 401


async def test_an_unregistered_redirect_uri_is_refused_without_redirecting(server: AuthServer, leaks: Leaks) -> None:
    client = await _register(server, leaks)
    _, challenge = pkce()
    for uri in ("http://127.0.0.1:33418/other", "https://evil.example/callback", REDIRECT + "?x=1"):
        async with server.http() as http:
            response = await http.get(authorize_url(ISSUER, client["client_id"], uri, challenge))
        _refused(response, "invalid_request")
        assert "location" not in response.headers


async def test_a_loopback_redirect_matches_on_any_port_but_nothing_else_changes(
    server: AuthServer, leaks: Leaks
) -> None:
    client = await _register(server, leaks)
    _, challenge = pkce()
    async with server.http() as http:
        accepted = await http.get(
            authorize_url(ISSUER, client["client_id"], "http://127.0.0.1:5999/callback", challenge)
        )
        other_host = await http.get(
            authorize_url(ISSUER, client["client_id"], "http://localhost:33418/callback", challenge)
        )
    assert accepted.status_code == 302
    assert accepted.headers["location"].startswith(f"{ISSUER}/oauth/consent?")
    _refused(other_host, "invalid_request")


async def test_a_redirect_to_another_host_cannot_be_registered(server: AuthServer, leaks: Leaks) -> None:
    async with server.http() as http:
        for uri in (
            "http://evil.example/cb",
            "javascript:alert(1)",
            "https://app.example/cb#frag",
            "file:///etc/passwd",
        ):
            response = await http.post("/register", json={"client_name": "x", "redirect_uris": [uri]})
            _refused(response, "invalid_redirect_uri")
    assert await _grants(server) == 0


async def test_a_code_sent_back_goes_only_to_the_registered_host(server: AuthServer, leaks: Leaks) -> None:
    client = await _register(server, leaks, redirect_uris=["https://app.example/cb"])
    _, challenge = pkce()
    async with server.http() as http:
        response = await http.get(
            authorize_url(ISSUER, client["client_id"], "https://app.example.evil.test/cb", challenge)
        )
    _refused(response, "invalid_request")


async def test_a_token_for_another_resource_is_never_issued_nor_accepted(server: AuthServer, leaks: Leaks) -> None:
    client = await _register(server, leaks)
    _, challenge = pkce()
    async with server.http() as http:
        response = await http.get(
            authorize_url(
                ISSUER, client["client_id"], REDIRECT, challenge, resource="https://other.example/mcp", state="s1"
            )
        )
    assert response.status_code == 302
    back = query_of(response.headers["location"])
    assert urlsplit(response.headers["location"]).netloc == "127.0.0.1:33418"
    assert (back["error"], back["state"], back["iss"]) == ("invalid_target", "s1", ISSUER)

    verifier, challenge = pkce()
    code = await _code(server, client, challenge, resource=MCP)
    _refused(await _exchange(server, client, code, verifier, resource="https://other.example/mcp"), "invalid_target")
    assert await _grants(server) == 0

    narrow = await _tokens(server, client, leaks, resource=f"{MCP}/conceptviz")
    assert (await _status(server, narrow["access_token"], "/mcp/conceptviz")).status_code == 200
    refused = await _status(server, narrow["access_token"], "/mcp")
    assert refused.status_code == 401
    assert "another resource" in refused.headers["www-authenticate"]
    wide = await _tokens(server, client, leaks, resource=MCP)
    assert (await _status(server, wide["access_token"], "/mcp/conceptviz")).status_code == 200


async def test_expired_tokens_and_codes_are_refused(server: AuthServer, leaks: Leaks) -> None:
    client = await _register(server, leaks)
    answer = await _tokens(server, client, leaks)
    assert (await _status(server, answer["access_token"])).status_code == 200
    server.clock.advance(3601)
    assert (await _status(server, answer["access_token"])).status_code == 401

    verifier, challenge = pkce()
    code = await _code(server, client, challenge)
    server.clock.advance(301)
    _refused(await _exchange(server, client, code, verifier), "invalid_grant")


async def test_revoked_tokens_are_refused_and_cannot_be_refreshed(server: AuthServer, leaks: Leaks) -> None:
    client = await _register(server, leaks)
    answer = await _tokens(server, client, leaks)
    async with server.http() as http:
        revoked = await http.post(
            "/revoke",
            data={
                "token": answer["refresh_token"],
                "client_id": client["client_id"],
                "client_secret": client["client_secret"],
            },
        )
        assert revoked.status_code == 200
        refreshed = await http.post(
            "/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": answer["refresh_token"],
                "client_id": client["client_id"],
                "client_secret": client["client_secret"],
            },
        )
    _refused(refreshed, "invalid_grant")
    response = await _status(server, answer["access_token"])
    assert response.status_code == 401
    assert (
        'resource_metadata="http://127.0.0.1:8000/.well-known/oauth-protected-resource/mcp"'
        in response.headers["www-authenticate"]
    )


async def test_a_replayed_refresh_token_revokes_its_grant(server: AuthServer, leaks: Leaks) -> None:
    client = await _register(server, leaks)
    answer = await _tokens(server, client, leaks)
    form = {
        "grant_type": "refresh_token",
        "refresh_token": answer["refresh_token"],
        "client_id": client["client_id"],
        "client_secret": client["client_secret"],
    }
    async with server.http() as http:
        rotated = await http.post("/token", data=form)
        assert rotated.status_code == 200
        leaks.watch(rotated.json()["access_token"], rotated.json()["refresh_token"])
        _refused(await http.post("/token", data=form), "invalid_grant")
    assert (await _status(server, rotated.json()["access_token"])).status_code == 401


async def test_a_spend_call_without_the_spend_scope_is_refused_naming_it(server: AuthServer, leaks: Leaks) -> None:
    client = await _register(server, leaks)
    answer = await _tokens(server, client, leaks, kept=[scopes.WRITE])  # the person unticks "Spend credits"
    assert answer["scope"] == f"{scopes.READ} {scopes.WRITE}"
    before = len(server.simulator.requests)
    async with (
        server.http(Authorization=f"Bearer {answer['access_token']}") as http,
        Client(streamable_http_client(MCP, http_client=http)) as mcp,
    ):
        refused = leaks.result("generate", await mcp.call_tool("conceptviz_generate", {"prompts": ["a cat"]}))
        listed = await mcp.call_tool("jobs", {})
    assert refused.is_error
    assert error_code(refused) == "insufficient_scope"
    assert "genmcp:spend" in text(refused)
    assert data(refused)["error"]["charged"] is False
    assert len(server.simulator.requests) == before  # nothing went upstream
    assert not listed.is_error


async def test_forged_csrf_values_are_refused_and_nothing_is_granted(server: AuthServer, leaks: Leaks) -> None:
    client = await _register(server, leaks)
    _, challenge = pkce()
    async with server.person() as person:
        page = await person.open_consent(authorize_url(ISSUER, client["client_id"], REDIRECT, challenge))
        form = FormPage(page.text).form()
        forged = await person.post(f"{ISSUER}/oauth/consent", form, csrf="forged-" + "x" * 40, decision="approve")
        assert forged.status_code == 403
        missing = await person.post(f"{ISSUER}/oauth/consent", form, csrf=None, decision="approve")
        assert missing.status_code == 403
        cross_site = await person.http.post(
            f"{ISSUER}/oauth/consent",
            data=dict(form.values(decision="approve")),
            headers={"Origin": "https://evil.example"},
        )
        assert cross_site.status_code == 403
        assert "location" not in forged.headers
        # The request is still pending (a forged answer did not spend it) and still answers to the real form.
        real = await person.post(f"{ISSUER}/oauth/consent", form, decision="deny")
    assert real.status_code == 303
    assert query_of(real.headers["location"])["error"] == "access_denied"
    assert await _grants(server) == 0


async def test_fifty_wrong_passwords_in_a_row_lock_sign_in(server: AuthServer, leaks: Leaks) -> None:
    statuses = []
    async with server.person(password="not the password") as person:
        page = await person.get(f"{ISSUER}/oauth/sign-in")
        form = FormPage(page.text).form(method="password")
        for _ in range(50):
            response = await person.post(f"{ISSUER}/oauth/sign-in", form, user="alice", password="wrong password")
            statuses.append(response.status_code)
        assert statuses[:4] == [401] * 4
        assert set(statuses[4:]) == {429}, statuses
        assert "Too many failed sign-ins" in response.text
        assert int(response.headers["retry-after"]) > 0
        locked = await person.post(f"{ISSUER}/oauth/sign-in", form, user="alice", password=PASSWORD)
        assert locked.status_code == 429  # even the right password, while locked
        assert "genmcp_session" not in locked.headers.get("set-cookie", "")
        server.clock.advance(301)
        opened = await person.post(f"{ISSUER}/oauth/sign-in", form, user="alice", password=PASSWORD)
    assert opened.status_code == 303
    assert "genmcp_session=" in opened.headers["set-cookie"]


async def test_wrong_passwords_on_two_replicas_count_together(
    tmp_path: Path, clock: FakeClock, postgres_url: str, leaks: Leaks
) -> None:
    """Failed sign-ins are counted in the store: a guesser spreading its tries over replicas is locked out as soon."""
    settings = builtin_settings(tmp_path, store_url=postgres_url)
    async with (
        running_auth_server(settings, clock) as one,
        running_auth_server(settings, clock, users=()) as two,
        one.person() as at_one,
        two.person() as at_two,
    ):
        forms = {}
        for person in (at_one, at_two):
            forms[id(person)] = FormPage((await person.get(f"{ISSUER}/oauth/sign-in")).text).form(method="password")

        async def sign_in(person: Person, password: str) -> httpx2.Response:
            return await person.post(f"{ISSUER}/oauth/sign-in", forms[id(person)], user="alice", password=password)

        statuses = [(await sign_in(person, "wrong password")).status_code for person in [at_one, at_two] * 3]
        assert statuses == [401, 401, 401, 401, 429, 429]  # the fifth wrong password in a row, whichever replica
        assert (await sign_in(at_one, PASSWORD)).status_code == 429
        assert (await sign_in(at_two, PASSWORD)).status_code == 429
        clock.advance(301)
        opened = await sign_in(at_two, PASSWORD)
    assert opened.status_code == 303
    assert "genmcp_session=" in opened.headers["set-cookie"]


async def test_issued_secrets_never_reach_the_database_or_the_logs(server: AuthServer, leaks: Leaks) -> None:
    client = await _register(server, leaks)
    answer = await _tokens(server, client, leaks)
    leaks.watch(PASSWORD)
    async with server.http() as http:
        rotated = (
            await http.post(
                "/token",
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": answer["refresh_token"],
                    "client_id": client["client_id"],
                    "client_secret": client["client_secret"],
                },
            )
        ).json()
    leaks.watch(rotated["access_token"], rotated["refresh_token"])
    leaks.files("registry", server.runtime.settings.jobs.resolved_db_path().parent)
    url = server.runtime.settings.store.postgres_url
    stored = "\n".join(leaks.add(f"store:{table}", rows) for table, rows in table_dump(url).items()) if url else ""
    registry = b"".join(
        p.read_bytes() for p in server.runtime.settings.jobs.resolved_db_path().parent.rglob("*.sqlite3*")
    )
    # The records are there — as digests (the check above would fail on the tokens themselves).
    found = stored if url else registry.decode("latin-1")
    for secret in (answer["access_token"], rotated["access_token"], rotated["refresh_token"]):
        assert credentials.digest(secret) in found
    if url:
        assert not registry  # nothing went to a SQLite file


async def test_pkce_s256_is_required(server: AuthServer, leaks: Leaks) -> None:
    client = await _register(server, leaks)
    _, challenge = pkce()
    async with server.http() as http:
        for extra in ({"code_challenge_method": "plain"}, {"code_challenge": ""}):
            url = authorize_url(ISSUER, client["client_id"], REDIRECT, challenge, state="p1", **extra)
            if extra.get("code_challenge") == "":
                url = url.replace("&code_challenge=&", "&")
            response = await http.get(url)
            assert response.status_code == 302, response.text
            back = query_of(response.headers["location"])
            assert back["error"] == "invalid_request", back
            assert back["state"] == "p1"
            assert not response.headers["location"].startswith(f"{ISSUER}/oauth/consent")
