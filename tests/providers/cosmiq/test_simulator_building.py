"""The Cosmiq simulator's tools that build boards (create, campaign, carousel, add_image, image_edit): their schemas,
limits, and credits, through a real MCP client in process."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client

from providers.cosmiq.simulator import CosmiqAccount, CosmiqSimulator
from tests.harness.clock import FakeClock
from tests.providers.cosmiq.support import (
    KEY,
    MCP_HEADERS,
    POOR_KEY,
    PUBLIC,
    TOOLS,
    board_id,
    connect,
    credits,
    error_text,
    http_client,
    payload,
)

pytestmark = pytest.mark.anyio


# --- discovery ----------------------------------------------------------------------------------------------------


async def test_tools_list_has_the_seven_tools_with_schemas_and_annotations(client: Client) -> None:
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert tool.description
        assert tool.annotations is not None
        assert tool.annotations.title
    assert tools["cosmiq_get_board"].annotations is not None
    assert tools["cosmiq_get_board"].annotations.read_only_hint is True

    campaign = tools["cosmiq_campaign"].input_schema
    assert set(campaign["required"]) == {"brand", "concepts"}
    assert (campaign["properties"]["concepts"]["minItems"], campaign["properties"]["concepts"]["maxItems"]) == (1, 12)
    create = tools["cosmiq_create"].input_schema
    assert create["required"] == ["prompt"]
    assert {"withVideo", "video_model", "duration", "resolution", "audio", "format", "space"} <= set(
        create["properties"]
    )
    assert "ctx" not in create["properties"]
    carousel = tools["cosmiq_carousel"].input_schema["properties"]
    assert (carousel["slides"]["minItems"], carousel["slides"]["maxItems"]) == (2, 15)
    assert carousel["format"]["default"] == "4:5"
    edit = tools["cosmiq_image_edit"].input_schema["properties"]
    assert edit["reference_image_urls"]["anyOf"][0]["maxItems"] == 8
    updates = tools["cosmiq_update_prompts"].input_schema["properties"]["updates"]
    assert (updates["minItems"], updates["maxItems"]) == (1, 30)


async def test_carousel_tool_name_is_configurable(clock: FakeClock) -> None:
    sim = CosmiqSimulator(accounts={KEY: CosmiqAccount()}, sleep=clock.sleep, carousel_tool_name="cosmiq_slides")
    async with sim, connect(sim) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert names == TOOLS - {"cosmiq_carousel"} | {"cosmiq_slides"}
        slides = [{"prompt": "one"}, {"prompt": "two"}]
        result = await client.call_tool("cosmiq_slides", {"style_prompt": "flat", "slides": slides})
        assert payload(result)["board"].startswith("http://127.0.0.1/boards/")
        assert (await client.call_tool("cosmiq_carousel", {"style_prompt": "x", "slides": slides})).is_error


async def test_the_auto_mode_probe_is_refused_and_the_client_falls_back_to_initialize(
    sim: CosmiqSimulator, client: Client
) -> None:
    first = sim.requests.entries[0]
    assert first.method == "POST"
    assert b"server/discover" in first.body
    assert b'"method":"initialize"' in sim.requests.entries[1].body.replace(b" ", b"")
    async with http_client(sim) as http:
        body = {"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {}}
        response = await http.post("/api/mcp", json=body, headers={**MCP_HEADERS, "MCP-Protocol-Version": "2026-07-28"})
    assert response.status_code == 400
    assert "Unsupported protocol version" in response.json()["error"]["message"]


# --- cosmiq_create ------------------------------------------------------------------------------------------------


async def test_create_generates_one_image_and_charges_two_credits(sim: CosmiqSimulator, client: Client) -> None:
    result = await client.call_tool("cosmiq_create", {"prompt": "a red bicycle", "space": "Spring launch"})
    data = payload(result)
    assert set(data) == {"board", "space"}
    assert data["space"] == "Spring launch"
    board = sim.boards[board_id(data["board"])]
    assert (board.kind, board.format, board.space, board.owner) == ("create", "9:16", "Spring launch", KEY)
    assert [node.text for node in board.nodes] == ["a red bicycle"]
    assert len(board.images) == 1
    assert board.images[0].node_id == board.nodes[0].id
    assert board.video is None
    assert credits(sim) == 98


async def test_create_with_video_charges_twelve_credits_and_returns_a_video_url(
    sim: CosmiqSimulator, client: Client
) -> None:
    arguments = {"prompt": "waves", "withVideo": True, "video_model": "veo-3.1", "duration": 8, "resolution": "1080p"}
    data = payload(await client.call_tool("cosmiq_create", arguments))
    assert set(data) == {"board", "video"}
    bid = board_id(data["board"])
    assert data["video"] == f"{PUBLIC}/videos/{bid}.mp4"
    assert sim.boards[bid].video == {"model": "veo-3.1", "duration": 8, "resolution": "1080p", "audio": True}
    assert credits(sim) == 88
    async with http_client(sim, key=None) as http:
        video = await http.get(f"/videos/{bid}.mp4")
    assert video.status_code == 200
    assert video.headers["content-type"] == "video/mp4"
    assert video.content[4:8] == b"ftyp"


@pytest.mark.parametrize(
    "arguments",
    [
        {},
        {"prompt": ""},
        {"prompt": "x", "format": "5:4"},
        {"prompt": "x", "withVideo": True, "video_model": "runway-gen4"},
        {"prompt": "x", "withVideo": True, "resolution": "4k"},
        {"prompt": "x", "withVideo": True, "duration": 0},
    ],
)
async def test_create_rejects_invalid_arguments(
    sim: CosmiqSimulator, client: Client, arguments: dict[str, Any]
) -> None:
    result = await client.call_tool("cosmiq_create", arguments)
    assert error_text(result).startswith("Error executing tool cosmiq_create")
    assert credits(sim) == 100
    assert sim.boards == {}


# --- cosmiq_campaign ----------------------------------------------------------------------------------------------


async def test_campaign_without_generate_builds_the_graph_for_free(sim: CosmiqSimulator, client: Client) -> None:
    concepts = [{"label": "Hero", "prompt": "bottle on a beach"}, {"prompt": "bottle in snow"}]
    data = payload(await client.call_tool("cosmiq_campaign", {"brand": "Acme", "concepts": concepts}))
    assert data["space"] == "Acme"
    board = sim.boards[board_id(data["board"])]
    assert board.title == "Acme"
    assert [(node.label, node.text) for node in board.nodes] == [
        ("Hero", "bottle on a beach"),
        (None, "bottle in snow"),
    ]
    assert board.images == []
    assert credits(sim) == 100


async def test_campaign_with_generate_renders_every_concept_at_two_credits_each(
    sim: CosmiqSimulator, client: Client
) -> None:
    shared = ["https://img.example/shared.png"]
    own = ["https://img.example/own-1.png", "https://img.example/own-2.png"]
    concepts = [{"prompt": "one"}, {"prompt": "two", "reference_image_urls": own}, {"prompt": "three"}]
    arguments = {"brand": "Acme", "concepts": concepts, "reference_image_urls": shared, "generate": True}
    data = payload(await client.call_tool("cosmiq_campaign", {**arguments, "format": "1:1"}))
    board = sim.boards[board_id(data["board"])]
    assert [node.reference_image_urls for node in board.nodes] == [shared, own, shared]
    assert [image.node_id for image in board.images] == [node.id for node in board.nodes]
    assert (board.images[0].width, board.images[0].height) == (512, 512)
    assert credits(sim) == 94


@pytest.mark.parametrize(
    "arguments",
    [
        {"concepts": [{"prompt": "x"}]},
        {"brand": "Acme", "concepts": []},
        {"brand": "Acme", "concepts": [{"prompt": f"concept {n}"} for n in range(13)]},
        {"brand": "Acme", "concepts": [{"label": "no prompt"}]},
        {"brand": "Acme", "concepts": [{"prompt": "x", "reference_image_urls": [f"https://r/{n}" for n in range(5)]}]},
        {"brand": "Acme", "concepts": [{"prompt": "x"}], "reference_image_urls": [f"https://r/{n}" for n in range(5)]},
    ],
)
async def test_campaign_limits(sim: CosmiqSimulator, client: Client, arguments: dict[str, Any]) -> None:
    result = await client.call_tool("cosmiq_campaign", {**arguments, "generate": True})
    assert error_text(result).startswith("Error executing tool cosmiq_campaign")
    assert credits(sim) == 100
    assert sim.boards == {}


async def test_campaign_accepts_twelve_concepts_and_rejects_non_http_references(
    sim: CosmiqSimulator, client: Client
) -> None:
    twelve = [{"prompt": f"concept {n}"} for n in range(12)]
    data = payload(await client.call_tool("cosmiq_campaign", {"brand": "Acme", "concepts": twelve, "generate": True}))
    assert len(sim.boards[board_id(data["board"])].images) == 12
    assert credits(sim) == 76
    bad = {"brand": "Acme", "concepts": [{"prompt": "x"}], "reference_image_urls": ["file:///etc/passwd"]}
    assert "public http(s) URLs" in error_text(await client.call_tool("cosmiq_campaign", bad))


# --- carousel -----------------------------------------------------------------------------------------------------


async def test_carousel_wires_a_shared_style_into_every_slide(sim: CosmiqSimulator, client: Client) -> None:
    slides = [{"label": "Cover", "prompt": "title slide"}, {"prompt": "tip one"}, {"prompt": "tip two"}]
    arguments = {"style_prompt": "navy background", "slides": slides, "brand": "Acme", "board_name": "Tips"}
    data = payload(await client.call_tool("cosmiq_carousel", arguments))
    assert data["space"] == "Acme"
    board = sim.boards[board_id(data["board"])]
    assert (board.title, board.format, board.images) == ("Tips", "4:5", [])
    assert [(node.role, node.label, node.text) for node in board.nodes] == [
        ("style", "Style", "navy background"),
        ("prompt", "Cover", "title slide"),
        ("prompt", "Slide 2", "tip one"),
        ("prompt", "Slide 3", "tip two"),
    ]
    assert credits(sim) == 100

    data = payload(await client.call_tool("cosmiq_carousel", {**arguments, "generate": True}))
    board = sim.boards[board_id(data["board"])]
    assert len(board.images) == 3
    assert board.images[0].width < board.images[0].height  # 4:5
    assert credits(sim) == 94


@pytest.mark.parametrize("count", [1, 16])
async def test_carousel_needs_two_to_fifteen_slides(sim: CosmiqSimulator, client: Client, count: int) -> None:
    slides = [{"prompt": f"slide {n}"} for n in range(count)]
    result = await client.call_tool("cosmiq_carousel", {"style_prompt": "flat", "slides": slides, "generate": True})
    assert error_text(result).startswith("Error executing tool cosmiq_carousel")
    assert credits(sim) == 100


async def test_carousel_accepts_fifteen_slides(sim: CosmiqSimulator, client: Client) -> None:
    slides = [{"prompt": f"slide {n}"} for n in range(15)]
    data = payload(await client.call_tool("cosmiq_carousel", {"style_prompt": "flat", "slides": slides}))
    assert "space" not in data
    assert len(sim.boards[board_id(data["board"])].nodes) == 16


# --- cosmiq_add_image ---------------------------------------------------------------------------------------------


async def test_add_image_puts_urls_on_a_board_for_free(sim: CosmiqSimulator, client: Client) -> None:
    urls = ["https://img.example/a.png", "http://img.example/b.jpg"]
    data = payload(await client.call_tool("cosmiq_add_image", {"image_urls": urls, "space": "Refs"}))
    board = sim.boards[board_id(data["board"])]
    assert (board.title, board.space, board.nodes) == ("Images", "Refs", [])
    assert [image.source_url for image in board.images] == urls
    assert credits(sim) == 100


@pytest.mark.parametrize(
    "urls", [[], [f"https://img.example/{n}.png" for n in range(21)], ["not a url"], ["ftp://img.example/a.png"]]
)
async def test_add_image_limits(sim: CosmiqSimulator, client: Client, urls: list[str]) -> None:
    assert (await client.call_tool("cosmiq_add_image", {"image_urls": urls})).is_error
    assert sim.boards == {}


async def test_add_image_accepts_twenty_urls(sim: CosmiqSimulator, client: Client) -> None:
    urls = [f"https://img.example/{n}.png" for n in range(20)]
    data = payload(await client.call_tool("cosmiq_add_image", {"image_urls": urls, "board_name": "Moodboard"}))
    board = sim.boards[board_id(data["board"])]
    assert (board.title, len(board.images)) == ("Moodboard", 20)


# --- cosmiq_image_edit --------------------------------------------------------------------------------------------


async def test_image_edit_builds_the_chain_for_free_and_generates_for_two_credits(
    sim: CosmiqSimulator, client: Client
) -> None:
    refs = ["https://img.example/product.png"]
    arguments = {"edit_prompt": "put it on a marble table", "reference_image_urls": refs, "board_name": "Edit"}
    data = payload(await client.call_tool("cosmiq_image_edit", arguments))
    board = sim.boards[board_id(data["board"])]
    assert (board.title, board.images, board.reference_image_urls) == ("Edit", [], refs)
    assert [(node.role, node.text) for node in board.nodes] == [("edit", "put it on a marble table")]
    assert credits(sim) == 100

    data = payload(await client.call_tool("cosmiq_image_edit", {**arguments, "generate": True}))
    assert len(sim.boards[board_id(data["board"])].images) == 1
    assert credits(sim) == 98


async def test_image_edit_limits(sim: CosmiqSimulator, client: Client) -> None:
    nine = [f"https://img.example/{n}.png" for n in range(9)]
    result = await client.call_tool("cosmiq_image_edit", {"edit_prompt": "x", "reference_image_urls": nine})
    assert error_text(result).startswith("Error executing tool cosmiq_image_edit")

    result = await client.call_tool("cosmiq_image_edit", {"edit_prompt": "x", "generate": True})
    assert "at least one reference image" in error_text(result)
    result = await client.call_tool(
        "cosmiq_image_edit", {"edit_prompt": "x", "reference_image_urls": [], "generate": True}
    )
    assert "at least one reference image" in error_text(result)
    assert credits(sim) == 100
    assert sim.boards == {}

    eight = nine[:8]
    data = payload(await client.call_tool("cosmiq_image_edit", {"edit_prompt": "x", "reference_image_urls": eight}))
    assert sim.boards[board_id(data["board"])].reference_image_urls == eight


# --- credits and failures -----------------------------------------------------------------------------------------


async def test_insufficient_credits_is_a_tool_error_and_builds_nothing(sim: CosmiqSimulator) -> None:
    async with sim, connect(sim, key=POOR_KEY) as client:
        result = await client.call_tool("cosmiq_create", {"prompt": "x", "withVideo": True})
        assert error_text(result) == "Insufficient credits: need 12, have 3"
        concepts = [{"prompt": "a"}, {"prompt": "b"}]
        result = await client.call_tool("cosmiq_campaign", {"brand": "B", "concepts": concepts, "generate": True})
        assert error_text(result) == "Insufficient credits: need 4, have 3"
        assert sim.boards == {}
        # Building without generating stays free, and one image still fits.
        payload(await client.call_tool("cosmiq_campaign", {"brand": "B", "concepts": concepts}))
        payload(await client.call_tool("cosmiq_create", {"prompt": "x"}))
        assert credits(sim, POOR_KEY) == 1
        assert error_text(await client.call_tool("cosmiq_create", {"prompt": "y"})) == (
            "Insufficient credits: need 2, have 1"
        )
    assert credits(sim) == 100


async def test_a_fail_prompt_fails_generation_without_taking_credits(sim: CosmiqSimulator, client: Client) -> None:
    assert error_text(await client.call_tool("cosmiq_create", {"prompt": "boom [fail]"})) == "Generation failed"
    concepts = [{"prompt": "fine"}, {"prompt": "[fail] here"}]
    result = await client.call_tool("cosmiq_campaign", {"brand": "B", "concepts": concepts, "generate": True})
    assert error_text(result) == "Generation failed"
    assert credits(sim) == 100
    assert sim.boards == {}
    # Nothing is generated without generate=true, so nothing fails.
    payload(await client.call_tool("cosmiq_campaign", {"brand": "B", "concepts": concepts}))


async def test_generating_calls_wait_through_the_injected_sleep(clock: FakeClock) -> None:
    sim = CosmiqSimulator(accounts={KEY: CosmiqAccount()}, delay_seconds=7.5, sleep=clock.sleep)
    async with sim, connect(sim) as client:
        payload(await client.call_tool("cosmiq_campaign", {"brand": "B", "concepts": [{"prompt": "a"}]}))
        payload(await client.call_tool("cosmiq_add_image", {"image_urls": ["https://img.example/a.png"]}))
        assert clock.sleeps == []
        data = payload(await client.call_tool("cosmiq_create", {"prompt": "a"}))
        assert clock.sleeps == [7.5]
        payload(await client.call_tool("cosmiq_get_board", {"board": data["board"]}))
        payload(
            await client.call_tool("cosmiq_campaign", {"brand": "B", "concepts": [{"prompt": "a"}], "generate": True})
        )
        assert clock.sleeps == [7.5, 7.5]
        assert error_text(await client.call_tool("cosmiq_create", {"prompt": "[fail]"})) == "Generation failed"
        assert clock.sleeps == [7.5, 7.5, 7.5]
