"""The Kolbo adapter's paid tools against the simulator, through a real MCP client (in memory): every generation
type, the key sent as X-API-Key, host-relative poll URLs, chat's message_id and sessions, and Creative Director's
per-scene progress."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from starlette.applications import Starlette
from starlette.routing import Mount

from providers.kolbo.simulator import KolboSimulator
from tests.harness.clock import FakeClock
from tests.harness.results import data
from tests.providers.kolbo.support import BASE_URL, CDN, KEY, gets, job_id, kolbo_runtime, posted

pytestmark = pytest.mark.anyio


async def test_every_kolbo_tool_is_served_with_kind_annotations(client: Client) -> None:
    tools = {tool.name: tool for tool in (await client.list_tools()).tools if tool.name.startswith("kolbo_")}

    spend = {"generate_image", "edit_image", "generate_video", "video_from_image", "generate_music"}
    spend |= {"generate_speech", "generate_sound", "creative_director", "chat"}
    reads = {"list_models", "visual_dna_list", "visual_dna_get", "moodboards"}
    writes = {"visual_dna_create", "visual_dna_delete"}
    assert set(tools) == {f"kolbo_{name}" for name in spend | reads | writes}
    for name in spend:
        tool = tools[f"kolbo_{name}"]
        assert tool.annotations is not None
        assert tool.annotations.read_only_hint is False
        assert "wait" in tool.input_schema["properties"]
        assert "Cost:" in (tool.description or "")
        assert "kolbo_list_models" in (tool.description or "")
    for name in reads:
        annotations = tools[f"kolbo_{name}"].annotations
        assert annotations is not None
        assert annotations.read_only_hint is True
    for name in writes:
        annotations = tools[f"kolbo_{name}"].annotations
        assert annotations is not None
        assert annotations.read_only_hint is False
    assert any(tool.name == "cancel" for tool in (await client.list_tools()).tools)


async def test_generate_image_sends_the_key_as_x_api_key_and_returns_images_with_a_preview(
    client: Client, upstream: KolboSimulator
) -> None:
    result = await client.call_tool(
        "kolbo_generate_image",
        {"prompt": "A sunset", "aspect_ratio": "16:9", "num_images": 2, "model": "kie-nano-banana", "wait": 55},
    )

    answer = data(result)
    assert answer["status"] == "completed"
    assert result.is_error is False
    assert [(a["kind"], a["mime_type"]) for a in answer["assets"]] == [("image", "image/png")] * 2
    assert all(a["url"].startswith(f"{CDN}/media/") for a in answer["assets"])
    assert answer["credits"]["charged"] == 8
    assert answer["details"]["model"] == "kie-nano-banana"
    assert answer["details"]["prompt_used"].startswith("A sunset")
    assert [block.type for block in result.content].count("image") == 1
    sent = next(r for r in upstream.requests if r.method == "POST")
    assert sent.path == "/api/v1/generate/image"
    assert sent.headers["x-api-key"] == KEY
    assert "authorization" not in sent.headers
    assert json.loads(sent.body) == {"prompt": "A sunset", "model": "kie-nano-banana", "aspect_ratio": "16:9",
                                     "num_images": 2}  # fmt: skip


async def test_polls_go_to_the_host_relative_poll_url(client: Client, upstream: KolboSimulator) -> None:
    answer = data(await client.call_tool("kolbo_generate_image", {"prompt": "x", "wait": 55}))

    assert set(gets(upstream, "/status")) == {f"/api/v1/generate/{job_id(answer['job'])}/status"}


async def test_poll_url_joins_the_host_root_under_a_mounted_prefix_even_after_a_restart(
    tmp_path: Path, clock: FakeClock, upstream: KolboSimulator
) -> None:
    upstream.public_url = "http://sandbox.test/kolbo"
    host = Starlette(routes=[Mount("/kolbo", app=upstream.app)])
    base = "http://sandbox.test/kolbo/api"
    async with kolbo_runtime(tmp_path, clock, host, base_url=base) as first, Client(first.mcp) as client:
        started = data(await client.call_tool("kolbo_generate_image", {"prompt": "x", "wait": 0}))
        assert started["status"] == "running"
    clock.advance(20)
    async with kolbo_runtime(tmp_path, clock, host, base_url=base) as second, Client(second.mcp) as client:
        done = data(await client.call_tool("poll", {"job": started["job"]}))

    generation_id = job_id(started["job"])
    assert done["status"] == "completed"
    assert done["assets"][0]["url"] == f"http://sandbox.test/kolbo/media/{generation_id}/0.png"
    assert upstream.requests.count("POST /kolbo/api/v1/generate/image") == 1
    assert gets(upstream, "/status") == [f"/kolbo/api/v1/generate/{generation_id}/status"]


async def test_edit_image_passes_source_urls_through(client: Client, upstream: KolboSimulator) -> None:
    args = {"prompt": "make it red", "source_images": ["https://example.com/car.png"], "wait": 55}
    result = await client.call_tool("kolbo_edit_image", args)

    assert data(result)["status"] == "completed"
    assert posted(upstream, "/api/v1/generate/image-edit")["source_images"] == ["https://example.com/car.png"]


async def test_video_assets_are_video_and_cost_credit_per_second(client: Client) -> None:
    args = {"prompt": "waves", "model": "seedance-1-pro", "duration": 10, "resolution": "1080p", "wait": 55}
    result = await client.call_tool("kolbo_generate_video", args)

    answer = data(result)
    assert answer["status"] == "completed"
    assert answer["credits"]["charged"] == 112.5
    assert [(a["kind"], a["mime_type"]) for a in answer["assets"]] == [("video", "video/mp4")]
    assert answer["details"]["thumbnail_url"].endswith(".png")
    assert answer["details"]["duration"] == 10
    assert not any(block.type == "image" for block in result.content)


async def test_video_from_image_sends_the_start_frame_as_image_url(client: Client, upstream: KolboSimulator) -> None:
    args = {"image": "https://example.com/still.jpg", "prompt": "slow zoom", "duration": 5, "wait": 55}
    answer = data(await client.call_tool("kolbo_video_from_image", args))

    assert answer["status"] == "completed"
    assert answer["assets"][0]["kind"] == "video"
    assert posted(upstream, "/api/v1/generate/video/from-image")["image_url"] == "https://example.com/still.jpg"


@pytest.mark.parametrize(
    ("tool", "args", "mime", "count"),
    [
        ("kolbo_generate_music", {"prompt": "lofi beat", "lyrics": "la la", "vocal_gender": "female"}, "audio/mpeg", 2),
        ("kolbo_generate_speech", {"text": "Hello there.", "voice": "Adam"}, "audio/mpeg", 1),
        ("kolbo_generate_sound", {"prompt": "door creak", "duration": 2.5}, "audio/wav", 1),
    ],
)  # fmt: skip
async def test_music_speech_and_sound_are_audio_assets_without_a_preview(
    client: Client, tool: str, args: dict[str, Any], mime: str, count: int
) -> None:
    result = await client.call_tool(tool, {**args, "wait": 55})

    answer = data(result)
    assert answer["status"] == "completed"
    assert [(a["kind"], a["mime_type"]) for a in answer["assets"]] == [("audio", mime)] * count
    assert not any(block.type == "image" for block in result.content)


async def test_speech_costs_per_started_hundred_characters(client: Client) -> None:
    answer = data(await client.call_tool("kolbo_generate_speech", {"text": "x" * 250, "wait": 0}))
    assert answer["credits"]["charged"] == 6


# --- chat -----------------------------------------------------------------------------------------


async def test_chat_uses_message_id_and_a_second_message_continues_the_session(
    client: Client, upstream: KolboSimulator
) -> None:
    first = data(await client.call_tool("kolbo_chat", {"message": "My name is Ada.", "system_prompt": "Be brief."}))

    message_id = job_id(first["job"])
    assert message_id in upstream.generations
    assert upstream.generations[message_id].type == "chat"
    assert first["status"] == "completed"
    assert "message 1 of this session" in first["text"]
    assert first["credits"]["charged"] > 0
    session_id = first["details"]["session_id"]

    second = data(await client.call_tool("kolbo_chat", {"message": "What is my name?", "session_id": session_id}))

    assert second["details"]["session_id"] == session_id
    assert 'Your previous message was: "My name is Ada."' in second["text"]
    assert gets(upstream, "/status")[-1] == f"/api/v1/generate/{job_id(second['job'])}/status"


async def test_chat_media_urls_pass_through_and_deep_think_reasoning_is_kept(
    client: Client, upstream: KolboSimulator
) -> None:
    args = {"message": "describe", "media_urls": ["https://example.com/a.png"], "deep_think": True}
    answer = data(await client.call_tool("kolbo_chat", args))

    assert "1 attached file" in answer["text"]
    assert answer["details"]["reasoning"]
    assert posted(upstream, "/api/v1/chat")["media_urls"] == ["https://example.com/a.png"]


# --- creative director ----------------------------------------------------------------------------


async def test_creative_director_reports_finished_scenes_while_it_runs(
    client: Client, upstream: KolboSimulator
) -> None:
    args = {"prompt": "red sneaker", "scene_count": 3, "wait": 0}
    started = data(await client.call_tool("kolbo_creative_director", args))
    assert started["status"] == "running"
    assert started["credits"]["charged"] == 6
    seen: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(message or "")

    partial = await client.call_tool("poll", {"job": started["job"], "wait": 10}, progress_callback=on_progress)

    answer = data(partial)
    assert answer["status"] == "running"
    assert partial.is_error is False
    scene_one = f"kolbo-{job_id(started['job'])}-scene1-image1.png"
    assert [(a["kind"], a["name"]) for a in answer["assets"]] == [("image", scene_one)]
    assert answer["assets"][0]["pending"] is False
    assert answer["assets"][0]["description"] == "Scene 1: Hero Shot"
    assert answer["progress"] == 33
    assert [s["status"] for s in answer["details"]["scenes"]] == ["completed", "processing", "pending"]
    assert any("1 of 3 scenes done" in message for message in seen)
    assert all(path.startswith("/api/v1/generate/creative-director/") for path in gets(upstream, "/status"))

    done = data(await client.call_tool("poll", {"job": started["job"], "wait": 55}))
    assert done["status"] == "completed"
    assert len(done["assets"]) == 3
    assert done["credits"]["charged"] == 6
    assert done["credits"]["remaining"] is None
    assert done["credits"]["refunded"] is False
    assert done["credits"].get("refunded_amount") is None


async def test_a_creative_director_handle_from_elsewhere_falls_back_to_its_status_path(
    client: Client, upstream: KolboSimulator, clock: FakeClock
) -> None:
    transport = httpx2.ASGITransport(app=upstream.app)
    async with httpx2.AsyncClient(transport=transport, base_url=BASE_URL + "/", headers={"X-API-Key": KEY}) as http:
        started = (await http.post("v1/generate/creative-director", json={"prompt": "p", "scene_count": 1})).json()
    clock.advance(30)

    answer = data(await client.call_tool("poll", {"job": f"kolbo:{started['generation_id']}"}))

    assert answer["status"] == "completed"
    assert answer["assets"][0]["kind"] == "image"
    assert gets(upstream, "/status") == [
        f"/api/v1/generate/{started['generation_id']}/status",
        f"/api/v1/generate/creative-director/{started['generation_id']}/status",
    ]
