"""The one watcher per running job, for clients that follow a job (an MCP task, a `job://` subscription) instead of
calling `poll`.

A watcher polls the job upstream at the provider's pace through the shared poller — which records every observation
in the registry, so `tasks/get` and resource reads answer from the registry and subscribers hear of each change —
until the job and the other jobs its request started have finished. A process runs at most one watcher per job;
asking again while one runs is free. A watcher that meets a permanent error (the key was revoked, the job vanished
upstream) stops and says why (`problem`); the next request for the job starts one again, not before the provider's
poll interval has passed. After a restart nothing is watched until someone follows the job again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from anyio.abc import TaskGroup

from server.errors import GenmcpError

if TYPE_CHECKING:
    from providers.base import Provider
    from server.calls import Calls
    from server.clock import Clock
    from server.jobs import JobRecord, JobStore

__all__ = ["WATCH_LIMIT", "Watchers"]

log = logging.getLogger("genmcp.tasks")

WATCH_LIMIT = 6 * 3600.0
"""Seconds one watcher follows a job before it stops (a later request starts another)."""
_STRETCH = 300.0
"""Seconds of one wait on the poller (the watcher then re-reads the record and goes on)."""


class Watchers:
    """Runs the watchers of one process in the runtime's task group."""

    def __init__(self, *, store: JobStore, calls: Calls, providers: Mapping[str, Provider], clock: Clock) -> None:
        self.store = store
        self.calls = calls
        self.providers = providers
        self.clock = clock
        self._group: TaskGroup | None = None
        self._active: set[str] = set()
        self._problems: dict[str, tuple[str, float]] = {}

    def attach(self, group: TaskGroup | None) -> None:
        """Watch in this task group (the runtime's); None at shutdown."""
        self._group = group

    def watching(self, job_id: str) -> bool:
        """Whether a watcher of this process follows the job now."""
        return job_id in self._active

    def problem(self, job_id: str) -> str | None:
        """Why the job's last watcher stopped before the job finished, if it did."""
        found = self._problems.get(job_id)
        return found[0] if found else None

    def ensure(self, job: JobRecord) -> bool:
        """Start a watcher for a running job unless one runs (or one just failed); return whether one runs now."""
        if job.finished or job.upstream_id is None or job.provider not in self.providers or self._group is None:
            return False
        if job.id in self._active:
            return True
        failed = self._problems.get(job.id)
        if failed is not None and self.clock.now() - failed[1] < job.poll_interval:
            return False
        self._active.add(job.id)
        self._group.start_soon(self._watch, job.id)
        return True

    async def _watch(self, job_id: str) -> None:
        until = self.clock.now() + WATCH_LIMIT
        try:
            while self.clock.now() < until:
                job = await self.store.get(job_id)
                if job is None:
                    return
                provider = self.providers[job.provider]
                deadline = min(until, self.clock.now() + _STRETCH)
                if job.status == "running":
                    job = await self.calls.poller.wait(job, provider, deadline)
                related = await self.calls.finish_related(job, provider, deadline) if job.finished else []
                if job.finished and all(record.finished for record in related):
                    self._problems.pop(job_id, None)
                    return
        except GenmcpError as exc:
            # Permanent (auth, not found): the record stays as it was; whoever follows the job is told why.
            log.info("stopped watching job %s: %s", job_id, exc.code)
            self._problems[job_id] = (exc.message, self.clock.now())
        finally:
            self._active.discard(job_id)
