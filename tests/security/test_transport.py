"""Transport attacks against a real `genmcp serve` process: DNS rebinding (Origin/Host), body size, malformed and
hostile JSON-RPC, clients that disconnect mid-call, 50 concurrent clients reusing JSON-RPC ids, public binds, and
stdio hygiene (stdout carries only protocol).

The server is live (sandbox off) with ConceptViz pointed at a simulator this process serves on loopback, so every
test can count what reached upstream.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest

from providers.conceptviz.simulator import ConceptVizAccount, ConceptVizSimulator
from tests.harness.config_file import write_config
from tests.harness.process import (
    Deadline,
    GenmcpProcess,
    clean_env,
    free_port,
    run_genmcp,
    start_genmcp,
    start_stdio,
)
from tests.harness.settings import settings_data
from tests.security.conftest import (
    CANARIES,
    INITIALIZE,
    MCP_HEADERS,
    ROOT,
    Leaks,
    SimHost,
    canary_providers,
    connect,
    data,
    genmcp_server,
    text,
)

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

JOB_SECONDS = 1.5


@dataclass
class Live:
    sim: ConceptVizSimulator
    server: GenmcpProcess


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    sim = ConceptVizSimulator(
        accounts={CANARIES["conceptviz"]: ConceptVizAccount(credits=100_000)}, job_seconds=JOB_SECONDS
    )
    workdir = tmp_path_factory.mktemp("transport")
    with SimHost({"conceptviz": sim}) as host:
        config = settings_data(
            workdir,
            providers=canary_providers({"conceptviz": host.urls["conceptviz"]}),
            server={"max_body_bytes": 65536},
            limits={"calls_per_minute": 0, "concurrent_calls": 0},
        )
        with genmcp_server(workdir, config) as server:
            yield Live(sim, server)


# ---------------------------------------------------------------------------------------------------------------------
# raw JSON-RPC over HTTP


def _messages(response: httpx2.Response) -> list[dict[str, Any]]:
    """The JSON-RPC messages of a response (a JSON body or an SSE stream)."""
    if response.headers.get("content-type", "").startswith("application/json"):
        return [response.json()]
    return [json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: ")]


class Session:
    """One raw MCP session (initialize, then requests by hand)."""

    def __init__(self, http: httpx2.AsyncClient, url: str, leaks: Leaks) -> None:
        self.http = http
        self.url = url
        self.leaks = leaks
        self.headers = dict(MCP_HEADERS)

    async def open(self) -> None:
        response = await self.http.post(self.url, json=INITIALIZE, headers=self.headers)
        assert response.status_code == 200, response.text
        self.headers["mcp-session-id"] = response.headers["mcp-session-id"]
        self.headers["mcp-protocol-version"] = "2025-06-18"
        await self.post({"jsonrpc": "2.0", "method": "notifications/initialized"})

    async def post(self, body: Any = None, *, content: bytes | None = None) -> httpx2.Response:
        payload = content if content is not None else json.dumps(body).encode()
        response = await self.http.post(self.url, content=payload, headers=self.headers)
        self.leaks.response("mcp", response)
        return response

    async def call(self, name: str, arguments: dict[str, Any], request_id: int = 99) -> dict[str, Any]:
        params = {"name": name, "arguments": arguments}
        response = await self.post({"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params})
        assert response.status_code == 200, response.text
        (message,) = [m for m in _messages(response) if m.get("id") == request_id]
        return message


def _no_internals(body: str) -> None:
    assert "Traceback" not in body, body
    assert str(ROOT) not in body, body
    assert "site-packages" not in body, body
    assert 'File "' not in body, body


MALFORMED = [
    pytest.param(b"{not json", (400,), -32700, id="invalid-json"),
    pytest.param(b'{"jsonrpc":"2.0","id":2,"method":"tools/list\xff\xfe"}', (400,), -32700, id="invalid-utf8"),
    pytest.param(
        b'{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"\\ud800"}}',
        (400, 200),
        None,
        id="lone-surrogate",
    ),
    pytest.param(b"[" * 30_000 + b"]" * 30_000, (400,), None, id="deeply-nested-array"),
    pytest.param(
        b'{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"jobs","arguments":'
        + b'{"a":' * 5_000
        + b"1"
        + b"}" * 5_000
        + b"}}",
        (400, 200),
        None,
        id="deeply-nested-arguments",
    ),
    pytest.param(b'{"jsonrpc":"2.0","id":"x","method":5,"params":[]}', (400,), None, id="wrong-types"),
    pytest.param(
        b'{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":7,"arguments":"no"}}',
        (200,),
        -32602,
        id="wrong-param-types",
    ),
    pytest.param(b'{"jsonrpc":"2.0","id":5,"method":"no/such/method"}', (200,), -32601, id="unknown-method"),
    pytest.param(b"[1,2,3]", (400,), None, id="array"),
    pytest.param(b"null", (400,), None, id="null"),
    pytest.param(
        b'{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"jobs","arguments":{"limit":1e999}}}',
        (200, 400),
        None,
        id="huge-number",
    ),
    pytest.param(b"\x00\x01\x02\xff" * 100, (400,), -32700, id="binary-garbage"),
]


@pytest.mark.parametrize(("payload", "statuses", "code"), MALFORMED)
async def test_malformed_and_hostile_json_rpc_get_an_error_and_the_session_lives_on(
    live: Live, leaks: Leaks, payload: bytes, statuses: tuple[int, ...], code: int | None
) -> None:
    async with httpx2.AsyncClient(timeout=20) as http:
        session = Session(http, live.server.mcp_url, leaks)
        await session.open()
        response = await session.post(content=payload)

        assert response.status_code in statuses, response.text
        _no_internals(response.text)
        if response.status_code == 200:
            (message,) = _messages(response)
            failed = "error" in message or (message.get("result") or {}).get("isError") is True
            assert failed, message
            if code is not None:
                assert message["error"]["code"] == code, message
        elif code is not None:
            (message,) = _messages(response)
            assert message["error"]["code"] == code, message

        # The same session still answers a valid request, and the process is healthy.
        answer = await session.call("jobs", {"limit": 1})
        assert answer["result"]["isError"] is False, answer
        assert (await http.get(f"{live.server.base_url}/healthz")).status_code == 200
    assert live.server.process.poll() is None


async def test_an_unknown_tool_is_an_error_result_and_costs_nothing(live: Live, leaks: Leaks) -> None:
    before = live.sim.requests.total
    async with httpx2.AsyncClient(timeout=20) as http:
        session = Session(http, live.server.mcp_url, leaks)
        await session.open()
        answer = await session.call("conceptviz_delete_everything", {"prompt": "x"})
        assert answer["result"]["isError"] is True
        assert "Unknown tool" in answer["result"]["content"][0]["text"]
        assert (await session.call("jobs", {}))["result"]["isError"] is False
    assert live.sim.requests.total == before


async def test_a_foreign_origin_is_refused(live: Live) -> None:
    async with httpx2.AsyncClient(timeout=10) as http:
        response = await http.post(
            live.server.mcp_url, json=INITIALIZE, headers={**MCP_HEADERS, "Origin": "http://evil.example"}
        )
    assert response.status_code == 403, response.text


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:80", "127.0.0.1.evil.example", "localhost.evil.example"]
)
async def test_a_foreign_host_header_is_refused(live: Live, host: str) -> None:
    async with httpx2.AsyncClient(timeout=10) as http:
        response = await http.post(live.server.mcp_url, json=INITIALIZE, headers={**MCP_HEADERS, "Host": host})
    assert 400 <= response.status_code < 500, response.text


async def test_loopback_requests_are_accepted_with_or_without_a_loopback_origin(live: Live) -> None:
    async with httpx2.AsyncClient(timeout=10) as http:
        plain = await http.post(live.server.mcp_url, json=INITIALIZE, headers=MCP_HEADERS)
        same_origin = await http.post(
            live.server.mcp_url, json=INITIALIZE, headers={**MCP_HEADERS, "Origin": live.server.base_url}
        )
    assert plain.status_code == 200
    assert "mcp-session-id" in plain.headers
    assert same_origin.status_code == 200


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_an_oversized_body_is_413_and_never_parsed(live: Live, chunked: bool) -> None:
    body = json.loads(json.dumps(INITIALIZE))
    body["params"]["padding"] = "x" * 100_000
    payload = json.dumps(body).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(payload), 8192):
            yield payload[i : i + 8192]

    async with httpx2.AsyncClient(timeout=10) as http:
        response = await http.post(live.server.mcp_url, content=chunks() if chunked else payload, headers=MCP_HEADERS)
        assert response.status_code == 413, response.text
        assert (await http.get(f"{live.server.base_url}/healthz")).status_code == 200


async def test_a_client_that_disconnects_mid_call_loses_nothing(live: Live, leaks: Leaks) -> None:
    posts = live.sim.requests.count("POST /api/v1/generate")
    call = {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "tools/call",
        "params": {"name": "conceptviz_generate", "arguments": {"prompt": "disconnect test diagram", "wait": 30}},
    }
    async with httpx2.AsyncClient(timeout=20) as http:
        session = Session(http, live.server.mcp_url, leaks)
        await session.open()
        # Stream the call, and walk away at its first progress notification: the job is then upstream and polled.
        async with http.stream("POST", live.server.mcp_url, json=call, headers=session.headers) as response:
            assert response.status_code == 200
            with anyio.fail_after(15):
                async for line in response.aiter_lines():
                    if "notifications/progress" in line:
                        break
            assert live.sim.requests.count("POST /api/v1/generate") == posts + 1
        # The connection is closed here, mid-call.

    assert live.server.process.poll() is None
    async with connect(live.server.mcp_url) as client:
        listed = data(leaks.result("jobs", await client.call_tool("jobs", {"limit": 200})))["jobs"]
        mine = [job for job in listed if job["operation"] == "generate" and job["job"]]
        handle = mine[0]["job"]
        assert handle, listed
        result = leaks.result("poll", await client.call_tool("poll", {"job": handle, "wait": 20}))
        assert data(result)["status"] == "completed", text(result)
        assert data(result)["details"]["prompts"] == ["disconnect test diagram"]
    assert live.sim.requests.count("POST /api/v1/generate") == posts + 1


async def test_fifty_concurrent_clients_with_the_same_request_ids_get_only_their_own_results(live: Live) -> None:
    posts = live.sim.requests.count("POST /api/v1/generate")
    seen: dict[int, tuple[str, list[str], list[str]]] = {}

    async def one(index: int) -> None:
        prompt = f"diagram number {index} of fifty"
        # Every client numbers its requests from the start: all 50 send the same JSON-RPC ids.
        async with connect(live.server.mcp_url) as client:
            started = data(await client.call_tool("conceptviz_generate", {"prompt": prompt, "wait": 0}))
            polled = data(await client.call_tool("poll", {"job": started["job"], "wait": 0}))
        assert started["status"] == "running", started
        seen[index] = (started["job"], started["details"]["prompts"], polled["details"]["prompts"])

    with anyio.fail_after(90):
        async with anyio.create_task_group() as group:
            for index in range(50):
                group.start_soon(one, index)

    assert len(seen) == 50
    for index, (_handle, started, polled) in seen.items():
        assert started == polled == [f"diagram number {index} of fifty"]
    assert len({handle for handle, _, _ in seen.values()}) == 50
    assert live.sim.requests.count("POST /api/v1/generate") == posts + 50


# ---------------------------------------------------------------------------------------------------------------------
# binding beyond loopback


def _public_config(workdir: Path) -> dict[str, Any]:
    return settings_data(
        workdir, providers={"conceptviz": {"api_key": CANARIES["conceptviz"], "base_url": "http://127.0.0.1:9/api"}}
    )


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_a_public_bind_without_auth_refuses_to_start(tmp_path: Path, host: str) -> None:
    config = write_config(tmp_path / "genmcp.toml", _public_config(tmp_path))
    port = free_port()
    done = run_genmcp(
        ["serve", "--config", str(config), "--host", host, "--port", str(port)], workdir=tmp_path, env=clean_env()
    )
    err = done.stderr
    assert done.returncode == 2, err
    assert "--insecure" in err
    assert host in err
    with pytest.raises(httpx2.ConnectError):
        httpx2.get(f"http://127.0.0.1:{port}/healthz", timeout=2)


def test_a_public_bind_with_insecure_starts(tmp_path: Path) -> None:
    with start_genmcp(tmp_path, config=_public_config(tmp_path), host="0.0.0.0", args=["--insecure"]) as server:
        assert httpx2.get(f"{server.base_url}/healthz", timeout=5).json()["status"] == "ok"


# ---------------------------------------------------------------------------------------------------------------------
# stdio


def _seed_interrupted_job(db: Path) -> None:
    """A record a killed process left `submitting` an hour ago: the next start must warn about it."""
    from server.jobs import JobRecord
    from server.store.sqlite import SqliteStore

    store = SqliteStore(db)
    anyio.run(store.open)
    old = time.time() - 3600
    record = JobRecord(provider="conceptviz", operation="generate", created_at=old, updated_at=old)
    anyio.run(store.create, record)
    anyio.run(store.close)


def test_stdio_stdout_carries_only_protocol_and_logs_go_to_stderr(tmp_path: Path, leaks: Leaks) -> None:
    config = settings_data(
        tmp_path,
        # Nothing listens on port 9: calls fail to connect, which opens the breaker (a warning).
        providers={"conceptviz": {"api_key": CANARIES["conceptviz"], "base_url": "http://127.0.0.1:9/api/v1"}},
        upstream={"max_retries": 0, "connect_timeout": 2},
        limits={"breaker_threshold": 1},
    )
    _seed_interrupted_job(tmp_path / "jobs.sqlite3")
    lines = [
        json.dumps(INITIALIZE).encode(),
        json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}).encode(),
        b"this is not json",
        b"\xff\xfe{\x00broken utf-8}",
        b"[" * 5000 + b"]" * 5000,
        json.dumps(
            {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "nope", "arguments": {}}}
        ).encode(),
        json.dumps({"jsonrpc": "2.0", "id": 3, "method": "no/such"}).encode(),
        json.dumps(
            {
                "jsonrpc": "2.0",
                "id": 4,
                "method": "tools/call",
                "params": {"name": "conceptviz_generate", "arguments": {"prompt": "p", "wait": 0}},
            }
        ).encode(),
        json.dumps(
            {
                "jsonrpc": "2.0",
                "id": 5,
                "method": "tools/call",
                "params": {"name": "conceptviz_generate", "arguments": {"prompt": ""}},
            }
        ).encode(),
        json.dumps(
            {"jsonrpc": "2.0", "id": 6, "method": "tools/call", "params": {"name": "jobs", "arguments": {}}}
        ).encode(),
    ]
    stdout_lines: list[bytes] = []
    answered: set[Any] = set()
    deadline = Deadline(30)
    with start_stdio(tmp_path, config=config) as server:
        server.send_bytes(b"\n".join(lines) + b"\n")
        while not {1, 2, 3, 4, 5, 6} <= answered and (line := server.read_line(deadline.left())):
            stdout_lines.append(line)
            message = json.loads(line)  # every stdout line is one JSON-RPC message
            assert isinstance(message, dict), line
            assert message.get("jsonrpc") == "2.0", line
            answered.add(message.get("id"))
        server.close_input()  # end of input ends the server; whatever else it prints must be protocol too
        assert server.wait(15) == 0
        rest = server.read_rest(15)
    stdout = leaks.add("stdout", b"".join(stdout_lines) + rest)
    stderr = leaks.add("stderr", server.stderr_path.read_bytes())
    for line in rest.splitlines():
        assert json.loads(line).get("jsonrpc") == "2.0", line
    assert {1, 2, 3, 4, 5, 6} <= answered, stdout
    assert "Traceback" not in stdout
    assert "WARNING" not in stdout
    assert "INFO" not in stdout
    # The warnings of this run went to stderr.
    assert "interrupted while being submitted" in stderr, stderr
    assert "failing fast" in stderr or "could not connect" in stderr.lower() or "upstream_error" in stderr, stderr
    assert " WARNING " in stderr
    with sqlite3.connect(tmp_path / "jobs.sqlite3") as db:
        statuses = [row[0] for row in db.execute("SELECT status FROM jobs")]
    assert "submit_unknown" in statuses
