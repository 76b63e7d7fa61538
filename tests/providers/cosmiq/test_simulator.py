from __future__ import annotations

import base64
import io
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.lowlevel
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, ImageContent, TextContent
from PIL import Image

from providers.cosmiq.simulator import CosmiqAccount, CosmiqSimulator

KEY = "csk_test_key"
POOR_KEY = "csk_poor_key"
BASE = "http://cosmiq.test"
MCP_URL = f"{BASE}/api/mcp"
PUBLIC = "https://www.cosmiq.test"
TOOLS = {
    "cosmiq_create",
    "cosmiq_campaign",
    "cosmiq_carousel",
    "cosmiq_add_image",
    "cosmiq_image_edit",
    "cosmiq_get_board",
    "cosmiq_update_prompts",
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
}
TOOLS_LIST = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}


class FakeSleep:
    """Records the requested delays instead of waiting."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        await anyio.lowlevel.checkpoint()


@pytest.fixture
def fake_sleep() -> FakeSleep:
    return FakeSleep()


@pytest.fixture
def sim(fake_sleep: FakeSleep) -> CosmiqSimulator:
    accounts = {KEY: CosmiqAccount(credits=100), POOR_KEY: CosmiqAccount(credits=3)}
    return CosmiqSimulator(accounts=accounts, sleep=fake_sleep, public_url=PUBLIC)


def http_client(sim: CosmiqSimulator, key: str | None = KEY) -> httpx2.AsyncClient:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx2.AsyncClient(transport=httpx2.ASGITransport(app=sim.app), base_url=BASE, headers=headers)


@asynccontextmanager
async def connect(sim: CosmiqSimulator, key: str = KEY) -> AsyncIterator[Client]:
    """A real MCP client speaking streamable HTTP to the in-process simulator."""
    async with http_client(sim, key) as http, Client(streamable_http_client(MCP_URL, http_client=http)) as client:
        yield client


@pytest.fixture
async def client(sim: CosmiqSimulator) -> AsyncIterator[Client]:
    async with sim, connect(sim) as client:
        yield client


def payload(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, result.content
    block = result.content[0]
    assert isinstance(block, TextContent)
    data = json.loads(block.text)
    assert isinstance(data, dict)
    return data


def error_text(result: CallToolResult) -> str:
    assert result.is_error, result.content
    block = result.content[0]
    assert isinstance(block, TextContent)
    return block.text


def board_id(url: str) -> str:
    assert url.startswith(f"{PUBLIC}/boards/")
    return url.rsplit("/", 1)[1]


def credits(sim: CosmiqSimulator, key: str = KEY) -> int:
    return sim.accounts[key].credits


# --- discovery ------------------------------------------------------------------------------------


@pytest.mark.anyio
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


@pytest.mark.anyio
async def test_carousel_tool_name_is_configurable(fake_sleep: FakeSleep) -> None:
    sim = CosmiqSimulator(accounts={KEY: CosmiqAccount()}, sleep=fake_sleep, carousel_tool_name="cosmiq_slides")
    async with sim, connect(sim) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert names == TOOLS - {"cosmiq_carousel"} | {"cosmiq_slides"}
        slides = [{"prompt": "one"}, {"prompt": "two"}]
        result = await client.call_tool("cosmiq_slides", {"style_prompt": "flat", "slides": slides})
        assert payload(result)["board"].startswith("http://127.0.0.1/boards/")
        assert (await client.call_tool("cosmiq_carousel", {"style_prompt": "x", "slides": slides})).is_error


@pytest.mark.anyio
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


# --- cosmiq_create --------------------------------------------------------------------------------


@pytest.mark.anyio
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


@pytest.mark.anyio
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


@pytest.mark.anyio
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


# --- cosmiq_campaign ------------------------------------------------------------------------------


@pytest.mark.anyio
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


@pytest.mark.anyio
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


@pytest.mark.anyio
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


@pytest.mark.anyio
async def test_campaign_accepts_twelve_concepts_and_rejects_non_http_references(
    sim: CosmiqSimulator, client: Client
) -> None:
    twelve = [{"prompt": f"concept {n}"} for n in range(12)]
    data = payload(await client.call_tool("cosmiq_campaign", {"brand": "Acme", "concepts": twelve, "generate": True}))
    assert len(sim.boards[board_id(data["board"])].images) == 12
    assert credits(sim) == 76
    bad = {"brand": "Acme", "concepts": [{"prompt": "x"}], "reference_image_urls": ["file:///etc/passwd"]}
    assert "public http(s) URLs" in error_text(await client.call_tool("cosmiq_campaign", bad))


# --- carousel -------------------------------------------------------------------------------------


@pytest.mark.anyio
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


@pytest.mark.anyio
@pytest.mark.parametrize("count", [1, 16])
async def test_carousel_needs_two_to_fifteen_slides(sim: CosmiqSimulator, client: Client, count: int) -> None:
    slides = [{"prompt": f"slide {n}"} for n in range(count)]
    result = await client.call_tool("cosmiq_carousel", {"style_prompt": "flat", "slides": slides, "generate": True})
    assert error_text(result).startswith("Error executing tool cosmiq_carousel")
    assert credits(sim) == 100


@pytest.mark.anyio
async def test_carousel_accepts_fifteen_slides(sim: CosmiqSimulator, client: Client) -> None:
    slides = [{"prompt": f"slide {n}"} for n in range(15)]
    data = payload(await client.call_tool("cosmiq_carousel", {"style_prompt": "flat", "slides": slides}))
    assert "space" not in data
    assert len(sim.boards[board_id(data["board"])].nodes) == 16


# --- cosmiq_add_image -----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_add_image_puts_urls_on_a_board_for_free(sim: CosmiqSimulator, client: Client) -> None:
    urls = ["https://img.example/a.png", "http://img.example/b.jpg"]
    data = payload(await client.call_tool("cosmiq_add_image", {"image_urls": urls, "space": "Refs"}))
    board = sim.boards[board_id(data["board"])]
    assert (board.title, board.space, board.nodes) == ("Images", "Refs", [])
    assert [image.source_url for image in board.images] == urls
    assert credits(sim) == 100


@pytest.mark.anyio
@pytest.mark.parametrize(
    "urls", [[], [f"https://img.example/{n}.png" for n in range(21)], ["not a url"], ["ftp://img.example/a.png"]]
)
async def test_add_image_limits(sim: CosmiqSimulator, client: Client, urls: list[str]) -> None:
    assert (await client.call_tool("cosmiq_add_image", {"image_urls": urls})).is_error
    assert sim.boards == {}


@pytest.mark.anyio
async def test_add_image_accepts_twenty_urls(sim: CosmiqSimulator, client: Client) -> None:
    urls = [f"https://img.example/{n}.png" for n in range(20)]
    data = payload(await client.call_tool("cosmiq_add_image", {"image_urls": urls, "board_name": "Moodboard"}))
    board = sim.boards[board_id(data["board"])]
    assert (board.title, len(board.images)) == ("Moodboard", 20)


# --- cosmiq_image_edit ----------------------------------------------------------------------------


@pytest.mark.anyio
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


@pytest.mark.anyio
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


# --- credits and failures -------------------------------------------------------------------------


@pytest.mark.anyio
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


@pytest.mark.anyio
async def test_a_fail_prompt_fails_generation_without_taking_credits(sim: CosmiqSimulator, client: Client) -> None:
    assert error_text(await client.call_tool("cosmiq_create", {"prompt": "boom [fail]"})) == "Generation failed"
    concepts = [{"prompt": "fine"}, {"prompt": "[fail] here"}]
    result = await client.call_tool("cosmiq_campaign", {"brand": "B", "concepts": concepts, "generate": True})
    assert error_text(result) == "Generation failed"
    assert credits(sim) == 100
    assert sim.boards == {}
    # Nothing is generated without generate=true, so nothing fails.
    payload(await client.call_tool("cosmiq_campaign", {"brand": "B", "concepts": concepts}))


@pytest.mark.anyio
async def test_generating_calls_wait_through_the_injected_sleep(fake_sleep: FakeSleep) -> None:
    sim = CosmiqSimulator(accounts={KEY: CosmiqAccount()}, delay_seconds=7.5, sleep=fake_sleep)
    async with sim, connect(sim) as client:
        payload(await client.call_tool("cosmiq_campaign", {"brand": "B", "concepts": [{"prompt": "a"}]}))
        payload(await client.call_tool("cosmiq_add_image", {"image_urls": ["https://img.example/a.png"]}))
        assert fake_sleep.calls == []
        data = payload(await client.call_tool("cosmiq_create", {"prompt": "a"}))
        assert fake_sleep.calls == [7.5]
        payload(await client.call_tool("cosmiq_get_board", {"board": data["board"]}))
        payload(
            await client.call_tool("cosmiq_campaign", {"brand": "B", "concepts": [{"prompt": "a"}], "generate": True})
        )
        assert fake_sleep.calls == [7.5, 7.5]
        assert error_text(await client.call_tool("cosmiq_create", {"prompt": "[fail]"})) == "Generation failed"
        assert fake_sleep.calls == [7.5, 7.5, 7.5]


# --- cosmiq_get_board and cosmiq_update_prompts ---------------------------------------------------


@pytest.mark.anyio
async def test_get_board_returns_json_and_the_images_as_image_blocks(sim: CosmiqSimulator, client: Client) -> None:
    concepts = [{"prompt": "first"}, {"prompt": "second"}]
    created = payload(await client.call_tool("cosmiq_campaign", {"brand": "B", "concepts": concepts, "generate": True}))
    bid = board_id(created["board"])
    board = sim.boards[bid]

    for reference in (created["board"], bid, created["board"] + "/", f"https://www.cosmiq.studio/boards/{bid}"):
        result = await client.call_tool("cosmiq_get_board", {"board": reference})
        assert not result.is_error
        summary = payload(result)
        assert summary == {
            "board": created["board"],
            "nodes": [{"node_id": node.id, "text": node.text} for node in board.nodes],
            "images": [f"{PUBLIC}/images/{image.id}.png" for image in board.images],
        }
        blocks = result.content[1:]
        assert len(blocks) == 2
        for block in blocks:
            assert isinstance(block, ImageContent)
            assert block.mime_type == "image/png"
            with Image.open(io.BytesIO(base64.b64decode(block.data))) as image:
                assert image.format == "PNG"
                assert image.size == (288, 512)  # 9:16


@pytest.mark.anyio
async def test_get_board_of_an_unknown_board_or_of_another_account_is_a_tool_error(sim: CosmiqSimulator) -> None:
    async with sim:
        async with connect(sim) as client:
            data = payload(await client.call_tool("cosmiq_create", {"prompt": "mine"}))
            assert error_text(await client.call_tool("cosmiq_get_board", {"board": "nope"})) == "Board not found: nope"
        async with connect(sim, key=POOR_KEY) as other:
            result = await other.call_tool("cosmiq_get_board", {"board": data["board"]})
            assert error_text(result) == f"Board not found: {data['board']}"
            updates = [{"node_id": sim.boards[board_id(data["board"])].nodes[0].id, "text": "theirs"}]
            assert (
                await other.call_tool("cosmiq_update_prompts", {"board": data["board"], "updates": updates})
            ).is_error
    assert sim.boards[board_id(data["board"])].nodes[0].text == "mine"


@pytest.mark.anyio
async def test_update_prompts_rewrites_the_named_nodes_and_keeps_the_others(
    sim: CosmiqSimulator, client: Client
) -> None:
    slides = [{"prompt": "one"}, {"prompt": "two"}, {"prompt": "three"}]
    arguments = {"style_prompt": "flat", "slides": slides, "generate": True, "brand": "Acme"}
    created = payload(await client.call_tool("cosmiq_carousel", arguments))
    board = sim.boards[board_id(created["board"])]
    before = [(node.id, node.text) for node in board.nodes]
    images = list(board.images)

    updates = [{"node_id": before[2][0], "text": "TWO"}, {"node_id": before[0][0], "text": "dark"}]
    result = await client.call_tool("cosmiq_update_prompts", {"board": created["board"], "updates": updates})
    assert payload(result) == {"board": created["board"], "space": "Acme"}
    assert [(node.id, node.text) for node in board.nodes] == [
        (before[0][0], "dark"),
        before[1],
        (before[2][0], "TWO"),
        before[3],
    ]
    assert board.images == images
    summary = payload(await client.call_tool("cosmiq_get_board", {"board": board.id}))
    assert [node["text"] for node in summary["nodes"]] == ["dark", "one", "TWO", "three"]
    assert credits(sim) == 94  # only the generation was charged


@pytest.mark.anyio
async def test_update_prompts_limits_and_unknown_nodes(sim: CosmiqSimulator, client: Client) -> None:
    created = payload(await client.call_tool("cosmiq_campaign", {"brand": "B", "concepts": [{"prompt": "a"}]}))
    node_id = sim.boards[board_id(created["board"])].nodes[0].id

    updates = [{"node_id": node_id, "text": "changed"}, {"node_id": "node_missing", "text": "x"}]
    result = await client.call_tool("cosmiq_update_prompts", {"board": created["board"], "updates": updates})
    assert "node_missing" in error_text(result)
    assert sim.boards[board_id(created["board"])].nodes[0].text == "a"  # all or nothing

    for count in (0, 31):
        updates = [{"node_id": node_id, "text": f"t{n}"} for n in range(count)]
        result = await client.call_tool("cosmiq_update_prompts", {"board": created["board"], "updates": updates})
        assert error_text(result).startswith("Error executing tool cosmiq_update_prompts")
    result = await client.call_tool("cosmiq_update_prompts", {"board": "missing", "updates": [{"node_id": node_id}]})
    assert result.is_error

    thirty = [{"node_id": node_id, "text": f"t{n}"} for n in range(30)]
    payload(await client.call_tool("cosmiq_update_prompts", {"board": created["board"], "updates": thirty}))
    assert sim.boards[board_id(created["board"])].nodes[0].text == "t29"


# --- HTTP: auth, pages, sessions ------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("authorization", [None, "Bearer csk_unknown", f"Basic {KEY}", "Bearer "])
async def test_a_missing_or_unknown_key_gets_401_before_the_mcp_layer(
    sim: CosmiqSimulator, authorization: str | None
) -> None:
    headers = dict(MCP_HEADERS)
    if authorization is not None:
        headers["Authorization"] = authorization
    async with sim, http_client(sim, key=None) as http:
        response = await http.post("/api/mcp", json=INITIALIZE, headers=headers)
        assert response.status_code == 401
        assert response.json() == {"error": "invalid_token"}
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "mcp-session-id" not in response.headers
        assert (await http.get("/api/mcp", headers=headers)).status_code == 401
    assert sim.requests.count("POST /api/mcp") == 1


@pytest.mark.anyio
async def test_the_mcp_client_cannot_connect_with_a_bad_key(sim: CosmiqSimulator) -> None:
    async with sim:
        with pytest.RaisesGroup(MCPError, flatten_subgroups=True):
            async with connect(sim, key="csk_wrong"):
                pass
    assert sim.requests.count("POST /api/mcp") >= 1
    assert sim.boards == {}
    assert sim.tool_calls == []


@pytest.mark.anyio
async def test_board_pages_and_images_are_served_without_auth(sim: CosmiqSimulator, client: Client) -> None:
    concepts = [{"label": "Hero <b>", "prompt": "bottle & sea"}]
    created = payload(
        await client.call_tool("cosmiq_campaign", {"brand": "Acme", "concepts": concepts, "generate": True})
    )
    summary = payload(await client.call_tool("cosmiq_get_board", {"board": created["board"]}))
    bid = board_id(created["board"])
    async with http_client(sim, key=None) as http:
        page = await http.get(f"/boards/{bid}")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "bottle &amp; sea" in page.text
        assert "Hero &lt;b&gt;" in page.text
        assert summary["images"][0] in page.text

        image = await http.get(summary["images"][0].removeprefix(PUBLIC))
        assert image.status_code == 200
        assert image.headers["content-type"] == "image/png"
        with Image.open(io.BytesIO(image.content)) as png:
            assert png.size == (288, 512)

        assert (await http.get("/boards/unknown")).status_code == 404
        assert (await http.get("/images/img_0123.png")).status_code == 404
        assert (await http.get("/images/whatever.jpg")).status_code == 404
        assert (await http.get(f"/videos/{bid}.mp4")).status_code == 404  # no video on this board


@pytest.mark.anyio
async def test_public_url_is_read_when_urls_are_handed_out(sim: CosmiqSimulator, client: Client) -> None:
    sim.public_url = "http://127.0.0.1:8123/cosmiq/"
    data = payload(await client.call_tool("cosmiq_create", {"prompt": "x"}))
    assert data["board"].startswith("http://127.0.0.1:8123/cosmiq/boards/")


@pytest.mark.anyio
async def test_expired_sessions_answer_404_and_a_fresh_client_works(sim: CosmiqSimulator) -> None:
    async with sim:
        async with http_client(sim) as http:
            opened = await http.post("/api/mcp", json=INITIALIZE, headers=MCP_HEADERS)
            assert opened.status_code == 200
            raw_session = opened.headers["mcp-session-id"]
            headers = {**MCP_HEADERS, "Mcp-Session-Id": raw_session, "MCP-Protocol-Version": "2025-06-18"}

            async with connect(sim) as client:
                payload(await client.call_tool("cosmiq_create", {"prompt": "before"}))
                sim.expire_sessions()
                with pytest.raises(MCPError) as caught:
                    await client.call_tool("cosmiq_create", {"prompt": "after"})
                assert "Session not found" in caught.value.message

            response = await http.post("/api/mcp", json=TOOLS_LIST, headers=headers)
            assert response.status_code == 404

        async with connect(sim) as client:
            payload(await client.call_tool("cosmiq_create", {"prompt": "again"}))
    assert [name for name, _ in sim.tool_calls] == ["cosmiq_create", "cosmiq_create"]
    assert credits(sim) == 96


@pytest.mark.anyio
async def test_a_session_cannot_be_used_with_another_accounts_key(sim: CosmiqSimulator) -> None:
    async with sim, http_client(sim) as http:
        opened = await http.post("/api/mcp", json=INITIALIZE, headers=MCP_HEADERS)
        session = opened.headers["mcp-session-id"]
        headers = {**MCP_HEADERS, "Mcp-Session-Id": session, "Authorization": f"Bearer {POOR_KEY}"}
        response = await http.post("/api/mcp", json=TOOLS_LIST, headers=headers)
        assert response.status_code == 404


@pytest.mark.anyio
async def test_the_mcp_endpoint_answers_503_until_the_lifespan_is_entered(sim: CosmiqSimulator) -> None:
    async with http_client(sim) as http:
        response = await http.post("/api/mcp", json=INITIALIZE, headers=MCP_HEADERS)
        assert response.status_code == 503
        assert "lifespan" in response.json()["error"]["message"]
    assert not sim.running


@pytest.mark.anyio
async def test_the_simulator_can_be_entered_again_and_nested(sim: CosmiqSimulator) -> None:
    async with sim:
        async with sim.lifespan():  # nested: a no-op
            async with connect(sim) as client:
                payload(await client.call_tool("cosmiq_create", {"prompt": "first run"}))
        assert sim.running
    assert not sim.running
    async with sim, connect(sim) as client:
        payload(await client.call_tool("cosmiq_create", {"prompt": "second run"}))
    assert len(sim.boards) == 2


@pytest.mark.anyio
async def test_requests_are_logged_and_faults_are_injected(sim: CosmiqSimulator, client: Client) -> None:
    assert sim.requests.count("POST /api/mcp") >= 2
    sim.faults.add("POST", "/api/mcp", status=502)
    with pytest.raises(MCPError):
        await client.call_tool("cosmiq_create", {"prompt": "x"})
    assert credits(sim) == 100
    payload(await client.call_tool("cosmiq_create", {"prompt": "x"}))
    assert credits(sim) == 98


@pytest.mark.anyio
async def test_tool_calls_records_every_call_with_its_arguments(sim: CosmiqSimulator, client: Client) -> None:
    await client.call_tool("cosmiq_create", {"prompt": "x", "withVideo": False})
    await client.call_tool("cosmiq_carousel", {"style_prompt": "s", "slides": []})
    await client.call_tool("cosmiq_nope", {})
    assert sim.tool_calls == [
        ("cosmiq_create", {"prompt": "x", "withVideo": False}),
        ("cosmiq_carousel", {"style_prompt": "s", "slides": []}),
        ("cosmiq_nope", {}),
    ]


@pytest.mark.anyio
async def test_the_apps_own_asgi_lifespan_runs_the_simulator(sim: CosmiqSimulator) -> None:
    sent: list[str] = []
    started, stop = anyio.Event(), anyio.Event()

    async def receive() -> dict[str, Any]:
        if not sent:
            return {"type": "lifespan.startup"}
        await stop.wait()
        return {"type": "lifespan.shutdown"}

    async def send(message: Any) -> None:
        sent.append(message["type"])
        if message["type"] == "lifespan.startup.complete":
            started.set()

    async def serve() -> None:
        await sim.app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send)

    async with anyio.create_task_group() as tg:
        tg.start_soon(serve)
        await started.wait()
        assert sim.running
        async with connect(sim) as client:
            payload(await client.call_tool("cosmiq_create", {"prompt": "served"}))
        stop.set()
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert not sim.running
