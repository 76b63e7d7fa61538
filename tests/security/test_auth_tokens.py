"""Inbound bearer tokens, caller identity and callers' own keys, against a real `genmcp serve` process.

The server listens on 0.0.0.0 (allowed because tokens are configured; the tests connect through 127.0.0.1) with two
named tokens, ConceptViz (which takes callers' own keys) and Kolbo (which does not), both pointed at simulators served
from this process on loopback: their request logs show what genmcp sent upstream.
"""

from __future__ import annotations

import hmac
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from pydantic import SecretStr

from providers.conceptviz.simulator import ConceptVizAccount, ConceptVizSimulator
from providers.kolbo.simulator import KolboAccount, KolboSimulator
from server.auth import GenmcpTokenVerifier
from tests.harness.process import GenmcpProcess, start_genmcp
from tests.harness.settings import settings_data
from tests.security.conftest import (
    CANARIES,
    CLIENT_KEY,
    INITIALIZE,
    MCP_HEADERS,
    TOKENS,
    Leaks,
    SimHost,
    canary_providers,
    connect,
    data,
    error_code,
    genmcp_server,
    secrets_in,
    text,
)

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

ALICE = {"Authorization": f"Bearer {TOKENS['alice']}"}
BOB = {"Authorization": f"Bearer {TOKENS['bob']}"}
OWN_KEY = {**ALICE, "X-Conceptviz-Api-Key": CLIENT_KEY}


@dataclass
class Guarded:
    conceptviz: ConceptVizSimulator
    kolbo: KolboSimulator
    server: GenmcpProcess
    workdir: Path


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Guarded]:
    conceptviz = ConceptVizSimulator(
        accounts={CANARIES["conceptviz"]: ConceptVizAccount(), CLIENT_KEY: ConceptVizAccount()},
        job_seconds=1.0,
        echo_key_in_errors=True,
    )
    kolbo = KolboSimulator(accounts={CANARIES["kolbo"]: KolboAccount()}, job_seconds=120)
    workdir = tmp_path_factory.mktemp("auth")
    with SimHost({"conceptviz": conceptviz, "kolbo": kolbo}) as host:
        providers = canary_providers(host.urls)
        providers["conceptviz"]["allow_client_keys"] = True
        config = settings_data(workdir, providers=providers, auth={"tokens": TOKENS})
        # Binding every interface is allowed because tokens are configured.
        with genmcp_server(workdir, config, host="0.0.0.0") as server:
            yield Guarded(conceptviz, kolbo, server, workdir)


async def _initialize(url: str, headers: dict[str, str]) -> httpx2.Response:
    async with httpx2.AsyncClient(timeout=10) as http:
        return await http.post(url, json=INITIALIZE, headers={**MCP_HEADERS, **headers})


# ---------------------------------------------------------------------------------------------------------------------
# bearer tokens


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-token"),
        pytest.param({"Authorization": "Bearer not-a-valid-token-at-all"}, id="invalid-token"),
        pytest.param({"Authorization": f"Bearer {TOKENS['alice'][:-1]}"}, id="token-prefix"),
        pytest.param({"Authorization": f"Bearer {TOKENS['alice']}x"}, id="token-with-suffix"),
        pytest.param({"Authorization": f"Basic {TOKENS['alice']}"}, id="basic-scheme"),
        pytest.param({"Authorization": "Bearer"}, id="empty-bearer"),
        pytest.param({"Authorization": "Bearer alice"}, id="token-name-as-token"),
        pytest.param({"X-Api-Key": TOKENS["alice"]}, id="token-in-another-header"),
    ],
)
@pytest.mark.parametrize("path", ["/mcp", "/mcp/conceptviz", "/mcp/kolbo"])
async def test_missing_or_invalid_tokens_get_401_with_www_authenticate(
    guarded: Guarded, leaks: Leaks, headers: dict[str, str], path: str
) -> None:
    response = leaks.response("401", await _initialize(guarded.server.base_url + path, headers))
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer"), response.headers
    assert "mcp-session-id" not in response.headers


async def test_a_token_in_the_query_string_is_not_accepted(guarded: Guarded) -> None:
    response = await _initialize(f"{guarded.server.mcp_url}?access_token={TOKENS['alice']}", {})
    assert response.status_code == 401


@pytest.mark.parametrize("name", ["alice", "bob"])
async def test_each_named_token_works(guarded: Guarded, leaks: Leaks, name: str) -> None:
    async with connect(guarded.server.mcp_url, {"Authorization": f"Bearer {TOKENS[name]}"}) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        credits = leaks.result("credits", await client.call_tool("credits", {}))
    assert {"conceptviz_generate", "kolbo_generate_image", "cancel", "poll", "jobs"} <= names
    assert not credits.is_error


async def test_a_public_bind_with_tokens_starts_and_requires_them(guarded: Guarded) -> None:
    assert "0.0.0.0" in guarded.server.command
    assert "MCP endpoint: http://0.0.0.0:" in guarded.server.stderr()
    assert (await _initialize(guarded.server.mcp_url, {})).status_code == 401
    assert (await _initialize(guarded.server.mcp_url, ALICE)).status_code == 200


async def test_health_is_open_and_says_nothing_secret(guarded: Guarded, leaks: Leaks) -> None:
    async with httpx2.AsyncClient(timeout=10) as http:
        response = leaks.response("healthz", await http.get(f"{guarded.server.base_url}/healthz"))
    assert response.status_code == 200
    assert response.json()["providers"] == ["conceptviz", "kolbo"]


async def test_the_callers_token_is_never_forwarded_upstream(guarded: Guarded, leaks: Leaks) -> None:
    start = len(guarded.conceptviz.requests.entries)
    async with connect(guarded.server.mcp_url, {**ALICE, "X-Forwarded-For": "10.0.0.1"}) as client:
        started = leaks.result("generate", await client.call_tool("conceptviz_generate", {"prompt": "a", "wait": 0}))
        # The server waits for the job (its polls carry no caller token either).
        leaks.result("poll", await client.call_tool("poll", {"job": data(started)["job"], "wait": 20}))
        leaks.result("kolbo", await client.call_tool("kolbo_list_models", {"type": "image"}))
    upstream = list(guarded.conceptviz.requests.entries)[start:] + list(guarded.kolbo.requests.entries)
    assert upstream, "the calls reached the simulators"
    for request in upstream:
        seen = json.dumps(request.headers) + request.body.decode("latin-1")
        assert not secrets_in(seen, tuple(TOKENS.values())), request
        assert "x-forwarded-for" not in request.headers
    conceptviz_auth = {r.headers.get("authorization") for r in list(guarded.conceptviz.requests.entries)[start:]}
    assert conceptviz_auth == {f"Bearer {CANARIES['conceptviz']}"}


def test_tokens_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr("server.auth.hmac.compare_digest", counting)
    tokens = {f"t{i}": SecretStr(f"token-number-{i:04d}-abcdefgh") for i in range(5)}
    verifier = GenmcpTokenVerifier(tokens=tokens, required_scopes=[])
    import anyio

    for probe in ("token-number-0000-abcdefgh", "token-number-0004-abcdefgh", "x", "token-number-0002-abcdefgX"):
        compared.clear()
        anyio.run(verifier.verify_token, probe)
        # Every configured token is compared, through a constant-time comparison of fixed-length digests.
        assert len(compared) == len(tokens)
        assert {len(a) for a, _ in compared} == {32}
        assert {len(b) for _, b in compared} == {32}


async def test_a_token_removed_from_the_config_is_refused_after_restart(tmp_path: Path) -> None:
    providers = {"conceptviz": {"api_key": CANARIES["conceptviz"], "base_url": "http://127.0.0.1:9/api/v1"}}
    first = start_genmcp(tmp_path, config=settings_data(tmp_path, providers=providers, auth={"tokens": TOKENS}))
    try:
        assert (await _initialize(first.mcp_url, ALICE)).status_code == 200
        assert (await _initialize(first.mcp_url, BOB)).status_code == 200
    finally:
        first.terminate()
    second = start_genmcp(
        tmp_path, config=settings_data(tmp_path, providers=providers, auth={"tokens": {"alice": TOKENS["alice"]}})
    )
    try:
        assert (await _initialize(second.mcp_url, BOB)).status_code == 401
        assert (await _initialize(second.mcp_url, ALICE)).status_code == 200
    finally:
        second.terminate()
    assert not secrets_in(first.stderr() + second.stderr())


# ---------------------------------------------------------------------------------------------------------------------
# caller identity: A cannot see, poll or cancel B's jobs


async def _alice_job(guarded: Guarded, leaks: Leaks, tool: str, arguments: dict[str, Any]) -> str:
    async with connect(guarded.server.mcp_url, ALICE) as alice:
        started = leaks.result(tool, await alice.call_tool(tool, arguments))
    assert not started.is_error, text(started)
    handle = data(started)["job"]
    assert isinstance(handle, str)
    return handle


async def test_b_cannot_poll_a_job_of_a(guarded: Guarded, leaks: Leaks) -> None:
    handle = await _alice_job(guarded, leaks, "conceptviz_generate", {"prompt": "alice's secret plan", "wait": 0})
    async with connect(guarded.server.mcp_url, BOB) as bob:
        polled = leaks.result("poll", await bob.call_tool("poll", {"job": handle, "wait": 0}))
    assert polled.is_error, text(polled)
    assert error_code(polled) == "not_found", text(polled)
    assert "alice's secret plan" not in polled.model_dump_json()


async def test_b_cannot_cancel_a_job_of_a(guarded: Guarded, leaks: Leaks) -> None:
    handle = await _alice_job(guarded, leaks, "kolbo_generate_image", {"prompt": "alice's long render", "wait": 0})
    cancels = guarded.kolbo.requests.count("POST /api/v1/generate/", prefix=True)
    async with connect(guarded.server.mcp_url, BOB) as bob:
        cancelled = leaks.result("cancel", await bob.call_tool("cancel", {"job": handle}))
    assert cancelled.is_error, text(cancelled)
    assert error_code(cancelled) == "not_found", text(cancelled)
    # No cancel request went upstream on Bob's behalf.
    assert guarded.kolbo.requests.count("POST /api/v1/generate/", prefix=True) == cancels


async def test_each_caller_lists_only_their_own_jobs(guarded: Guarded, leaks: Leaks) -> None:
    handle = await _alice_job(guarded, leaks, "conceptviz_generate", {"prompt": "listed for alice", "wait": 0})
    async with connect(guarded.server.mcp_url, BOB) as bob:
        bobs = [job["job"] for job in data(leaks.result("jobs", await bob.call_tool("jobs", {"limit": 200})))["jobs"]]
    async with connect(guarded.server.mcp_url, ALICE) as alice:
        alices = [
            job["job"] for job in data(leaks.result("jobs", await alice.call_tool("jobs", {"limit": 200})))["jobs"]
        ]
    assert handle not in bobs
    assert handle in alices


# ---------------------------------------------------------------------------------------------------------------------
# callers' own keys (X-<Provider>-Api-Key)


def _upstream_keys(sim: ConceptVizSimulator, start: int) -> list[str]:
    return [r.headers.get("authorization", "") for r in list(sim.requests.entries)[start:]]


async def test_a_callers_own_key_is_used_upstream_for_that_request_only(guarded: Guarded, leaks: Leaks) -> None:
    start = len(guarded.conceptviz.requests.entries)
    async with connect(guarded.server.mcp_url, OWN_KEY) as own:
        started = leaks.result("own", await own.call_tool("conceptviz_generate", {"prompt": "own key", "wait": 0}))
    assert not started.is_error, text(started)
    assert _upstream_keys(guarded.conceptviz, start) == [f"Bearer {CLIENT_KEY}"]
    job = data(started)["job"]

    # The next request without the header uses the configured key again...
    start = len(guarded.conceptviz.requests.entries)
    async with connect(guarded.server.mcp_url, ALICE) as plain:
        other = leaks.result("plain", await plain.call_tool("conceptviz_generate", {"prompt": "plain", "wait": 0}))
        # ...and the job started with the caller's key cannot be polled without it.
        refused = leaks.result("poll", await plain.call_tool("poll", {"job": job, "wait": 0}))
    assert not other.is_error
    assert _upstream_keys(guarded.conceptviz, start) == [f"Bearer {CANARIES['conceptviz']}"]
    assert refused.is_error, text(refused)
    assert error_code(refused) == "not_found", text(refused)
    assert guarded.conceptviz.tasks[job.split(":", 1)[1]].key == CLIENT_KEY


async def test_a_job_started_with_a_callers_key_is_polled_only_with_that_key(guarded: Guarded, leaks: Leaks) -> None:
    async with connect(guarded.server.mcp_url, OWN_KEY) as own:
        job = data(leaks.result("own", await own.call_tool("conceptviz_generate", {"prompt": "mine", "wait": 0})))[
            "job"
        ]
    other_key = {**ALICE, "X-Conceptviz-Api-Key": "cvk_someone_elses_key_000"}
    async with connect(guarded.server.mcp_url, other_key) as stranger:
        refused = leaks.result("stranger", await stranger.call_tool("poll", {"job": job, "wait": 0}))
        listed = leaks.result("stranger-jobs", await stranger.call_tool("jobs", {"limit": 200}))
    assert refused.is_error
    assert error_code(refused) == "not_found"
    assert job not in [j["job"] for j in data(listed)["jobs"]]

    start = len(guarded.conceptviz.requests.entries)
    async with connect(guarded.server.mcp_url, OWN_KEY) as own:
        done = leaks.result("own-poll", await own.call_tool("poll", {"job": job, "wait": 20}))
    assert data(done)["status"] == "completed", text(done)
    assert set(_upstream_keys(guarded.conceptviz, start)) == {f"Bearer {CLIENT_KEY}"}


async def test_a_callers_key_is_never_stored_or_logged_even_when_upstream_echoes_it(
    guarded: Guarded, leaks: Leaks
) -> None:
    # Upstream quotes a key it does not know in its error body, and the caller's own key in another.
    wrong = "cvk_CLIENT_UNKNOWN_7d3c9b1e5a"
    guarded.conceptviz.faults.add(
        "POST", "/api/v1/generate", status=400, body={"error": f"bad body for key {wrong}", "code": "INVALID_BODY"}
    )
    async with connect(guarded.server.mcp_url, {**ALICE, "X-Conceptviz-Api-Key": wrong}) as client:
        refused = await client.call_tool("conceptviz_generate", {"prompt": "echo", "wait": 0})
    assert refused.is_error, text(refused)
    assert error_code(refused) == "invalid_input", text(refused)
    assert wrong not in refused.model_dump_json()
    assert "[redacted]" in refused.model_dump_json()
    guarded.conceptviz.faults.add(
        "POST", "/api/v1/generate", status=400, body={"error": f"bad body for key {CLIENT_KEY}", "code": "INVALID_BODY"}
    )
    async with connect(guarded.server.mcp_url, OWN_KEY) as own:
        echoed = leaks.result("echo", await own.call_tool("conceptviz_generate", {"prompt": "echo", "wait": 0}))
    assert "[redacted]" in echoed.model_dump_json()
    async with connect(guarded.server.mcp_url, OWN_KEY) as own:
        leaks.result("own", await own.call_tool("conceptviz_generate", {"prompt": "stored?", "wait": 1}))
        leaks.result("jobs", await own.call_tool("jobs", {"limit": 200}))

    registry = b"".join(p.read_bytes() for p in guarded.workdir.glob("jobs.sqlite3*"))
    assert CLIENT_KEY.encode() not in registry
    assert wrong.encode() not in registry
    with sqlite3.connect(guarded.workdir / "jobs.sqlite3") as db:
        records = "\n".join(row[0] for row in db.execute("SELECT record FROM jobs"))
    assert CLIENT_KEY not in records
    assert wrong not in records
    stderr = guarded.server.stderr()
    assert CLIENT_KEY not in stderr
    assert wrong not in stderr
    leaks.add("stderr", stderr)


async def test_a_key_header_for_a_provider_that_does_not_take_callers_keys_is_refused(
    guarded: Guarded, leaks: Leaks
) -> None:
    before = guarded.kolbo.requests.total, guarded.conceptviz.requests.total
    headers = {**ALICE, "X-Kolbo-Api-Key": "kolbo_live_someone_elses_0000"}
    async with connect(guarded.server.mcp_url, headers) as client:
        refused = leaks.result("kolbo", await client.call_tool("kolbo_generate_image", {"prompt": "x", "wait": 0}))
        also = leaks.result("conceptviz", await client.call_tool("conceptviz_generate", {"prompt": "x", "wait": 0}))
    assert refused.is_error
    assert error_code(refused) == "invalid_input"
    assert "X-Kolbo-Api-Key" in text(refused)
    assert "remove" in text(refused)
    assert also.is_error
    assert (guarded.kolbo.requests.total, guarded.conceptviz.requests.total) == before


async def test_a_malformed_own_key_is_refused_before_anything_is_sent(guarded: Guarded, leaks: Leaks) -> None:
    before = guarded.conceptviz.requests.total
    for value in ("short", "x" * 600, "cvk_with space_00000"):
        async with connect(guarded.server.mcp_url, {**ALICE, "X-Conceptviz-Api-Key": value}) as client:
            refused = leaks.result("bad", await client.call_tool("conceptviz_generate", {"prompt": "x", "wait": 0}))
        assert refused.is_error, text(refused)
        assert error_code(refused) == "invalid_input", text(refused)
    assert guarded.conceptviz.requests.total == before
