"""HTTP to a provider: one long-lived client per provider, deadlines, the retry policy and response parsing.

Retry policy: a request that provably never reached the provider (connection refused, pool timeout) or that the
provider rejected with 429 may be sent again. Idempotent requests (reads, polls) are also retried on 5xx and on
errors after sending. A non-idempotent request (a paid POST) whose answer was lost after sending is never re-sent:
it raises `SubmitUnknown`.
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import random
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import anyio
import httpx2
from pydantic import BaseModel, ValidationError

from server.clock import Clock
from server.config import UpstreamSettings
from server.errors import (
    AuthError,
    DeadlineExceeded,
    ForbiddenError,
    GenmcpError,
    InsufficientCredits,
    InvalidInput,
    NotFoundError,
    RateLimited,
    SubmitUnknown,
    UpstreamError,
)
from server.limits import CircuitBreaker
from server.redaction import CLIENT_KEYS, Redactor, strip_query
from server.retry import Backoff

__all__ = ["UpstreamClient", "excerpt", "retry_after_seconds"]

_STATUS_ERRORS: dict[int, tuple[type[GenmcpError], str]] = {
    400: (InvalidInput, "refused the request as invalid"),
    401: (AuthError, "refused the API key"),
    402: (InsufficientCredits, "reports too few credits"),
    403: (ForbiddenError, "does not allow this for the account's plan"),
    404: (NotFoundError, "has no such resource"),
    409: (InvalidInput, "reports a conflict"),
    422: (InvalidInput, "refused the request as invalid"),
    429: (RateLimited, "asked to slow down"),
}

log = logging.getLogger("genmcp.upstream")
ModelT = TypeVar("ModelT", bound=BaseModel)

_NO_LIMIT = contextlib.nullcontext()
_TAGS = re.compile(r"<[^>]{0,2000}>")
_CODE = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.I | re.S)
_NEVER_SENT = (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout)


class _Slots:
    """At most `total` requests in flight to one provider. A free slot is taken without yielding to the event loop
    (anyio's limiter yields on every acquire: one more loop turn for each upstream request)."""

    def __init__(self, total: int) -> None:
        self._limiter = anyio.CapacityLimiter(total)

    async def __aenter__(self) -> None:
        try:
            self._limiter.acquire_nowait()
        except anyio.WouldBlock:
            await self._limiter.acquire()

    async def __aexit__(self, *exc_info: object) -> None:
        self._limiter.release()

    def statistics(self) -> anyio.CapacityLimiterStatistics:
        return self._limiter.statistics()


def retry_after_seconds(response: httpx2.Response, *, now: float | None = None) -> float | None:
    """The `Retry-After` header in seconds (it may be a number or an HTTP date), or None."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def excerpt(response: httpx2.Response, limit: int = 160) -> str:
    """A short, single-line excerpt of a response body for error messages (markup stripped)."""
    text = _TAGS.sub(" ", _CODE.sub(" ", response.text[:20_000]))
    text = " ".join(text.split())
    return text[:limit] + ("…" if len(text) > limit else "") if text else "(empty body)"


class UpstreamClient:
    """A provider's HTTP client with genmcp's deadlines, retries, logging and parsing.

    Args:
        provider: The provider's display name, for messages.
        http: The long-lived client (base URL and auth headers set); closed by whoever created it.
    """

    def __init__(
        self,
        *,
        provider: str,
        http: httpx2.AsyncClient,
        settings: UpstreamSettings,
        clock: Clock,
        redactor: Redactor,
        rng: random.Random | None = None,
        name: str = "",
        auth_headers: Callable[[str], Mapping[str, str]] | None = None,
        breaker: CircuitBreaker | None = None,
        concurrency: int = 32,
    ) -> None:
        self.provider = provider
        self.name = name
        self.auth_headers = auth_headers
        self.breaker = breaker or CircuitBreaker(provider=provider, threshold=0, cooldown=1, now=clock.now)
        self._slots = _Slots(concurrency)
        self.http = http
        self.settings = settings
        self.clock = clock
        self.redact = redactor
        self.backoff = Backoff(base=settings.backoff_base, cap=settings.backoff_max, rng=rng or random.Random())

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        files: Any = None,
        params: Mapping[str, Any] | None = None,
        idempotent: bool | None = None,
        deadline: float | None = None,
        read_timeout: float | None = None,
        on_send: Callable[[], None] | None = None,
    ) -> httpx2.Response:
        """Send a request, retrying as the policy allows; return the final response whatever its status.

        Args:
            idempotent: Defaults to True for GET/HEAD/OPTIONS/DELETE, False otherwise.
            deadline: Monotonic time (on `clock`) after which no new attempt starts.
            read_timeout: Overrides the configured read timeout (a server-side long-poll holds longer).
            on_send: Called before the request is sent (`OperationContext.sending` for a paid request).

        Raises:
            SubmitUnknown: a non-idempotent request was sent but its answer was lost.
            UpstreamError: the provider could not be reached.
            DeadlineExceeded: the deadline passed before an answer.
        """
        safe = idempotent if idempotent is not None else method.upper() in {"GET", "HEAD", "OPTIONS", "DELETE"}
        timeout = httpx2.Timeout(
            connect=self.settings.connect_timeout,
            read=read_timeout or self.settings.read_timeout,
            write=self.settings.read_timeout,
            pool=self.settings.connect_timeout,
        )
        if on_send is not None:
            on_send()
        client_key = CLIENT_KEYS.get().get(self.name)
        headers = dict(self.auth_headers(client_key)) if client_key and self.auth_headers else None
        attempt = 0
        while True:
            started = time.perf_counter()
            try:
                # A held long-poll waits on the provider, not on us: it does not take a concurrency slot.
                async with self._slots if read_timeout is None else _NO_LIMIT:
                    response = await self.http.request(
                        method, path, json=json, data=data, files=files, params=params, timeout=timeout, headers=headers
                    )
            except _NEVER_SENT as exc:
                self.breaker.record(False)
                failure: Exception = exc
                reason = f"could not connect to {self.provider} ({type(exc).__name__})"
                retry = True
            except httpx2.TransportError as exc:
                self.breaker.record(False)
                if not safe:
                    log.warning("%s %s: answer lost after sending (%s)", method, strip_query(path), type(exc).__name__)
                    raise SubmitUnknown(
                        f"The request reached {self.provider} but its answer was lost ({type(exc).__name__}). "
                        "It was not sent again, so it may or may not have started. "
                        "Check `jobs` or the provider's dashboard before trying again.",
                        charged=None,
                    ) from exc
                failure, reason, retry = exc, f"{self.provider} did not answer ({type(exc).__name__})", True
            else:
                self.breaker.record(response.status_code < 500)
                if log.isEnabledFor(logging.DEBUG):
                    log.debug(
                        "%s %s -> %s in %.0f ms",
                        method,
                        strip_query(path),
                        response.status_code,
                        (time.perf_counter() - started) * 1000,
                    )
                wait = retry_after_seconds(response)
                transient = response.status_code == 429 or (safe and response.status_code >= 500)
                if not transient or attempt >= self.settings.max_retries:
                    return response
                delay = self.backoff.delay(attempt, retry_after=wait)
                if deadline is not None and self.clock.now() + delay > deadline:
                    return response
                log.info("%s %s -> %s; retrying in %.1f s", method, strip_query(path), response.status_code, delay)
                await self.clock.sleep(delay)
                attempt += 1
                continue
            if not retry or attempt >= self.settings.max_retries:
                raise UpstreamError(f"{reason}.") from failure
            delay = self.backoff.delay(attempt)
            if deadline is not None and self.clock.now() + delay > deadline:
                raise DeadlineExceeded(f"{reason}; gave up at the deadline.") from failure
            await self.clock.sleep(delay)
            attempt += 1

    def parse(self, response: httpx2.Response, model: type[ModelT], *, accepted: bool = False) -> ModelT:
        """Validate a JSON response against the adapter's model; drift becomes a clear typed error.

        Args:
            accepted: The response answers a paid request the provider accepted; an unreadable answer then means
                a job we cannot track, reported as `SubmitUnknown`.
        """
        try:
            return model.model_validate_json(response.content)
        except ValidationError as exc:
            fields = ", ".join(sorted({".".join(map(str, e["loc"])) or "(body)" for e in exc.errors()}))
            message = (
                f"{self.provider} answered HTTP {response.status_code} with a body genmcp cannot read "
                f"(problem at: {fields}): {self.redact(excerpt(response))}"
            )
            if accepted:
                raise SubmitUnknown(message + ". The job may have started and been charged.", charged=None) from exc
            raise UpstreamError(message) from exc

    def error_for_status(self, response: httpx2.Response, *, detail: str = "", spend: bool = False) -> GenmcpError:
        """The typed error for a failed response, when the adapter has nothing more specific.

        Args:
            detail: The provider's own message, if its error body had one.
            spend: The request was a paid one: after a 5xx it may or may not have been charged.
        """
        status = response.status_code
        said = self.redact(detail or excerpt(response))
        kind, meaning = _STATUS_ERRORS.get(status, (UpstreamError, "failed"))
        if status >= 500:
            return UpstreamError(f"{self.provider} failed (HTTP {status}): {said}", charged=None if spend else False)
        return kind(
            f"{self.provider} {meaning} (HTTP {status}): {said}",
            retry_after=retry_after_seconds(response) if status == 429 else None,
        )
