"""Time that tests drive: nothing sleeps on the real clock."""

from __future__ import annotations

import anyio
import anyio.lowlevel

__all__ = ["FakeClock"]


class FakeClock:
    """Time that moves only when someone sleeps on it (or a test advances it)."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.epoch = 1_700_000_000.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    def wall(self) -> float:
        return self.epoch + self.t

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += max(0.0, seconds)
        await anyio.lowlevel.checkpoint()

    async def wait_for(self, event: anyio.Event, seconds: float) -> bool:
        # Give the other tasks a chance to set the event; if they do not, the whole time has passed.
        for _ in range(50):
            if event.is_set():
                return True
            await anyio.lowlevel.checkpoint()
        self.t += max(0.0, seconds)
        return event.is_set()

    def advance(self, seconds: float) -> None:
        self.t += seconds
