"""The Cosmiq operations through genmcp (an MCP client of Cosmiq's MCP server): the tools they become, what each
sends upstream and answers, refused arguments, upstream errors, and generations that outlive the call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from providers.cosmiq.simulator import CosmiqAccount, CosmiqSimulator
from tests.harness.results import data, text
from tests.providers.cosmiq.support import KEY, PUBLIC, TinyCosmiq, World, genmcp, serve, text_answer

pytestmark = pytest.mark.anyio


async def test_every_operation_is_a_tool_with_the_right_hints(cosmiq: World) -> None:
    tools = {t.name: t for t in (await cosmiq.client.list_tools()).tools if t.name.startswith("cosmiq_")}
    assert set(tools) == {
        "cosmiq_create",
        "cosmiq_campaign",
        "cosmiq_carousel",
        "cosmiq_add_image",
        "cosmiq_image_edit",
        "cosmiq_get_board",
        "cosmiq_update_prompts",
    }
    assert tools["cosmiq_get_board"].annotations
    assert tools["cosmiq_get_board"].annotations.read_only_hint
    assert tools["cosmiq_create"].annotations
    assert tools["cosmiq_create"].annotations.read_only_hint is False
    assert "withVideo" in tools["cosmiq_create"].input_schema["properties"]


async def test_create_with_video_returns_the_board_and_the_video(cosmiq: World) -> None:
    result = await cosmiq.client.call_tool(
        "cosmiq_create", {"prompt": "a red fox", "format": "1:1", "withVideo": True, "space": "Fox Co"}
    )
    answer = data(result)
    assert answer["status"] == "completed"
    assert [a["kind"] for a in answer["assets"]] == ["page", "video"]
    assert answer["details"]["space"] == "Fox Co"
    assert answer["details"]["board"].startswith(f"{PUBLIC}/boards/")
    assert cosmiq.sim.tool_calls[-1] == (
        "cosmiq_create",
        {"prompt": "a red fox", "space": "Fox Co", "format": "1:1", "withVideo": True},
    )
    assert cosmiq.sim.accounts[KEY].credits < 100


async def test_campaign_and_carousel_build_boards_and_spend_only_when_generating(cosmiq: World) -> None:
    concepts = [{"label": "Hero", "prompt": "a bottle on a beach"}, {"prompt": "the bottle in snow"}]
    built = await cosmiq.client.call_tool("cosmiq_campaign", {"brand": "Acme", "concepts": concepts})
    assert data(built)["status"] == "completed"
    assert cosmiq.sim.accounts[KEY].credits == 100

    slides = [{"prompt": "slide one"}, {"prompt": "slide two"}, {"prompt": "slide three"}]
    carousel = await cosmiq.client.call_tool(
        "cosmiq_carousel", {"style_prompt": "pastel, big numbers", "slides": slides, "generate": True}
    )
    assert data(carousel)["status"] == "completed"
    assert cosmiq.sim.accounts[KEY].credits == 100 - 2 * 3


async def test_campaign_sends_each_concepts_references_and_the_shared_ones(cosmiq: World) -> None:
    shared, own = ["https://example.com/shared.png"], ["https://example.com/own.png"]
    concepts = [{"prompt": "one"}, {"label": "Two", "prompt": "two", "reference_image_urls": own}]

    result = await cosmiq.client.call_tool(
        "cosmiq_campaign", {"brand": "Acme", "concepts": concepts, "reference_image_urls": shared}
    )

    assert data(result)["status"] == "completed"
    assert cosmiq.sim.tool_calls[-1] == (
        "cosmiq_campaign",
        {"brand": "Acme", "concepts": concepts, "reference_image_urls": shared, "generate": False},
    )


async def test_update_prompts_and_add_image_and_edit(cosmiq: World) -> None:
    created = data(await cosmiq.client.call_tool("cosmiq_create", {"prompt": "owl"}))
    board = created["details"]["board"]
    node = data(await cosmiq.client.call_tool("cosmiq_get_board", {"board": board}))["details"]["nodes"][0]

    updated = await cosmiq.client.call_tool(
        "cosmiq_update_prompts", {"board": board, "updates": [{"node_id": node["node_id"], "text": "snowy owl"}]}
    )
    added = await cosmiq.client.call_tool("cosmiq_add_image", {"image_urls": ["https://example.com/a.png"]})
    edited = await cosmiq.client.call_tool(
        "cosmiq_image_edit",
        {"edit_prompt": "make it night", "reference_image_urls": ["https://example.com/a.png"], "generate": True},
    )

    assert data(updated)["status"] == "completed"
    assert data(added)["status"] == "completed"
    assert data(edited)["status"] == "completed"
    board_state = next(b for b in cosmiq.sim.boards.values() if b.kind == "create")
    assert board_state.nodes[0].text == "snowy owl"


async def test_a_renamed_carousel_tool_is_found_by_its_parameters(tmp_path: Path) -> None:
    sim = CosmiqSimulator(accounts={KEY: CosmiqAccount()}, carousel_tool_name="cosmiq_make_carousel")
    async with serve(tmp_path, sim) as world:
        slides = [{"prompt": "a"}, {"prompt": "b"}]
        result = await world.client.call_tool("cosmiq_carousel", {"style_prompt": "minimal", "slides": slides})

    assert data(result)["status"] == "completed"
    assert sim.tool_calls[-1][0] == "cosmiq_make_carousel"


async def test_an_operation_missing_upstream_is_a_clear_error_naming_what_was_looked_for(tmp_path: Path) -> None:
    upstream = TinyCosmiq(lambda board: text_answer('{"board": "https://tiny.example/boards/1", "nodes": []}'))
    async with genmcp(tmp_path, upstream) as (_, client):
        read = await client.call_tool("cosmiq_get_board", {"board": "1"})
        missing = await client.call_tool("cosmiq_carousel", {"style_prompt": "s", "slides": [{"prompt": "a"}] * 2})

    assert data(read)["status"] == "completed"
    assert missing.is_error
    message = data(missing)["error"]["message"]
    assert "looked for 'cosmiq_carousel'" in message
    assert "slides, style_prompt" in message
    assert "cosmiq_get_board" in message


async def test_a_long_generation_answers_running_and_poll_finishes_it(cosmiq: World) -> None:
    cosmiq.gate.close()
    started = await cosmiq.client.call_tool("cosmiq_create", {"prompt": "slow fox", "wait": 0})
    answer = data(started)
    assert answer["status"] == "running"
    assert started.is_error is False
    assert answer["job"].startswith("cosmiq:")

    cosmiq.gate.open()
    finished = await cosmiq.client.call_tool("poll", {"job": answer["job"], "wait": 20})
    assert data(finished)["status"] == "completed"
    assert [a["kind"] for a in data(finished)["assets"]] == ["page"]
    listed = data(await cosmiq.client.call_tool("jobs", {"provider": "cosmiq"}))
    assert [(j["job"], j["status"]) for j in listed["jobs"]] == [(answer["job"], "completed")]


@pytest.mark.parametrize(
    ("tool", "args", "phrase"),
    [
        ("cosmiq_campaign", {"brand": "A", "concepts": [{"prompt": "x"}] * 13}, "at most 12"),
        (
            "cosmiq_image_edit",
            {"edit_prompt": "x", "reference_image_urls": ["https://example.com/a.png"] * 9},
            "at most 8",
        ),
        ("cosmiq_image_edit", {"edit_prompt": "x", "generate": True}, "at least one reference"),
        ("cosmiq_carousel", {"style_prompt": "s", "slides": [{"prompt": "x"}]}, "at least 2"),
        ("cosmiq_add_image", {"image_urls": ["data:image/png;base64,iVBORw0KGgo="]}, "needs a public"),
        ("cosmiq_create", {"prompt": "x", "format": "5:4"}, "format"),
        ("cosmiq_update_prompts", {"board": "b", "updates": []}, "updates"),
    ],
)
async def test_bad_arguments_are_refused_with_zero_upstream_calls(
    cosmiq: World, tool: str, args: dict[str, Any], phrase: str
) -> None:
    result = await cosmiq.client.call_tool(tool, args)
    assert result.is_error
    assert phrase in text(result)
    assert cosmiq.sim.tool_calls == []
    assert cosmiq.sim.requests.total == 0


async def test_upstream_errors_are_quoted_and_typed(cosmiq: World) -> None:
    failed = await cosmiq.client.call_tool("cosmiq_create", {"prompt": "[fail] fox"})
    cosmiq.sim.accounts[KEY].credits = 0
    broke = await cosmiq.client.call_tool("cosmiq_create", {"prompt": "fox"})

    assert data(failed)["error"]["code"] == "job_failed"
    assert "«Generation failed" in text(failed)
    assert data(broke)["error"]["code"] == "insufficient_credits"
    assert data(broke)["error"]["charged"] is False


async def test_an_upstream_error_on_a_free_call_says_nothing_was_spent(cosmiq: World) -> None:
    result = await cosmiq.client.call_tool(
        "cosmiq_update_prompts", {"board": "missing", "updates": [{"node_id": "n1", "text": "t"}]}
    )

    error = data(result)["error"]
    assert error["code"] == "not_found"
    assert "«Board not found: missing»" in error["message"]
    assert error["charged"] is False
