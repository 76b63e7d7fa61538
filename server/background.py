"""Jobs this process runs itself: a provider call that answers synchronously (possibly after minutes) runs in the
background so the tool call can answer `running` within its budget, and `poll` delivers the result later.

Each such job is recorded with its owner (host, process id, start token). If the owner dies mid-call, the job
becomes `interrupted`: the request may have reached the provider and may have been charged.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import anyio
from anyio.abc import TaskGroup

from server.errors import GenmcpError

__all__ = ["BackgroundRuns", "LocalRun", "owner_alive"]

log = logging.getLogger("genmcp.background")


def owner_alive(owner: str) -> bool | None:
    """Whether the process named by an owner tag (`host:pid:token`) still runs; None when it cannot be known."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return None
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class LocalRun:
    """One in-flight background call."""

    done: anyio.Event = field(default_factory=anyio.Event)
    error: GenmcpError | None = None


class BackgroundRuns:
    """Runs background calls in the runtime's task group and lets waiters block on them."""

    def __init__(self) -> None:
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
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
