"""The spend guard: refuses a call that would pass a daily cap before anything goes upstream, words the confirmation
a person is asked, reserves the call's estimate, and settles it with what the provider reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from providers.base import Provider
from server.budget.ledger import Blocked, Charge, SpendLedger
from server.budget.policy import BudgetPolicy, Cap
from server.callers import Caller
from server.clock import Clock
from server.errors import BudgetExceeded, GenmcpError
from server.jobs import JobStore
from server.results import CreditsInfo, SpendEntry, ToolResult
from server.views import iso

__all__ = ["Reservation", "SpendGuard", "counted"]


@dataclass(frozen=True)
class Reservation:
    """A call's entry in the ledger, until it is settled."""

    charge: Charge
    estimate: float | None
    recorded: bool
    """Whether the entry is already in the ledger (reserved against a cap); without caps it is written once, when
    the call has answered — one write per call instead of two."""


def counted(credits: CreditsInfo | None) -> float | None:
    """What a result's credits count against the caps (a refund lowers it); None when the provider did not say."""
    if credits is None:
        return None
    if credits.refunded:
        returned = credits.refunded_amount if credits.refunded_amount is not None else credits.charged
        return max(0.0, (credits.charged or 0.0) - (returned or 0.0))
    return credits.charged


def _credits(amount: float) -> str:
    return f"{amount:,.2f}".rstrip("0").rstrip(".")


def _in(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


class SpendGuard:
    """Applies the budget to spending calls."""

    def __init__(self, *, policy: BudgetPolicy, ledger: SpendLedger, store: JobStore, clock: Clock) -> None:
        self.policy = policy
        self.ledger = ledger
        self.store = store
        self.clock = clock

    def _refusal(self, tool: str, estimate: float | None, blocked: Blocked) -> BudgetExceeded:
        day = self.policy.day()
        cost = (
            f"is estimated at {_credits(estimate)} credits"
            if estimate is not None
            else "cannot be priced in advance and the cap is already reached"
        )
        wait = max(0.0, day.resets_at - self.clock.wall())
        return BudgetExceeded(
            f"Refused before anything was sent: {tool} {cost}; {blocked.cap.describe()} has "
            f"{_credits(blocked.spent)} spent today. It resets at {day.iso_reset(self.policy.zone)} (in {_in(wait)}). "
            "No credits were spent.",
            retry_after=round(wait),
        )

    async def check(self, provider: Provider, tool: str, estimate: float | None, caller: Caller) -> None:
        """Refuse now if the call would pass a cap (looked at again, atomically, when it is reserved).

        Raises:
            BudgetExceeded: naming the cap, today's spend and when it resets.
        """
        caps = self.policy.caps(provider.name, caller.bucket)
        day = self.policy.day().day if caps else ""
        for cap in caps:
            spent = await self.ledger.spent(day, cap.provider, cap.caller)
            over = spent + estimate > cap.limit if estimate is not None else spent >= cap.limit
            if over:
                raise self._refusal(tool, estimate, Blocked(cap=cap, spent=spent))

    async def question(self, provider: Provider, tool: str, estimate: float | None) -> str | None:
        """The confirmation to ask before this call, or None when the budget does not ask for one."""
        if not self.policy.needs_confirmation(provider.name, estimate):
            return None
        threshold = self.policy.confirm_above(provider.name)
        balance = await self._balance(provider)
        cost = (
            f"Estimated cost: {_credits(estimate)} {provider.title} credits"
            if estimate is not None
            else f"Its cost cannot be estimated from its arguments ({provider.title} prices it when it runs)"
        )
        held = (
            f"Balance: {_credits(balance)} credits."
            if balance is not None
            else "Balance: not reported yet (the credits tool shows it)."
        )
        return (
            f"Run {tool}? {cost}. {held} (genmcp asks for calls above {_credits(threshold or 0)} credits: "
            "budget.confirm_above.) Decline to send nothing."
        )

    async def _balance(self, provider: Provider) -> float | None:
        # The last balance seen (every spending answer and `credits` record it): asking costs no upstream request,
        # and the question reads the same on each round of a 2026 call.
        stored = await self.store.last_balance(provider.name)
        return stored.remaining if stored is not None else None

    async def reserve(self, provider: Provider, tool: str, estimate: float | None, caller: Caller) -> Reservation:
        """Count the call's estimate against the caps (atomically with the check).

        Raises:
            BudgetExceeded: a cap would be passed.
        """
        now = self.clock.wall()
        charge = Charge(
            day=self.policy.day(now).day,
            provider=provider.name,
            caller=caller.bucket,
            amount=estimate or 0.0,
            known=estimate is not None,
            at=now,
        )
        caps = self.policy.caps(provider.name, caller.bucket)
        if not caps:
            return Reservation(charge=charge, estimate=estimate, recorded=False)
        blocked = await self.ledger.reserve(charge, caps)
        if blocked is not None:
            raise self._refusal(tool, estimate, blocked)
        return Reservation(charge=charge, estimate=estimate, recorded=True)

    async def settle(self, reservation: Reservation, result: ToolResult) -> None:
        """Count what the call really cost, once the provider said (else the estimate stays)."""
        amount = counted(result.credits)
        if result.status == "failed" and result.error is not None and result.error.charged is False:
            amount = 0.0
        if reservation.recorded:
            await self.ledger.settle(reservation.charge.id, amount=amount, job=result.job)
            return
        final = reservation.charge.amount if amount is None else amount
        await self.ledger.record(replace(reservation.charge, amount=final, known=amount is not None), job=result.job)

    async def failed(self, reservation: Reservation, error: GenmcpError) -> None:
        """A call that raised: forgotten when nothing was spent, else its estimate stays counted."""
        if error.charged is False:
            if reservation.recorded:
                await self.ledger.release(reservation.charge.id)
        elif reservation.recorded:
            if error.refunded:
                await self.ledger.settle(reservation.charge.id, amount=0.0)
        else:
            await self.ledger.record(replace(reservation.charge, amount=0.0) if error.refunded else reservation.charge)

    async def settle_job(self, result: ToolResult) -> None:
        """A finished job's last look (a poll) may say what it cost or that it was refunded."""
        amount = counted(result.credits)
        if result.job and amount is not None and result.status != "running":
            await self.ledger.settle_job(result.job, amount)

    async def today(self, providers: Sequence[str], caller: Caller) -> list[SpendEntry]:
        """Today's spend on each provider against its caps (what `credits` shows): a provider with no cap, no
        confirmation threshold and nothing spent today has nothing to show and is left out."""
        day = self.policy.day()
        entries = []
        for name in providers:
            caps = self.policy.caps(name, caller.bucket)
            shared = next((cap for cap in caps if cap.caller is None), None)
            own: Cap | None = next((cap for cap in caps if cap.caller is not None), None)
            confirm_above = self.policy.confirm_above(name)
            everyone, yours = await self.ledger.spent_by(day.day, name, caller.bucket)
            if not caps and confirm_above is None and everyone == 0:
                continue
            entries.append(
                SpendEntry(
                    provider=name,
                    day=day.day,
                    spent=everyone,
                    cap=shared.limit if shared else None,
                    yours=yours,
                    your_cap=own.limit if own else None,
                    confirm_above=confirm_above,
                    resets_at=iso(day.resets_at),
                )
            )
        return entries
