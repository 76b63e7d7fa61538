"""The built-in authorization server on several replicas: three `genmcp serve` processes on one PostgreSQL with
`[auth] mode = "builtin"`, behind one public URL, each request steered to the replica the test chooses.

A connector (the MCP Python SDK's OAuth client) registers on one replica; the person signs in and approves on
another; the code is exchanged and the token used on a third; the refresh happens elsewhere again; a revocation on
one replica (and then the operator's `genmcp tokens revoke`) is seen by all; wrong passwords spread over the
replicas lock the name on every one of them. Users are added and grants listed by the operator commands, on the
same database. The test prints the request sequence, each line naming the replica that answered.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientMetadata
from pydantic import AnyUrl

from tests.e2e.test_oauth import CALLBACK, Approver, Memory, add_user
from tests.e2e.test_replicas import replica_config, start_replicas
from tests.harness.config_file import write_config
from tests.harness.oauth import PASSWORD, Form, FormPage, Person, query_of
from tests.harness.process import GenmcpProcess, clean_env, free_port, run_genmcp
from tests.harness.results import data
from tests.harness.simhost import SimHost
from tests.security.conftest import INITIALIZE, MCP_HEADERS

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def simhost(tmp_path: Path) -> Iterator[SimHost]:
    host = SimHost(tmp_path, job_seconds=2)
    try:
        yield host
    finally:
        host.stop()


class Steered(httpx2.AsyncBaseTransport):
    """The load balancer, steered by the test: every request goes to replica `at`. The request keeps the public URL
    (and Host) it was made for; each line of `sequence` says who sent what, which replica answered, and how."""

    def __init__(self, replicas: list[GenmcpProcess], who: str, sequence: list[str]) -> None:
        self.replicas = replicas
        self.who = who
        self.sequence = sequence
        self.at = 0
        self.inner = httpx2.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        body = await request.aread()
        grant = ""
        if request.url.path == "/token":
            grant = f" ({query_of('?' + body.decode())['grant_type']})"
        forwarded = httpx2.Request(
            request.method,
            request.url.copy_with(port=self.replicas[self.at].port),
            headers=request.headers,
            content=body,
            extensions=request.extensions,
        )
        response = await self.inner.handle_async_request(forwarded)
        line = f"{self.who:<8} r{self.at}  {request.method:<4} {request.url.path}{grant} → {response.status_code}"
        self.sequence.append(line)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def _bearer_status(replica: GenmcpProcess, token: str) -> int:
    """The status of an MCP initialize with `token`, sent straight to `replica`."""
    headers = {**MCP_HEADERS, "Authorization": f"Bearer {token}"}
    return httpx2.post(replica.mcp_url, json=INITIALIZE, headers=headers, timeout=30).status_code


def _refresh_status(replica: GenmcpProcess, refresh_token: str, client_id: str, secret: str) -> dict[str, Any]:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id}
    answer = httpx2.post(f"{replica.base_url}/token", data={**form, "client_secret": secret}, timeout=30)
    return {"status": answer.status_code, **answer.json()}


def _operator(workdir: Path, config: dict[str, Any], *args: str) -> str:
    """An operator command on the shared store (no replica involved)."""
    path = write_config(workdir / "operator.toml", config)
    done = run_genmcp([*args, "--config", str(path)], workdir=workdir, env=clean_env(), timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


async def test_sign_in_on_one_replica_token_on_another_refresh_on_a_third_revocation_seen_by_all(
    tmp_path: Path, simhost: SimHost, postgres_url: str
) -> None:
    public = f"http://127.0.0.1:{free_port()}"  # the load balancer's URL: the issuer of every replica
    extra: dict[str, dict[str, Any]] = {"auth": {"mode": "builtin"}, "server": {"public_url": public}}
    operator = tmp_path / "operator"
    operator.mkdir()
    config = replica_config(operator, 0, simhost.url, postgres_url, **extra)
    add_user(operator, config, "alice")  # `genmcp users add`, on PostgreSQL, before any replica runs
    add_user(operator, config, "bob")
    replicas = start_replicas(tmp_path, 3, simhost.url, postgres_url, **extra)
    sequence: list[str] = []
    to_client = Steered(replicas, "client", sequence)
    to_browser = Steered(replicas, "browser", sequence)
    storage = Memory()
    browser = httpx2.AsyncClient(transport=to_browser, timeout=30)
    approver = Approver(Person(browser))
    oauth = OAuthClientProvider(
        server_url=f"{public}/mcp",
        client_metadata=OAuthClientMetadata(
            client_name="Claude (test)",
            redirect_uris=[AnyUrl(CALLBACK)],
            token_endpoint_auth_method="client_secret_post",
        ),
        storage=storage,
        redirect_handler=approver.redirect,
        callback_handler=approver.callback,
    )
    http = httpx2.AsyncClient(auth=oauth, transport=to_client, timeout=httpx2.Timeout(30, read=90))
    # Discovery and registration on r1, sign-in and consent on r0, the code exchanged and used on r1.
    to_client.at, to_browser.at = 1, 0
    try:
        async with browser, http, Client(streamable_http_client(f"{public}/mcp", http_client=http)) as client:
            generated = await client.call_tool("conceptviz_generate", {"prompt": "a lighthouse", "wait": 20})
            assert data(generated)["status"] == "completed", generated.structured_content
            first = storage.tokens
            assert first is not None
            assert first.refresh_token is not None
            assert storage.client is not None
            client_id, secret = storage.client.client_id, storage.client.client_secret or ""
            assert approver.asked == 1

            # The refresh on r2 (the token has expired in the client's view), then the new token on r0.
            to_client.at = 2
            oauth.context.token_expiry_time = time.time() - 1
            assert not (await client.call_tool("credits", {})).is_error
            refreshed = storage.tokens
            assert refreshed is not None
            assert refreshed.access_token != first.access_token
            to_client.at = 0
            listed = await client.call_tool("jobs", {})
            assert [job["job"] for job in data(listed)["jobs"]] == [data(generated)["job"]]  # alice's job, from r1
            assert approver.asked == 1  # refreshed, not asked again
            for replica in replicas:
                assert _bearer_status(replica, refreshed.access_token) == 200

            # Revoked on r2 (RFC 7009): every replica refuses both access tokens and the refresh token at once.
            to_browser.at = 2
            revoked = await browser.post(
                f"{public}/revoke",
                data={"token": refreshed.access_token, "client_id": client_id, "client_secret": secret},
            )
            assert revoked.status_code == 200
            for replica in replicas:
                assert _bearer_status(replica, refreshed.access_token) == 401
                assert _bearer_status(replica, first.access_token) == 401
                assert refreshed.refresh_token is not None
                answer = _refresh_status(replica, refreshed.refresh_token, client_id, secret)
                assert (answer["status"], answer["error"]) == (400, "invalid_grant")

            # The client is refused (on r1) and asks the person again, who approves on r2: signed in on r0, the
            # browser's session holds on every replica (no second sign-in).
            to_client.at, to_browser.at = 1, 2
            assert not (await client.call_tool("jobs", {})).is_error
            assert approver.asked == 2
            current = storage.tokens
            assert current is not None

        # The operator sees both grants in the shared store and revokes alice's: seen by every replica.
        grants = [
            json.loads(line) for line in _operator(operator, config, "tokens", "list", "--all", "--json").splitlines()
        ]
        assert sorted(bool(grant["revoked_at"]) for grant in grants) == [False, True]
        assert {(grant["user"], grant["client_id"], grant["resource"]) for grant in grants} == {
            ("alice", client_id, f"{public}/mcp")
        }
        assert "revoked 1 grant(s)" in _operator(operator, config, "tokens", "revoke", "--user", "alice")
        assert [_bearer_status(replica, current.access_token) for replica in replicas] == [401, 401, 401]

        # Wrong passwords for bob, one replica after another: counted together, the fifth locks him out everywhere.
        async with httpx2.AsyncClient(transport=to_browser, timeout=30) as guesser:
            to_browser.at = 0
            form = FormPage((await guesser.get(f"{public}/oauth/sign-in")).text).form(method="password")
            statuses = []
            for attempt in range(5):
                to_browser.at = attempt % 3
                statuses.append(await _sign_in(guesser, public, form, "bob", "not bob's password"))
            assert statuses == [401, 401, 401, 401, 429]
            for index in range(3):
                to_browser.at = index
                assert await _sign_in(guesser, public, form, "bob", PASSWORD) == 429
    finally:
        for replica in replicas:
            replica.terminate()
    print(
        f"\nrequest sequence (public URL {public}; r0–r2 the replicas; the checks sent straight to each replica are "
        "not listed):\n" + "\n".join(sequence)
    )
    _check_sequence(sequence)
    for replica in replicas:
        log = replica.stderr()
        assert "Traceback" not in log
        for token in (first.access_token, first.refresh_token, refreshed.access_token, current.access_token, secret):
            assert token not in log


async def _sign_in(http: httpx2.AsyncClient, public: str, form: Form, user: str, password: str) -> int:
    values = form.values(user=user, password=password)
    response = await http.post(f"{public}/oauth/sign-in", data=dict(values), headers={"Origin": public})
    return response.status_code


def _check_sequence(sequence: list[str]) -> None:
    """Each step happened where the test sent it."""

    def first(pattern: str) -> str:
        found = [line for line in sequence if re.search(pattern, line)]
        assert found, f"no {pattern!r} in the sequence"
        return found[0]

    assert first(r"^client .*POST /mcp → 401").split()[1] == "r1"
    assert first(r"POST /register → 201").split()[1] == "r1"
    assert first(r"browser .*GET  /authorize → 302").split()[1] == "r0"
    assert first(r"POST /oauth/sign-in → 303").split()[1] == "r0"
    assert first(r"POST /oauth/consent → 303").split()[1] == "r0"
    assert first(r"/token \(authorization_code\) → 200").split()[1] == "r1"
    assert first(r"/token \(refresh_token\) → 200").split()[1] == "r2"
    assert first(r"POST /revoke → 200").split()[1] == "r2"
    again = sequence[sequence.index(first(r"POST /revoke → 200")) + 1 :]
    browsed = [line.split(maxsplit=1)[1] for line in again if line.startswith("browser") and "sign-in" not in line]
    assert browsed[:3] == [
        "r2  GET  /authorize → 302",
        "r2  GET  /oauth/consent → 200",
        "r2  POST /oauth/consent → 303",
    ]
    assert not [line for line in again[: again.index(first(r"r2  POST /oauth/consent"))] if "/oauth/sign-in" in line]
