"""Protection for genmcp and its providers: per-caller rate and concurrency limits, and a per-provider circuit
breaker that fails fast while a provider is down and is closed again only by a cheap read, never a paid request.
"""

from __future__ import annotations

import logging
import math
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import anyio

from server.errors import GenmcpError, RateLimited, UpstreamError

if TYPE_CHECKING:
    from server.store.base import Store

__all__ = ["CallLimits", "CircuitBreaker"]

log = logging.getLogger("genmcp.limits")


class CallLimits:
    """Calls per minute and calls in flight, per caller (a token's name, a client address, or 'local').

    Counted in the store (`Store.admit_call`), so the limits hold across every replica sharing it. A slot whose
    replica died is freed when it times out (`slot_seconds`, longer than any call can last).
    """

    def __init__(
        self, *, per_minute: int, concurrent: int, counters: Store, wall: Callable[[], float], slot_seconds: float
    ) -> None:
        self.per_minute = per_minute
        self.concurrent = concurrent
        self.counters = counters
        self.wall = wall
        self.slot_seconds = slot_seconds

    @asynccontextmanager
    async def admit(self, caller: str) -> AsyncIterator[None]:
        """Hold a slot for one call, or raise `RateLimited` saying when to retry."""
        if not self.per_minute and not self.concurrent:
            yield
            return
        now = self.wall()
        admission = await self.counters.admit_call(
            caller,
            secrets.token_hex(12),
            now=now,
            per_minute=self.per_minute,
            concurrent=self.concurrent,
            slot_until=now + self.slot_seconds,
        )
        if admission.refused == "rate":
            raise RateLimited(
                f"Too many calls: at most {self.per_minute} a minute.",
                retry_after=max(1, math.ceil(admission.retry_after)),
            )
        if admission.refused == "concurrency":
            raise RateLimited(
                f"{admission.running} of your calls are already running (at most {self.concurrent}). Start jobs "
                "with wait=0 and finish them with poll to keep fewer calls open.",
                retry_after=5,
            )
        try:
            yield
        finally:
            if admission.slot is not None and self.concurrent:
                with anyio.CancelScope(shield=True):
                    await self.counters.release_call(admission.slot)


class CircuitBreaker:
    """Opens after `threshold` provider failures in a row; while open, calls fail fast. After `cooldown` seconds one
    caller runs the probe (a cheap authenticated read): success closes the breaker, failure keeps it open."""

    def __init__(self, *, provider: str, threshold: int, cooldown: float, now: Callable[[], float]) -> None:
        self.provider = provider
        self.threshold = threshold
        self.cooldown = cooldown
        self.now = now
        self.failures = 0
        self.opened_at: float | None = None
        self._probe_lock = anyio.Lock()

    @property
    def open(self) -> bool:
        """Whether calls currently fail fast."""
        return self.opened_at is not None

    def record(self, ok: bool) -> None:
        """One upstream outcome: a provider failure (5xx, no answer) or anything else."""
        if ok:
            self.failures = 0
            return
        self.failures += 1
        if self.threshold and self.failures >= self.threshold and self.opened_at is None:
            self.opened_at = self.now()
            log.warning("%s failed %d times in a row; failing fast", self.provider, self.failures)

    async def admit(self, probe: Callable[[], Awaitable[object]]) -> None:
        """Let a call through, probe when the cool-down is over, or raise `UpstreamError` at once."""
        if self.opened_at is None:
            return
        left = self.opened_at + self.cooldown - self.now()
        if left > 0:
            raise UpstreamError(
                f"{self.provider} is failing ({self.failures} errors in a row), so genmcp is not sending it requests "
                f"for {math.ceil(left)} more s.",
                retry_after=math.ceil(left),
            )
        async with self._probe_lock:
            if not self.open:  # another caller's probe closed it while this one waited
                return
            try:
                await probe()
            except GenmcpError as exc:
                self.opened_at = self.now()
                raise UpstreamError(
                    f"{self.provider} is still failing ({exc.code}); try again in {self.cooldown:g} s.",
                    retry_after=self.cooldown,
                ) from exc
            log.info("%s answered the probe: closing the breaker", self.provider)
            self.failures = 0
            self.opened_at = None
