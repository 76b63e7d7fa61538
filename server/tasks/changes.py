""" "A job changed": the one feed through which task notifications, `job://` resource updates and questions waiting
for an answer learn that a record was written.

The SQLite registry reports every write itself (`SqliteJobStore(on_change=…)`), so within one process every change
passes through `JobChanges.changed`. A store shared by several processes feeds the same interface from its own
notifications (the `JobChangeFeed` protocol: `subscribe` and `wait`), so everything here works unchanged across
replicas.

Listeners are called synchronously with the job's id and must not block (they hand the id to a task).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Protocol

import anyio

from server.clock import Clock

__all__ = ["JobChangeFeed", "JobChanges", "Listener"]

log = logging.getLogger("genmcp.tasks")

Listener = Callable[[str], None]


class JobChangeFeed(Protocol):
    """Where "job <id> changed" comes from."""

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(job_id)` on every change; returns the function that unsubscribes."""
        ...

    async def wait(self, job_id: str, seconds: float, clock: Clock) -> bool:
        """Wait until job `job_id` changes or `seconds` pass; return whether it changed."""
        ...


class JobChanges:
    """The in-process feed: the registry calls `changed`; listeners and waiters hear of it."""

    def __init__(self) -> None:
        self._listeners: dict[object, Listener] = {}
        self._waiters: defaultdict[str, set[anyio.Event]] = defaultdict(set)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        token = object()
        self._listeners[token] = listener

        def unsubscribe() -> None:
            self._listeners.pop(token, None)

        return unsubscribe

    def changed(self, job_id: str) -> None:
        """A record was written: wake its waiters and tell the listeners."""
        for event in self._waiters.pop(job_id, ()):
            event.set()
        for listener in list(self._listeners.values()):
            try:
                listener(job_id)
            except Exception:
                # One faulty listener must not stop the others, nor the registry write that reported the change.
                log.exception("a job-change listener failed")

    async def wait(self, job_id: str, seconds: float, clock: Clock) -> bool:
        event = anyio.Event()
        waiters = self._waiters[job_id]
        waiters.add(event)
        try:
            return await clock.wait_for(event, seconds)
        finally:
            waiters.discard(event)
            if not waiters and self._waiters.get(job_id) is waiters:
                del self._waiters[job_id]
