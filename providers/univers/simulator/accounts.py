"""Accounts and what requests cost: keys, plans, credit balances, anonymous callers' free generations, and the
checks and charges every generating endpoint makes."""

from __future__ import annotations

import collections
from dataclasses import dataclass
from typing import Any, Literal

from starlette.requests import Request

from providers.univers.simulator.forms import ApiError

__all__ = ["AI_IMAGE_COSTS", "FREE_LIMIT", "Billing", "Caller", "KeyMode", "UniversAccount", "insufficient"]

FREE_LIMIT = 3
API_PLANS = frozenset({"commercial", "studio"})
AI_MODE_COST = 10
AI_IMAGE_COSTS = {"low": 1, "medium": 3, "high": 10}
UPGRADE_URL = "https://univers.studio/pricing/"
KeyMode = Literal["401", "anonymous"]
"""What an unknown key gets: 401, or treatment as an anonymous caller (free generations by address)."""


@dataclass
class UniversAccount:
    """The account behind one API key: plan and credits."""

    plan_name: str = "commercial"
    balance: int = 800
    monthly_quota: int = 800


@dataclass
class Caller:
    """Who sent a request: the account of a known key, or an anonymous caller known by address."""

    key: str | None
    account: UniversAccount | None
    ip: str


class Billing:
    """The accounts behind the keys and the checks and charges of a request (a base of the simulator)."""

    def __init__(self, *, accounts: dict[str, UniversAccount], cbn_cost: int, invalid_key_mode: KeyMode) -> None:
        self.accounts = accounts
        self.cbn_cost = cbn_cost
        self.invalid_key_mode: KeyMode = invalid_key_mode
        # Anonymous callers' free generations used, by client address.
        self.anonymous_usage: collections.Counter[str] = collections.Counter()

    def _caller(self, request: Request) -> Caller:
        """The caller behind the request's key; 401 for an unknown key unless those are anonymous callers."""
        forwarded = request.headers.get("x-forwarded-for")
        ip = forwarded.split(",")[0].strip() if forwarded else (request.client.host if request.client else "unknown")
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip()
        account = self.accounts.get(token) if scheme.lower() == "bearer" and token else None
        if account is not None:
            return Caller(token, account, ip)
        if self.invalid_key_mode == "401":
            raise ApiError(401, "Not authenticated")
        return Caller(None, None, ip)

    def _require_api_plan(self, caller: Caller) -> None:
        if caller.account is not None and caller.account.plan_name.lower() not in API_PLANS:
            raise ApiError(403, "API access is only available on the Commercial plan")

    def _cost(self, mode: str) -> int:
        """Credits one generated page of `mode` costs."""
        if mode == "ai":
            return AI_MODE_COST
        return self.cbn_cost if mode == "cbn" else 1

    def _free_remaining(self, caller: Caller) -> int:
        return max(0, FREE_LIMIT - self.anonymous_usage[caller.ip])

    def _check_free_quota(self, caller: Caller, needed: int, *, error: str) -> None:
        if caller.account is None and self._free_remaining(caller) < needed:
            message = f"You've used all {FREE_LIMIT} free generations. Upgrade for unlimited access!"
            body = {"error": error, "remaining": 0, "message": message, "upgrade_url": UPGRADE_URL}
            raise ApiError(429, body)

    def _check_balance(self, caller: Caller, cost: int) -> None:
        if caller.account is not None and caller.account.balance < cost:
            raise ApiError(402, insufficient(caller.account.balance, cost=cost))

    def _charge(self, caller: Caller, cost: int, *, units: int) -> None:
        """Take the credits (or free generations) for a finished generation."""
        if caller.account is None:
            self.anonymous_usage[caller.ip] += units
            return
        # The balance may have dropped while this request waited; the charge must still fit.
        self._check_balance(caller, cost)
        caller.account.balance -= cost


def insufficient(remaining: int, *, cost: int) -> dict[str, Any]:
    """The body of a 402 answer."""
    return {"error": "Insufficient credits", "remaining": remaining, "cost": cost, "upgrade_url": UPGRADE_URL}
