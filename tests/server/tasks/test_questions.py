"""Questions: a task whose work asks the person following it (`input_required`, answered with tasks/update), and a
tool call that asks before it starts (an input-required round on 2026-07-28, an elicitation on 2025-11-25)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client

from providers import PROVIDERS
from server.app import Runtime
from server.config import load_settings
from tests.clients.conformance_tasks import Fixtures, FixturesSimulator
from tests.harness.clock import FakeClock
from tests.harness.settings import settings_data
from tests.harness.tasks_client import CreatedTask, TasksClient

pytestmark = pytest.mark.anyio

ACCEPT = {"action": "accept", "content": {"confirm": True, "name": "Ada"}}


@pytest.fixture
def fixtures_sim(clock: FakeClock) -> FixturesSimulator:
    return FixturesSimulator(clock.now)


@pytest.fixture
async def runtime(tmp_path: Path, clock: FakeClock, fixtures_sim: FixturesSimulator) -> AsyncIterator[Runtime]:
    data = settings_data(tmp_path, providers={"fixtures": {"api_key": "k-fixtures", "base_url": "https://fx.test/v1"}})
    settings = load_settings(None, env={}, provider_names=[*PROVIDERS.names, Fixtures.name], overrides=data)
    transports = {"fixtures": httpx2.ASGITransport(app=fixtures_sim.app)}
    async with Runtime(settings, [*PROVIDERS, Fixtures], clock=clock, transports=transports) as started:
        yield started


async def _task(client: Client, name: str, arguments: dict[str, Any]) -> CreatedTask:
    created = await client.session.call_tool(name, arguments, allow_claimed=True)
    assert isinstance(created, CreatedTask), created
    return created


async def test_a_task_that_asks_is_input_required_until_answered(runtime: Runtime, clock: FakeClock) -> None:
    tasks = TasksClient(sleep=clock.sleep)
    async with Client(runtime.mcp, extensions=[tasks]) as client:
        created = await _task(client, "fixtures_confirm_delete", {"filename": "draft.txt"})
        asking = await tasks.get(client.session, created.task_id)
        ignored = await tasks.update(client.session, created.task_id, {"not-asked": {"action": "accept"}})
        still = await tasks.get(client.session, created.task_id)
        ack = await tasks.update(client.session, created.task_id, {"confirm": ACCEPT})
        done = await tasks.follow(client.session, created.task_id, None)

    assert asking.status == "input_required"
    assert asking.input_requests is not None
    assert asking.input_requests["confirm"]["method"] == "elicitation/create"
    assert asking.input_requests["confirm"]["params"]["message"] == "Delete draft.txt?"
    assert ignored.fields() == ack.fields() == {"resultType": "complete"}
    assert still.status == "input_required"
    assert done.status == "completed"
    assert done.result is not None
    assert "Deleted draft.txt." in done.result["structuredContent"]["text"]


async def test_answers_can_come_one_at_a_time(runtime: Runtime, clock: FakeClock) -> None:
    tasks = TasksClient(sleep=clock.sleep)
    async with Client(runtime.mcp, extensions=[tasks]) as client:
        created = await _task(client, "fixtures_multi_input", {})
        both = await tasks.get(client.session, created.task_id)
        await tasks.update(client.session, created.task_id, {"first": ACCEPT})
        one = await tasks.get(client.session, created.task_id)
        await tasks.update(client.session, created.task_id, {"second": {"action": "accept", "content": {"name": "Bo"}}})
        done = await tasks.follow(client.session, created.task_id, None)

    assert set(both.input_requests or {}) == {"first", "second"}
    assert one.status == "input_required"
    assert set(one.input_requests or {}) == {"second"}
    assert done.result is not None
    assert done.result["structuredContent"]["text"] == "Answers: Ada, Bo"


async def test_a_task_cancelled_while_it_asks_spent_nothing(
    runtime: Runtime, clock: FakeClock, fixtures_sim: FixturesSimulator
) -> None:
    tasks = TasksClient(sleep=clock.sleep)
    async with Client(runtime.mcp, extensions=[tasks]) as client:
        created = await _task(client, "fixtures_confirm_delete", {})
        await tasks.get(client.session, created.task_id)
        await tasks.cancel(client.session, created.task_id)
        cancelled = await tasks.get(client.session, created.task_id)

    record = await runtime.store.get(created.task_id)
    assert cancelled.status == "cancelled"
    assert record is not None
    assert record.credits is not None
    assert record.credits.charged == 0
    assert record.input_requests == {}
    assert fixtures_sim.requests == 0


async def test_an_answer_that_is_not_what_was_asked_is_invalid_params(runtime: Runtime, clock: FakeClock) -> None:
    from mcp.shared.exceptions import MCPError

    tasks = TasksClient(sleep=clock.sleep)
    async with Client(runtime.mcp, extensions=[tasks]) as client:
        created = await _task(client, "fixtures_confirm_delete", {})
        await tasks.get(client.session, created.task_id)
        with pytest.raises(MCPError) as refused:
            await tasks.update(client.session, created.task_id, {"confirm": {"action": "maybe"}})
        still = await tasks.get(client.session, created.task_id)

    assert refused.value.code == -32602
    assert still.status == "input_required"


async def test_a_call_that_asks_without_a_task_client_is_refused_before_sending(
    runtime: Runtime, fixtures_sim: FixturesSimulator
) -> None:
    async with Client(runtime.mcp) as plain:
        result = await plain.call_tool("fixtures_confirm_delete", {"filename": "x"})

    assert result.is_error
    assert "follows it as an MCP task" in str(result.structured_content)
    assert fixtures_sim.requests == 0
