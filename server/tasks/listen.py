"""`subscriptions/listen` (2026-07-28, SEP-2575) for genmcp: the SDK's stream contract — the acknowledgement first,
every frame stamped with the listen request's id, nothing the client did not ask for — plus what genmcp adds:

- `taskIds` (the Tasks extension): `notifications/tasks` with the task as `tasks/get` answers it, for the tasks the
  caller may see, starting with each task's current state (so a task that finished before the stream opened is
  not missed). Asking for task ids without declaring the extension is -32021.
- `job://<handle>` resource subscriptions are honored only for jobs the caller may see; other URIs as asked.

Following a running job this way starts its watcher (`server.tasks.watchers`). The stream ends when the client goes
away; there is no replay (a client re-listens and refetches).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Literal, cast

import anyio
from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver.server import require_client_extension
from mcp.shared.exceptions import MCPError
from mcp.shared.subscriptions import SUBSCRIPTION_ID_META_KEY, ServerEvent, event_matches, event_to_notification
from mcp_types import (
    INVALID_PARAMS,
    INVALID_REQUEST,
    Notification,
    NotificationParams,
    ServerNotification,
    SubscriptionFilter,
    SubscriptionsAcknowledgedNotification,
    SubscriptionsAcknowledgedNotificationParams,
    SubscriptionsListenRequestParams,
    SubscriptionsListenResult,
)
from pydantic import ConfigDict

from server.tasks.notify import JOB_URI
from server.tasks.wire import TASKS

if TYPE_CHECKING:
    from server.callers import Caller
    from server.tasks.feature import TasksFeature

__all__ = ["ListenStreams"]

log = logging.getLogger("genmcp.tasks")

_MAX_TASK_IDS = 1000
_BACKLOG = 1024


class TaskNotificationParams(NotificationParams):
    """`notifications/tasks` params: a task's fields at the top level."""

    model_config = ConfigDict(extra="allow")


class TaskStatusNotification(Notification[TaskNotificationParams, Literal["notifications/tasks"]]):
    """A task changed (the Tasks extension's one notification)."""

    method: Literal["notifications/tasks"] = "notifications/tasks"


class ListenStreams:
    """Serves `subscriptions/listen` on every endpoint of a runtime."""

    def __init__(self, feature: TasksFeature, *, max_streams: int = 1024) -> None:
        self.feature = feature
        self.max_streams = max_streams
        self._open = 0

    async def _honored_uris(self, requested: list[str], caller: Caller) -> list[str]:
        honored: list[str] = []
        parts = self.feature.parts
        for uri in requested:
            if not uri.startswith(JOB_URI):
                honored.append(uri)
                continue
            provider, _, upstream_id = uri[len(JOB_URI) :].partition(":")
            job = await parts.store.find(provider, upstream_id)
            if job is not None and caller.may_see(job):
                honored.append(uri)
                await self.feature.follow(job, caller)
        return honored

    async def _honored_tasks(self, requested: Any, caller: Caller) -> list[str]:
        if not isinstance(requested, list) or not all(isinstance(task_id, str) for task_id in requested):
            raise MCPError(INVALID_PARAMS, "notifications.taskIds must be a list of task ids")
        honored: list[str] = []
        for task_id in cast("list[str]", requested)[:_MAX_TASK_IDS]:
            job = await self.feature.visible(task_id, caller)
            if job is not None:
                honored.append(task_id)
                await self.feature.follow(job, caller)
        return honored

    async def _honored(
        self, requested: SubscriptionFilter, task_ids: Any, caller: Caller
    ) -> tuple[SubscriptionFilter, frozenset[str]]:
        """What this stream will deliver (as acknowledged), and the task ids it follows."""
        honored = SubscriptionFilter(
            tools_list_changed=True if requested.tools_list_changed else None,
            prompts_list_changed=True if requested.prompts_list_changed else None,
            resources_list_changed=True if requested.resources_list_changed else None,
            resource_subscriptions=await self._honored_uris(list(requested.resource_subscriptions or ()), caller)
            or None,
        )
        if task_ids is None:
            return honored, frozenset()
        tasks = frozenset(await self._honored_tasks(task_ids, caller))
        return honored.model_copy(update={"taskIds": sorted(tasks)}), tasks

    async def __call__(
        self, ctx: ServerRequestContext[Any, Any], params: SubscriptionsListenRequestParams
    ) -> SubscriptionsListenResult:
        subscription_id = ctx.request_id
        if subscription_id is None:
            raise MCPError(INVALID_REQUEST, "subscriptions/listen requires a request id")
        requested = params.notifications
        task_ids = (requested.model_extra or {}).get("taskIds")
        if task_ids is not None:
            require_client_extension(ctx, TASKS)
        if self._open >= self.max_streams:
            raise MCPError(INVALID_REQUEST, "Too many open subscription streams; close one and listen again")
        await self.feature.ready()
        honored, tasks = await self._honored(requested, task_ids, self.feature.caller(ctx.request))
        uris = frozenset(honored.resource_subscriptions or ())
        meta: dict[str, Any] = {SUBSCRIPTION_ID_META_KEY: subscription_id}
        send, receive = anyio.create_memory_object_stream[ServerEvent | tuple[str, dict[str, Any]]](_BACKLOG)

        def deliver(item: ServerEvent | tuple[str, dict[str, Any]]) -> None:
            try:
                send.send_nowait(item)
            except anyio.WouldBlock:
                log.warning("listen stream %r fell behind; ending it (the client re-listens)", subscription_id)
                send.close()
            except anyio.ClosedResourceError:
                pass

        def on_event(event: ServerEvent) -> None:
            if event_matches(honored, uris, event):
                deliver(event)

        # Subscribed before the acknowledgement is sent, so nothing published meanwhile is lost.
        stop_events = self.feature.bus.subscribe(on_event)
        stop_tasks = self.feature.parts.notices.listen(uris, tasks, lambda task_id, task: deliver((task_id, task)))
        self._open += 1
        try:
            ack = SubscriptionsAcknowledgedNotification(
                params=SubscriptionsAcknowledgedNotificationParams(notifications=honored, _meta=meta)
            )
            await ctx.session.send_notification(ack, related_request_id=subscription_id)
            for task_id in sorted(tasks):
                job = await self.feature.parts.store.get(task_id)
                if job is not None:
                    deliver((task_id, await self.feature.task(job)))
            async with receive:
                async for item in receive:
                    note = self._notification(item, meta)
                    await ctx.session.send_notification(note, related_request_id=subscription_id)
        finally:
            self._open -= 1
            stop_events()
            stop_tasks()
            send.close()
        return SubscriptionsListenResult(_meta=meta)

    @staticmethod
    def _notification(item: ServerEvent | tuple[str, dict[str, Any]], meta: dict[str, Any]) -> ServerNotification:
        if isinstance(item, tuple):
            _, task = item
            note = TaskStatusNotification(params=TaskNotificationParams.model_validate({**task, "_meta": meta}))
            return cast("ServerNotification", note)
        return event_to_notification(item, meta)
