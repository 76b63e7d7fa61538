"""The task fixtures the 2026 conformance scenarios call, as a test-only genmcp provider — so every one of them runs
through genmcp's real path: the job registry (written before the request), the adapter and its simulator (a real
HTTP app, served by the sandbox like every provider's), the poller, the watchers, the Tasks extension.

| tool | what it is in genmcp terms |
|---|---|
| `slow_compute` | a spend submitted to the simulator, polled until done (`seconds`), cancellable |
| `failing_job` | a spend whose job fails after ~1 s (a tool error: the task completes with `isError`); task required |
| `protocol_error_job` | a blocking call genmcp runs itself that crashes (the task fails with -32603) |
| `confirm_delete`, `multi_input` | blocking calls that ask the person following the task (`input_required`) |
| `test_tool_with_task` | asks a name first (an input-required round), then becomes a task whose result says it |

`register_fixtures_provider` renames the provider's tools from `fixtures_<operation>` to the bare names the suite
calls, once the runtime has built them. (`greet`, the sync-only tool the task scenarios also call, is a plain fixture
in `conformance_2026`.) Nothing here is ever part of genmcp's own tool list.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import anyio
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.tools import Tool, ToolManager
from mcp_types import ElicitResult, InputRequiredResult
from pydantic import BaseModel, Field
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from providers.base import (
    Completed,
    JobUpdate,
    OperationContext,
    OperationInput,
    Provider,
    Simulator,
    Submitted,
    operation,
)
from server.app import Runtime
from server.errors import JobFailed, JobFinished
from server.results import CreditsInfo
from server.tools import Began, GenmcpTool
from tests.clients.mrtr import InputNeeded, Questions, elicitation

__all__ = ["FIXTURE_TOOLS", "Fixtures", "FixturesSimulator", "register_fixtures_provider"]

PREFIX = "fixtures_"
FIXTURE_TOOLS = frozenset(
    {"slow_compute", "failing_job", "protocol_error_job", "confirm_delete", "multi_input", "test_tool_with_task"}
)
REQUIRED = frozenset({"failing_job", "test_tool_with_task"})
"""Tools the suite registers with task support `required`."""
NAME_FORM = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
CONFIRM_FORM = {
    "type": "object",
    "properties": {"confirm": {"type": "boolean"}, "name": {"type": "string"}},
    "required": ["confirm"],
}


# ---------------------------------------------------------------------------------------------------------------------
# the simulator: jobs that take `seconds` on the runtime's clock


@dataclass
class _Job:
    label: str
    started: float
    seconds: float
    fail: bool
    cancelled: bool = False


class FixturesSimulator:
    """`POST /v1/jobs`, `GET /v1/jobs/<id>`, `POST /v1/jobs/<id>/cancel`; counts the requests it gets."""

    def __init__(self, now: Callable[[], float]) -> None:
        self.now = now
        self.public_url = ""
        self.jobs: dict[str, _Job] = {}
        self.requests = 0

    def _state(self, job: _Job) -> str:
        if job.cancelled:
            return "cancelled"
        if self.now() - job.started < job.seconds:
            return "running"
        return "failed" if job.fail else "completed"

    async def _create(self, request: Request) -> JSONResponse:
        self.requests += 1
        body = await request.json()
        job_id = secrets.token_urlsafe(9)
        label, seconds, fail = str(body.get("label", "")), float(body.get("seconds", 0)), bool(body.get("fail"))
        self.jobs[job_id] = _Job(label, self.now(), seconds, fail)
        return JSONResponse({"id": job_id})

    async def _get(self, request: Request) -> JSONResponse:
        self.requests += 1
        job = self.jobs.get(request.path_params["job_id"])
        if job is None:
            return JSONResponse({"error": "no such job"}, status_code=404)
        return JSONResponse({"status": self._state(job), "label": job.label})

    async def _cancel(self, request: Request) -> JSONResponse:
        self.requests += 1
        job = self.jobs.get(request.path_params["job_id"])
        if job is None:
            return JSONResponse({"error": "no such job"}, status_code=404)
        if self._state(job) != "running":
            return JSONResponse({"error": "finished"}, status_code=409)
        job.cancelled = True
        return JSONResponse({"status": "cancelled"})

    @property
    def app(self) -> ASGIApp:
        return Starlette(
            routes=[
                Route("/v1/jobs", self._create, methods=["POST"]),
                Route("/v1/jobs/{job_id}", self._get, methods=["GET"]),
                Route("/v1/jobs/{job_id}/cancel", self._cancel, methods=["POST"]),
            ]
        )


# ---------------------------------------------------------------------------------------------------------------------
# the adapter


class ComputeInput(OperationInput):
    seconds: float = Field(default=1, ge=0, le=600)
    label: str = Field(default="", max_length=200)


class NoInput(OperationInput):
    pass


class DeleteInput(OperationInput):
    filename: str = Field(default="file.txt", max_length=200)


class NamedInput(OperationInput):
    user_name: str = Field(max_length=200)


class _Created(BaseModel):
    id: str


class _Status(BaseModel):
    status: str
    label: str = ""


def _accepted(answer: ElicitResult | Any) -> dict[str, Any] | None:
    return answer.content if isinstance(answer, ElicitResult) and answer.action == "accept" else None


class Fixtures(Provider):
    """The conformance task fixtures (see the module docstring)."""

    name = "fixtures"
    title = "Fixtures"
    default_base_url = "https://fixtures.invalid/v1"
    poll_interval = 0.25
    sandbox_key = "fixtures-sandbox-key"
    can_cancel = True

    async def _start(self, body: Mapping[str, Any], context: OperationContext) -> Submitted:
        response = await self.client.request("POST", "jobs", json=dict(body), on_send=context.sending)
        created = self.client.parse(response, _Created, accepted=True)
        return Submitted(upstream_id=created.id, poll_interval=self.poll_interval, credits=CreditsInfo(charged=1))

    @operation(
        ComputeInput,
        name="slow_compute",
        title="Slow compute",
        summary="A job that takes `seconds` seconds.",
        kind="spend",
        cost="1 credit",
        duration="`seconds` seconds",
        returns="the job's label",
    )
    async def slow_compute(self, args: ComputeInput, context: OperationContext) -> Submitted:
        return await self._start({"seconds": args.seconds, "label": args.label}, context)

    @operation(
        NoInput,
        name="failing_job",
        title="Failing job",
        summary="A job that fails after about a second.",
        kind="spend",
        cost="1 credit, refunded",
        duration="1 s",
        returns="a tool error",
    )
    async def failing_job(self, args: NoInput, context: OperationContext) -> Submitted:
        return await self._start({"seconds": 1, "fail": True, "label": "failing"}, context)

    @operation(
        NoInput,
        name="protocol_error_job",
        title="Protocol error job",
        summary="A call genmcp runs itself that crashes.",
        kind="spend",
        cost="free",
        duration="instant",
        returns="nothing: genmcp fails",
        blocking=True,
    )
    async def protocol_error_job(self, args: NoInput, context: OperationContext) -> Completed:
        context.sending()
        await anyio.lowlevel.checkpoint()
        raise RuntimeError("the fixture crashed on purpose")

    @operation(
        DeleteInput,
        name="confirm_delete",
        title="Confirm delete",
        summary="Asks whether to delete `filename`, then says what it did.",
        kind="write",
        cost="free",
        duration="as long as the answer takes",
        returns="what happened",
        blocking=True,
    )
    async def confirm_delete(self, args: DeleteInput, context: OperationContext) -> Completed:
        answers = await context.ask({"confirm": elicitation(f"Delete {args.filename}?", CONFIRM_FORM)})
        content = _accepted(answers["confirm"])
        deleted = bool(content and content.get("confirm", True))
        return Completed(text=f"{'Deleted' if deleted else 'Kept'} {args.filename}.")

    @operation(
        NoInput,
        name="multi_input",
        title="Two questions",
        summary="Asks two questions at once, then answers with both.",
        kind="write",
        cost="free",
        duration="as long as the answers take",
        returns="both answers",
        blocking=True,
    )
    async def multi_input(self, args: NoInput, context: OperationContext) -> Completed:
        first, second = elicitation("First question", CONFIRM_FORM), elicitation("Second question", CONFIRM_FORM)
        answers = await context.ask({"first": first, "second": second})
        names = [str((_accepted(answers[key]) or {}).get("name", "?")) for key in ("first", "second")]
        return Completed(text=f"Answers: {', '.join(names)}")

    @operation(
        NamedInput,
        name="test_tool_with_task",
        title="Greet later",
        summary="Greets `user_name` after a second (the name is asked first).",
        kind="write",
        cost="free",
        duration="1 s",
        returns="a greeting",
        blocking=True,
    )
    async def greet_later(self, args: NamedInput, context: OperationContext) -> Completed:
        context.sending()
        await self.client.clock.sleep(1)
        return Completed(text=f"Hello, {args.user_name}! (finished as a task)")

    async def status(self, upstream_id: str, poll_state: Mapping[str, Any], *, hold: float) -> JobUpdate:
        response = await self.client.request("GET", f"jobs/{upstream_id}")
        if response.status_code != 200:
            raise self.client.error_for_status(response)
        job = self.client.parse(response, _Status)
        if job.status == "running":
            return JobUpdate(state="running", upstream_status="running")
        if job.status == "cancelled":
            return JobUpdate(state="cancelled", credits=CreditsInfo(refunded=True, refunded_amount=1))
        if job.status == "failed":
            failure = JobFailed("The fixture job failed on purpose.", charged=True, refunded=True)
            return JobUpdate(state="failed", error=failure, credits=CreditsInfo(refunded=True))
        return JobUpdate(state="completed", text=f"Computed {job.label or 'the job'}.")

    async def cancel(self, upstream_id: str, poll_state: Mapping[str, Any]) -> JobUpdate:
        response = await self.client.request("POST", f"jobs/{upstream_id}/cancel")
        if response.status_code == 409:
            raise JobFinished("The fixture job had already finished.")
        if response.status_code != 200:
            raise self.client.error_for_status(response)
        return JobUpdate(state="cancelled", credits=CreditsInfo(refunded=True, refunded_amount=1))

    async def balance(self) -> None:
        return None

    async def check(self) -> str:
        return "fixtures"

    @classmethod
    def simulator(cls, *, now: Callable[[], float], job_seconds: float) -> Simulator:
        return FixturesSimulator(now)


# ---------------------------------------------------------------------------------------------------------------------
# serving them under the names the suite calls


def register_fixtures_provider(runtime: Runtime) -> None:
    """After the runtime started: serve the fixture provider's tools under their bare names (task support of the
    required ones declared), with `test_tool_with_task` asking the name before it starts."""
    runtime.tasks.required.update(REQUIRED)
    server = runtime.mcp
    tools = []
    for tool in server._tool_manager.list_tools():
        if tool.name.startswith(PREFIX):
            bare = tool.name[len(PREFIX) :]
            tool = tool.model_copy(update={"name": bare})
            if bare == "test_tool_with_task":
                tool = _asking_name_first(tool)
        tools.append(tool)
    server._tool_manager = ToolManager(tools=tools)
    server.tools_changed()


def _asking_name_first(tool: Tool) -> GenmcpTool:
    """`test_tool_with_task`: an input-required round for the name, then the task (or the bounded wait)."""
    assert isinstance(tool, GenmcpTool)
    begin, invoke = tool.begin, tool.invoke
    assert begin is not None

    async def named(arguments: dict[str, Any], context: Context[Any, Any]) -> dict[str, Any] | InputRequiredResult:
        try:
            answer = await Questions(context).ask("user_name", "What is your name?", NAME_FORM)
        except InputNeeded as needed:
            return needed.result()
        return {**arguments, "user_name": str((answer.content or {}).get("name") or "stranger")}

    async def asking_begin(arguments: dict[str, Any], context: Context[Any, Any]) -> Began:
        gathered = await named(arguments, context)
        return gathered if isinstance(gathered, InputRequiredResult) else await begin(gathered, context)

    async def asking_invoke(arguments: dict[str, Any], context: Context[Any, Any]) -> Any:
        gathered = await named(arguments, context)
        return gathered if isinstance(gathered, InputRequiredResult) else await invoke(gathered, context)

    return tool.model_copy(update={"begin": asking_begin, "invoke": asking_invoke, "parameters": {"type": "object"}})
