"""Jobs this process runs itself: a provider call that answers synchronously (possibly after minutes) runs in the
background so the tool call can answer `running` within its budget, and `poll` delivers the result later.

Each such job is recorded with this replica's lease on it, renewed while the call runs (`server.leases`). If the
replica dies mid-call the lease expires and the job becomes `interrupted`: the request may have reached the provider
and may have been charged.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import anyio
from anyio.abc import TaskGroup

if TYPE_CHECKING:
    from server.errors import GenmcpError

__all__ = ["BackgroundRuns", "LocalRun"]

log = logging.getLogger("genmcp.background")


@dataclass
class LocalRun:
    """One in-flight background call."""

    done: anyio.Event = field(default_factory=anyio.Event)
    error: GenmcpError | None = None


class BackgroundRuns:
    """Runs background calls in the runtime's task group and lets waiters block on them."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        """This replica's lease owner id."""
        self._group: TaskGroup | None = None
        self._runs: dict[str, LocalRun] = {}

    def attach(self, group: TaskGroup | None) -> None:
        """Use this task group (the runtime's) for background calls; None detaches at shutdown."""
        self._group = group

    def get(self, job_id: str) -> LocalRun | None:
        """The in-flight run of a job, if this process runs it."""
        return self._runs.get(job_id)

    def start(self, job_id: str, work: Callable[[], Awaitable[GenmcpError | None]]) -> LocalRun:
        """Start `work` (which records its own outcome and returns the error it met, if any)."""
        if self._group is None:
            raise RuntimeError("background runs need the runtime to be started (async with Runtime(...))")
        run = LocalRun()
        self._runs[job_id] = run

        async def body() -> None:
            try:
                run.error = await work()
            except Exception:
                # A background call must never take the runtime (and every other call) down with it.
                log.exception("background call %s crashed", job_id)
            finally:
                run.done.set()
                self._runs.pop(job_id, None)

        self._group.start_soon(body)
        return run
