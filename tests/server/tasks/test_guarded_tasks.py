"""A task is a spending call like any other: the budget's caps and confirmation come first — the confirmation as a
2026 input-required round answered before any task exists — and the spend is settled and the `save_to` files are
written when the task's result is read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.context import ClientRequestContext
from mcp_types import ElicitRequestParams, ElicitResult, InputRequiredResult

from providers.kolbo.simulator import KolboSimulator
from server.app import Runtime
from tests.harness.clock import FakeClock
from tests.harness.results import data, error_code, text
from tests.harness.runtime import in_process_runtime
from tests.harness.settings import build_settings
from tests.harness.tasks_client import CreatedTask, TasksClient
from tests.providers.kolbo.support import BASE_URL, KEY

pytestmark = pytest.mark.anyio

VIDEO = "POST /api/v1/generate/video"


class Person:
    """Answers the confirmation form, and remembers what it was shown."""

    def __init__(self, *, accept: bool) -> None:
        self.accept = accept
        self.asked: list[str] = []

    async def __call__(self, context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        self.asked.append(params.message)
        if not self.accept:
            return ElicitResult(action="decline")
        return ElicitResult(action="accept", content={"confirm": True})


@asynccontextmanager
async def guarded_runtime(
    tmp_path: Path, clock: FakeClock, upstream: KolboSimulator, **budget: Any
) -> AsyncIterator[Runtime]:
    settings = build_settings(
        tmp_path,
        providers={"kolbo": {"api_key": KEY, "base_url": BASE_URL}},
        budget=budget,
        outputs={"dirs": [str(tmp_path / "project")]},
    )
    (tmp_path / "project").mkdir()
    async with in_process_runtime(settings, apps={"kolbo": upstream.app}, clock=clock, fetch_app=upstream.app) as rt:
        yield rt


async def test_the_confirmation_comes_before_the_task_and_the_task_settles_its_spend_and_saves(
    tmp_path: Path, clock: FakeClock, upstream: KolboSimulator
) -> None:
    person = Person(accept=True)
    tasks = TasksClient(sleep=clock.sleep)
    arguments = {"prompt": "a lighthouse at dawn", "save_to": "clips/dawn.mp4"}
    async with (
        guarded_runtime(tmp_path, clock, upstream, confirm_above=1, daily_per_caller=1000) as runtime,
        Client(runtime.mcp, extensions=[tasks], elicitation_callback=person) as client,
    ):
        asked = await client.session.call_tool("kolbo_generate_video", arguments, allow_input_required=True)
        assert isinstance(asked, InputRequiredResult), "asked first, before any task"
        assert await runtime.store.list(limit=10) == []
        assert upstream.requests.count(VIDEO) == 0

        result = await client.call_tool("kolbo_generate_video", arguments)
        guard = runtime._assembled().guard
        spent = await runtime.ledger.spent(guard.policy.day().day, "kolbo")

    answer = data(result)
    assert answer["status"] == "completed", text(result)
    assert len(person.asked) == 1  # the round looked at above was left unanswered; the call asked once
    assert "kolbo_generate_video" in person.asked[0]
    assert tasks.log.methods()[0] == "tools/call"
    assert isinstance(CreatedTask.model_validate(tasks.log.entries[0][2]), CreatedTask)
    assert upstream.requests.count(VIDEO) == 1
    assert spent == 25  # what Kolbo reported it cost, not the estimate
    saved = tmp_path / "project" / "clips" / "dawn.mp4"
    assert saved.is_file()
    assert answer["saved"]["status"] == "saved"
    assert [entry["path"] for entry in answer["saved"]["files"]] == [str(saved)]


async def test_a_declined_spend_never_becomes_a_task(
    tmp_path: Path, clock: FakeClock, upstream: KolboSimulator
) -> None:
    person = Person(accept=False)
    tasks = TasksClient(sleep=clock.sleep)
    async with (
        guarded_runtime(tmp_path, clock, upstream, confirm_above=1) as runtime,
        Client(runtime.mcp, extensions=[tasks], elicitation_callback=person) as client,
    ):
        result = await client.call_tool("kolbo_generate_video", {"prompt": "p"})
        records = await runtime.store.list(limit=10)

    assert result.is_error
    assert error_code(result) == "declined"
    assert tasks.log.entries == []
    assert records == []
    assert upstream.requests.count(VIDEO) == 0


async def test_a_spent_cap_refuses_the_task_before_anything_is_sent(
    tmp_path: Path, clock: FakeClock, upstream: KolboSimulator
) -> None:
    tasks = TasksClient(sleep=clock.sleep)
    async with (
        guarded_runtime(tmp_path, clock, upstream, daily_per_caller=25, unknown_estimate="proceed") as runtime,
        Client(runtime.mcp, extensions=[tasks]) as client,
    ):
        first = await client.call_tool("kolbo_generate_video", {"prompt": "p"})
        second = await client.call_tool("kolbo_generate_video", {"prompt": "q"})

    assert data(first)["status"] == "completed", text(first)
    assert error_code(second) == "budget_exceeded"
    assert "has 25 spent today" in text(second), text(second)
    assert upstream.requests.count(VIDEO) == 1
    assert tasks.log.methods().count("tools/call") == 1
