"""The upstream retry policy: reads retry, paid requests are sent once unless they provably never arrived."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable

import httpx2
import pytest

from server.config import UpstreamSettings
from server.errors import SubmitUnknown, UpstreamError
from server.redaction import Redactor
from server.upstream import UpstreamClient, excerpt, retry_after_seconds
from tests.harness.clock import FakeClock

pytestmark = pytest.mark.anyio

Handler = Callable[[httpx2.Request], httpx2.Response]


def _client(handler: Handler, clock: FakeClock, retries: int = 3) -> UpstreamClient:
    http = httpx2.AsyncClient(transport=httpx2.MockTransport(handler), base_url="https://api.test/v1")
    return UpstreamClient(
        provider="Test",
        http=http,
        settings=UpstreamSettings(max_retries=retries, backoff_base=1, backoff_max=4),
        clock=clock,
        redactor=Redactor(),
    )


def _sequence(*outcomes: int | type[Exception]) -> tuple[Handler, list[httpx2.Request]]:
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        outcome = outcomes[min(len(seen), len(outcomes)) - 1]
        if isinstance(outcome, int):
            return httpx2.Response(outcome, json={"n": len(seen)})
        raise outcome("boom", request=request)  # type: ignore[call-arg]

    return handler, seen


async def test_reads_retry_5xx_with_capped_jittered_backoff(clock: FakeClock) -> None:
    handler, seen = _sequence(500, 502, 503, 200)
    response = await _client(handler, clock).request("GET", "thing")
    assert response.status_code == 200
    assert len(seen) == 4
    assert len(clock.sleeps) == 3
    assert all(ceiling / 2 <= s <= ceiling for s, ceiling in zip(clock.sleeps, [1, 2, 4], strict=True))


async def test_reads_give_up_after_max_retries_and_return_the_last_answer(clock: FakeClock) -> None:
    handler, seen = _sequence(503)
    response = await _client(handler, clock, retries=2).request("GET", "thing")
    assert response.status_code == 503
    assert len(seen) == 3


async def test_a_paid_post_is_not_retried_after_a_5xx(clock: FakeClock) -> None:
    handler, seen = _sequence(500, 200)
    response = await _client(handler, clock).request("POST", "generate", json={})
    assert response.status_code == 500
    assert len(seen) == 1


async def test_a_paid_post_is_retried_after_a_429_that_rejected_it(clock: FakeClock) -> None:
    handler, seen = _sequence(429, 200)
    response = await _client(handler, clock).request("POST", "generate", json={})
    assert response.status_code == 200
    assert len(seen) == 2


async def test_a_paid_post_is_retried_when_it_never_connected(clock: FakeClock) -> None:
    handler, seen = _sequence(httpx2.ConnectError, 200)
    response = await _client(handler, clock).request("POST", "generate", json={})
    assert response.status_code == 200
    assert len(seen) == 2


@pytest.mark.parametrize("lost", [httpx2.ReadTimeout, httpx2.RemoteProtocolError, httpx2.ReadError])
async def test_a_paid_post_whose_answer_was_lost_is_sent_once(clock: FakeClock, lost: type[Exception]) -> None:
    handler, seen = _sequence(lost, 200)
    with pytest.raises(SubmitUnknown) as caught:
        await _client(handler, clock).request("POST", "generate", json={})
    assert len(seen) == 1
    assert caught.value.charged is None


async def test_a_read_whose_answer_was_lost_is_retried(clock: FakeClock) -> None:
    handler, seen = _sequence(httpx2.ReadTimeout, 200)
    response = await _client(handler, clock).request("GET", "task/1")
    assert response.status_code == 200
    assert len(seen) == 2


async def test_an_unreachable_provider_is_an_upstream_error_that_spent_nothing(clock: FakeClock) -> None:
    handler, seen = _sequence(httpx2.ConnectError)
    with pytest.raises(UpstreamError) as caught:
        await _client(handler, clock, retries=1).request("POST", "generate", json={})
    assert len(seen) == 2
    assert caught.value.charged is False
    assert caught.value.retryable


async def test_no_retry_starts_past_the_deadline(clock: FakeClock) -> None:
    handler, seen = _sequence(503)
    response = await _client(handler, clock).request("GET", "x", deadline=clock.now() + 0.1)
    assert response.status_code == 503
    assert len(seen) == 1


def test_retry_after_is_read_as_seconds_or_http_date() -> None:
    request = httpx2.Request("GET", "https://api.test/")
    seconds = httpx2.Response(429, headers={"Retry-After": "12"}, request=request)
    now = time.time()
    date = httpx2.Response(429, headers={"Retry-After": email.utils.formatdate(now + 30, usegmt=True)}, request=request)
    garbage = httpx2.Response(429, headers={"Retry-After": "soon"}, request=request)
    assert retry_after_seconds(seconds) == 12
    assert 28 <= (retry_after_seconds(date, now=now) or 0) <= 30
    assert retry_after_seconds(garbage) is None


def test_excerpts_strip_markup_and_are_short() -> None:
    request = httpx2.Request("GET", "https://api.test/")
    page = httpx2.Response(502, text="<html><head><title>502</title></head><body>" + "x" * 500, request=request)
    text = excerpt(page)
    assert "<" not in text
    assert len(text) <= 161
