"""The client side of the MCP Tasks extension for the tests: an SDK `ClientExtension` that declares
`io.modelcontextprotocol/tasks`, claims the `task` result of `tools/call` and follows it with `tasks/get` until it
ends — what a 2026 client with task support does — and records every task exchange for the reader.

`Client(server, extensions=[TasksClient(sleep=clock.sleep)])`: `call_tool` then returns the task's final result.
`sleep` paces the polling (the fake clock in process; in a process test, a wait on the task's notification).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
from mcp.client.extension import ClaimContext, ClientExtension, NotificationBinding, ResultClaim
from mcp.client.session import ClientSession
from mcp_types import CallToolResult, NotificationParams, Result
from pydantic import ConfigDict, Field

from server.tasks.wire import (
    TASKS,
    CancelTaskRequest,
    GetTaskRequest,
    TaskParams,
    UpdateTaskParams,
    UpdateTaskRequest,
)

__all__ = ["Ack", "CreatedTask", "DetailedTask", "TaskFailed", "TaskNotice", "TasksClient", "WireLog"]

TERMINAL = frozenset({"completed", "failed", "cancelled"})


class _Task(Result):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    task_id: str = Field(alias="taskId")
    status: Literal["working", "input_required", "completed", "failed", "cancelled"]
    status_message: str | None = Field(default=None, alias="statusMessage")
    created_at: str = Field(alias="createdAt")
    last_updated_at: str = Field(alias="lastUpdatedAt")
    ttl_ms: int | None = Field(alias="ttlMs")
    poll_interval_ms: int | None = Field(default=None, alias="pollIntervalMs")


class CreatedTask(_Task):
    """A `CreateTaskResult`."""

    result_type: Literal["task"] = Field(alias="resultType")


class DetailedTask(_Task):
    """A `tasks/get` answer."""

    result_type: Literal["complete"] = Field(default="complete", alias="resultType")
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    input_requests: dict[str, Any] | None = Field(default=None, alias="inputRequests")


class Ack(Result):
    """The empty acknowledgement of `tasks/update` and `tasks/cancel` (every field it carries is kept)."""

    model_config = ConfigDict(extra="allow")

    def fields(self) -> dict[str, Any]:
        """What the acknowledgement carried besides `_meta`."""
        return dict(self.model_extra or {})


class TaskNotice(NotificationParams):
    """`notifications/tasks` params (a task's fields)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    task_id: str = Field(alias="taskId")
    status: str


class TaskFailed(RuntimeError):
    """The task ended `failed` or `cancelled`; carries its last state."""

    def __init__(self, task: DetailedTask) -> None:
        super().__init__(f"task {task.task_id} ended {task.status}: {task.status_message}")
        self.task = task


@dataclass
class WireLog:
    """Every task exchange, in order: (method, params, answer) as JSON."""

    entries: list[tuple[str, dict[str, Any], dict[str, Any]]] = field(default_factory=list)

    def add(self, method: str, params: dict[str, Any], answer: Result) -> None:
        self.entries.append((method, params, answer.model_dump(by_alias=True, mode="json", exclude_none=True)))

    def methods(self) -> list[str]:
        return [method for method, _, _ in self.entries]


Answerer = Callable[[dict[str, Any]], dict[str, dict[str, Any]]]
"""Answers a task's open input requests (by key)."""


class TasksClient(ClientExtension):
    """Declares the Tasks extension and follows every task a `tools/call` answers (see the module docstring)."""

    identifier = TASKS

    def __init__(self, *, sleep: Callable[[float], Awaitable[None]], answer: Answerer | None = None) -> None:
        self.sleep = sleep
        self.answer = answer
        self.log = WireLog()
        self.notices: list[TaskNotice] = []
        self._heard = anyio.Event()

    def claims(self) -> Sequence[ResultClaim[Any]]:
        return (ResultClaim(result_type="task", model=CreatedTask, resolve=self._resolve),)

    def notifications(self) -> Sequence[NotificationBinding[Any]]:
        return (NotificationBinding(method="notifications/tasks", params_type=TaskNotice, handler=self._notice),)

    async def _notice(self, notice: TaskNotice) -> None:
        self.notices.append(notice)
        heard, self._heard = self._heard, anyio.Event()
        heard.set()

    async def next_notice(self) -> TaskNotice:
        """Wait for the next `notifications/tasks` (use within a time bound)."""
        await self._heard.wait()
        return self.notices[-1]

    async def get(self, session: ClientSession, task_id: str) -> DetailedTask:
        """One `tasks/get`."""
        answer = await session.send_request(GetTaskRequest(params=TaskParams(task_id=task_id)), DetailedTask)
        self.log.add("tasks/get", {"taskId": task_id}, answer)
        return answer

    async def update(self, session: ClientSession, task_id: str, responses: dict[str, dict[str, Any]]) -> Ack:
        """One `tasks/update`."""
        params = UpdateTaskParams(task_id=task_id, input_responses=responses)
        answer = await session.send_request(UpdateTaskRequest(params=params), Ack)
        self.log.add("tasks/update", params.model_dump(by_alias=True, mode="json", exclude_none=True), answer)
        return answer

    async def cancel(self, session: ClientSession, task_id: str) -> Ack:
        """One `tasks/cancel`."""
        answer = await session.send_request(CancelTaskRequest(params=TaskParams(task_id=task_id)), Ack)
        self.log.add("tasks/cancel", {"taskId": task_id}, answer)
        return answer

    async def follow(self, session: ClientSession, task_id: str, interval_ms: int | None) -> DetailedTask:
        """Poll the task (answering its questions) until it ends; its last state."""
        while True:
            task = await self.get(session, task_id)
            if task.status in TERMINAL:
                return task
            if task.status == "input_required" and self.answer is not None and task.input_requests:
                await self.update(session, task_id, self.answer(task.input_requests))
                continue
            await self.sleep((task.poll_interval_ms or interval_ms or 1000) / 1000)

    async def _resolve(self, created: CreatedTask, ctx: ClaimContext) -> CallToolResult:
        self.log.add("tools/call", {"name": ctx.tool_name}, created)
        task = await self.follow(ctx.session, created.task_id, created.poll_interval_ms)
        if task.status != "completed" or task.result is None:
            raise TaskFailed(task)
        return CallToolResult.model_validate(task.result)
