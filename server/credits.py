"""Credit balances: live where a provider's API can say, else the last balance one of its answers reported."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from providers.base import Balance, Provider
from server.clock import Clock
from server.errors import GenmcpError, InvalidInput
from server.jobs import JobStore
from server.results import BalanceEntry, CreditsInfo, CreditsResult, ErrorInfo, SpendEntry
from server.views import iso

__all__ = ["Balances", "provider_named"]


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

    async def remember(self, provider: str, credits: CreditsInfo | None) -> None:
        """Keep a balance a provider reported in an answer (for providers without a balance endpoint)."""
        if credits is not None and credits.remaining is not None:
            await self.store.record_balance(provider, credits.remaining, self.clock.wall())

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
        stored = await self.store.last_balance(provider.name)
        last = Balance(remaining=stored.remaining, live=False, as_of=stored.as_of) if stored else None
        try:
            balance = await provider.balance(last)
        except GenmcpError as exc:
            return BalanceEntry(provider=provider.name, error=ErrorInfo.of(exc, spending=False))
        if balance is None:
            return BalanceEntry(
                provider=provider.name,
                note=f"{provider.title} has no balance endpoint and no response has reported one yet.",
            )
        if balance.live:
            await self.store.record_balance(provider.name, balance.remaining, balance.as_of)
        return BalanceEntry(
            provider=provider.name,
            remaining=balance.remaining,
            live=balance.live,
            as_of=iso(balance.as_of),
            note=None
            if balance.live
            else f"{provider.title} has no balance endpoint: this is the last balance it reported, with when.",
        )
