"""What clients hear when a job changes: `notifications/resources/updated` for `job://<handle>` (on 2026 listen
streams through the subscription bus, and to 2025 sessions that sent `resources/subscribe`), and
`notifications/tasks` carrying the task as `tasks/get` would answer it, to listen streams that asked for its id.

`JobNotices.run` reads the change feed in the runtime's task group. A change is announced only when it changes
what a reader would see (the job's result, its task status, its open questions), so a poll that learnt nothing new
stays silent; a change of a job that another job's request started is announced for that other job too (its result
lists both).
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter, OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskStatus
from mcp.server.session import ServerSession
from mcp.shared.subscriptions import ResourceUpdated

if TYPE_CHECKING:
    from server.tasks.feature import TasksFeature

__all__ = ["JOB_URI", "JobNotices", "TaskListener", "job_uri"]

log = logging.getLogger("genmcp.tasks")

JOB_URI = "job://"
TaskListener = Callable[[str, dict[str, Any]], None]
"""`(task id, task as tasks/get answers it)`: called synchronously, must not block."""
_REMEMBERED = 4096
"""Jobs whose last announced state is remembered (older ones may be announced once more)."""


def job_uri(handle: str) -> str:
    """The resource URI of a job."""
    return f"{JOB_URI}{handle}"


class JobNotices:
    """Turns job changes into notifications."""

    def __init__(self, feature: TasksFeature) -> None:
        self.feature = feature
        self._last: OrderedDict[str, str] = OrderedDict()
        self._sessions: dict[str, dict[str, ServerSession]] = {}
        """2025 subscriptions: resource URI → connection key → the session to notify."""
        self._task_listeners: dict[object, tuple[frozenset[str], TaskListener]] = {}
        self._watched_uris: Counter[str] = Counter()
        """Resource URIs some 2026 listen stream follows (with 2025 subscriptions: whom a job's change concerns)."""

    # --- who listens ----------------------------------------------------------------------------------------------

    def subscribe_session(self, uri: str, connection: str, session: ServerSession) -> None:
        """A 2025 session subscribed to a resource (`resources/subscribe`)."""
        self._sessions.setdefault(uri, {})[connection] = session

    def unsubscribe_session(self, uri: str, connection: str) -> None:
        """A 2025 session unsubscribed (`resources/unsubscribe`)."""
        sessions = self._sessions.get(uri, {})
        sessions.pop(connection, None)
        if not sessions:
            self._sessions.pop(uri, None)

    def listen(self, uris: frozenset[str], task_ids: frozenset[str], listener: TaskListener) -> Callable[[], None]:
        """A listen stream follows these resource URIs (announced on the bus) and tasks (`listener` is called when
        one of them changes); returns the function that stops it."""
        token = object()
        self._task_listeners[token] = (task_ids, listener)
        self._watched_uris.update(uris)

        def stop() -> None:
            if self._task_listeners.pop(token, None) is not None:
                self._watched_uris.subtract(uris)
                self._watched_uris += Counter()  # drops the URIs nobody follows any more

        return stop

    def _concerns(self, uri: str | None, job_id: str) -> bool:
        """Whether anyone follows this job: its resource, or its task."""
        if uri is not None and (self._watched_uris[uri] > 0 or uri in self._sessions):
            return True
        return any(job_id in ids for ids, _ in self._task_listeners.values())

    # --- the feed -------------------------------------------------------------------------------------------------

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Announce every change of the feed, for as long as the runtime lives."""
        send, receive = anyio.create_memory_object_stream[str](max_buffer_size=10_000)

        def heard(job_id: str) -> None:
            try:
                send.send_nowait(job_id)
            except anyio.WouldBlock:
                log.warning("job change feed is full; job %s is not announced", job_id)

        stop = self.feature.parts.store.events.subscribe(heard)
        task_status.started()
        try:
            async with receive:
                async for job_id in receive:
                    try:
                        await self._announce(job_id)
                    except Exception:
                        # One job that cannot be read must not silence the others.
                        log.exception("announcing job %s failed", job_id)
        finally:
            stop()
            send.close()

    async def _announce(self, job_id: str, *, parent: bool = True) -> None:
        if not (self._task_listeners or self._watched_uris or self._sessions):
            return  # nobody follows any job: not even the record is read
        parts = self.feature.parts
        job = await parts.store.get(job_id)
        if job is None:
            return
        if parent and job.part_of is not None:
            provider, _, upstream_id = job.part_of.partition(":")
            first = await parts.store.find(provider, upstream_id)
            if first is not None:
                await self._announce(first.id, parent=False)
        if not self._concerns(job_uri(job.handle) if job.handle else None, job.id):
            return  # nobody follows it: nothing to render, nothing to send
        wanted = [ids for ids, _ in self._task_listeners.values() if job.id in ids]
        view = await self.feature.view(job)
        seen = hashlib.sha256(
            f"{view.model_dump_json()}|{sorted(job.input_requests)}|{job.crashed}".encode()
        ).hexdigest()
        if self._last.get(job.id) != seen:
            self._remember(job.id, seen)
            if job.handle is not None:
                await self._resource_updated(job_uri(job.handle))
            if wanted:
                task = await self.feature.task(job)
                for ids, listener in list(self._task_listeners.values()):
                    if job.id in ids:
                        listener(job.id, task)

    def _remember(self, job_id: str, seen: str) -> None:
        self._last[job_id] = seen
        self._last.move_to_end(job_id)
        while len(self._last) > _REMEMBERED:
            self._last.popitem(last=False)

    async def _resource_updated(self, uri: str) -> None:
        await self.feature.bus.publish(ResourceUpdated(uri=uri))
        for connection, session in list(self._sessions.get(uri, {}).items()):
            try:
                await session.send_resource_updated(uri)
            except Exception:  # noqa: BLE001 - a session that went away (any transport error) is just dropped
                log.debug("dropping the subscription of a gone session to %s", uri)
                self.unsubscribe_session(uri, connection)
