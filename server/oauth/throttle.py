"""Throttling of failed sign-ins, kept in the store (so every replica and a restart see the same counts).

After `max_failed_sign_ins` failures in a row for a user name — or four times that many from one address, whatever
names it tries — sign-in is refused for `lockout_seconds` without looking at the password (a locked account costs
no hashing). A success clears that name's and that address's count. Unknown names are counted like known ones, so
the answers do not tell which names exist.
"""

from __future__ import annotations

from server.clock import Clock
from server.oauth.settings import BuiltinAuthSettings
from server.oauth.store import OAuthStore

__all__ = ["SignInThrottle"]

_ADDRESS_FACTOR = 4


class SignInThrottle:
    """Failed sign-in counters and lockouts."""

    def __init__(self, store: OAuthStore, clock: Clock, settings: BuiltinAuthSettings) -> None:
        self.store = store
        self.clock = clock
        self.limit = settings.max_failed_sign_ins
        self.lockout = float(settings.lockout_seconds)

    @staticmethod
    def _keys(user: str | None, address: str) -> list[tuple[str, int]]:
        keys = [(f"address:{address}", _ADDRESS_FACTOR)]
        if user:
            keys.insert(0, (f"user:{user.strip().lower()}", 1))
        return keys

    async def wait(self, user: str | None, address: str) -> float:
        """Seconds until sign-in may be tried again for this name from this address (0: now)."""
        now = self.clock.wall()
        waits = [(await self.store.get_failures(key)).locked_until - now for key, _ in self._keys(user, address)]
        return max(0.0, *waits)

    async def failed(self, user: str | None, address: str) -> float:
        """Count a failure; the seconds of lockout it caused (0 when none)."""
        now = self.clock.wall()
        wait = 0.0
        for key, factor in self._keys(user, address):
            record = await self.store.record_failure(key, limit=self.limit * factor, lockout=self.lockout, now=now)
            wait = max(wait, record.locked_until - now)
        return wait

    async def succeeded(self, user: str, address: str) -> None:
        """Forget the failures of this name and address."""
        for key, _ in self._keys(user, address):
            await self.store.clear_failures(key)
