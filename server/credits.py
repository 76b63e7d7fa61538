"""Credit balances: live where a provider's API can say, else the last balance one of its answers reported."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from providers.base import Balance, Provider
from server.clock import Clock
from server.errors import GenmcpError, InvalidInput
from server.jobs import JobStore, StoredBalance
from server.results import BalanceEntry, CreditsInfo, CreditsResult, ErrorInfo, SpendEntry
from server.views import iso

__all__ = ["RECORD_UNCHANGED_EVERY", "Balances", "provider_named"]

RECORD_UNCHANGED_EVERY = 60.0
"""Seconds between writes of a live balance that has not changed (a changed one is written at once): `credits` is
a cheap read agents call often, and rewriting the same number on each call is most of genmcp's cost per call."""


def provider_named(providers: Mapping[str, Provider], name: str) -> Provider:
    """A configured provider by name, or `InvalidInput` listing the configured ones."""
    provider = providers.get(name)
    if provider is None:
        known = ", ".join(sorted(providers)) or "none"
        raise InvalidInput(f"'{name}' is not a configured provider (configured: {known}).")
    return provider


class Balances:
    """Every configured provider's balance, and the balances seen in passing."""

    def __init__(self, *, providers: Mapping[str, Provider], store: JobStore, clock: Clock, sandbox: bool) -> None:
        self.providers = providers
        self.store = store
        self.clock = clock
        self.sandbox = sandbox
        self._recorded: dict[str, StoredBalance] = {}
        """The balance this process last wrote for each provider."""

    async def remember(self, provider: str, credits: CreditsInfo | None) -> None:
        """Keep a balance a provider reported in an answer (for providers without a balance endpoint)."""
        if credits is not None and credits.remaining is not None:
            await self._record(provider, credits.remaining, self.clock.wall())

    async def _record(self, provider: str, remaining: float, as_of: float) -> None:
        await self.store.record_balance(provider, remaining, as_of)
        self._recorded[provider] = StoredBalance(remaining=remaining, as_of=as_of)

    def _unchanged(self, provider: str, balance: Balance) -> bool:
        """Whether this process wrote the same balance less than `RECORD_UNCHANGED_EVERY` seconds before."""
        recorded = self._recorded.get(provider)
        return (
            recorded is not None
            and recorded.remaining == balance.remaining
            and 0 <= balance.as_of - recorded.as_of < RECORD_UNCHANGED_EVERY
        )

    def names(self, provider: str | None = None) -> list[str]:
        """The providers `credits` answers for: the one asked for (checked), else every configured one."""
        return [provider_named(self.providers, provider).name] if provider else sorted(self.providers)

    async def credits(self, provider: str | None = None, *, spend: Sequence[SpendEntry] = ()) -> CreditsResult:
        """Every configured provider's balance (or one's), live where the API can say, else as last seen; with
        today's `spend` beside them."""
        return CreditsResult(
            balances=[await self._balance(self.providers[name]) for name in self.names(provider)],
            spend=list(spend),
            sandbox=self.sandbox,
        )

    async def _balance(self, provider: Provider) -> BalanceEntry:
        try:
            balance = await provider.balance()
        except GenmcpError as exc:
            return BalanceEntry(provider=provider.name, error=ErrorInfo.of(exc, spending=False))
        if balance is None:
            return await self._last_seen(provider)
        if not self._unchanged(provider.name, balance):
            await self._record(provider.name, balance.remaining, balance.as_of)
        return BalanceEntry(provider=provider.name, remaining=balance.remaining, live=True, as_of=iso(balance.as_of))

    async def _last_seen(self, provider: Provider) -> BalanceEntry:
        """The balance a provider without a balance endpoint last reported in an answer."""
        stored = await self.store.last_balance(provider.name)
        if stored is None:
            return BalanceEntry(
                provider=provider.name,
                note=f"{provider.title} has no balance endpoint and no response has reported one yet.",
            )
        return BalanceEntry(
            provider=provider.name,
            remaining=stored.remaining,
            live=False,
            as_of=iso(stored.as_of),
            note=f"{provider.title} has no balance endpoint: this is the last balance it reported, with when.",
        )
