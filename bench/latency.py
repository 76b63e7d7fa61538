"""Section 1 — added latency per call.

The same cheap read, `credits` for Kolbo (one live GET of the balance), made (a) through genmcp and (b) through a
bare `MCPServer` whose one tool GETs the same simulator URL with the same key. Both are subprocesses serving
streamable HTTP; the simulator is a third. One MCP client session per side; the sides are interleaved (the order
alternates every round) so drift in the machine's load hits both alike. A plain GET of the same URL from this
process is timed in the same rounds, for scale.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import anyio
import httpx2
from mcp import Client

from bench.plan import Plan
from bench.processes import genmcp_server, python_module, service
from bench.report import Section, Target, percentile
from bench.simserver import fetch_stats

__all__ = ["run"]

KEY = "kolbo_bench_0123456789"
BALANCE_PATH = "/api/v1/account/credits"
ARGUMENTS = {"provider": "kolbo"}
TARGET_RATIO = 1.10
Call = Callable[[], Awaitable[None]]


def _mcp_call(client: Client) -> Call:
    async def call() -> None:
        result = await client.call_tool("credits", ARGUMENTS)
        if result.is_error:
            raise RuntimeError(f"credits failed: {result.content}")

    return call


def _plain_get(http: httpx2.AsyncClient, url: str) -> Call:
    async def call() -> None:
        (await http.get(url)).raise_for_status()

    return call


async def _interleaved(calls: dict[str, Call], rounds: int) -> dict[str, list[float]]:
    """Seconds per call for each side; each round calls every side once, the order rotating by one each round."""
    names = list(calls)
    times: dict[str, list[float]] = {name: [] for name in names}
    for index in range(rounds):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            started = time.perf_counter()
            await calls[name]()
            times[name].append(time.perf_counter() - started)
    return times


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


async def run(plan: Plan) -> Section:
    """Measure, and compare genmcp's p50 with the baseline's."""
    workdir = plan.workdir / "latency"
    upstream_headers = {"X-API-Key": KEY}
    simulator = python_module("bench.simserver", "kolbo", "--key", KEY)
    with service("kolbo-simulator", simulator, workdir=workdir) as sim:
        url = sim.url + BALANCE_PATH
        baseline_command = python_module("bench.baseline", "--upstream", url, "--header", f"X-API-Key={KEY}")
        with (
            service("baseline", baseline_command, workdir=workdir) as baseline,
            genmcp_server(
                workdir,
                profile=plan.profile("latency"),
                KOLBO_API_KEY=KEY,
                GENMCP_PROVIDERS__KOLBO__BASE_URL=sim.url + "/api",
                GENMCP_SANDBOX__MODE="off",
            ) as genmcp,
        ):
            with anyio.fail_after(60 + plan.latency_samples * 0.5):
                async with (
                    Client(genmcp.url + "/mcp") as via_genmcp,
                    Client(baseline.url + "/mcp") as via_baseline,
                    httpx2.AsyncClient(headers=upstream_headers, timeout=30) as http,
                ):
                    calls = {
                        "genmcp": _mcp_call(via_genmcp),
                        "baseline": _mcp_call(via_baseline),
                        "upstream": _plain_get(http, url),
                    }
                    await _interleaved(calls, plan.latency_warmup)
                    before = await fetch_stats(sim.url)
                    times = await _interleaved(calls, plan.latency_samples)
                    after = await fetch_stats(sim.url)
    gets = after.count(f"GET {BALANCE_PATH}") - before.count(f"GET {BALANCE_PATH}")
    return _section(plan, times, gets / (3 * plan.latency_samples))


def _section(plan: Plan, times: dict[str, list[float]], gets_per_call: float) -> Section:
    p50 = {name: percentile(values, 50) for name, values in times.items()}
    p95 = {name: percentile(values, 95) for name, values in times.items()}
    ratio50 = p50["genmcp"] / p50["baseline"]
    ratio95 = p95["genmcp"] / p95["baseline"]
    labels = {
        "genmcp": "(a) through genmcp",
        "baseline": "(b) bare MCPServer + httpx2",
        "upstream": "plain GET, no MCP (scale)",
    }
    rows = [
        [labels[name], _ms(p50[name]), _ms(p95[name]), _ms(min(values)), str(len(values))]
        for name, values in times.items()
    ]
    rows.append(["ratio a/b", f"{ratio50:.3f}", f"{ratio95:.3f}", "", ""])
    added = p50["genmcp"] - p50["baseline"]
    return Section(
        key="latency",
        title="1. Added latency per call (credits → Kolbo simulator balance GET)",
        headers=["path", "p50 ms", "p95 ms", "min ms", "samples"],
        rows=rows,
        targets=[
            Target("latency ratio a/b at p50", f"≤ {TARGET_RATIO}", f"{ratio50:.3f}", ratio50 <= TARGET_RATIO),
        ],
        notes=[
            f"genmcp adds {added * 1000:.2f} ms at p50 over the bare server; every call made "
            f"{gets_per_call:.2f} upstream GET (all three paths together counted by the simulator).",
            f"{plan.latency_samples} interleaved rounds after {plan.latency_warmup} warm-up rounds; one MCP session "
            "per side; genmcp runs with its defaults (INFO log level, uvicorn access log on).",
        ],
        data={
            "samples": {name: len(values) for name, values in times.items()},
            "p50_ms": {name: value * 1000 for name, value in p50.items()},
            "p95_ms": {name: value * 1000 for name, value in p95.items()},
            "ratio_p50": ratio50,
            "ratio_p95": ratio95,
            "upstream_gets_per_call": gets_per_call,
        },
    )
