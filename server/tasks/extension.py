"""The Tasks extension (`io.modelcontextprotocol/tasks`, SEP-2663) as an SDK `Extension` over genmcp's job registry.

- `tools/call` (the interceptor): a client that declared the extension on the request gets, from every tool whose
  job can outlast a call (spending tools, calls genmcp runs in the background), a `CreateTaskResult` once the job is
  registered and its request sent — the registry writes a job before anything is sent, so the task always resolves.
  A call that finished at once answers its result as usual; a refused input is the usual `isError` result. Anyone
  else gets exactly what they got before (the bounded wait and the `poll` handle); a tool that needs a task (none of
  genmcp's own) answers them -32021.
- `tasks/get`: the task from the registry — no upstream request once the job finished; while it runs, its one
  watcher polls the provider (`server.tasks.watchers`).
- `tasks/update`: the answers to the questions the task's work asked (`server.tasks.questions`); an empty ack.
- `tasks/cancel`: `cancel` (the refund shows on the task's result); a job that cannot be cancelled runs on (the
  extension's cancellation is cooperative); always an empty ack for a task the caller may see.

Each method answers -32021 to a client that did not declare the extension, -32602 for a task id that names no job
the caller may see, and -32020 when an HTTP request's `Mcp-Name` header is not its `taskId`. With the built-in
authorization server, `tasks/cancel` needs the scope the `cancel` tool needs (write) and `tasks/update` the one the
job's own tool needed (-32600 naming it otherwise).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.extension import Extension, MethodBinding
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.server import require_client_extension
from mcp.server.mcpserver.tools import Tool
from mcp.shared.exceptions import MCPError
from mcp.shared.inbound import MCP_NAME_HEADER, decode_header_value
from mcp_types import (
    HEADER_MISMATCH,
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    CallToolRequestParams,
    CallToolResult,
    InputRequiredResult,
)
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from starlette.requests import Request

from server.errors import GenmcpError, InvalidInput, JobFinished
from server.tasks.wire import TASKS, TaskParams, UpdateTaskParams

if TYPE_CHECKING:
    from server.jobs import JobRecord
    from server.tasks.feature import TasksFeature

__all__ = ["TasksExtension", "declared"]

log = logging.getLogger("genmcp.tasks")

_ACK: dict[str, Any] = {"resultType": "complete"}


def declared(ctx: ServerRequestContext[Any, Any]) -> bool:
    """Whether this request's client declared the Tasks extension."""
    capabilities = ctx.session.client_capabilities
    return bool(capabilities and capabilities.extensions and TASKS in capabilities.extensions)


def _check_name_header(ctx: ServerRequestContext[Any, Any], task_id: str) -> None:
    """Over HTTP a tasks request carries `Mcp-Name: <taskId>` (so intermediaries can route it)."""
    if isinstance(ctx.request, Request) and decode_header_value(ctx.request.headers.get(MCP_NAME_HEADER)) != task_id:
        raise MCPError(HEADER_MISMATCH, f"{MCP_NAME_HEADER} header does not match the request's taskId")


class TasksExtension(Extension):
    """The Tasks extension for one endpoint's server.

    Args:
        feature: The runtime's tasks feature (registry, watchers, questions).
        tool: This endpoint's tool by name (a task is only made of a tool the endpoint serves).
    """

    identifier = TASKS

    def __init__(self, feature: TasksFeature, tool: Callable[[str], Tool | None]) -> None:
        self.feature = feature
        self.tool = tool

    def methods(self) -> Sequence[MethodBinding]:
        versions = frozenset(MODERN_PROTOCOL_VERSIONS)
        return (
            MethodBinding("tasks/get", TaskParams, self._get, protocol_versions=versions),
            MethodBinding("tasks/update", UpdateTaskParams, self._update, protocol_versions=versions),
            MethodBinding("tasks/cancel", TaskParams, self._cancel, protocol_versions=versions),
        )

    async def intercept_tool_call(
        self, params: CallToolRequestParams, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        modern = ctx.protocol_version in MODERN_PROTOCOL_VERSIONS
        if not (modern and declared(ctx)):
            if params.name in self.feature.required:
                require_client_extension(ctx, TASKS)
                raise MCPError(INVALID_PARAMS, f"{params.name} runs as an MCP task; this protocol version has none")
            return await call_next(ctx)
        await self.feature.ready()
        # Imported once the runtime is ready: a stdio client's handshake does not wait for the tool machinery.
        from server.tools import GenmcpTool

        tool = self.tool(params.name)
        if not isinstance(tool, GenmcpTool) or tool.begin is None:
            return await call_next(ctx)
        began = await tool.begin(params.arguments or {}, Context(request_context=ctx, input_params=params))
        if isinstance(began, CallToolResult | InputRequiredResult):
            return began
        if not self.feature.watch(began.job):
            # Only the caller's own key can look at it: no watcher here, so its submit lease is not kept either.
            await self.feature.parts.calls.leases.release(began.job.id)
        log.info("%s became task %s", params.name, began.job.id)
        return await self.feature.task(began.job, created=True)

    # --- the methods ----------------------------------------------------------------------------------------------

    async def _job(self, ctx: ServerRequestContext[Any, Any], params: TaskParams) -> tuple[JobRecord, Any]:
        require_client_extension(ctx, TASKS)
        _check_name_header(ctx, params.task_id)
        await self.feature.ready()
        caller = self.feature.caller(ctx.request)
        job = await self.feature.visible(params.task_id, caller)
        if job is None:
            raise MCPError(INVALID_PARAMS, "Failed to retrieve task: Task not found")
        return job, caller

    def _allowed(self, kind: Literal["read", "write", "spend"]) -> None:
        """The caller's OAuth token (built-in authorization server) covers this kind of action."""
        guard = self.feature.parts.renderer.scope_guard
        if guard is None:
            return
        try:
            guard(kind)
        except GenmcpError as exc:
            raise MCPError(INVALID_REQUEST, exc.message) from exc

    async def _get(self, ctx: ServerRequestContext[Any, Any], params: TaskParams) -> dict[str, Any]:
        job, caller = await self._job(ctx, params)
        job = await self.feature.follow(job, caller)
        return {"resultType": "complete", **await self.feature.task(job)}

    async def _update(self, ctx: ServerRequestContext[Any, Any], params: UpdateTaskParams) -> dict[str, Any]:
        job, _ = await self._job(ctx, params)
        self._allowed(job.kind)  # answering lets the job's own work go on
        if not job.finished:
            try:
                await self.feature.parts.questions.answer(job, params.input_responses)
            except InvalidInput as exc:
                raise MCPError(INVALID_PARAMS, exc.message) from exc
        return dict(_ACK)

    async def _cancel(self, ctx: ServerRequestContext[Any, Any], params: TaskParams) -> dict[str, Any]:
        job, caller = await self._job(ctx, params)
        self._allowed("write")  # what the `cancel` tool needs
        if job.finished:
            return dict(_ACK)
        if job.runs_here:
            if job.input_requests:
                await self.feature.parts.questions.cancel_unsent(job)
            else:
                log.info("task %s: a request genmcp sent itself cannot be cancelled; it runs on", job.id)
            return dict(_ACK)
        if job.handle is None:
            return dict(_ACK)
        try:
            with caller.keys_in_scope():
                await self.feature.parts.handles.cancel(job.handle, caller=caller)
        except (JobFinished, InvalidInput) as exc:
            log.info("task %s not cancelled: %s", job.id, exc.code)  # finished meanwhile, or cannot be cancelled
        except GenmcpError as exc:
            raise MCPError(INTERNAL_ERROR, f"The task could not be cancelled: {exc.message}") from exc
        return dict(_ACK)
