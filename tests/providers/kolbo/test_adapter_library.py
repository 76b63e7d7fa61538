"""The Kolbo adapter's free tools and account hooks against the simulator: the live balance, the model catalogue
with prices in words, Visual DNAs (created from files, listed, fetched, deleted) and moodboards."""

from __future__ import annotations

import base64

import pytest
from mcp import Client

from providers.kolbo.simulator import KolboSimulator
from server.app import Runtime
from tests.harness.results import data, text
from tests.providers.kolbo.support import CDN, GLOBAL_DNA, GOLDEN_HOUR, KEY, png, posted

pytestmark = pytest.mark.anyio

_DATA_URL = "data:image/png;base64," + base64.b64encode(png()).decode()


async def test_credits_show_the_live_balance(client: Client, upstream: KolboSimulator) -> None:
    before = data(await client.call_tool("credits", {"provider": "kolbo"}))["balances"][0]
    await client.call_tool("kolbo_generate_image", {"prompt": "x", "wait": 0})
    upstream.accounts[KEY].credit_pack = 50
    after = data(await client.call_tool("credits", {}))["balances"]

    assert before["provider"] == "kolbo"
    assert before["remaining"] == 1000
    assert before["live"] is True
    assert [(b["provider"], b["remaining"], b["live"]) for b in after] == [("kolbo", 1048, True)]
    assert upstream.requests.count("GET /api/v1/account/credits") == 2


async def test_check_reads_the_balance(runtime: Runtime) -> None:
    assert await runtime.providers["kolbo"].check() == "key accepted; 1000 credits"


async def test_list_models_shows_costs_and_limits(client: Client, upstream: KolboSimulator) -> None:
    result = await client.call_tool("kolbo_list_models", {"type": "video", "provider": "fal"})

    answer = data(result)
    assert answer["details"]["count"] == 1
    model = answer["details"]["models"][0]
    assert model["identifier"] == "seedance-1-pro"
    assert model["credit"] == 5
    assert model["supported_durations"] == [5, 10]
    assert model["cost"] == "5 credits per second of video (× resolution multiplier)"
    assert model["max_reference_images"] == 1
    assert "16:9" in model["supported_aspect_ratios"]
    assert "seedance-1-pro — Seedance 1.0 Pro (fal): 5 credits per second" in text(result)
    assert next(r for r in upstream.requests if r.path == "/api/v1/models").query == "type=video&provider=fal"


async def test_list_models_prices_chat_per_token_and_speech_per_hundred_characters(client: Client) -> None:
    listed = data(await client.call_tool("kolbo_list_models", {}))["details"]["models"]
    models = {m["identifier"]: m for m in listed}
    assert models["gpt-4o"]["cost"] == "0.5 in / 1.5 out credits per 1K tokens"
    assert models["eleven_v3"]["cost"] == "2 credits per started 100 characters"
    assert models["fal-ai/flux/schnell"]["cost"] == "2 credits per image"


async def test_visual_dna_can_be_created_from_files_then_listed_fetched_and_deleted(
    client: Client, upstream: KolboSimulator
) -> None:
    board_image = f"{CDN}/media/{GOLDEN_HOUR}/0.png"  # fetched through the SSRF guard, then uploaded
    args = {"name": "maya", "images": [_DATA_URL, board_image], "dna_type": "character", "prompt_helper": "red hair"}

    created = await client.call_tool("kolbo_visual_dna_create", args)

    answer = data(created)
    assert answer["status"] == "completed"
    assert created.is_error is False
    dna = answer["details"]["visual_dna"]
    assert dna["name"] == "maya"
    assert dna["dna_type"] == "character"
    assert "red hair" in dna["description"]
    assert [a["kind"] for a in answer["assets"]] == ["image", "image"]
    upload = next(r for r in upstream.requests if r.key == "POST /api/v1/visual-dna")
    assert upload.headers["content-type"].startswith("multipart/form-data")
    for field in (b'name="dna_type"', b'name="dnaType"', b'name="prompt_helper"', b'name="promptHelper"'):
        assert field in upload.body
    assert upload.body.count(b'name="images"') == 2

    listed = data(await client.call_tool("kolbo_visual_dna_list", {"scope": "personal"}))["details"]
    assert [d["id"] for d in listed["visual_dnas"]] == [dna["id"]]
    fetched = data(await client.call_tool("kolbo_visual_dna_get", {"visual_dna_id": dna["id"]}))
    assert "maya" in fetched["details"]["visual_dna"]["system_prompt"]
    deleted = data(await client.call_tool("kolbo_visual_dna_delete", {"visual_dna_id": dna["id"]}))
    assert deleted["details"]["deleted"] == dna["id"]
    gone = data(await client.call_tool("kolbo_visual_dna_get", {"visual_dna_id": dna["id"]}))
    assert gone["error"]["code"] == "not_found"
    assert "Visual DNA" in gone["error"]["message"]


async def test_a_global_visual_dna_cannot_be_deleted(client: Client) -> None:
    error = data(await client.call_tool("kolbo_visual_dna_delete", {"visual_dna_id": GLOBAL_DNA}))["error"]
    assert error["code"] == "forbidden"
    assert error["upstream_code"] == "FORBIDDEN"


async def test_moodboards_are_listed_and_shown_with_their_images(client: Client) -> None:
    listed = data(await client.call_tool("kolbo_moodboards", {}))
    assert listed["details"]["count"] == 3
    assert "Golden Hour Film" in listed["text"]

    board = await client.call_tool("kolbo_moodboards", {"moodboard_id": GOLDEN_HOUR})

    answer = data(board)
    assert answer["details"]["moodboard"]["style_guide"]
    assert [a["kind"] for a in answer["assets"]] == ["image"] * 3
    assert any(block.type == "image" for block in board.content)


async def test_an_image_generation_can_use_a_visual_dna_and_a_moodboard(
    client: Client, upstream: KolboSimulator
) -> None:
    args = {"prompt": "portrait", "visual_dna_ids": [GLOBAL_DNA], "moodboard_id": GOLDEN_HOUR, "wait": 55}
    answer = data(await client.call_tool("kolbo_generate_image", args))

    assert "golden-hour" in answer["details"]["prompt_used"]
    assert "Kolbo Explorer" in answer["details"]["prompt_used"]
    sent = posted(upstream, "/api/v1/generate/image")
    assert sent["visual_dna_ids"] == [GLOBAL_DNA]
    assert sent["moodboard_id"] == GOLDEN_HOUR
