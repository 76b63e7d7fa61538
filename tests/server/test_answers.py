"""Answers that match what happened: a cancel that worked is not an error, a spending call always says what it cost
(or that nobody said), and a tool that cannot spend never says credits may have been charged."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest
from mcp import Client

from providers import PROVIDERS
from providers.conceptviz.simulator import ConceptVizSimulator
from providers.kolbo.simulator import KolboAccount, KolboSimulator
from server.app import Runtime
from server.errors import UpstreamError
from server.jobs import JobRecord
from server.results import ErrorInfo, render
from server.views import job_result
from tests.harness.clock import FakeClock
from tests.harness.results import data, text
from tests.harness.runtime import in_process_runtime
from tests.harness.settings import build_settings

pytestmark = pytest.mark.anyio

KOLBO_KEY = "kolbo_live_" + "c" * 40


@pytest.fixture
def kolbo(clock: FakeClock) -> KolboSimulator:
    return KolboSimulator(
        accounts={KOLBO_KEY: KolboAccount(plan_credits=1000)}, job_seconds=8, now=clock.now, public_url="https://cdn.k"
    )


@pytest.fixture
async def client(tmp_path: Path, clock: FakeClock, kolbo: KolboSimulator) -> AsyncIterator[Client]:
    settings = build_settings(
        tmp_path, providers={"kolbo": {"api_key": KOLBO_KEY, "base_url": "https://api.kolbo.test/api"}}
    )
    async with (
        in_process_runtime(settings, apps={"kolbo": kolbo.app}, clock=clock) as runtime,
        Client(runtime.mcp) as connected,
    ):
        yield connected


async def _running_video(client: Client) -> str:
    started = data(await client.call_tool("kolbo_generate_video", {"prompt": "a fox", "wait": 0}))
    assert started["status"] == "running"
    handle: str = started["job"]
    return handle


async def test_a_successful_cancel_is_not_an_error_and_says_what_was_refunded(
    client: Client, kolbo: KolboSimulator
) -> None:
    handle = await _running_video(client)

    result = await client.call_tool("cancel", {"job": handle})

    answer = data(result)
    assert result.is_error is False
    assert answer["status"] == "cancelled"
    assert answer["error"] is None
    assert answer["credits"]["refunded"] is True
    assert answer["credits"]["refunded_amount"] == 25
    assert text(result).startswith(f"Cancelled {handle} — 25 credits refunded.")


async def test_a_cancelled_job_is_answered_from_the_registry(client: Client, kolbo: KolboSimulator) -> None:
    handle = await _running_video(client)
    cancelled = data(await client.call_tool("cancel", {"job": handle}))
    before = kolbo.requests.total

    polled = await client.call_tool("poll", {"job": handle, "wait": 10})

    assert kolbo.requests.total == before
    assert polled.is_error is False
    assert data(polled) == cancelled


async def test_a_cancel_without_a_refund_says_so(client: Client, kolbo: KolboSimulator) -> None:
    kolbo.refund_on_cancel = False
    handle = await _running_video(client)

    result = await client.call_tool("cancel", {"job": handle})

    answer = data(result)
    assert result.is_error is False
    assert answer["status"] == "cancelled"
    assert answer["credits"]["refunded"] is False
    assert answer["credits"]["charged"] == 25
    assert "no refund" in text(result).splitlines()[0]
    assert "25 credits charged" in text(result).splitlines()[0]


async def test_the_cancel_tool_documents_the_cancelled_status(client: Client) -> None:
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    cancel = tools["cancel"]

    assert "status 'cancelled'" in (cancel.description or "")
    assert cancel.output_schema is not None
    statuses = cancel.output_schema["properties"]["status"]["enum"]
    assert "cancelled" in statuses


async def test_a_spending_result_carries_credits_even_when_nothing_was_reported(
    tmp_path: Path, clock: FakeClock, simulator: ConceptVizSimulator
) -> None:
    # ConceptViz's submit answer without its credit fields: nobody said what the call cost.
    simulator.faults.add(
        "POST", "/api/v1/generate", status=200, body={"taskId": "t-quiet", "status": "pending"}, after_handling=False
    )
    settings = build_settings(
        tmp_path, providers={"conceptviz": {"api_key": "cvk_test_key_0123456789", "base_url": "https://c.test/api/v1"}}
    )
    async with (
        in_process_runtime(settings, apps={"conceptviz": simulator.app}, clock=clock) as runtime,
        Client(runtime.mcp) as client,
    ):
        running = await client.call_tool("conceptviz_generate", {"prompt": "x", "wait": 0})

    credits = data(running)["credits"]
    assert credits is not None
    assert credits["remaining"] is None
    assert credits["refunded"] is False


def test_a_spending_job_whose_provider_reported_no_cost_says_it_is_unknown_not_free() -> None:
    job = JobRecord(provider="cosmiq", operation="create", status="completed", created_at=0, updated_at=0)

    result = job_result(job, reports_credits=False)

    assert result.credits is not None
    assert result.credits.model_dump(mode="json") == {
        "charged": None,
        "remaining": None,
        "refunded": False,
        "reported": False,
    }
    assert "cosmiq does not report credit use" in text(render(result))


def test_a_free_read_has_no_credits() -> None:
    job = JobRecord(provider="masko", operation="list", kind="read", status="completed", created_at=0, updated_at=0)

    assert job_result(job).credits is None


def test_an_error_of_a_tool_that_cannot_spend_says_nothing_was_spent() -> None:
    unreadable = UpstreamError("Cosmiq answered something genmcp cannot read.", charged=None)

    spending = ErrorInfo.of(unreadable)
    reading = ErrorInfo.of(unreadable, spending=False)

    assert spending.charged is None
    assert reading.charged is False


async def test_a_failed_read_never_says_credits_may_have_been_charged(
    tmp_path: Path, clock: FakeClock, kolbo: KolboSimulator
) -> None:
    kolbo.faults.add("GET", "/api/v1/models", status=500, body={"message": "boom"}, times=None)
    settings = build_settings(
        tmp_path,
        providers={"kolbo": {"api_key": KOLBO_KEY, "base_url": "https://api.kolbo.test/api"}},
        upstream={"max_retries": 0},
    )
    transport = httpx2.ASGITransport(app=kolbo.app)
    async with (
        Runtime(settings, PROVIDERS, clock=clock, transports={"kolbo": transport}) as runtime,
        Client(runtime.mcp) as client,
    ):
        result = await client.call_tool("kolbo_list_models", {})

    assert result.is_error
    assert data(result)["error"]["charged"] is False
    assert "may have been charged" not in text(result)
    assert "No credits were spent." in text(result)
