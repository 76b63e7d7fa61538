"""kill -9 at each step of a job, and SIGTERM with streams and jobs in flight, against real `genmcp serve` processes.

The ConceptViz simulator runs in this process on a loopback port (it outlives every genmcp process), wrapped so that
a test can hold the paid POST before it reaches the simulator, hold the simulator's answer after it accepted (and
charged) the job, or hold a poll — and kill genmcp at that moment. After a restart: no job is duplicated upstream,
none that upstream accepted is lost, and polling resumes.

A record left `submitting` by a killed process is resolved at the next start only when it is older than the grace
period (connect + read timeout + 30 s, since another live process may share the file); the tests that need that
backdate the record in the file instead of waiting, as time passing would.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from providers import PROVIDERS
from providers.conceptviz.simulator import ConceptVizAccount, ConceptVizSimulator
from server.app import Runtime
from tests.harness.clock import FakeClock
from tests.harness.process import GenmcpProcess, start_genmcp
from tests.harness.settings import build_settings, settings_data
from tests.security.conftest import (
    CANARIES,
    Hold,
    Leaks,
    SimHost,
    Wrapped,
    connect,
    data,
    secrets_in,
    text,
    wait_event,
)

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

GENERATE = "POST /api/v1/generate"
POLLS = "GET /api/v1/task/"


@dataclass
class Upstream:
    sim: ConceptVizSimulator
    post: Hold
    poll: Hold
    url: str

    def posts(self) -> int:
        return self.sim.requests.count(GENERATE)


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    sim = ConceptVizSimulator(accounts={CANARIES["conceptviz"]: ConceptVizAccount(credits=10_000)}, job_seconds=1)
    holds: list[Hold] = []

    def wrap(app: Any) -> Any:
        post = Hold(app, method="POST", prefix="/api/v1/generate")
        poll = Hold(post, method="GET", prefix="/api/v1/task/")
        holds.extend([post, poll])
        return poll

    with SimHost({"conceptviz": Wrapped(sim, wrap)}) as host:
        try:
            yield Upstream(sim, holds[0], holds[1], host.urls["conceptviz"])
        finally:
            for hold in holds:
                hold.release()


@pytest.fixture
def fresh(upstream: Upstream) -> Iterator[Upstream]:
    yield upstream
    upstream.post.release()
    upstream.poll.release()


def _config(workdir: Path, upstream: Upstream) -> dict[str, Any]:
    return settings_data(
        workdir,
        providers={"conceptviz": {"api_key": CANARIES["conceptviz"], "base_url": upstream.url + "/api/v1"}},
        limits={"calls_per_minute": 0, "concurrent_calls": 0},
        # A restarted genmcp takes over a killed one's jobs once their leases expire: within a poll's wait here.
        store={"lease_seconds": 2},
    )


def _records(workdir: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(workdir / "jobs.sqlite3") as db:
        return [json.loads(row[0]) for row in db.execute("SELECT record FROM jobs ORDER BY created_at")]


def _backdate(workdir: Path, seconds: float = 3600) -> None:
    """What an hour passing does to the records a killed process left behind."""
    with sqlite3.connect(workdir / "jobs.sqlite3") as db:
        for job_id, raw in list(db.execute("SELECT id, record FROM jobs")):
            record = json.loads(raw)
            record["updated_at"] -= seconds
            record["created_at"] -= seconds
            db.execute(
                "UPDATE jobs SET record=?, updated_at=?, created_at=?, lease_expires=lease_expires-? WHERE id=?",
                (json.dumps(record), record["updated_at"], record["created_at"], seconds, job_id),
            )


async def _kill_during(server: GenmcpProcess, hold: Hold, tool: str, arguments: dict[str, Any]) -> None:
    """Make a call, and kill -9 the server once the call reached `hold` (the call is abandoned mid-flight)."""

    async def call() -> None:
        with contextlib.suppress(Exception):
            async with connect(server.mcp_url) as client:
                await client.call_tool(tool, arguments)

    async with anyio.create_task_group() as group:
        group.start_soon(call)
        await wait_event(hold.arrived, 15, "the call to reach upstream")
        server.kill()
        group.cancel_scope.cancel()


def _restart(workdir: Path, upstream: Upstream, leaks: Leaks, first: GenmcpProcess) -> GenmcpProcess:
    leaks.add("stderr-before-kill", first.stderr())
    return start_genmcp(workdir, config=_config(workdir, upstream), name="restarted")


# ---------------------------------------------------------------------------------------------------------------------


async def test_kill_before_the_post_reached_upstream(tmp_path: Path, fresh: Upstream, leaks: Leaks) -> None:
    posts, tasks = fresh.posts(), len(fresh.sim.tasks)
    server = start_genmcp(tmp_path, config=_config(tmp_path, fresh))
    fresh.post.arm("before")
    await _kill_during(server, fresh.post, "conceptviz_generate", {"prompt": "killed before the POST", "wait": 30})
    fresh.post.release()

    (left,) = _records(tmp_path)
    assert left["status"] == "submitting"
    assert left["upstream_id"] is None
    assert (fresh.posts(), len(fresh.sim.tasks)) == (posts, tasks)  # nothing reached the provider

    _backdate(tmp_path)
    restarted = _restart(tmp_path, fresh, leaks, server)
    try:
        async with connect(restarted.mcp_url) as client:
            (job,) = data(leaks.result("jobs", await client.call_tool("jobs", {})))["jobs"]
    finally:
        restarted.terminate()
    leaks.add("stderr", restarted.stderr())
    assert job["status"] == "submit_unknown"
    assert job["job"] is None
    assert job["error"]["charged"] is None
    assert "was not sent again" in job["error"]["message"]
    assert "interrupted while being submitted" in restarted.stderr()
    assert (fresh.posts(), len(fresh.sim.tasks)) == (posts, tasks)  # and it was not sent after the restart


async def test_kill_after_upstream_accepted_but_before_the_id_was_stored(
    tmp_path: Path, fresh: Upstream, leaks: Leaks
) -> None:
    posts = fresh.posts()
    before = set(fresh.sim.tasks)
    server = start_genmcp(tmp_path, config=_config(tmp_path, fresh))
    fresh.post.arm("after")
    await _kill_during(server, fresh.post, "conceptviz_generate", {"prompt": "accepted, then killed", "wait": 30})
    fresh.post.release()

    (accepted,) = set(fresh.sim.tasks) - before  # upstream accepted (and charged) it
    (left,) = _records(tmp_path)
    assert left["status"] == "submitting"
    assert left["upstream_id"] is None

    _backdate(tmp_path)
    restarted = _restart(tmp_path, fresh, leaks, server)
    try:
        async with connect(restarted.mcp_url) as client:
            (job,) = data(leaks.result("jobs", await client.call_tool("jobs", {})))["jobs"]
            # Not lost: the registry says it may have been charged; with the id from the provider it is finished.
            adopted = leaks.result(
                "poll", await client.call_tool("poll", {"job": f"conceptviz:{accepted}", "wait": 10})
            )
    finally:
        restarted.terminate()
    leaks.add("stderr", restarted.stderr())
    assert job["status"] == "submit_unknown", job
    assert job["error"]["charged"] is None, job
    assert "may have been charged" in job["error"]["message"]
    assert data(adopted)["status"] == "completed", text(adopted)
    assert fresh.posts() == posts + 1, "the paid POST was sent again"


async def test_kill_mid_poll_then_polling_resumes(tmp_path: Path, fresh: Upstream, leaks: Leaks) -> None:
    posts = fresh.posts()
    server = start_genmcp(tmp_path, config=_config(tmp_path, fresh))
    async with connect(server.mcp_url) as client:
        started = data(leaks.result("start", await client.call_tool("conceptviz_generate", {"prompt": "p", "wait": 0})))
    handle = started["job"]
    fresh.poll.arm("before")
    await _kill_during(server, fresh.poll, "poll", {"job": handle, "wait": 30})

    (left,) = _records(tmp_path)
    assert left["status"] == "running"
    assert f"conceptviz:{left['upstream_id']}" == handle
    restarted = _restart(tmp_path, fresh, leaks, server)
    fresh.poll.release()
    try:
        async with connect(restarted.mcp_url) as client:
            done = leaks.result("poll", await client.call_tool("poll", {"job": handle, "wait": 10}))
            listed = data(leaks.result("jobs", await client.call_tool("jobs", {})))["jobs"]
    finally:
        restarted.terminate()
    leaks.add("stderr", restarted.stderr())
    assert data(done)["status"] == "completed", text(done)
    assert [job["job"] for job in listed] == [handle]
    assert fresh.posts() == posts + 1


async def test_sigterm_with_open_streams_and_jobs_in_flight(tmp_path: Path, fresh: Upstream, leaks: Leaks) -> None:
    posts = fresh.posts()
    server = start_genmcp(tmp_path, config=_config(tmp_path, fresh))
    fresh.poll.arm("before")
    took = -1.0
    async with anyio.create_task_group() as group:

        async def in_flight() -> None:
            with contextlib.suppress(Exception):
                async with connect(server.mcp_url) as client:
                    await client.call_tool("conceptviz_generate", {"prompt": "in flight at SIGTERM", "wait": 30})

        async def idle_stream() -> None:
            with contextlib.suppress(Exception):
                async with connect(server.mcp_url) as client:
                    await client.list_tools()
                    await anyio.sleep_forever()

        group.start_soon(idle_stream)
        group.start_soon(in_flight)
        # Its first poll reaching upstream means the job was accepted and its id stored; the call now waits.
        await wait_event(fresh.poll.arrived, 20, "the in-flight call's first poll")
        took = await anyio.to_thread.run_sync(server.terminate)
        group.cancel_scope.cancel()
    fresh.poll.release()

    # uvicorn gives open connections 5 s to finish, then the runtime stops its background work.
    assert server.process.returncode is not None, f"SIGTERM took {took:.1f} s"
    assert took < 9.0, f"SIGTERM took {took:.1f} s"
    (left,) = _records(tmp_path)
    assert left["status"] == "running", left
    assert left["upstream_id"], left
    restarted = _restart(tmp_path, fresh, leaks, server)
    try:
        async with connect(restarted.mcp_url) as client:
            done = leaks.result(
                "poll", await client.call_tool("poll", {"job": f"conceptviz:{left['upstream_id']}", "wait": 10})
            )
    finally:
        restarted.terminate()
    assert data(done)["status"] == "completed", text(done)
    assert fresh.posts() == posts + 1
    assert not secrets_in(server.stderr() + restarted.stderr())


async def test_a_record_left_submitting_is_resolved_once_the_grace_has_passed(tmp_path: Path, leaks: Leaks) -> None:
    from server.jobs import JobRecord

    clock = FakeClock()
    settings = build_settings(
        tmp_path, providers={"conceptviz": {"api_key": CANARIES["conceptviz"], "base_url": "https://c.test"}}
    )
    # A process killed a second ago left this record; genmcp restarts at once.
    orphan = JobRecord(
        provider="conceptviz", operation="generate", created_at=clock.wall() - 1, updated_at=clock.wall() - 1
    )
    runtime = Runtime(settings, PROVIDERS, clock=clock)
    async with runtime, Client(runtime.mcp) as client:
        await runtime.store.create(orphan)  # as if left by the killed process: the start-up check has passed
        clock.advance(3600)  # an hour later, same process
        (job,) = data(leaks.result("jobs", await client.call_tool("jobs", {})))["jobs"]
    assert job["status"] == "submit_unknown", job
