"""Hosted genmcp end to end: three `genmcp serve` replicas on one PostgreSQL, every provider's simulator in a
process of its own (which records which replica sent each request), and clients that spread their requests over
the replicas with no affinity — then kill -9 of the replica watching a ConceptViz job and of the one running a
Univers call.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx2
import psycopg
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult

from providers import PROVIDERS
from tests.harness.process import Deadline, GenmcpProcess, start_genmcp
from tests.harness.results import data, error_code, text
from tests.harness.settings import settings_data
from tests.harness.simhost import SimHost

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

JOB_SECONDS = 6.0
"""How long a simulated job runs (a Univers call answers after this long)."""
LEASE_SECONDS = 3.0
CV_SUBMIT, CV_POLL = "POST /conceptviz/api/v1/generate", "GET /conceptviz/api/v1/task/"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def simhost(tmp_path: Path) -> Iterator[SimHost]:
    host = SimHost(tmp_path, job_seconds=JOB_SECONDS)
    try:
        yield host
    finally:
        host.stop()


# --- replicas --------------------------------------------------------------------------------------------------------


def replica_config(
    workdir: Path, index: int, simulators: str, store_url: str, **extra: Mapping[str, Any]
) -> dict[str, Any]:
    """A live (non-sandbox) configuration: every provider at the shared simulators, as replica `index`; `extra`
    sections are merged over it (e.g. `auth`)."""
    providers = {
        cls.name: {
            "api_key": cls.sandbox_key,
            "base_url": f"{simulators}/r{index}/{cls.name}{urlsplit(cls.default_base_url).path}",
        }
        for cls in PROVIDERS
    }
    sections: dict[str, dict[str, Any]] = {
        "store": {"url": store_url, "lease_seconds": LEASE_SECONDS},
        "server": {"stateless_http": True},
        "inputs": {"allow_hosts": [urlsplit(simulators).netloc]},
    }
    for name, values in extra.items():
        sections[name] = {**sections.get(name, {}), **values}
    return settings_data(workdir, providers=providers, **sections)


def start_replicas(
    workdir: Path, count: int, simulators: str, store_url: str, **extra: Mapping[str, Any]
) -> list[GenmcpProcess]:
    """`count` replicas started at the same instant on the same database (`extra`: see `replica_config`)."""
    started: list[GenmcpProcess | BaseException] = [RuntimeError("not started")] * count

    def start(index: int) -> None:
        try:
            started[index] = start_genmcp(
                workdir / f"replica{index}",
                config=replica_config(workdir, index, simulators, store_url, **extra),
                name=f"replica{index}",
            )
        except pytest.fail.Exception as exc:  # re-raised below, once every thread has ended
            started[index] = exc

    threads = [threading.Thread(target=start, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    replicas = [each for each in started if isinstance(each, GenmcpProcess)]
    failures = [each for each in started if not isinstance(each, GenmcpProcess)]
    if failures:
        for replica in replicas:
            replica.kill()
        raise failures[0]
    return replicas


class RoundRobin(httpx2.AsyncBaseTransport):
    """A load balancer without affinity: each HTTP request goes to the next live replica in turn."""

    def __init__(self, replicas: list[GenmcpProcess]) -> None:
        self.replicas = replicas
        self.turn = 0
        self.sent: list[int] = []
        self.inner = httpx2.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        live = [replica for replica in self.replicas if replica.running()]
        replica = live[self.turn % len(live)]
        self.turn += 1
        self.sent.append(replica.port)
        request.url = request.url.copy_with(port=replica.port)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@contextlib.asynccontextmanager
async def connect(
    url: str, *, transport: httpx2.AsyncBaseTransport | None = None, mode: str = "auto"
) -> AsyncIterator[Client]:
    http = httpx2.AsyncClient(timeout=httpx2.Timeout(30, read=90), transport=transport, trust_env=False)
    async with http, Client(streamable_http_client(url, http_client=http), mode=mode) as client:
        yield client


async def ok(client: Client, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, args)
    assert not result.is_error, f"{tool}: {text(result)}"
    return data(result)


def lease_owner(store_url: str, handle: str) -> str | None:
    provider, upstream_id = handle.split(":", 1)
    with psycopg.connect(store_url) as conn:
        row = conn.execute(
            "SELECT lease_owner FROM jobs WHERE provider=%s AND upstream_id=%s", (provider, upstream_id)
        ).fetchone()
    return row[0] if row else None


def pid_of(owner: str | None) -> int | None:
    return int(owner.split(":")[1]) if owner else None


def polls_of(requests: list[dict[str, Any]], task: str) -> list[dict[str, Any]]:
    return [r for r in requests if f"{r['method']} {r['path']}" == f"{CV_POLL}{task}"]


def runs(replicas: list[str]) -> list[str]:
    """Consecutive runs of the same replica: ["r0", "r0", "r1"] → ["r0", "r1"]."""
    return [name for index, name in enumerate(replicas) if index == 0 or replicas[index - 1] != name]


# --- the tests -------------------------------------------------------------------------------------------------------


async def test_two_replicas_started_together_on_an_empty_database_make_one_schema(
    tmp_path: Path, simhost: SimHost, postgres_url: str
) -> None:
    replicas = start_replicas(tmp_path, 2, simhost.url, postgres_url)
    try:
        for replica in replicas:
            assert "Traceback" not in replica.stderr()
            assert " ERROR " not in replica.stderr()
        with psycopg.connect(postgres_url) as conn:
            versions = [row[0] for row in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
        from server.store.migrations import POSTGRES

        assert versions == [migration.version for migration in POSTGRES]
    finally:
        for replica in replicas:
            replica.terminate()


async def test_three_replicas_serve_every_provider_without_affinity_and_survive_kill_9(
    tmp_path: Path, simhost: SimHost, postgres_url: str
) -> None:
    replicas = start_replicas(tmp_path, 3, simhost.url, postgres_url)
    try:
        await _every_provider_over_round_robin(replicas, simhost, postgres_url)
        await _kill_the_conceptviz_watcher(replicas, simhost, postgres_url)
        await _kill_the_univers_runner(replicas, simhost, postgres_url)
        await _nothing_else_is_lost(replicas, simhost)
    finally:
        for replica in replicas:
            replica.terminate()


STARTED: dict[str, str] = {}
"""Handles of the jobs the first part started, by provider (read by the last part)."""


async def _every_provider_over_round_robin(replicas: list[GenmcpProcess], simhost: SimHost, store_url: str) -> None:
    balancer = RoundRobin(replicas)
    async with connect(replicas[0].mcp_url, transport=balancer) as client:
        started = {
            "conceptviz": await ok(client, "conceptviz_generate", {"prompt": "water cycle diagram", "wait": 0}),
            "kolbo": await ok(client, "kolbo_generate_image", {"prompt": "a paper boat", "wait": 0}),
            "cosmiq": await ok(client, "cosmiq_create", {"prompt": "an owl poster", "wait": 0}),
            "univers": await ok(client, "univers_ai_image", {"prompt": "a cat on a sofa", "wait": 0}),
        }
        project = await ok(client, "masko_create_project", {"name": "My App"})
        mascot = await ok(
            client,
            "masko_create_mascot",
            {
                "project_id": project["details"]["project_id"],
                "name": "Felix",
                "reference_image_urls": ["https://example.com/fox.png"],
            },
        )
        args = {"mascot_id": mascot["details"]["mascot_id"], "type": "image", "name": "wave", "wait": 0}
        started["masko"] = await ok(client, "masko_generate", {**args, "image_prompt": "waving"})
        finished: dict[str, dict[str, Any]] = {}
        for provider, answer in started.items():
            if answer["status"] == "completed":
                finished[provider] = answer
                continue
            assert answer["status"] == "running", answer
            STARTED[provider] = answer["job"]
            result = answer
            deadline = Deadline(60)
            while result["status"] == "running" and deadline.left():
                result = await ok(client, "poll", {"job": answer["job"], "wait": 20})  # each on the next replica
            finished[provider] = result
        assert {provider: result["status"] for provider, result in finished.items()} == dict.fromkeys(
            started, "completed"
        )
        # The client's requests went to every replica, in turn.
        assert set(balancer.sent) == {replica.port for replica in replicas}
        listed = await ok(client, "jobs", {"limit": 50})
        assert {job["job"] for job in listed["jobs"]} >= set(STARTED.values())

        # Every file can be read from every replica, over HTTP and as an MCP resource.
        assets = [asset for result in finished.values() for asset in result.get("assets", [])]
        held = [asset for asset in assets if (asset.get("resource") or "").startswith("artifact://")]
        assert held, "no provider answered a file genmcp holds"
        for asset in held:
            artifact_id = asset["resource"].removeprefix("artifact://")
            bodies = {httpx2.get(f"{r.base_url}/artifacts/{artifact_id}", timeout=10).content for r in replicas}
            assert len(bodies) == 1
            assert len(next(iter(bodies))) > 0
            contents = await client.read_resource(asset["resource"])
            assert contents.contents
    # A 2025-era client too, thanks to server.stateless_http (no session to stick to).
    async with connect(replicas[0].mcp_url, transport=RoundRobin(replicas), mode="legacy") as legacy:
        for _ in range(3):
            assert (await ok(legacy, "jobs", {"limit": 5}))["jobs"]
    overlapping = [r for r in simhost.requests() if r["overlapping"] and r["method"] == "GET"]
    assert not [r for r in overlapping if "/task/" in r["path"] or "/generations/" in r["path"]], overlapping


async def _kill_the_conceptviz_watcher(replicas: list[GenmcpProcess], simhost: SimHost, store_url: str) -> None:
    first, second = replicas[0], replicas[1]
    names = {replica.port: f"r{index}" for index, replica in enumerate(replicas)}
    submits_before = simhost.count(CV_SUBMIT)
    async with connect(first.mcp_url) as one:
        handle = (await ok(one, "conceptviz_generate", {"prompt": "killed mid-job", "wait": 0}))["job"]
    task = handle.split(":", 1)[1]
    answers: dict[str, CallToolResult | Exception] = {}

    async def poll(name: str, replica: GenmcpProcess) -> None:
        try:
            async with connect(replica.mcp_url) as client:
                answers[name] = await client.call_tool("poll", {"job": handle, "wait": 50})
        except Exception as exc:  # noqa: BLE001 - the killed replica's call breaks off, however the client says it
            answers[name] = exc

    with anyio.fail_after(60):  # both calls answer (or break off) on their own: this bounds a hang
        async with anyio.create_task_group() as group:
            group.start_soon(poll, "first", first)
            await simhost.wait_for(f"{CV_POLL}{task}", 1, replica=names[first.port], seconds=15)
            assert pid_of(lease_owner(store_url, handle)) == first.process.pid  # r0 polls as the lease holder
            # Reaches another replica while r0's lease is live (just before or just after the kill): it follows the
            # record until the dead holder's lease runs out, then takes the job over.
            group.start_soon(poll, "second", second)
            first.kill()  # kill -9, mid-job
    assert set(answers) == {"first", "second"}

    finished = answers["second"]
    assert isinstance(finished, CallToolResult)
    assert data(finished)["status"] == "completed", text(finished)
    requests = simhost.requests()
    polls = polls_of(requests, task)
    who = [poll["replica"] for poll in polls]
    assert simhost.count(CV_SUBMIT) == submits_before + 1  # exactly one submit request
    assert who[0] == names[first.port]
    assert names[first.port] in who
    assert runs(who) == list(dict.fromkeys(who)), f"replicas took turns polling the job: {who}"
    assert len(set(who)) == 2, who  # the holder, then the one that took it over
    assert not any(poll["overlapping"] for poll in polls)
    KILL_REPORT["conceptviz"] = {
        "submits": simhost.count(CV_SUBMIT) - submits_before,
        "polls_by_replica": {name: who.count(name) for name in dict.fromkeys(who)},
        "order": runs(who),
        "overlapping_polls": sum(poll["overlapping"] for poll in polls),
    }


KILL_REPORT: dict[str, Any] = {}


async def _kill_the_univers_runner(replicas: list[GenmcpProcess], simhost: SimHost, store_url: str) -> None:
    third, second = replicas[2], replicas[1]
    posts_before = simhost.count("POST /univers/")
    async with connect(third.mcp_url) as three:
        answer = await ok(three, "univers_ai_image", {"prompt": "a dog that will not be drawn", "wait": 0})
    assert answer["status"] == "running", answer
    handle = answer["job"]
    await simhost.wait_for("POST /univers/", posts_before + 1, seconds=15)
    assert pid_of(lease_owner(store_url, handle)) == third.process.pid
    third.kill()  # kill -9 while the call is in flight
    async with connect(second.mcp_url) as two:
        result = await two.call_tool("poll", {"job": handle, "wait": 30})
    assert result.is_error
    assert error_code(result) == "interrupted", text(result)
    assert "may have been charged" in text(result)
    assert simhost.count("POST /univers/") == posts_before + 1  # never sent again
    KILL_REPORT["univers"] = {"status": "interrupted", "posts": simhost.count("POST /univers/") - posts_before}


async def _nothing_else_is_lost(replicas: list[GenmcpProcess], simhost: SimHost) -> None:
    survivor = replicas[1]
    async with connect(survivor.mcp_url) as client:
        listed = (await ok(client, "jobs", {"limit": 100}))["jobs"]
    statuses = {job["job"]: job["status"] for job in listed if job["job"]}
    for provider, handle in STARTED.items():
        assert statuses[handle] == "completed", (provider, statuses)
    assert sorted(set(statuses.values())) == ["completed", "interrupted"], statuses
    assert not [job for job in listed if job["status"] in {"running", "submitting"}]
    requests = simhost.requests()
    counts: dict[str, int] = {}
    for request in requests:
        key = f"{request['replica']} {request['method']} {request['path'].split('/')[1]}"
        counts[key] = counts.get(key, 0) + 1
    KILL_REPORT["requests_by_replica"] = counts
    (survivor.workdir.parent / "kill-report.json").write_text(json.dumps(KILL_REPORT, indent=2))
    print("kill -9 run:", json.dumps(KILL_REPORT, indent=2))
