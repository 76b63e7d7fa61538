"""What every Masko operation shares: sending a request, turning a refusal into the matching genmcp error, and the
small readers of an answer (the rate allowance when it runs low, a list as text, a page's counts)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import httpx2
from pydantic import ValidationError

from providers.base import Provider, compact
from providers.masko.inputs import PageInput
from providers.masko.pricing import IMAGE, PER_SECOND
from providers.masko.wire import ErrorBody, Page
from server.errors import (
    AuthError,
    ForbiddenError,
    GenmcpError,
    InsufficientCredits,
    InvalidInput,
    NotFoundError,
    RateLimited,
)
from server.upstream import retry_after_seconds

__all__ = ["INSTANT", "MaskoApi", "listing", "page_details", "rate_details"]

INSTANT = "a second or two"
"""How long a plain read or write takes."""

_LOW_RATE = 10
"""Below this many requests left in the window, results say so."""


def rate_details(response: httpx2.Response) -> dict[str, Any]:
    """The remaining rate allowance, when it is low enough to matter."""
    try:
        left = int(response.headers.get("x-ratelimit-remaining", ""))
    except ValueError:
        return {}
    if left > _LOW_RATE:
        return {}
    reset = response.headers.get("x-ratelimit-reset", "")
    return {"rate_limit": compact({"remaining": left, "reset": int(reset) if reset.isdigit() else None})}


def listing(title: str, rows: Iterable[str]) -> str:
    """A titled bullet list (or 'none.')."""
    lines = list(rows)
    return f"{title}:\n" + "\n".join(f"- {line}" for line in lines) if lines else f"{title}: none."


def page_details(page: Page[Any], args: PageInput) -> dict[str, Any]:
    """What a list result says about its page: the total, whether more follow, the offset asked for."""
    return compact({"total": page.total, "has_more": page.has_more, "offset": args.offset or None})


class MaskoApi(Provider):
    """The base of the Masko adapter's parts: one way to send a request and read a refusal."""

    async def _send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        files: Any = None,
        spend: bool = False,
        what: str = "resource",
        logo: bool = False,
    ) -> httpx2.Response:
        """Send a request; raise the matching error unless Masko accepted it.

        Args:
            spend: The request may cost credits (a refusal then says none were charged).
            what: What the path names, for a 403 or 404 message ('mascot', 'canvas', …).
            logo: The request asks for a logo (a 403 then means the plan cannot make logos).
        """
        response = await self.client.request(method, path, json=json, params=params, files=files)
        if not response.is_success:
            raise self._error(response, spend=spend, what=what, logo=logo)
        return response

    def _error(
        self, response: httpx2.Response, *, spend: bool = False, what: str = "resource", logo: bool = False
    ) -> GenmcpError:
        try:
            body = ErrorBody.model_validate_json(response.content)
        except ValidationError:
            return self.client.error_for_status(response, spend=spend)
        status, code, said = response.status_code, body.code, self.client.redact(body.message)
        if status in (400, 409, 422):
            return InvalidInput(f"Masko refused the request: {said}", upstream_code=code)
        if status == 401:
            return AuthError(
                f"Masko refused the API key ({said}). Check {self.key_env()} (or providers.masko.api_key): keys look "
                "like masko_ followed by 64 hex characters and are shown once when created.",
                upstream_code=code,
            )
        if status == 402:
            return self._insufficient(body, said)
        if status == 403:
            if logo or "logo" in said.lower():
                return ForbiddenError(
                    "Logo generation needs a Masko Pro plan or higher; this account's plan (Free or Starter) cannot "
                    "make logos. Upgrade at masko.ai, or generate an `image` instead.",
                    upstream_code=code,
                )
            return ForbiddenError(
                f"Masko denied access ({said}): the {what} belongs to another workspace or key.", upstream_code=code
            )
        if status == 404:
            return NotFoundError(f"Masko has no such {what} for this key ({said}).", upstream_code=code)
        if status == 429:
            return RateLimited(
                f"Masko's rate limit was reached ({said}).",
                retry_after=retry_after_seconds(response),
                upstream_code=code,
            )
        return self.client.error_for_status(response, detail=said, spend=spend)

    @staticmethod
    def _insufficient(body: ErrorBody, said: str) -> InsufficientCredits:
        needed, have = body.needed, body.have
        if needed is not None and have is not None:
            message = f"Not enough Masko credits: this needs {needed:g}, the account has {have:g}."
        else:
            message = f"Masko reports too few credits ({said})."
        return InsufficientCredits(
            message + " Top up at masko.ai (top-ups never expire), or pick something cheaper: a shorter animation "
            f"({PER_SECOND} credits per second), or animate an existing image (saves {IMAGE} credit).",
            upstream_code=body.code,
        )
