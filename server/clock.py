"""Time as a dependency: every wait in genmcp goes through a `Clock`, so tests drive time instead of sleeping."""

from __future__ import annotations

import time
from typing import Protocol

import anyio

__all__ = ["Clock", "SystemClock"]


class Clock(Protocol):
    """Monotonic time plus sleep; wall time for records."""

    def now(self) -> float:
        """Monotonic seconds, for deadlines."""
        ...

    def wall(self) -> float:
        """Unix seconds, for timestamps stored in records."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` (cancellable)."""
        ...

    async def wait_for(self, event: anyio.Event, seconds: float) -> bool:
        """Wait until `event` is set or `seconds` pass; return whether it was set."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(max(0.0, seconds))

    async def wait_for(self, event: anyio.Event, seconds: float) -> bool:
        with anyio.move_on_after(max(0.0, seconds)):
            await event.wait()
        return event.is_set()
