"""MCP 2026-07-28 for one runtime: what the Tasks extension, job resources, subscriptions and questions share.

The runtime creates one `TasksFeature`, hands it to every endpoint's MCP server (`install`), and starts it with the
rest of its lifespan (`start`): the watchers, the job questions and the notification feed then run in the runtime's
task group, all hearing of job changes through the store's one seam (`Store.events`: written by this process, or —
with PostgreSQL — by any replica).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from anyio.abc import TaskGroup
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, CallToolResult, InputRequests, InputResponses
from starlette.requests import Request

from server.callers import Caller
from server.errors import GenmcpError
from server.tasks.bus import EventBus
from server.tasks.endpoint import install
from server.tasks.listen import ListenStreams
from server.tasks.notify import JobNotices
from server.tasks.questions import JobQuestions
from server.tasks.watchers import Watchers
from server.tasks.wire import created_task, detailed_task
from server.views import job_result

if TYPE_CHECKING:
    from providers.base import Provider
    from server.calls import Calls
    from server.clock import Clock
    from server.handles import Handles
    from server.jobs import JobRecord
    from server.mcp_server import GenmcpServer
    from server.results import ToolResult
    from server.store.base import Store
    from server.tools import Tools

__all__ = ["TasksFeature"]


@dataclass(frozen=True)
class _Started:
    """The parts of a started runtime the feature works with."""

    store: Store
    calls: Calls
    handles: Handles
    providers: Mapping[str, Provider]
    renderer: Tools
    finished: Callable[[ToolResult], Awaitable[ToolResult]]
    """A finished job's last look: its spend counted, its waiting saves written (`Guarded.finished`)."""
    watchers: Watchers
    questions: JobQuestions
    notices: JobNotices


class TasksFeature:
    """Tasks, job resources, subscriptions and questions of one runtime.

    Args:
        clock: The runtime's clock.
        ready: Waits until the runtime has started.
        ttl_seconds: How long a task is promised to stay readable (None: unlimited). The registry keeps every job
            record for good, so any value is honest; the artifacts a result links to live `artifacts.ttl_seconds`.
    """

    def __init__(self, *, clock: Clock, ready: Callable[[], Awaitable[None]], ttl_seconds: float | None) -> None:
        self.clock = clock
        self.ready = ready
        self.ttl_ms = None if ttl_seconds is None else max(1, round(ttl_seconds * 1000))
        self.bus = EventBus()
        """The one subscription bus of every endpoint's server (list changes, resource updates)."""
        self.required: set[str] = set()
        """Tools that must run as tasks: a client that did not declare the extension gets -32021 (none of genmcp's
        own; the conformance harness declares some)."""
        self.listen = ListenStreams(self)
        """`subscriptions/listen`, shared by every endpoint."""
        self._started: _Started | None = None

    # --- lifecycle ------------------------------------------------------------------------------------------------

    @property
    def parts(self) -> _Started:
        """The started parts (after `start`)."""
        if self._started is None:
            raise RuntimeError("the tasks feature has not started (start the runtime first)")
        return self._started

    async def start(
        self,
        group: TaskGroup,
        *,
        store: Store,
        calls: Calls,
        handles: Handles,
        providers: Mapping[str, Provider],
        renderer: Tools,
        finished: Callable[[ToolResult], Awaitable[ToolResult]],
    ) -> None:
        """Start the watchers and the notification feed in the runtime's task group."""
        watchers = Watchers(store=store, calls=calls, providers=providers, clock=self.clock)
        watchers.attach(group)
        notices = JobNotices(self)
        self._started = _Started(
            store=store,
            calls=calls,
            handles=handles,
            providers=providers,
            renderer=renderer,
            finished=finished,
            watchers=watchers,
            questions=JobQuestions(store, store.events, self.clock),
            notices=notices,
        )
        await group.start(notices.run)

    def stop(self) -> None:
        """Stop watching (the runtime's task group is being cancelled)."""
        if self._started is not None:
            self._started.watchers.attach(None)

    def install(self, server: GenmcpServer, providers: frozenset[str]) -> None:
        """Serve the job resources, subscriptions, prompts and completions on one endpoint's server (serving these
        providers)."""
        install(self, server, providers)

    # --- what the extension and the resources share ----------------------------------------------------------------

    async def ask(self, job_id: str, questions: InputRequests) -> InputResponses:
        """How a background call run as a task asks the person following it (`Calls.ask`)."""
        return await self.parts.questions.ask(job_id, questions)

    def caller(self, request: object) -> Caller:
        """The caller of a request (as a tool call reads it), or -32602 for a bad key header."""
        try:
            return Caller.of(request if isinstance(request, Request) else None, self.parts.providers)
        except GenmcpError as exc:
            raise MCPError(INVALID_PARAMS, exc.message) from exc

    async def visible(self, job_id: str, caller: Caller) -> JobRecord | None:
        """The job with this id if the caller may see it (a task id names a job record)."""
        job = await self.parts.store.get(job_id)
        return job if job is not None and caller.may_see(job) else None

    async def view(self, job: JobRecord) -> ToolResult:
        """A job as its result reads, with the other jobs its request started — from the registry alone."""
        related = []
        for handle in job.related:
            provider, _, upstream_id = handle.partition(":")
            record = await self.parts.store.find(provider, upstream_id)
            if record is not None:
                related.append(record)
        provider_adapter = self.parts.providers.get(job.provider)
        reports = provider_adapter.reports_credits if provider_adapter is not None else True
        return job_result(job, related, reports_credits=reports)

    async def follow(self, job: JobRecord, caller: Caller) -> JobRecord:
        """Someone follows a running job: make sure it is watched. A job started with the caller's own provider key
        can only be looked at with that key, which genmcp never keeps: such a job is looked at here, with the key of
        this request, at most once per poll interval."""
        if job.finished:
            return job
        if self.watch(job):
            return job
        provider = self.parts.providers.get(job.provider)
        due = self.clock.wall() - job.updated_at >= job.poll_interval
        if provider is None or not due or job.upstream_id is None:
            return job
        with caller.keys_in_scope():
            return await self.parts.calls.poller.wait(job, provider, self.clock.now())

    def watch(self, job: JobRecord) -> bool:
        """Have the job's one watcher follow it, unless only its caller's own key can look at it (see `follow`);
        return whether it is genmcp's to watch."""
        if job.key_ref is not None and not job.runs_here:
            return False
        self.parts.watchers.ensure(job)
        return True

    async def task(self, job: JobRecord, *, created: bool = False) -> dict[str, Any]:
        """The job as a task: its `CreateTaskResult` (`created`), else its `DetailedTask`."""
        view = await self.view(job)
        if not created and view.status != "running":
            view = await self.parts.finished(view)
        view = self.parts.renderer.scrub(view)
        if created:
            return created_task(job, view, ttl_ms=self.ttl_ms)
        result: CallToolResult | None = None
        if view.status != "running":
            result = await self.parts.renderer.result(view)
        problem = self.parts.watchers.problem(job.id) if view.status == "running" else None
        return detailed_task(job, view, result, ttl_ms=self.ttl_ms, problem=problem)
