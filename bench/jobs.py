"""Section 2 — jobs in flight.

For each N: a fresh ConceptViz simulator (its own process, jobs finishing `job_seconds` after submission) and a
fresh genmcp pointed at it (live mode, key configured, the simulator's host allowed for previews as a CDN would be).
N `conceptviz_generate` calls start at once, spread over several MCP sessions, each with a `wait` long enough to
get the finished result within the call. Measured on genmcp's pid (psutil, or /proc): peak RSS and CPU time; on
the simulator: every request it received and when each job finished, so the delay from "done upstream" to "result
received by the client" is known per job.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from contextlib import AsyncExitStack, closing
from dataclasses import dataclass, field
from pathlib import Path

import anyio
from mcp import Client

from bench.measure import MiB, PeakRss, cpu_seconds, rss_bytes
from bench.plan import Plan
from bench.processes import Service, genmcp_server, python_module, service
from bench.report import Section, Target, percentile
from bench.simserver import Stats, fetch_stats
from providers.conceptviz.adapter import ConceptViz

__all__ = ["Level", "run"]

KEY = "cvk_bench_0123456789"
INTERVAL = ConceptViz.poll_interval
"""The poll interval genmcp uses for ConceptViz (jittered ±10 %)."""
SUBMIT, POLL, FILE = "POST /api/v1/generate", "GET /api/v1/task/", "GET /files/"
WAIT_MARGIN = 110.0
"""Each call's `wait` is the job's duration plus this: a late result is a delay (measured), not a failure."""
CALL_GRACE = 30.0
"""Seconds the client gives a call beyond its `wait` before counting it as failed (timeout)."""


@dataclass
class Outcome:
    """One tool call as the client saw it."""

    status: str
    job: str | None = None
    received: float = 0.0
    error: str | None = None


@dataclass
class Level:
    """Everything measured for one N."""

    n: int
    sessions: int
    job_seconds: float
    outcomes: list[Outcome] = field(default_factory=list)
    idle_rss: int = 0
    peak_rss: int = 0
    cpu: float = 0.0
    wall: float = 0.0
    submits: int = 0
    polls: int = 0
    files: int = 0
    polls_per_job: list[int] = field(default_factory=list)
    delays: list[float] = field(default_factory=list)
    poll_lags: list[float] = field(default_factory=list)
    """Per job: genmcp saw it finished (its registry's last update) − it finished upstream."""
    answer_lags: list[float] = field(default_factory=list)
    """Per job: the client received the result − genmcp saw it finished."""
    simulator_cpu: float = 0.0
    client_cpu: float = 0.0
    """CPU seconds the simulator and this process used meanwhile (they share the machine with genmcp)."""

    @property
    def completed(self) -> int:
        return sum(outcome.status == "completed" for outcome in self.outcomes)

    @property
    def success_rate(self) -> float:
        return self.completed / self.n

    @property
    def api_requests_per_job(self) -> float:
        return (self.submits + self.polls) / self.n

    @property
    def request_budget(self) -> int:
        """The issue's target: 1 submit + ⌈duration / hinted interval⌉ polls + 1."""
        return 1 + math.ceil(self.job_seconds / INTERVAL) + 1

    def errors(self) -> list[str]:
        return sorted({o.error or o.status for o in self.outcomes if o.status != "completed"})


async def _call(client: Client, index: int, wait: float) -> Outcome:
    arguments = {"prompt": f"benchmark diagram {index}", "wait": wait}
    with anyio.move_on_after(wait + CALL_GRACE):
        try:
            result = await client.call_tool("conceptviz_generate", arguments)
        except Exception as exc:  # noqa: BLE001 — a call failing in any way is counted, not a crash of the suite
            return Outcome(status="exception", error=f"{type(exc).__name__}: {exc}"[:200])
        received = time.monotonic()
        content = result.structured_content or {}
        status = str(content.get("status", "error" if result.is_error else "?"))
        job = content.get("job")
        error = content.get("error")
        return Outcome(
            status=status,
            job=job if isinstance(job, str) else None,
            received=received,
            error=str(error.get("code")) if isinstance(error, dict) else None,
        )
    return Outcome(status="timeout", error=f"no answer within {wait + CALL_GRACE:g} s")


async def _burst(genmcp: Service, level: Level, wait: float) -> None:
    """Open the sessions, then start every call at once; fills the level's outcomes, CPU, RSS and wall time."""
    async with AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(Client(genmcp.url + "/mcp")) for _ in range(level.sessions)]
        for client in clients:
            await client.call_tool("jobs", {"limit": 1})  # each session is established and answered once
        level.idle_rss = rss_bytes(genmcp.pid)
        cpu_before = cpu_seconds(genmcp.pid)
        outcomes: list[Outcome] = []

        async def one(index: int) -> None:
            outcomes.append(await _call(clients[index % len(clients)], index, wait))

        started = time.monotonic()
        with PeakRss(genmcp.pid) as peak:
            async with anyio.create_task_group() as group:
                for index in range(level.n):
                    group.start_soon(one, index)
        level.wall = time.monotonic() - started
        level.cpu = cpu_seconds(genmcp.pid) - cpu_before
        level.peak_rss = peak.peak
        level.outcomes = outcomes


def _observed(registry: Path) -> dict[str, float]:
    """When genmcp recorded each completed job (its last update), as monotonic time; empty if unreadable."""
    offset = time.time() - time.monotonic()
    try:
        with closing(sqlite3.connect(f"file:{registry}?mode=ro", uri=True)) as db:
            rows = db.execute("SELECT upstream_id, updated_at FROM jobs WHERE status = 'completed'").fetchall()
    except sqlite3.Error:
        return {}
    return {str(upstream_id): float(updated_at) - offset for upstream_id, updated_at in rows}


def _count_upstream(level: Level, before: Stats, after: Stats, observed: dict[str, float]) -> None:
    level.submits = after.count(SUBMIT) - before.count(SUBMIT)
    level.polls = after.count(POLL) - before.count(POLL)
    level.files = after.count(FILE) - before.count(FILE)
    for outcome in level.outcomes:
        if outcome.status != "completed" or outcome.job is None:
            continue
        task_id = outcome.job.split(":", 1)[1]
        level.polls_per_job.append(after.counts.get(POLL + task_id, 0))
        if task_id in after.ready_at:
            level.delays.append(outcome.received - after.ready_at[task_id])
            if task_id in observed:
                level.poll_lags.append(observed[task_id] - after.ready_at[task_id])
                level.answer_lags.append(outcome.received - observed[task_id])


async def measure_level(plan: Plan, n: int) -> Level:
    """One N, with its own simulator and genmcp."""
    workdir = plan.workdir / f"jobs-{n}"
    level = Level(n=n, sessions=min(n, plan.max_sessions), job_seconds=plan.job_seconds)
    wait = plan.job_seconds + WAIT_MARGIN
    simulator = python_module(
        "bench.simserver", "conceptviz", "--key", KEY, "--job-seconds", str(plan.job_seconds), "--credits", str(4 * n)
    )
    with service("conceptviz-simulator", simulator, workdir=workdir) as sim:
        env = {
            "CONCEPTVIZ_API_KEY": KEY,
            "GENMCP_PROVIDERS__CONCEPTVIZ__BASE_URL": sim.url + "/api/v1",
            "GENMCP_SANDBOX__MODE": "off",
            "GENMCP_JOBS__WAIT_SECONDS": str(wait),
            "GENMCP_JOBS__MAX_WAIT_SECONDS": str(wait),
            "GENMCP_INPUTS__ALLOW_HOSTS": json.dumps([f"127.0.0.1:{sim.port}"]),
        }
        with genmcp_server(workdir, profile=plan.profile(f"jobs-{n}"), **env) as genmcp:
            before = await fetch_stats(sim.url)
            simulator_cpu, client_cpu = cpu_seconds(sim.pid), time.process_time()
            await _burst(genmcp, level, wait)
            level.simulator_cpu = cpu_seconds(sim.pid) - simulator_cpu
            level.client_cpu = time.process_time() - client_cpu
            after = await fetch_stats(sim.url)
    _count_upstream(level, before, after, _observed(workdir / "jobs.sqlite3"))
    return level


async def run(plan: Plan) -> Section:
    """Every N of the plan, smallest first."""
    levels = [await measure_level(plan, n) for n in plan.job_levels]
    return _section(plan, levels)


def _row(level: Level) -> list[str]:
    grown = (level.peak_rss - level.idle_rss) / level.n / 1024
    return [
        str(level.n),
        f"{level.success_rate:.1%}",
        f"{level.idle_rss / MiB:.1f}",
        f"{level.peak_rss / MiB:.1f}",
        f"{grown:.1f}",
        f"{level.cpu / level.n * 1000:.1f}",
        f"{level.api_requests_per_job:.2f} (≤ {level.request_budget})",
        str(max(level.polls_per_job, default=0)),
        f"{level.files / level.n:.2f}",
        f"{percentile(level.delays, 50):.2f}",
        f"{percentile(level.delays, 95):.2f}",
        f"{percentile(level.poll_lags, 95):.2f}",
        f"{percentile(level.answer_lags, 95):.2f}",
        f"{level.wall:.1f}",
    ]


def _section(plan: Plan, levels: list[Level]) -> Section:
    all_ok = all(level.success_rate == 1.0 for level in levels)
    worst_requests = max(levels, key=lambda lv: lv.api_requests_per_job)
    worst_delay = max(levels, key=lambda lv: percentile(lv.delays, 95) if lv.delays else math.inf)
    delay95 = percentile(worst_delay.delays, 95)
    notes = [
        f"Jobs finish {plan.job_seconds:g} s after submission; genmcp polls every {INTERVAL:g} s ± 10 %. "
        f"Calls are spread over min(N, {plan.max_sessions}) MCP sessions, all start at once, each with wait = "
        f"{plan.job_seconds + WAIT_MARGIN:g} s (success = the completed result came back in the call).",
        "API requests = submits + polls counted by the simulator; file GETs are genmcp downloading the finished "
        "image for the result's preview (as it would from the provider's CDN).",
        "Delay = client received the result − the job finished upstream (one monotonic clock); it splits into "
        "poll lag (until genmcp's poll saw it finished, from genmcp's registry) and answer lag (from then until "
        "the client had the result: preview, rendering, MCP, and this client's own work on the same cores).",
    ]
    for level in levels:
        notes.append(
            f"N={level.n}: CPU seconds during the run — genmcp {level.cpu:.1f}, simulator {level.simulator_cpu:.1f}, "
            f"this client {level.client_cpu:.1f} (wall {level.wall:.1f} s)."
        )
        if level.errors():
            notes.append(f"N={level.n}: failures: {', '.join(level.errors())}")
    return Section(
        key="jobs",
        title="2. Jobs in flight (ConceptViz simulator, one genmcp process)",
        headers=[
            "N",
            "success",
            "idle RSS MB",
            "peak RSS MB",
            "ΔRSS KB/job",
            "CPU ms/job",
            "API req/job",
            "max polls",
            "file GETs/job",
            "delay p50 s",
            "delay p95 s",
            "poll lag p95 s",
            "answer lag p95 s",
            "wall s",
        ],
        rows=[_row(level) for level in levels],
        targets=[
            Target("success rate, every N", "100 %", ", ".join(f"{lv.success_rate:.1%}" for lv in levels), all_ok),
            Target(
                "upstream API requests per job (worst N)",
                f"≤ {worst_requests.request_budget}",
                f"{worst_requests.api_requests_per_job:.2f} (N={worst_requests.n})",
                worst_requests.api_requests_per_job <= worst_requests.request_budget,
            ),
            Target(
                "done-upstream → client delay p95 (worst N)",
                f"≤ {INTERVAL:g} s",
                f"{delay95:.2f} s (N={worst_delay.n})",
                delay95 <= INTERVAL,
            ),
        ],
        notes=notes,
        data={
            "job_seconds": plan.job_seconds,
            "interval": INTERVAL,
            "levels": [
                {
                    "n": lv.n,
                    "sessions": lv.sessions,
                    "completed": lv.completed,
                    "success_rate": lv.success_rate,
                    "idle_rss_bytes": lv.idle_rss,
                    "peak_rss_bytes": lv.peak_rss,
                    "cpu_seconds": lv.cpu,
                    "cpu_seconds_per_job": lv.cpu / lv.n,
                    "submits": lv.submits,
                    "polls": lv.polls,
                    "file_gets": lv.files,
                    "api_requests_per_job": lv.api_requests_per_job,
                    "request_budget": lv.request_budget,
                    "max_polls_per_job": max(lv.polls_per_job, default=0),
                    "delay_p50": percentile(lv.delays, 50),
                    "delay_p95": percentile(lv.delays, 95),
                    "delay_max": max(lv.delays, default=math.nan),
                    "poll_lag_p50": percentile(lv.poll_lags, 50),
                    "poll_lag_p95": percentile(lv.poll_lags, 95),
                    "answer_lag_p50": percentile(lv.answer_lags, 50),
                    "answer_lag_p95": percentile(lv.answer_lags, 95),
                    "wall_seconds": lv.wall,
                    "simulator_cpu_seconds": lv.simulator_cpu,
                    "client_cpu_seconds": lv.client_cpu,
                    "errors": lv.errors(),
                }
                for lv in levels
            ],
        },
    )
