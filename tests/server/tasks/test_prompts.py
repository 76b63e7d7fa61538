"""Workflow prompts (served where their providers are) and completions: prompt argument values, and the caller's
recent files and jobs for the `artifact://` and `job://` templates."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import PromptReference, ResourceTemplateReference, TextContent

from providers import PROVIDERS
from providers.conceptviz.simulator import ConceptVizSimulator
from providers.kolbo.simulator import KolboSimulator
from server.app import Runtime
from server.jobs import JobRecord
from server.tasks.prompts import WORKFLOWS
from tests.conftest import make_settings
from tests.harness.clock import FakeClock
from tests.harness.results import data
from tests.providers.kolbo.support import BASE_URL, KEY

pytestmark = pytest.mark.anyio


@pytest.fixture
async def both(tmp_path: Path, clock: FakeClock, upstream: KolboSimulator, simulator: ConceptVizSimulator) -> Runtime:
    """A runtime serving Kolbo and ConceptViz (not Masko, Univers or Cosmiq)."""
    settings = make_settings(tmp_path, providers={"kolbo": {"api_key": KEY, "base_url": BASE_URL}})
    transports = {
        "kolbo": httpx2.ASGITransport(app=upstream.app),
        "conceptviz": httpx2.ASGITransport(app=simulator.app),
    }
    return Runtime(settings, PROVIDERS, clock=clock, transports=transports)


async def test_workflows_are_served_where_their_providers_are(both: Runtime) -> None:
    kolbo_only = both.server_for(["kolbo"])
    async with both, Client(both.mcp) as everything, Client(kolbo_only) as kolbo:
        served = {prompt.name for prompt in (await everything.list_prompts()).prompts}
        on_kolbo = {prompt.name for prompt in (await kolbo.list_prompts()).prompts}

    assert served == {"idea_to_diagram", "product_video_storyboard"}
    assert on_kolbo == {"product_video_storyboard"}
    assert len(WORKFLOWS) >= 4


async def test_a_workflow_names_the_tools_and_arguments_to_use(both: Runtime) -> None:
    async with both, Client(both.mcp) as client:
        listed = {prompt.name: prompt for prompt in (await client.list_prompts()).prompts}
        prompt = await client.get_prompt("product_video_storyboard", {"product": "a solar lamp", "scenes": "3"})

    arguments = {argument.name: argument.required for argument in listed["product_video_storyboard"].arguments or []}
    assert arguments == {"product": True, "scenes": False, "aspect_ratio": False}
    assert len(prompt.messages) == 1
    content = prompt.messages[0].content
    assert isinstance(content, TextContent)
    for expected in ("kolbo_creative_director(", "scene_count=3", "kolbo_video_from_image(", "a solar lamp", "poll"):
        assert expected in content.text


async def test_workflow_arguments_are_checked(both: Runtime) -> None:
    async with both, Client(both.mcp) as client:
        for arguments, problem in (
            ({}, "needs `product`"),
            ({"product": "x", "scenes": "12"}, "must be one of"),
            ({"product": "x", "colour": "red"}, "not ['colour']"),
        ):
            with pytest.raises(MCPError) as refused:
                await client.get_prompt("product_video_storyboard", arguments)
            assert refused.value.code < 0, problem


async def test_prompt_arguments_complete_from_their_choices(both: Runtime) -> None:
    async with both, Client(both.mcp) as client:
        ratios = await client.complete(
            PromptReference(name="idea_to_diagram"), argument={"name": "aspect_ratio", "value": "1"}
        )
        nothing = await client.complete(PromptReference(name="idea_to_diagram"), argument={"name": "idea", "value": ""})
        unknown = await client.complete(PromptReference(name="no_such"), argument={"name": "x", "value": ""})

    assert ratios.completion.values == ["16:9", "1:1"]
    assert nothing.completion.values == []
    assert unknown.completion.values == []


async def test_job_handles_complete_with_the_callers_recent_jobs(both: Runtime, clock: FakeClock) -> None:
    async with both, Client(both.mcp) as client:
        first = data(await client.call_tool("kolbo_generate_image", {"prompt": "a", "wait": 0}))["job"]
        clock.advance(1)
        second = data(await client.call_tool("conceptviz_generate", {"prompt": "b", "wait": 0}))["job"]
        every = await client.complete(
            ResourceTemplateReference(uri="job://{handle}"), argument={"name": "handle", "value": ""}
        )
        kolbo = await client.complete(
            ResourceTemplateReference(uri="job://{handle}"), argument={"name": "handle", "value": "kol"}
        )
        files = await client.complete(
            ResourceTemplateReference(uri="artifact://{artifact_id}"), argument={"name": "artifact_id", "value": ""}
        )

    assert every.completion.values == [second, first]  # newest first
    assert kolbo.completion.values == [first]
    assert files.completion.values == []  # these results are links, not files genmcp holds
    assert every.completion.has_more is False


async def test_files_complete_with_the_callers_artifacts_still_held(both: Runtime) -> None:
    async with both, Client(both.mcp) as client:
        kept = await both.files.keep(b"%PDF-1.4 page", mime_type="application/pdf", filename="page.pdf")
        record = JobRecord(provider="kolbo", operation="x", status="completed", created_at=1, updated_at=1, assets=kept)
        await both.store.create(record)
        held = kept[0].resource
        assert held is not None
        files = await client.complete(
            ResourceTemplateReference(uri="artifact://{artifact_id}"), argument={"name": "artifact_id", "value": ""}
        )
        pictures = await client.complete(
            PromptReference(name="idea_to_diagram"), argument={"name": "aspect_ratio", "value": "artifact"}
        )

    assert files.completion.values == [held.removeprefix("artifact://")]
    assert pictures.completion.values == []  # a choice argument completes from its choices only
