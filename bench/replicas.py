"""Section 5 — hosted: jobs in flight on three genmcp replicas sharing one PostgreSQL against one genmcp process over
SQLite, side by side in one run, and the added latency per call of the PostgreSQL store.

For each N: a fresh ConceptViz simulator, then (a) one `genmcp serve` with the SQLite store and (b) three replicas on
a fresh PostgreSQL database; N `conceptviz_generate` calls start at once, spread over the same number of MCP
sessions, the sessions spread over the replicas in turn (as a load balancer would). Each replica polls only the jobs
whose calls it serves (it holds their leases), so the upstream requests per job should equal the single process's.

Latency: one SQLite process and one PostgreSQL replica, default per-caller limits (counted in the store), one
session each; interleaved rounds of `poll` on a finished job (store only) and `credits` (one upstream GET and a
balance write).

PostgreSQL: `GENMCP_BENCH_POSTGRES_URL` (or `GENMCP_TEST_POSTGRES_URL`), else a private cluster from this machine's
binaries (see `tests/harness/postgres.py`); without one the section is skipped and says why.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack, ExitStack
from dataclasses import dataclass, field
from typing import Any

import anyio
from mcp import Client

from bench.jobs import FILE, INTERVAL, KEY, POLL, SUBMIT, WAIT_MARGIN, Outcome, _call
from bench.measure import MiB, PeakRss, cpu_seconds
from bench.plan import Plan
from bench.processes import Service, genmcp_server, python_module, service
from bench.report import Section, Target, percentile
from bench.simserver import fetch_stats
from tests.harness.postgres import PostgresServer, PostgresUnavailable, private_cluster

__all__ = ["run"]

LIMITS_ON = {"GENMCP_LIMITS__CALLS_PER_MINUTE": "1000000", "GENMCP_LIMITS__CONCURRENT_CALLS": "16"}
"""The latency part counts every call in the store (as a team set-up does); a limit it never reaches."""
CALLS_PER_SESSION = 50
DELAY_SLACK = 1.0
"""Seconds the replicas' p95 delay may exceed the single process's: following a job across replicas adds none."""


@dataclass
class Setup:
    """One side of the comparison at one N."""

    name: str
    n: int
    replicas: int
    outcomes: list[Outcome] = field(default_factory=list)
    peak_rss: list[int] = field(default_factory=list)
    submits: int = 0
    polls: int = 0
    files: int = 0
    max_polls: int = 0
    delays: list[float] = field(default_factory=list)
    wall: float = 0.0
    cpu: float = 0.0
    """CPU seconds of every genmcp process of the set-up during the burst."""
    session_errors: list[str] = field(default_factory=list)
    """MCP sessions of this client whose transport broke (their unanswered calls count as failed)."""

    @property
    def success_rate(self) -> float:
        return sum(o.status == "completed" for o in self.outcomes) / self.n

    @property
    def requests_per_job(self) -> float:
        return (self.submits + self.polls) / self.n

    def errors(self) -> list[str]:
        return sorted({o.error or o.status for o in self.outcomes if o.status != "completed"})


@contextlib.contextmanager
def _postgres() -> Iterator[PostgresServer]:
    url = os.environ.get("GENMCP_BENCH_POSTGRES_URL") or os.environ.get("GENMCP_TEST_POSTGRES_URL")
    if url:
        yield PostgresServer(url)
        return
    with private_cluster() as server:
        yield server


def _env(plan: Plan, sim: Service, store_url: str | None) -> dict[str, str]:
    wait = plan.job_seconds + WAIT_MARGIN
    env = {
        "CONCEPTVIZ_API_KEY": KEY,
        "GENMCP_PROVIDERS__CONCEPTVIZ__BASE_URL": sim.url + "/api/v1",
        "GENMCP_SANDBOX__MODE": "off",
        "GENMCP_JOBS__WAIT_SECONDS": str(wait),
        "GENMCP_JOBS__MAX_WAIT_SECONDS": str(wait),
        "GENMCP_INPUTS__ALLOW_HOSTS": json.dumps([f"127.0.0.1:{sim.port}"]),
    }
    if store_url is not None:
        env["GENMCP_STORE__URL"] = store_url
    return env


def _sessions(plan: Plan, n: int) -> int:
    """min(N, 20) sessions, more past 1000 calls: one session's HTTP client keeps at most 100 connections open, and
    every call waiting for its result holds one."""
    return min(n, max(plan.max_sessions, math.ceil(n / CALLS_PER_SESSION)))


async def _burst(servers: list[Service], setup: Setup, sessions: int, wait: float) -> None:
    try:
        await _sessions_burst(servers, setup, sessions, wait)
    except Exception as exc:  # noqa: BLE001 — a session whose transport broke: its calls are counted, not a crash
        while isinstance(exc, ExceptionGroup) and exc.exceptions:
            exc = exc.exceptions[0]
        setup.session_errors.append(f"{type(exc).__name__}: {exc}"[:200])


async def _sessions_burst(servers: list[Service], setup: Setup, sessions: int, wait: float) -> None:
    async with AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(Client(servers[index % len(servers)].url + "/mcp"))
            for index in range(sessions)
        ]
        for client in clients:
            await client.call_tool("jobs", {"limit": 1})
        outcomes = setup.outcomes  # filled as answers come: a broken session leaves the others' counted

        async def one(index: int) -> None:
            outcomes.append(await _call(clients[index % len(clients)], index, wait))

        cpu_before = sum(cpu_seconds(server.pid) for server in servers)
        with ExitStack() as peaks:
            samplers = [peaks.enter_context(PeakRss(server.pid)) for server in servers]
            started = time.monotonic()
            async with anyio.create_task_group() as group:
                for index in range(setup.n):
                    group.start_soon(one, index)
            setup.wall = time.monotonic() - started
        setup.cpu = sum(cpu_seconds(server.pid) for server in servers) - cpu_before
        setup.peak_rss = [sampler.peak for sampler in samplers]


async def _measure(plan: Plan, n: int, replicas: int, store_url: str | None) -> Setup:
    name = f"{replicas} × PostgreSQL" if store_url else "1 × SQLite"
    setup = Setup(name=name, n=n, replicas=replicas)
    workdir = plan.workdir / f"replicas-{n}-{'pg' if store_url else 'sqlite'}"
    simulator = python_module(
        "bench.simserver", "conceptviz", "--key", KEY, "--job-seconds", str(plan.job_seconds), "--credits", str(4 * n)
    )
    with service("conceptviz-simulator", simulator, workdir=workdir) as sim, ExitStack() as stack:
        env = _env(plan, sim, store_url)
        servers = [
            stack.enter_context(genmcp_server(workdir / f"replica{index}", profile=None, **env))
            for index in range(replicas)
        ]
        before = await fetch_stats(sim.url)
        await _burst(servers, setup, _sessions(plan, n), plan.job_seconds + WAIT_MARGIN)
        after = await fetch_stats(sim.url)
    setup.submits = after.count(SUBMIT) - before.count(SUBMIT)
    setup.polls = after.count(POLL) - before.count(POLL)
    setup.files = after.count(FILE) - before.count(FILE)
    for outcome in setup.outcomes:
        if outcome.status == "completed" and outcome.job is not None:
            task = outcome.job.split(":", 1)[1]
            setup.max_polls = max(setup.max_polls, after.counts.get(POLL + task, 0))
            if task in after.ready_at:
                setup.delays.append(outcome.received - after.ready_at[task])
    return setup


async def _timed(client: Client, tool: str, arguments: dict[str, Any]) -> float:
    started = time.perf_counter()
    result = await client.call_tool(tool, arguments)
    took = (time.perf_counter() - started) * 1000
    if result.is_error:
        raise RuntimeError(f"{tool} failed during the latency rounds: {result.content}")
    return took


async def _latency(plan: Plan, store_url: str) -> dict[str, dict[str, list[float]]]:
    """Per call ("poll", "credits"), per store ("sqlite", "postgresql"): milliseconds of each sample."""
    workdir = plan.workdir / "store-latency"
    simulator = python_module("bench.simserver", "conceptviz", "--key", KEY, "--job-seconds", "0.5")
    samples: dict[str, dict[str, list[float]]] = {"poll": {}, "credits": {}}
    with service("conceptviz-simulator", simulator, workdir=workdir) as sim, ExitStack() as stack:
        servers = {
            "sqlite": stack.enter_context(
                genmcp_server(workdir / "sqlite", profile=None, **{**_env(plan, sim, None), **LIMITS_ON})
            ),
            "postgresql": stack.enter_context(
                genmcp_server(workdir / "postgresql", profile=None, **{**_env(plan, sim, store_url), **LIMITS_ON})
            ),
        }
        async with AsyncExitStack() as clients_stack:
            clients = {
                side: await clients_stack.enter_async_context(Client(server.url + "/mcp"))
                for side, server in servers.items()
            }
            handles = {}
            for side, client in clients.items():
                done = await client.call_tool("conceptviz_generate", {"prompt": "latency probe", "wait": 30})
                handles[side] = (done.structured_content or {}).get("job")
            warmup = max(2, plan.store_latency_samples // 10)
            sides = list(clients)
            for round_index in range(warmup + plan.store_latency_samples):
                order = sides if round_index % 2 == 0 else sides[::-1]  # drift in the machine's load hits both
                for call in ("poll", "credits"):
                    for side in order:
                        arguments = {"job": handles[side]} if call == "poll" else {"provider": "conceptviz"}
                        took = await _timed(clients[side], call, arguments)
                        if round_index >= warmup:
                            samples[call].setdefault(side, []).append(took)
    return samples


async def run(plan: Plan) -> Section:
    """Every N of the plan (both set-ups), then the latency rounds."""
    title = f"5. Hosted: {plan.replicas} replicas on PostgreSQL vs one process on SQLite"
    with ExitStack() as stack:
        try:
            server = stack.enter_context(_postgres())
        except PostgresUnavailable as exc:
            return Section(key="replicas", title=title, skipped=f"no PostgreSQL: {exc}")
        levels: list[tuple[Setup, Setup]] = []
        for n in plan.replica_levels:
            single = await _measure(plan, n, 1, None)
            hosted = await _measure(plan, n, plan.replicas, server.create_database())
            levels.append((single, hosted))
        latency = await _latency(plan, server.create_database())
    return _section(plan, title, levels, latency)


def _row(setup: Setup) -> list[str]:
    return [
        str(setup.n),
        setup.name,
        f"{setup.success_rate:.1%}",
        f"{setup.requests_per_job:.2f}",
        str(setup.max_polls),
        f"{percentile(setup.delays, 50):.2f}",
        f"{percentile(setup.delays, 95):.2f}",
        " / ".join(f"{peak / MiB:.0f}" for peak in setup.peak_rss),
        f"{setup.cpu / setup.n * 1000:.1f}",
        f"{setup.wall:.1f}",
    ]


def _section(
    plan: Plan, title: str, levels: list[tuple[Setup, Setup]], latency: dict[str, dict[str, list[float]]]
) -> Section:
    rows = [_row(setup) for pair in levels for setup in pair]
    hosted = [pair[1] for pair in levels]
    # The single-process minimum: 1 submit, the polls until the job is done at the provider's interval, 1 more
    # (section 2's budget). Under load a late poll may find the job done sooner, so fewer can occur; more cannot
    # unless a second replica polls a job: exactly what the leases rule out.
    budget = 1 + math.ceil(plan.job_seconds / INTERVAL) + 1
    worst_requests = max(hosted, key=lambda setup: setup.requests_per_job)
    most_polls = max(setup.max_polls for setup in hosted)
    gaps = {
        hosted_setup.n: percentile(hosted_setup.delays, 95) - percentile(single.delays, 95)
        for single, hosted_setup in levels
    }
    worst = max(hosted, key=lambda setup: gaps[setup.n] if not math.isnan(gaps[setup.n]) else math.inf)
    delay_gap = gaps[worst.n]
    ratios = {
        call: percentile(sides["postgresql"], 50) / percentile(sides["sqlite"], 50) for call, sides in latency.items()
    }
    latency_rows = [
        [
            call,
            f"{percentile(sides['sqlite'], 50):.2f}",
            f"{percentile(sides['postgresql'], 50):.2f}",
            f"{percentile(sides['sqlite'], 95):.2f}",
            f"{percentile(sides['postgresql'], 95):.2f}",
            f"{ratios[call]:.3f}",
        ]
        for call, sides in latency.items()
    ]
    notes = [
        f"Jobs finish {plan.job_seconds:g} s after submission; min(N, max({plan.max_sessions}, N / "
        f"{CALLS_PER_SESSION})) MCP sessions, spread over the replicas in turn; every call waits for its result. "
        "API req/job = submits + polls counted by the simulator; delay = the client had the result − the job "
        "finished upstream.",
        "Peak RSS is per replica (MB), sampled every 50 ms during the burst; CPU ms/job adds up every genmcp "
        "process of the set-up. Everything (replicas, PostgreSQL, simulator, this client) shares the machine's "
        "cores: three replicas on one small host pay three event loops and a database round trip per store "
        "operation; replicas are for availability and for spreading over hosts.",
        "Added latency per call (ms, one session per store, "
        f"{plan.store_latency_samples} interleaved rounds after a warm-up; per-caller limits on, counted in the "
        "store):",
        *(
            f"`{row[0]}`: SQLite p50 {row[1]} / p95 {row[3]} — PostgreSQL p50 {row[2]} / p95 {row[4]} — "
            f"ratio p50 {row[5]}"
            for row in latency_rows
        ),
    ]
    notes.extend(
        f"{setup.name}, N={setup.n}: failures: {', '.join(setup.errors())}"
        for pair in levels
        for setup in pair
        if setup.errors()
    )
    notes.extend(
        f"{setup.name}, N={setup.n}: this client's MCP session broke: {error}"
        for pair in levels
        for setup in pair
        for error in setup.session_errors
    )
    return Section(
        key="replicas",
        title=title,
        headers=[
            "N",
            "set-up",
            "success",
            "API req/job",
            "max polls",
            "delay p50 s",
            "delay p95 s",
            "peak RSS MB",
            "CPU ms/job",
            "wall s",
        ],
        rows=rows,
        targets=[
            Target(
                "success rate on the replicas, every N",
                "100 %",
                ", ".join(f"{h.success_rate:.1%}" for h in hosted),
                all(h.success_rate == 1.0 for h in hosted),
            ),
            Target(
                "upstream requests per job on the replicas (worst N)",
                f"≤ {budget} (the single-process minimum)",
                f"{worst_requests.requests_per_job:.2f} (N={worst_requests.n})",
                worst_requests.requests_per_job <= budget,
            ),
            Target(
                "most polls of one job on the replicas",
                f"≤ {budget - 2}",
                str(most_polls),
                most_polls <= budget - 2,
            ),
            Target(
                "done-upstream → client delay p95, replicas − single process (worst N)",
                f"≤ {DELAY_SLACK:g} s",
                f"{delay_gap:+.2f} s (N={worst.n})",
                delay_gap <= DELAY_SLACK,
            ),
            Target(
                "added latency per call, PostgreSQL / SQLite at p50 (poll of a finished job)",
                "measured (ratio)",
                f"{ratios['poll']:.3f}",
                True,
            ),
        ],
        notes=notes,
        data={
            "levels": [
                {
                    "n": setup.n,
                    "setup": setup.name,
                    "replicas": setup.replicas,
                    "success_rate": setup.success_rate,
                    "submits": setup.submits,
                    "polls": setup.polls,
                    "file_gets": setup.files,
                    "requests_per_job": setup.requests_per_job,
                    "max_polls_per_job": setup.max_polls,
                    "delay_p50": percentile(setup.delays, 50),
                    "delay_p95": percentile(setup.delays, 95),
                    "peak_rss_bytes": setup.peak_rss,
                    "wall_seconds": setup.wall,
                    "cpu_seconds": setup.cpu,
                    "errors": setup.errors(),
                    "session_errors": setup.session_errors,
                }
                for pair in levels
                for setup in pair
            ],
            "latency_ms": {
                call: {
                    side: {"p50": percentile(v, 50), "p95": percentile(v, 95), "samples": len(v)}
                    for side, v in sides.items()
                }
                for call, sides in latency.items()
            },
            "latency_ratio_p50": ratios,
        },
    )
