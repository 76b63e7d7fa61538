"""The generic tool path: every operation becomes a tool with schemas, annotations and a model-ready description."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest
from mcp import Client

from providers import PROVIDERS
from providers.conceptviz.simulator import ConceptVizSimulator
from server.app import Runtime
from tests.conftest import make_settings
from tests.harness.clock import FakeClock

pytestmark = pytest.mark.anyio


async def test_operations_become_tools_with_schemas_and_annotations(runtime: Runtime) -> None:
    async with Client(runtime.mcp) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}

    assert set(tools) == {"conceptviz_generate", "conceptviz_edit", "poll", "jobs", "credits", "save"}
    generate = tools["conceptviz_generate"]
    assert generate.annotations is not None
    assert (generate.annotations.read_only_hint, generate.annotations.idempotent_hint) == (False, False)
    assert generate.annotations.open_world_hint is True
    assert generate.input_schema["additionalProperties"] is False
    assert generate.input_schema["properties"]["wait"]["maximum"] == 55
    assert generate.input_schema["properties"]["prompts"]["anyOf"][0]["maxItems"] == 4
    assert generate.output_schema is not None
    assert "status" in generate.output_schema["properties"]
    description = generate.description or ""
    assert "Cost: 2 credits per image" in description
    assert "Time: typically 30–90 s" in description
    assert "poll" in description
    for name in ("poll", "jobs", "credits"):
        hints = tools[name].annotations
        assert hints is not None
        assert hints.read_only_hint is True
        assert tools[name].output_schema is not None


async def test_excluded_tools_are_neither_listed_nor_callable(
    tmp_path: Path, clock: FakeClock, simulator: ConceptVizSimulator
) -> None:
    settings = make_settings(tmp_path, providers={"conceptviz": {"exclude_tools": ["edit"]}})
    transport = httpx2.ASGITransport(app=simulator.app)
    async with (
        Runtime(settings, PROVIDERS, clock=clock, transports={"conceptviz": transport}) as runtime,
        Client(runtime.mcp) as client,
    ):
        names = {tool.name for tool in (await client.list_tools()).tools}
        result = await client.call_tool("conceptviz_edit", {"prompt": "p", "images": ["https://a.example/x"]})
    assert "conceptviz_edit" not in names
    assert "conceptviz_generate" in names
    assert result.is_error
    assert simulator.requests.total == 0


async def test_a_disabled_provider_serves_no_tools_and_cannot_be_polled(
    tmp_path: Path, clock: FakeClock, simulator: ConceptVizSimulator
) -> None:
    settings = make_settings(tmp_path, providers={"conceptviz": {"enabled": False}})
    transport = httpx2.ASGITransport(app=simulator.app)
    async with (
        Runtime(settings, PROVIDERS, clock=clock, transports={"conceptviz": transport}) as runtime,
        Client(runtime.mcp) as client,
    ):
        names = {tool.name for tool in (await client.list_tools()).tools}
        generate = await client.call_tool("conceptviz_generate", {"prompt": "x"})
        poll = await client.call_tool("poll", {"job": "conceptviz:abc"})
    assert names == {"poll", "jobs", "credits", "save"}
    assert generate.is_error
    assert poll.is_error
    assert simulator.requests.total == 0


async def test_running_results_carry_the_handle_and_when_to_ask_again(runtime: Runtime) -> None:
    async with Client(runtime.mcp) as client:
        result = await client.call_tool("conceptviz_generate", {"prompt": "x", "wait": 0})
        listed = await client.call_tool("jobs", {"status": "running"})

    data = result.structured_content
    assert isinstance(data, dict)
    assert (data["status"], result.is_error, data["error"]) == ("running", False, None)
    assert data["next"] == f'Call poll with job="{data["job"]}" in ~4 s; the job keeps running meanwhile.'
    text = result.content[0]
    assert text.type == "text"
    assert data["job"] in text.text
    jobs = listed.structured_content
    assert isinstance(jobs, dict)
    assert [j["job"] for j in jobs["jobs"]] == [data["job"]]


async def test_progress_notifications_reach_the_client(runtime: Runtime) -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    async with Client(runtime.mcp) as client:
        result = await client.call_tool(
            "conceptviz_generate", {"prompt": "x", "wait": 55}, progress_callback=on_progress
        )
    assert result.structured_content is not None
    assert result.structured_content["status"] == "completed"
    assert len(seen) >= 5
    assert all(message and message.startswith("conceptviz generate") for _, _, message in seen)
