"""What the `[budget]` settings mean for one call: the budget day, the daily caps that apply, and whether the
person must confirm it first.

Credits are counted in each provider's own unit, so every cap is per provider: one for all callers together
(`budget.providers.<name>.daily`) and one per caller (`budget.daily_per_caller`, or the provider's own
`daily_per_caller`). A day starts at midnight in `budget.timezone`.

A call whose cost cannot be estimated from its arguments (the provider prices it by data the arguments do not pin)
is admitted while a cap still has room, and counted by what the provider then reports it cost; it asks the person
first when `confirm_above` is set, unless `budget.unknown_estimate = "proceed"`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from server.config import BudgetSettings

__all__ = ["BudgetDay", "BudgetPolicy", "Cap"]


@dataclass(frozen=True)
class Cap:
    """One daily limit that applies to a call."""

    setting: str
    """The key that sets it, as the operator wrote it (named in refusals)."""
    provider: str
    caller: str | None
    """The caller it counts for; None when it counts every caller together."""
    limit: float

    def describe(self) -> str:
        """The cap in words, for messages."""
        whose = "your" if self.caller is not None else "the shared"
        return f"{whose} daily {self.provider} cap of {self.limit:g} credits ({self.setting})"


@dataclass(frozen=True)
class BudgetDay:
    """One budget day: its name and when it ends."""

    day: str
    """YYYY-MM-DD in the budget's time zone."""
    resets_at: float
    """Unix time of the next midnight there."""

    def iso_reset(self, zone: tzinfo) -> str:
        """When the day resets, as ISO 8601 in the budget's time zone."""
        return datetime.fromtimestamp(self.resets_at, zone).isoformat(timespec="minutes")


class BudgetPolicy:
    """The budget settings applied to calls, on the runtime's wall clock."""

    def __init__(self, settings: BudgetSettings, wall: Callable[[], float]) -> None:
        self.settings = settings
        self.wall = wall
        self.zone: tzinfo = UTC if settings.timezone == "UTC" else ZoneInfo(settings.timezone)
        self._current: tuple[float, BudgetDay] | None = None
        """The day last asked for and when it began: every call asks, and it changes once a day."""

    def day(self, at: float | None = None) -> BudgetDay:
        """The budget day at `at` (default: now)."""
        instant = self.wall() if at is None else at
        if self._current is not None and self._current[0] <= instant < self._current[1].resets_at:
            return self._current[1]
        moment = datetime.fromtimestamp(instant, self.zone)
        midnight = datetime(moment.year, moment.month, moment.day, tzinfo=self.zone)
        following = (midnight + timedelta(days=1, hours=2)).replace(hour=0)  # safe across a DST change
        day = BudgetDay(day=moment.date().isoformat(), resets_at=following.timestamp())
        self._current = (midnight.timestamp(), day)
        return day

    def days(self, count: int) -> list[str]:
        """The last `count` budget days, oldest first (today last)."""
        today = datetime.fromisoformat(self.day().day).date()
        return [(today - timedelta(days=back)).isoformat() for back in range(count - 1, -1, -1)]

    def caps(self, provider: str, caller: str) -> list[Cap]:
        """The caps a call by `caller` on `provider` counts against (none when no cap is set)."""
        own = self.settings.provider(provider)
        caps = []
        if own.daily > 0:
            caps.append(Cap(f"budget.providers.{provider}.daily", provider, None, own.daily))
        if own.daily_per_caller is not None:
            per_caller, setting = own.daily_per_caller, f"budget.providers.{provider}.daily_per_caller"
        else:
            per_caller, setting = self.settings.daily_per_caller, "budget.daily_per_caller"
        if per_caller > 0:
            caps.append(Cap(setting, provider, caller, per_caller))
        return caps

    def confirm_above(self, provider: str) -> float | None:
        """The estimate above which a call on `provider` asks first (None: never)."""
        own = self.settings.provider(provider).confirm_above
        return own if own is not None else self.settings.confirm_above

    def needs_confirmation(self, provider: str, estimate: float | None) -> bool:
        """Whether a call with this estimate must be confirmed by the person first."""
        threshold = self.confirm_above(provider)
        if threshold is None:
            return False
        if estimate is None:
            return self.settings.unknown_estimate == "confirm"
        return estimate > threshold
