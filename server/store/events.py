""" "A job changed": the one seam through which waiters (and MCP resource subscriptions) learn of job updates.

Every store has a `JobEvents`. The SQLite store feeds it itself after each write (one process); the PostgreSQL store
sends `NOTIFY genmcp_jobs, '<job id>'` in the same statement as each write and feeds it from one `LISTEN`
connection per replica, so every replica hears every change, its own included.

Listeners (`subscribe`) are called synchronously with the job id and must not block; `wait` lets a task sleep until
one job changes, bounded by the caller's budget.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable

import anyio

from server.clock import Clock

__all__ = ["JOB_CHANNEL", "JobEvents", "Listener"]

log = logging.getLogger("genmcp.store")

JOB_CHANNEL = "genmcp_jobs"
"""The PostgreSQL notification channel; the payload is the job's local id."""

Listener = Callable[[str], None]


class JobEvents:
    """Dispatches "job <id> changed" to listeners and waiters in this process."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._waiters: defaultdict[str, set[anyio.Event]] = defaultdict(set)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(job_id)` on every change (any replica's); returns the function that unsubscribes."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def changed(self, job_id: str) -> None:
        """A job changed: wake its waiters and tell the listeners."""
        for event in self._waiters.pop(job_id, ()):
            event.set()
        for listener in list(self._listeners):
            try:
                listener(job_id)
            except Exception:
                # One faulty listener must not stop the others (or the store write that triggered it).
                log.exception("a job-change listener failed")

    async def wait(self, job_id: str, seconds: float, clock: Clock) -> bool:
        """Wait until job `job_id` changes or `seconds` pass; return whether it changed."""
        event = anyio.Event()
        waiters = self._waiters[job_id]
        waiters.add(event)
        try:
            return await clock.wait_for(event, seconds)
        finally:
            waiters.discard(event)
            if not waiters and self._waiters.get(job_id) is waiters:
                del self._waiters[job_id]
