"""The one retry and backoff policy: upstream requests and the poller wait the same way between attempts.

A provider's `Retry-After` (capped) says exactly when to ask again; otherwise the wait is a capped exponential
backoff with "equal jitter" (between half and all of the ceiling), so many clients that failed together do not come
back together, and a single client still waits at least half the ceiling.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace

__all__ = ["MAX_RETRY_AFTER", "Backoff"]

MAX_RETRY_AFTER = 120.0
"""A provider's Retry-After longer than this is not honoured in full (a call must answer within its budget)."""


@dataclass(frozen=True)
class Backoff:
    """Capped exponential backoff with jitter.

    Args:
        base: The ceiling of the first retry's wait, in seconds.
        cap: The largest ceiling.
        factor: How much the ceiling grows with each attempt.
    """

    base: float
    cap: float
    factor: float = 2.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def delay(self, attempt: int, *, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number `attempt` (0-based); the provider's `retry_after` when it gave one."""
        if retry_after is not None:
            return min(max(0.0, retry_after), MAX_RETRY_AFTER)
        ceiling = min(self.cap, self.base * self.factor**attempt)
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)

    def from_base(self, base: float) -> Backoff:
        """The same policy starting from another first wait (a job's poll interval)."""
        return replace(self, base=base)
