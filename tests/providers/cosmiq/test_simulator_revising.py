"""The Cosmiq simulator's tools that revise a board: get_board (in every answer shape it can be asked for) and
update_prompts."""

from __future__ import annotations

import base64
import io
import json

import pytest
from mcp import Client
from mcp_types import ImageContent, TextContent
from PIL import Image

from providers.cosmiq.simulator import CosmiqSimulator
from tests.providers.cosmiq.support import POOR_KEY, PUBLIC, board_id, connect, credits, error_text, payload

pytestmark = pytest.mark.anyio


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


async def test_get_board_can_answer_the_nodes_as_a_bare_array(sim: CosmiqSimulator, client: Client) -> None:
    created = payload(await client.call_tool("cosmiq_create", {"prompt": "put it on a beach"}))
    node = sim.boards[board_id(created["board"])].nodes[0]
    sim.board_shape = "array"

    result = await client.call_tool("cosmiq_get_board", {"board": created["board"]})

    first, *images = result.content
    assert isinstance(first, TextContent)
    assert json.loads(first.text) == [{"node_id": node.id, "text": "put it on a beach"}]
    assert [block.type for block in images] == ["image"]
    assert result.structured_content is None


async def test_get_board_can_answer_prompts_with_ids_and_more_fields(sim: CosmiqSimulator, client: Client) -> None:
    slides = [{"prompt": "one"}, {"prompt": "two"}]
    created = payload(
        await client.call_tool("cosmiq_carousel", {"style_prompt": "flat", "slides": slides, "generate": True})
    )
    board = sim.boards[board_id(created["board"])]
    sim.board_shape = "prompts"

    answer = payload(await client.call_tool("cosmiq_get_board", {"board": board.id}))

    assert answer["board"] == created["board"]
    assert answer["prompts"] == [
        {"id": node.id, "text": node.text, "label": node.label, "role": node.role} for node in board.nodes
    ]
    assert answer["images"] == [
        {"url": f"{PUBLIC}/images/{image.id}.png", "node_id": image.node_id} for image in board.images
    ]


async def test_get_board_can_answer_as_structured_content(sim: CosmiqSimulator, client: Client) -> None:
    created = payload(await client.call_tool("cosmiq_create", {"prompt": "owl"}))
    board = sim.boards[board_id(created["board"])]
    sim.board_shape = "structured"

    result = await client.call_tool("cosmiq_get_board", {"board": created["board"]})

    assert result.structured_content == {
        "board": created["board"],
        "nodes": [{"node_id": board.nodes[0].id, "text": "owl"}],
        "images": [f"{PUBLIC}/images/{board.images[0].id}.png"],
    }
    first, *images = result.content
    assert isinstance(first, TextContent)
    assert first.text.startswith(f"Board {created['board']}: 1 prompt node")
    assert [block.type for block in images] == ["image"]


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
