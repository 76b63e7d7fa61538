"""Cancelling Kolbo jobs: the answer carries the refund facts Kolbo gives (whether credits came back, and how many),
whether it refunds, keeps the credits, or does not say; a job that already finished is not cancelled."""

from __future__ import annotations

import pytest
from mcp import Client

from providers.kolbo.simulator import KolboSimulator
from server.app import Runtime
from tests.harness.clock import FakeClock
from tests.harness.results import data, text
from tests.providers.kolbo.support import KEY, job_id

pytestmark = pytest.mark.anyio


async def _running_video(client: Client) -> str:
    """Start a 25-credit video (5 s at 5 credits/s) and return its handle while it runs."""
    started = data(await client.call_tool("kolbo_generate_video", {"prompt": "p", "wait": 0}))
    assert started["status"] == "running"
    handle: str = started["job"]
    return handle


async def test_cancelling_a_running_job_shows_the_refund(client: Client, upstream: KolboSimulator) -> None:
    handle = await _running_video(client)
    assert upstream.accounts[KEY].plan_credits == 975

    result = await client.call_tool("cancel", {"job": handle})

    answer = data(result)
    assert answer["status"] == "cancelled"
    assert answer["error"] is None
    assert answer["credits"]["charged"] == 25
    assert answer["credits"]["refunded"] is True
    assert answer["credits"]["refunded_amount"] == 25
    assert answer["details"]["credits_refunded"] == 25
    assert "25 credits refunded" in text(result)
    assert upstream.accounts[KEY].plan_credits == 1000
    assert upstream.requests.count(f"POST /api/v1/generate/{job_id(handle)}/cancel") == 1


async def test_the_cancel_hook_reports_the_refunded_amount(
    client: Client, runtime: Runtime, upstream: KolboSimulator
) -> None:
    handle = await _running_video(client)

    update = await runtime.providers["kolbo"].cancel(job_id(handle), {})

    assert update.state == "cancelled"
    assert update.credits is not None
    assert update.credits.refunded is True
    assert update.credits.refunded_amount == 25
    assert update.details == {"credits_refunded": 25}


async def test_a_cancel_without_a_refund_says_nothing_was_given_back(
    client: Client, runtime: Runtime, upstream: KolboSimulator
) -> None:
    upstream.refund_on_cancel = False
    handle = await _running_video(client)

    update = await runtime.providers["kolbo"].cancel(job_id(handle), {})

    assert update.state == "cancelled"
    assert update.credits is not None
    assert update.credits.refunded is False
    assert update.credits.refunded_amount == 0
    assert update.details == {"credits_refunded": 0}
    assert upstream.accounts[KEY].plan_credits == 975


async def test_a_cancelled_job_that_kept_its_credits_is_shown_as_charged(
    client: Client, upstream: KolboSimulator
) -> None:
    upstream.refund_on_cancel = False
    handle = await _running_video(client)

    result = await client.call_tool("cancel", {"job": handle})

    answer = data(result)
    assert answer["status"] == "cancelled"
    assert answer["credits"]["charged"] == 25
    assert answer["credits"]["refunded"] is False
    assert answer["credits"]["refunded_amount"] == 0
    assert "no refund" in text(result)
    assert upstream.accounts[KEY].plan_credits == 975


async def test_a_cancel_answer_that_does_not_mention_credits_claims_no_refund(
    client: Client, runtime: Runtime, upstream: KolboSimulator
) -> None:
    handle = await _running_video(client)
    path = f"/api/v1/generate/{job_id(handle)}/cancel"
    upstream.faults.add("POST", path, status=200, body={"success": True, "state": "cancelled"}, after_handling=True)

    update = await runtime.providers["kolbo"].cancel(job_id(handle), {})

    assert update.state == "cancelled"
    assert update.credits is not None
    assert update.credits.refunded is False
    assert update.credits.refunded_amount is None
    assert update.details == {}


async def test_cancelling_a_job_that_already_finished_says_so(
    client: Client, upstream: KolboSimulator, clock: FakeClock
) -> None:
    started = data(await client.call_tool("kolbo_generate_image", {"prompt": "p", "wait": 0}))
    clock.advance(20)

    result = await client.call_tool("cancel", {"job": started["job"]})

    error = data(result)["error"]
    assert result.is_error
    assert error["code"] == "already_finished"
    assert "already finished (completed)" in error["message"]
    assert data(await client.call_tool("poll", {"job": started["job"]}))["status"] == "completed"
