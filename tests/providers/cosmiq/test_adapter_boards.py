"""cosmiq_get_board through genmcp: every documented reading of "prompt nodes (id + text) and the board's images as
viewable content" is understood; anything else fails loudly, naming what came back, and spends nothing."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from mcp_types import CallToolResult, ImageContent, TextContent

from providers.cosmiq.simulator import BoardShape
from tests.harness.results import data, text
from tests.providers.cosmiq.support import PUBLIC, TinyCosmiq, World, genmcp, text_answer

pytestmark = pytest.mark.anyio

# The smallest valid PNG (1x1), as an upstream's image block would carry it.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


async def _owl_board(cosmiq: World) -> str:
    created = data(await cosmiq.client.call_tool("cosmiq_create", {"prompt": "owl"}))
    board: str = created["details"]["board"]
    return board


async def test_get_board_gives_nodes_and_links_and_one_preview_never_the_base64(cosmiq: World) -> None:
    board = await _owl_board(cosmiq)

    result = await cosmiq.client.call_tool("cosmiq_get_board", {"board": board})

    answer = data(result)
    assert answer["details"]["nodes"]
    assert answer["details"]["nodes"][0]["text"] == "owl"
    assert [a["kind"] for a in answer["assets"]] == ["image"]
    assert answer["assets"][0]["url"].startswith(f"{PUBLIC}/images/")
    previews = [block for block in result.content if block.type == "image"]
    assert len(previews) == 1
    assert previews[0].mime_type == "image/jpeg"
    state = next(iter(cosmiq.sim.boards.values()))
    upstream_png = base64.b64encode(cosmiq.sim._png(state, state.images[0])).decode()
    assert upstream_png not in result.model_dump_json()


@pytest.mark.parametrize("shape", ["object", "array", "prompts", "structured"])
async def test_get_board_reads_every_documented_shape(cosmiq: World, shape: BoardShape) -> None:
    board = await _owl_board(cosmiq)
    node = next(iter(cosmiq.sim.boards.values())).nodes[0]
    cosmiq.sim.board_shape = shape

    result = await cosmiq.client.call_tool("cosmiq_get_board", {"board": board})

    assert not result.is_error, text(result)
    answer = data(result)
    assert answer["details"]["nodes"] == [{"node_id": node.id, "text": "owl"}]
    assert answer["details"]["board"] == board
    assert [a["kind"] for a in answer["assets"]] == ["image"]
    assert len([block for block in result.content if block.type == "image"]) == 1


async def test_a_board_answered_only_as_image_blocks_keeps_the_images_as_files(cosmiq: World) -> None:
    board = await _owl_board(cosmiq)
    cosmiq.sim.board_shape = "array"

    answer = data(await cosmiq.client.call_tool("cosmiq_get_board", {"board": board}))

    (asset,) = answer["assets"]
    assert asset["mime_type"] == "image/png"
    assert asset["url"].startswith("artifact://"), asset
    assert asset["name"] == "cosmiq-board-image-1.png"


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(text_answer('[{"node_id": "n1", "text": "put it on a beach"}]'), id="bare-array"),
        pytest.param(text_answer('{"nodes": [{"id": "n1", "text": "put it on a beach"}]}'), id="nodes-with-id"),
        pytest.param(
            text_answer('{"prompts": [{"node_id": "n1", "text": "put it on a beach", "x": 1, "y": 2}], "v": 3}'),
            id="prompts-with-extra-fields",
        ),
        pytest.param(
            CallToolResult(
                content=[TextContent(type="text", text="1 prompt node.")],
                structured_content={"nodes": [{"id": "n1", "text": "put it on a beach"}]},
            ),
            id="structured-content",
        ),
        pytest.param(
            CallToolResult(
                content=[
                    TextContent(type="text", text='[{"node_id": "n1", "text": "put it on a beach"}]'),
                    ImageContent(type="image", data=base64.b64encode(PIXEL).decode(), mime_type="image/png"),
                ]
            ),
            id="bare-array-and-an-image-block",
        ),
    ],
)
async def test_get_board_reads_prompt_nodes_however_an_upstream_spells_them(
    tmp_path: Path, answer: CallToolResult
) -> None:
    async with genmcp(tmp_path, TinyCosmiq(lambda board: answer)) as (_, client):
        result = await client.call_tool("cosmiq_get_board", {"board": "b1"})

    assert not result.is_error, text(result)
    read = data(result)
    assert read["details"]["nodes"] == [{"node_id": "n1", "text": "put it on a beach"}]
    assert read["details"]["board"] == "b1"
    assert "n1: put it on a beach" in text(result)


@pytest.mark.parametrize(
    ("answer", "shown"),
    [
        pytest.param(text_answer('{"board": "https://x.example/boards/1", "items": 3}'), '"items": 3', id="no-nodes"),
        pytest.param(text_answer('[{"name": "n1"}]'), '"name": "n1"', id="nodes-without-text"),
        pytest.param(text_answer("Board saved."), "Board saved.", id="not-json"),
        pytest.param(
            CallToolResult(content=[], structured_content={"count": 2}), '"count": 2', id="structured-without-nodes"
        ),
    ],
)
async def test_an_unreadable_board_fails_naming_what_came_back_and_spent_nothing(
    tmp_path: Path, answer: CallToolResult, shown: str
) -> None:
    async with genmcp(tmp_path, TinyCosmiq(lambda board: answer)) as (_, client):
        result = await client.call_tool("cosmiq_get_board", {"board": "b1"})

    assert result.is_error
    error = data(result)["error"]
    assert error["code"] == "upstream_error"
    assert "genmcp cannot read" in error["message"]
    assert shown in error["message"]
    assert error["charged"] is False
    assert "may have been charged" not in text(result)
