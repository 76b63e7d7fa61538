"""Section 3 — server-side long-poll: how many upstream requests one Masko job costs when finished through `wait`.

Masko's `GET /jobs/{id}?wait=true` holds the request until the job changes, so genmcp asks at once and again only
after each answer. A Masko simulator runs in its own process; a project and a mascot are created directly on it
(not counted), then one `masko_generate` animation is called with a `wait` longer than the job, and every request
the simulator received during that call is counted.
"""

from __future__ import annotations

import math
import re
from typing import Any

import anyio
import httpx2
from mcp import Client

from bench.plan import Plan
from bench.processes import genmcp_server, python_module, service
from bench.report import Section, Target
from bench.simserver import fetch_stats
from providers import PROVIDERS

__all__ = ["masko_present", "run"]

TITLE = "3. Server-side long-poll (one Masko animation finished through wait)"
KEY = "masko_bench_0123456789"
TARGET = 3
JOBS_RUN = 3
_ID = re.compile(r"/(?=[A-Za-z_-]*[0-9])[A-Za-z0-9_-]{8,}(?=/|$)")
"""A path segment that is an id: 8+ URL-safe characters with at least one digit."""


def masko_present() -> bool:
    """Whether genmcp registers a Masko adapter."""
    return any(cls.name == "masko" for cls in PROVIDERS)


def _masko_interval() -> float:
    return next(cls.poll_interval for cls in PROVIDERS if cls.name == "masko")


async def _mascot(base_url: str) -> str:
    """Create a project and a mascot on the simulator itself; return the mascot's id."""
    async with httpx2.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {KEY}"}, timeout=30) as http:
        project = await http.post("/v1/projects", json={"name": "Benchmark"})
        project.raise_for_status()
        mascot = await http.post(
            "/v1/collections",
            json={"project_id": _data(project)["id"], "name": "Bench", "prompt": "a friendly orange fox"},
        )
        mascot.raise_for_status()
        return str(_data(mascot)["id"])


def _data(response: httpx2.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    data = body.get("data", body)
    return data if isinstance(data, dict) else body


def _shape(key: str) -> str:
    """'GET /v1/jobs/abc…' -> 'GET /v1/jobs/{id}' (query strings are not part of the key)."""
    return _ID.sub("/{id}", key)


async def run(plan: Plan) -> Section:
    """Count the requests of a few long-polled jobs (one in the quick variant)."""
    if not masko_present():
        return Section(key="longpoll", title=TITLE, skipped="Masko adapter not present")
    workdir = plan.workdir / "longpoll"
    wait = plan.masko_job_seconds + 30
    simulator = python_module("bench.simserver", "masko", "--key", KEY, "--job-seconds", str(plan.masko_job_seconds))
    runs: list[tuple[str, dict[str, int]]] = []
    with service("masko-simulator", simulator, workdir=workdir) as sim:
        mascot = await _mascot(sim.url)
        env = {
            "MASKO_API_KEY": KEY,
            "GENMCP_PROVIDERS__MASKO__BASE_URL": sim.url + "/v1",
            "GENMCP_SANDBOX__MODE": "off",
            "GENMCP_JOBS__WAIT_SECONDS": str(wait),
            "GENMCP_JOBS__MAX_WAIT_SECONDS": str(wait),
        }
        with (
            genmcp_server(workdir, profile=plan.profile("longpoll"), **env) as genmcp,
            anyio.fail_after(JOBS_RUN * (wait + 30)),
        ):
            async with Client(genmcp.url + "/mcp") as client:
                for index in range(1 if plan.quick else JOBS_RUN):
                    before = await fetch_stats(sim.url)
                    result = await client.call_tool(
                        "masko_generate",
                        {
                            "mascot_id": mascot,
                            "type": "animation",
                            "name": f"Wave {index}",
                            "image_prompt": "the fox waving",
                            "animation_prompt": "waves a paw, loops",
                            "duration": 3,
                            "wait": wait,
                        },
                    )
                    after = await fetch_stats(sim.url)
                    content = result.structured_content or {}
                    status = str(content.get("status", "error" if result.is_error else "?"))
                    runs.append((status, after.minus(before)))
    return _section(plan, runs)


def _api_requests(delta: dict[str, int]) -> int:
    return sum(n for key, n in delta.items() if key.split(" ", 1)[1].startswith("/v1/"))


def _section(plan: Plan, runs: list[tuple[str, dict[str, int]]]) -> Section:
    rows = []
    for index, (status, delta) in enumerate(runs, 1):
        shapes: dict[str, int] = {}
        for key, n in delta.items():
            shapes[_shape(key)] = shapes.get(_shape(key), 0) + n
        detail = ", ".join(f"{key} ×{n}" for key, n in sorted(shapes.items()))
        rows.append([str(index), status, str(_api_requests(delta)), detail])
    worst = max((_api_requests(delta) for _, delta in runs), default=0)
    all_done = all(status == "completed" for status, _ in runs)
    interval = _masko_interval()
    fixed = 1 + math.ceil(plan.masko_job_seconds / interval)
    return Section(
        key="longpoll",
        title=TITLE,
        headers=["job", "status", "API requests", "requests (by shape)"],
        rows=rows,
        targets=[
            Target(
                "upstream requests per long-polled Masko job", f"≤ {TARGET}", str(worst), worst <= TARGET and all_done
            )
        ],
        notes=[
            f"Jobs take {plan.masko_job_seconds:g} s upstream; polling every {interval:g} s (Masko's hint) instead "
            f"would cost about {fixed} requests per job.",
        ],
        data={
            "job_seconds": plan.masko_job_seconds,
            "runs": [
                {"status": status, "requests": delta, "api_requests": _api_requests(delta)} for status, delta in runs
            ],
            "worst": worst,
        },
    )
