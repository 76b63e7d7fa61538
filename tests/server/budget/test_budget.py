"""Spend control through a real MCP client: confirmation asked (2025 back channel and 2026 input-required round),
accepted or declined (then nothing goes upstream), the fallback for clients that cannot ask, daily caps per caller
and per provider refused before any upstream request, and the reset at the day boundary on the injectable clock."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.context import ClientRequestContext
from mcp_types import ElicitRequestParams, ElicitResult

from providers.conceptviz.simulator import ConceptVizSimulator
from server.app import Runtime
from tests.conftest import make_settings
from tests.harness.clock import FakeClock
from tests.harness.results import data, error_code, text
from tests.harness.runtime import in_process_runtime
from tests.security.conftest import IN_PROCESS, TOKENS, connect, serving

pytestmark = pytest.mark.anyio

GENERATE = "POST /api/v1/generate"


class Person:
    """An elicitation callback that answers like a person would, and remembers what it was shown."""

    def __init__(self, action: str = "accept", confirm: bool = True) -> None:
        self.action = action
        self.confirm = confirm
        self.asked: list[str] = []

    async def __call__(self, context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        self.asked.append(params.message)
        content: dict[str, str | int | float | bool | list[str] | None] | None = (
            {"confirm": self.confirm} if self.action == "accept" else None
        )
        return ElicitResult(action=self.action, content=content)


@contextlib.asynccontextmanager
async def budget_runtime(
    tmp_path: Path, clock: FakeClock, simulator: ConceptVizSimulator, **budget: Any
) -> AsyncIterator[Runtime]:
    settings = make_settings(tmp_path, budget=budget, auth={"tokens": TOKENS})
    async with in_process_runtime(settings, apps={"conceptviz": simulator.app}, clock=clock) as runtime:
        yield runtime


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_confirmed_call_runs_after_showing_the_estimate_and_the_balance(
    tmp_path: Path, clock: FakeClock, simulator: ConceptVizSimulator, mode: str
) -> None:
    person = Person()
    async with (
        budget_runtime(tmp_path, clock, simulator, confirm_above=1) as runtime,
        Client(runtime.mcp, mode=mode, elicitation_callback=person) as client,
    ):
        await runtime.store.record_balance("conceptviz", 98, clock.wall())
        result = await client.call_tool("conceptviz_generate", {"prompt": "x", "wait": 55})
    assert data(result)["status"] == "completed", text(result)
    assert len(person.asked) == 1
    assert "Run conceptviz_generate? Estimated cost: 2 ConceptViz credits. Balance: 98 credits." in person.asked[0]
    assert simulator.requests.count(GENERATE) == 1


@pytest.mark.parametrize("mode", ["auto", "legacy"])
@pytest.mark.parametrize(("action", "confirm"), [("decline", True), ("cancel", True), ("accept", False)])
async def test_a_declined_call_sends_nothing_upstream_and_says_so(
    tmp_path: Path, clock: FakeClock, simulator: ConceptVizSimulator, mode: str, action: str, confirm: bool
) -> None:
    person = Person(action, confirm)
    async with (
        budget_runtime(tmp_path, clock, simulator, confirm_above=1) as runtime,
        Client(runtime.mcp, mode=mode, elicitation_callback=person) as client,
    ):
        result = await client.call_tool("conceptviz_generate", {"prompts": ["a", "b"]})
        jobs = await client.call_tool("jobs", {})
    assert result.is_error
    assert error_code(result) == "declined"
    assert "You declined conceptviz_generate: nothing was sent to ConceptViz and no credits were spent." in text(result)
    assert "Estimated cost: 4 ConceptViz credits" in person.asked[0]
    assert simulator.requests.total == 0
    assert data(jobs)["jobs"] == []


async def test_calls_under_the_threshold_and_free_tools_are_not_confirmed(
    tmp_path: Path, clock: FakeClock, simulator: ConceptVizSimulator
) -> None:
    person = Person()
    async with (
        budget_runtime(tmp_path, clock, simulator, confirm_above=2) as runtime,
        Client(runtime.mcp, elicitation_callback=person) as client,
    ):
        cheap = await client.call_tool("conceptviz_generate", {"prompt": "x", "wait": 0})
        await client.call_tool("poll", {"job": data(cheap)["job"], "wait": 0})
        await client.call_tool("credits", {})
    assert person.asked == []
    assert data(cheap)["status"] == "running"


@pytest.mark.parametrize(("fallback", "sent"), [("refuse", 0), ("proceed", 1)])
async def test_a_client_that_cannot_be_asked_gets_the_operators_fallback(
    tmp_path: Path, clock: FakeClock, simulator: ConceptVizSimulator, fallback: str, sent: int
) -> None:
    async with (
        budget_runtime(tmp_path, clock, simulator, confirm_above=1, confirm_fallback=fallback) as runtime,
        Client(runtime.mcp) as client,
    ):
        result = await client.call_tool("conceptviz_generate", {"prompt": "x", "wait": 0})
    assert simulator.requests.count(GENERATE) == sent
    if fallback == "refuse":
        assert error_code(result) == "confirmation_required"
        assert "cannot ask you" in text(result)
        assert "budget.confirm_fallback" in text(result)
    else:
        assert data(result)["status"] == "running"


async def test_an_unknown_estimate_asks_unless_the_operator_says_proceed(
    tmp_path: Path, clock: FakeClock, simulator: ConceptVizSimulator
) -> None:
    async with budget_runtime(tmp_path, clock, simulator, confirm_above=1) as runtime:
        guard = runtime.assembly.guard
        provider = runtime.providers["conceptviz"]
        asked = await guard.question(provider, "conceptviz_generate", None)
        guard.policy.settings = guard.policy.settings.model_copy(update={"unknown_estimate": "proceed"})
        silent = await guard.question(provider, "conceptviz_generate", None)
    assert asked is not None
    assert "cannot be estimated from its arguments" in asked
    assert silent is None


async def call_as(app: Any, who: str, arguments: dict[str, Any]) -> Any:
    headers = {"Authorization": f"Bearer {TOKENS[who]}"}
    async with connect(f"{IN_PROCESS}/mcp", headers, transport=_transport(app)) as client:
        return await client.call_tool("conceptviz_generate", arguments)


def _transport(app: Any) -> Any:
    import httpx2

    return httpx2.ASGITransport(app=app)


async def test_a_per_caller_cap_refuses_before_any_request_and_resets_at_midnight(
    tmp_path: Path, clock: FakeClock, simulator: ConceptVizSimulator
) -> None:
    async with budget_runtime(tmp_path, clock, simulator, daily_per_caller=3) as runtime, serving(runtime) as app:
        first = await call_as(app, "alice", {"prompt": "x", "wait": 0})
        refused = await call_as(app, "alice", {"prompt": "x", "wait": 0})
        other = await call_as(app, "bob", {"prompt": "x", "wait": 0})
        assert data(first)["status"] == "running"
        assert error_code(refused) == "budget_exceeded"
        message = text(refused)
        assert "estimated at 2 credits" in message
        assert "your daily conceptviz cap of 3 credits (budget.daily_per_caller) has 2 spent today" in message
        assert "It resets at 2023-11-15T00:00+00:00" in message
        assert data(refused)["error"]["retry_after"] == 5400
        assert data(other)["status"] == "running"
        assert simulator.requests.count(GENERATE) == 2

        clock.advance(5400)  # to midnight UTC: a new budget day
        again = await call_as(app, "alice", {"prompt": "x", "wait": 0})
    assert data(again)["status"] == "running"
    assert simulator.requests.count(GENERATE) == 3


async def test_a_provider_cap_counts_every_caller_together(
    tmp_path: Path, clock: FakeClock, simulator: ConceptVizSimulator
) -> None:
    async with (
        budget_runtime(tmp_path, clock, simulator, providers={"conceptviz": {"daily": 5}}) as runtime,
        serving(runtime) as app,
    ):
        alice = await call_as(app, "alice", {"prompt": "a", "wait": 0})
        bob = await call_as(app, "bob", {"prompt": "b", "wait": 0})
        refused = await call_as(app, "alice", {"prompt": "c", "wait": 0})
    assert (data(alice)["status"], data(bob)["status"]) == ("running", "running")
    assert error_code(refused) == "budget_exceeded", text(refused)
    message = text(refused)
    assert "the shared daily conceptviz cap of 5 credits (budget.providers.conceptviz.daily) has 4 spent" in message
    assert simulator.requests.count(GENERATE) == 2


async def test_credits_shows_todays_spend_against_each_cap(
    tmp_path: Path, clock: FakeClock, simulator: ConceptVizSimulator
) -> None:
    async with (
        budget_runtime(
            tmp_path, clock, simulator, daily_per_caller=10, confirm_above=50, providers={"conceptviz": {"daily": 40}}
        ) as runtime,
        serving(runtime) as app,
    ):
        await call_as(app, "alice", {"prompts": ["a", "b", "c"], "wait": 0})
        await call_as(app, "bob", {"prompt": "x", "wait": 0})
        bob = {"Authorization": f"Bearer {TOKENS['bob']}"}
        async with connect(f"{IN_PROCESS}/mcp", bob, transport=_transport(app)) as client:
            credits = await client.call_tool("credits", {})
    [spend] = data(credits)["spend"]
    assert spend == {
        "provider": "conceptviz",
        "day": "2023-11-14",
        "spent": 8.0,
        "cap": 40.0,
        "yours": 2.0,
        "your_cap": 10.0,
        "confirm_above": 50.0,
        "resets_at": "2023-11-15T00:00:00+00:00",
    }
    assert "conceptviz budget: 8 spent today of a 40 cap, yours 2 of 10, asks above 50" in text(credits)


async def test_credits_lists_spend_only_where_there_is_something_to_show(
    tmp_path: Path, clock: FakeClock, simulator: ConceptVizSimulator
) -> None:
    async with budget_runtime(tmp_path, clock, simulator) as runtime, Client(runtime.mcp) as client:
        before = data(await client.call_tool("credits", {}))
        await client.call_tool("conceptviz_generate", {"prompt": "x", "wait": 0})
        after = data(await client.call_tool("credits", {}))
    assert before["spend"] == []
    shown = [(entry["provider"], entry["spent"], entry["cap"]) for entry in after["spend"]]
    assert shown == [("conceptviz", 2.0, None)]
