"""What every Kolbo request shares: parsed reads, and Kolbo's error answers translated into genmcp's error tree.

Kolbo answers errors as `{success: false, error, code}`, except the 429, which is `{status: false, message}` with a
`Retry-After` header; insufficient credits come as 400 or 402 (the sources disagree, PROVIDERS.md §4.5).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import httpx2
from pydantic import BaseModel, ValidationError

from providers.base import Provider
from providers.kolbo.wire import ErrorBody
from server.errors import (
    AuthError,
    ForbiddenError,
    GenmcpError,
    InsufficientCredits,
    InvalidInput,
    NotFoundError,
    RateLimited,
    UpstreamError,
)
from server.upstream import retry_after_seconds

__all__ = ["KolboApi"]

ModelT = TypeVar("ModelT", bound=BaseModel)


class KolboApi(Provider):
    """The parts of the Kolbo adapter that its operations and job hooks share."""

    async def _get(
        self,
        path: str,
        model: type[ModelT],
        *,
        params: Mapping[str, Any] | None = None,
        missing: str | None = None,
    ) -> ModelT:
        """A read, parsed into `model`; `missing` names what a 404 means."""
        response = await self.client.request("GET", path, params=params)
        if response.status_code != 200:
            raise self._error(response, missing=missing)
        return self.client.parse(response, model)

    def _error(self, response: httpx2.Response, *, spend: bool = False, missing: str | None = None) -> GenmcpError:
        """The genmcp error for one of Kolbo's error answers (`spend`: it answered a paid request)."""
        status = response.status_code
        try:
            body = ErrorBody.model_validate_json(response.content)
        except ValidationError:
            return self.client.error_for_status(response, spend=spend)
        said = self.client.redact(body.error or body.message)
        code = body.code
        if status == 429 or code == "RATE_LIMITED":
            return RateLimited(
                f"Kolbo is rate-limiting this key: {said or 'too many requests'}. The request was refused before it "
                "ran, so nothing was charged.",
                retry_after=retry_after_seconds(response),
                upstream_code=code or "RATE_LIMITED",
            )
        if code == "INSUFFICIENT_CREDITS" or status == 402:
            return InsufficientCredits(
                f"Not enough Kolbo credits: {said} Top up, or pick a cheaper model (kolbo_list_models shows costs).",
                upstream_code=code or None,
            )
        if code == "INVALID_API_KEY" or status == 401:
            return AuthError(
                f"Kolbo refused the API key ({code or status}). Check {self.key_env()} (or providers.kolbo.api_key) "
                "and that the key is active.",
                upstream_code=code or None,
            )
        if code in {"MODEL_NOT_FOUND", "INVALID_MODEL"}:
            return InvalidInput(
                f"Kolbo refused the model ({code}): {said}. Call kolbo_list_models for valid identifiers.",
                upstream_code=code,
            )
        if status in (400, 422):
            return InvalidInput(f"Kolbo refused the request ({code or status}): {said}", upstream_code=code or None)
        if status == 403:
            return ForbiddenError(f"Kolbo does not allow this ({code or status}): {said}", upstream_code=code or None)
        if status == 404:
            what = missing or "such resource"
            return NotFoundError(
                f"Kolbo has no {what} for this key (it may belong to another account).", upstream_code=code or None
            )
        if code == "GENERATION_ERROR":
            return UpstreamError(
                f"Kolbo could not start the generation ({code}): {said}. Kolbo refunds failed generations; check "
                "`credits` before trying again.",
                charged=None if spend else False,
                upstream_code=code,
            )
        return self.client.error_for_status(response, detail=f"{code}: {said}" if code else said, spend=spend)
