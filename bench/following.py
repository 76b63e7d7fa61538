"""Section 5 — following a job: a client that follows MCP tasks against one that follows `poll`, in the same run.

One ConceptViz simulator (its own process, jobs finishing `job_seconds` after submission) and one genmcp. Each way
of following starts the same number of `conceptviz_generate` jobs at once, on its own MCP session:

- **poll** (every client today): the call waits its budget (`wait`, shorter than the job here, as a client's tool
  timeout forces), answers `running` with a handle, and the client calls `poll` (default `wait`) until it is done.
- **task + notifications**: the call answers a task at once; the client listens (`subscriptions/listen` with the
  task ids) and reads the result from the `completed` notification.
- **task + eager tasks/get**: the call answers a task; the client asks `tasks/get` every 0.25 s regardless of the
  suggested interval (a client nobody taught manners).

Measured per job: upstream API requests (the submit and the polls of that job, counted by the simulator) and the
delay from "done upstream" (the simulator's clock) to "the client has the result".
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
from mcp import Client
from mcp.client.extension import ClientExtension, NotificationBinding, ResultClaim
from mcp_types import (
    NotificationParams,
    Result,
    SubscriptionFilter,
    SubscriptionsListenRequest,
    SubscriptionsListenRequestParams,
)
from pydantic import ConfigDict, Field

from bench.plan import Plan
from bench.processes import genmcp_server, python_module, service
from bench.report import Section, Target, percentile
from bench.simserver import Stats, fetch_stats
from providers.conceptviz.adapter import ConceptViz
from server.tasks.wire import TASKS, GetTaskRequest, TaskParams

__all__ = ["run"]

TITLE = "6. Following a job: MCP tasks against poll (ConceptViz simulator, one genmcp, same run)"
KEY = "cvk_bench_follow_0123456789"
INTERVAL = ConceptViz.poll_interval
POLL = "GET /api/v1/task/"
EAGER = 0.25
"""Seconds between the eager client's tasks/get."""
CALL_WAIT_SHARE = 0.5
"""The poll client's `wait` on its first call, as a share of the job's length: the job outlives the call, as it does
when a client's tool timeout is shorter than a generation."""
GRACE = 60.0


class _Task(Result):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    result_type: Literal["task"] = Field(alias="resultType")
    task_id: str = Field(alias="taskId")


class _Detailed(Result):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    status: str
    result: dict[str, Any] | None = None


class _Notice(NotificationParams):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    task_id: str = Field(alias="taskId")
    status: str
    result: dict[str, Any] | None = None


class _Tasks(ClientExtension):
    """Declares the Tasks extension, claims the task result (handed back as is), records task notifications."""

    identifier = TASKS

    def __init__(self) -> None:
        self.done: dict[str, tuple[float, dict[str, Any]]] = {}
        self.changed = anyio.Event()

    def claims(self) -> Sequence[ResultClaim[Any]]:
        async def unresolved(created: _Task, ctx: Any) -> Any:
            raise AssertionError("called with allow_claimed")

        return (ResultClaim(result_type="task", model=_Task, resolve=unresolved),)

    def notifications(self) -> Sequence[NotificationBinding[Any]]:
        return (NotificationBinding(method="notifications/tasks", params_type=_Notice, handler=self._heard),)

    async def _heard(self, notice: _Notice) -> None:
        if notice.status == "completed" and notice.result is not None and notice.task_id not in self.done:
            self.done[notice.task_id] = (time.monotonic(), notice.result)
            changed, self.changed = self.changed, anyio.Event()
            changed.set()


@dataclass
class Way:
    """One way of following, and what was measured for it."""

    name: str
    jobs: list[tuple[str, float]] = field(default_factory=list)
    """(upstream task id, when the client had the result) per completed job."""
    failures: list[str] = field(default_factory=list)
    requests: list[int] = field(default_factory=list)
    delays: list[float] = field(default_factory=list)
    client_requests: int = 0
    """MCP requests the client sent to follow its jobs (tools/call, poll, tasks/get, subscriptions/listen)."""

    def measure(self, after: Stats) -> None:
        for task_id, received in self.jobs:
            self.requests.append(1 + after.counts.get(POLL + task_id, 0))  # its submit, then its polls
            if task_id in after.ready_at:
                self.delays.append(received - after.ready_at[task_id])


def _upstream_id(result: dict[str, Any]) -> str:
    return str(result["structuredContent"]["job"]).split(":", 1)[1]


async def _poll_way(url: str, n: int, way: Way, job_seconds: float) -> None:
    async with Client(url) as client:

        async def one(index: int) -> None:
            wait = job_seconds * CALL_WAIT_SHARE
            answer = await client.call_tool("conceptviz_generate", {"prompt": f"poll {index}", "wait": wait})
            way.client_requests += 1
            content = answer.structured_content or {}
            while content.get("status") == "running":
                answer = await client.call_tool("poll", {"job": content["job"]})
                way.client_requests += 1
                content = answer.structured_content or {}
            if content.get("status") != "completed":
                way.failures.append(str(content.get("error")))
                return
            way.jobs.append((str(content["job"]).split(":", 1)[1], time.monotonic()))

        async with anyio.create_task_group() as group:
            for index in range(n):
                group.start_soon(one, index)


async def _created(client: Client, prompt: str) -> str:
    created = await client.session.call_tool("conceptviz_generate", {"prompt": prompt}, allow_claimed=True)
    assert isinstance(created, _Task), created
    return created.task_id


async def _notified_way(url: str, n: int, way: Way, job_seconds: float) -> None:
    tasks = _Tasks()
    async with Client(url, extensions=[tasks]) as client:
        ids = [await _created(client, f"notified {index}") for index in range(n)]
        way.client_requests += n + 1
        params = SubscriptionsListenRequestParams(notifications=SubscriptionFilter.model_validate({"taskIds": ids}))
        async with anyio.create_task_group() as group:
            group.start_soon(client.session.send_request, SubscriptionsListenRequest(params=params), Result)
            while len(tasks.done) < n:
                await tasks.changed.wait()
            group.cancel_scope.cancel()
    for task_id in ids:
        received, result = tasks.done[task_id]
        way.jobs.append((_upstream_id(result), received))


async def _eager_way(url: str, n: int, way: Way, job_seconds: float) -> None:
    async with Client(url, extensions=[_Tasks()]) as client:

        async def one(index: int) -> None:
            task_id = await _created(client, f"eager {index}")
            way.client_requests += 1
            while True:
                task = await client.session.send_request(GetTaskRequest(params=TaskParams(task_id=task_id)), _Detailed)
                way.client_requests += 1
                if task.status == "completed" and task.result is not None:
                    way.jobs.append((_upstream_id(task.result), time.monotonic()))
                    return
                if task.status in ("failed", "cancelled"):
                    way.failures.append(task.status)
                    return
                await anyio.sleep(EAGER)

        async with anyio.create_task_group() as group:
            for index in range(n):
                group.start_soon(one, index)


WAYS: dict[str, Callable[[str, int, Way, float], Awaitable[None]]] = {
    "poll": _poll_way,
    "task + notifications": _notified_way,
    "task + eager tasks/get": _eager_way,
}


async def run(plan: Plan) -> Section:
    """Every way of following, on one simulator and one genmcp, one after the other."""
    n = 3 if plan.quick else 20
    workdir = plan.workdir / "following"
    simulator = python_module(
        "bench.simserver", "conceptviz", "--key", KEY, "--job-seconds", str(plan.job_seconds), "--credits", "100000"
    )
    ways = [Way(name) for name in WAYS]
    with service("conceptviz-simulator", simulator, workdir=workdir) as sim:
        env = {
            "CONCEPTVIZ_API_KEY": KEY,
            "GENMCP_PROVIDERS__CONCEPTVIZ__BASE_URL": sim.url + "/api/v1",
            "GENMCP_SANDBOX__MODE": "off",
        }
        with genmcp_server(workdir, profile=plan.profile("following"), **env) as genmcp:
            for way in ways:
                with anyio.fail_after(plan.job_seconds + GRACE * 3):
                    await WAYS[way.name](genmcp.url + "/mcp", n, way, plan.job_seconds)
            after = await fetch_stats(sim.url)
    for way in ways:
        way.measure(after)
    return _section(plan, n, ways)


def _section(plan: Plan, n: int, ways: list[Way]) -> Section:
    def p95(way: Way) -> float:
        return percentile(way.delays, 95)

    def mean(values: list[int]) -> float:
        return sum(values) / len(values) if values else math.nan

    poll, notified, eager = ways
    rows = [
        [
            way.name,
            f"{len(way.jobs)}/{n}",
            f"{mean(way.requests):.2f}",
            str(max(way.requests, default=0)),
            f"{percentile(way.delays, 50):.2f}",
            f"{p95(way):.2f}",
            f"{way.client_requests / n:.1f}",
        ]
        for way in ways
    ]
    ratio_requests = max(mean(notified.requests), mean(eager.requests)) / mean(poll.requests)
    return Section(
        key="following",
        title=TITLE,
        headers=["following by", "completed", "API req/job", "max", "delay p50 s", "delay p95 s", "client req/job"],
        rows=rows,
        targets=[
            Target(
                "upstream requests per job, task-following / poll-following (worst task way)",
                "≤ 1.00",
                f"{ratio_requests:.2f}",
                ratio_requests <= 1.0 and all(len(way.jobs) == n for way in ways),
            ),
            Target(
                "done-upstream → client delay p95, task + notifications",
                f"≤ poll's + 0.5 s ({p95(poll):.2f} s + 0.5 s)",
                f"{p95(notified):.2f} s",
                p95(notified) <= p95(poll) + 0.5,
            ),
        ],
        notes=[
            f"{n} jobs per way, all started at once; jobs finish {plan.job_seconds:g} s after submission; genmcp "
            f"polls ConceptViz every {INTERVAL:g} s ± 10 % (one poller per call for `poll`, one watcher per task).",
            f"The poll client's first call waits {plan.job_seconds * CALL_WAIT_SHARE:g} s (its jobs outlive it), then "
            "it calls `poll` with the default wait. The eager client asks tasks/get every 0.25 s: its 'client "
            "req/job' shows how much it asks genmcp, 'API req/job' what that costs upstream.",
            "API requests = the job's submit + its polls, counted by the simulator. Delay = the client has the "
            "result − the job finished upstream (one monotonic clock on this machine).",
            *(f"{way.name}: failures {way.failures}" for way in ways if way.failures),
        ],
        data={
            "jobs_per_way": n,
            "job_seconds": plan.job_seconds,
            "interval": INTERVAL,
            "ways": [
                {
                    "name": way.name,
                    "completed": len(way.jobs),
                    "api_requests_per_job": mean(way.requests),
                    "max_api_requests": max(way.requests, default=0),
                    "delay_p50": percentile(way.delays, 50),
                    "delay_p95": p95(way),
                    "client_requests_per_job": way.client_requests / n,
                    "failures": way.failures,
                }
                for way in ways
            ],
            "request_ratio": ratio_requests,
        },
    )
