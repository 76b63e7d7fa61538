"""The Tasks extension's wire shapes (`io.modelcontextprotocol/tasks`, 2026-07-28), over a genmcp job record.

A task is a job: its `taskId` is the record's id (122 random bits: not guessable, and known before anything is sent
upstream). Its status follows the record — `working` while the job (or another job its request started) runs,
`input_required` while its work waits for the caller's answers, `completed` once it finished (a failed job too: its
result is genmcp's usual result with `isError`, as the extension asks of tool errors), `cancelled` when `cancel`
stopped it, and `failed` only when genmcp itself broke while running the call (its process died, or a bug): the
extension reserves `failed` for protocol-level errors.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from mcp_types import INTERNAL_ERROR, CallToolResult, Request, RequestParams, TextContent
from pydantic import Field

from server.jobs import JobRecord
from server.results import ToolResult

__all__ = [
    "TASKS",
    "CancelTaskRequest",
    "GetTaskRequest",
    "TaskParams",
    "TaskStatus",
    "UpdateTaskParams",
    "UpdateTaskRequest",
    "created_task",
    "detailed_task",
    "task_status",
]

TASKS = "io.modelcontextprotocol/tasks"
"""The extension's identifier."""

TaskStatus = Literal["working", "input_required", "completed", "failed", "cancelled"]


class TaskParams(RequestParams):
    """`tasks/get` and `tasks/cancel` parameters."""

    task_id: str = Field(alias="taskId", max_length=200)


class UpdateTaskParams(TaskParams):
    """`tasks/update` parameters: answers to the task's open input requests, by key (JSON objects here: an answer
    to a question the task does not have open is ignored, not refused; the others are checked when recorded)."""

    input_responses: dict[str, dict[str, Any]] = Field(alias="inputResponses", default_factory=dict)


class GetTaskRequest(Request[TaskParams, Literal["tasks/get"]]):
    """`tasks/get` as a client sends it (with `Mcp-Name: <taskId>` over HTTP)."""

    method: Literal["tasks/get"] = "tasks/get"
    name_param: ClassVar[str | None] = "taskId"


class UpdateTaskRequest(Request[UpdateTaskParams, Literal["tasks/update"]]):
    """`tasks/update` as a client sends it."""

    method: Literal["tasks/update"] = "tasks/update"
    name_param: ClassVar[str | None] = "taskId"


class CancelTaskRequest(Request[TaskParams, Literal["tasks/cancel"]]):
    """`tasks/cancel` as a client sends it."""

    method: Literal["tasks/cancel"] = "tasks/cancel"
    name_param: ClassVar[str | None] = "taskId"


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def task_status(job: JobRecord, view: ToolResult) -> TaskStatus:
    """The task status of a job, given how it reads as a result (`view`, which counts the request's other jobs)."""
    if job.crashed:
        return "failed"
    if view.status == "cancelled":
        return "cancelled"
    if view.status == "running":
        return "input_required" if job.input_requests else "working"
    return "completed"


def _status_message(
    job: JobRecord, view: ToolResult, status: TaskStatus, result: CallToolResult | None, problem: str | None
) -> str:
    label = f"{job.provider} {job.operation}"
    if status == "input_required":
        return f"{label} waits for your answer."
    if status == "working":
        state = job.upstream_status or "running"
        progress = f", {view.progress:.0f}%" if view.progress is not None else ""
        trouble = f" genmcp could not check it lately: {problem}" if problem else ""
        return f"{label}: {state}{progress}.{trouble}"
    summary = result.content[0] if result is not None and result.content else None
    if isinstance(summary, TextContent):
        return summary.text.split("\n", 1)[0]  # the result's own first line (the refund, for a cancelled job)
    return view.error.message if view.error is not None else f"{label}: {view.status}."


def _task(
    job: JobRecord,
    view: ToolResult,
    *,
    ttl_ms: int | None,
    result: CallToolResult | None = None,
    problem: str | None = None,
) -> dict[str, Any]:
    status = task_status(job, view)
    return {
        "taskId": job.id,
        "status": status,
        "statusMessage": _status_message(job, view, status, result, problem),
        "createdAt": _iso(job.created_at),
        "lastUpdatedAt": _iso(job.updated_at),
        "ttlMs": ttl_ms,
        "pollIntervalMs": max(1, round(job.poll_interval * 1000)),
    }


def created_task(job: JobRecord, view: ToolResult, *, ttl_ms: int | None) -> dict[str, Any]:
    """The `CreateTaskResult` answering a `tools/call` that became this task (the seed state, no result)."""
    return {"resultType": "task", **_task(job, view, ttl_ms=ttl_ms)}


def detailed_task(
    job: JobRecord, view: ToolResult, result: CallToolResult | None, *, ttl_ms: int | None, problem: str | None = None
) -> dict[str, Any]:
    """The `DetailedTask` of `tasks/get` and `notifications/tasks`: the status with what it carries — the open input
    requests, the final result (`result`, the rendered `view`), or the JSON-RPC error of a call genmcp broke on.
    `problem` is why genmcp could not look at a running job lately (said in the status message)."""
    task = _task(job, view, ttl_ms=ttl_ms, result=result, problem=problem)
    status = task["status"]
    if status == "input_required":
        task["inputRequests"] = dict(job.input_requests)
    elif status == "completed" and result is not None:
        task["result"] = result.model_dump(by_alias=True, mode="json", exclude_none=True)
    elif status == "failed":
        message = view.error.message if view.error is not None else "genmcp failed while running this call."
        task["error"] = {"code": INTERNAL_ERROR, "message": message, "data": {"result": view.model_dump(mode="json")}}
    return task
