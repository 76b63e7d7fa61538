"""The Kolbo adapter against its simulator, through a real MCP client (in memory): every tool, every quirk of the
API (host-relative poll URLs, chat's message_id, Creative Director's per-scene progress, the odd 429 body,
insufficient credits as 400 or 402, cancel), and bad input that must never reach Kolbo."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp_types import CallToolResult
from PIL import Image
from starlette.applications import Starlette
from starlette.routing import Mount

from providers import PROVIDERS, Provider
from providers.kolbo.adapter import Kolbo
from providers.kolbo.simulator import KolboAccount, KolboSimulator
from server.app import Runtime
from server.config import Settings, load_settings
from server.errors import AuthError
from tests.conftest import FakeClock

pytestmark = pytest.mark.anyio

KEY = "kolbo_live_" + "a" * 40
BASE_URL = "https://api.kolbo.test/api"
CDN = "https://cdn.kolbo.test"
GLOBAL_DNA = "64f1a0000000000000000001"
GOLDEN_HOUR = "64f1b0000000000000000001"
SERVED: tuple[type[Provider], ...] = PROVIDERS if Kolbo in PROVIDERS else (*PROVIDERS, Kolbo)


@pytest.fixture(autouse=True)
def _kolbo_served(monkeypatch: pytest.MonkeyPatch) -> None:
    # Until Kolbo is listed in providers.PROVIDERS, serve it for these tests only.
    monkeypatch.setattr("providers.PROVIDERS", SERVED)
    monkeypatch.setattr("server.app.PROVIDERS", SERVED)


def _settings(tmp_path: Path, *, base_url: str = BASE_URL, key: str = KEY, **sections: Any) -> Settings:
    data: dict[str, Any] = {
        "jobs": {"db_path": str(tmp_path / "jobs.sqlite3"), "wait_seconds": 45, "max_wait_seconds": 55},
        "artifacts": {"dir": str(tmp_path / "artifacts")},
        "providers": {"kolbo": {"api_key": key, "base_url": base_url}},
        "sandbox": {"mode": "off"},
        "upstream": {"backoff_base": 0.5, "backoff_max": 4},
        **sections,
    }
    return load_settings(None, env={}, provider_names=[p.name for p in SERVED], overrides=data)


async def _public(host: str, port: int) -> list[str]:
    return ["93.184.216.34"]  # the CDN "resolves" publicly, so previews pass the SSRF guard into the simulator


def _runtime(tmp_path: Path, clock: FakeClock, app: Any, **settings: Any) -> Runtime:
    return Runtime(
        _settings(tmp_path, **settings),
        clock=clock,
        transports={"kolbo": httpx2.ASGITransport(app=app)},
        fetch_transport=httpx2.ASGITransport(app=app),
        resolver=_public,
    )


@pytest.fixture
def sim(clock: FakeClock) -> KolboSimulator:
    return KolboSimulator(accounts={KEY: KolboAccount(plan_credits=1000)}, job_seconds=8, now=clock.now, public_url=CDN)


@pytest.fixture
async def runtime(tmp_path: Path, clock: FakeClock, sim: KolboSimulator) -> AsyncIterator[Runtime]:
    async with _runtime(tmp_path, clock, sim.app) as rt:
        yield rt


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[Client]:
    async with Client(runtime.mcp) as connected:
        yield connected


def _data(result: CallToolResult) -> dict[str, Any]:
    assert isinstance(result.structured_content, dict), result.content
    return result.structured_content


def _text(result: CallToolResult) -> str:
    return " ".join(block.text for block in result.content if block.type == "text")


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), "teal").save(buffer, "PNG")
    return buffer.getvalue()


def _posted(sim: KolboSimulator, path: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(next(r for r in sim.requests if r.key == f"POST {path}").body)
    return body


def _gets(sim: KolboSimulator, fragment: str) -> list[str]:
    return [r.path for r in sim.requests if r.method == "GET" and fragment in r.path]


# --- the tools ------------------------------------------------------------------------------------


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
    client: Client, sim: KolboSimulator
) -> None:
    result = await client.call_tool(
        "kolbo_generate_image",
        {"prompt": "A sunset", "aspect_ratio": "16:9", "num_images": 2, "model": "kie-nano-banana", "wait": 55},
    )

    data = _data(result)
    assert (data["status"], result.is_error) == ("completed", False)
    assert [(a["kind"], a["mime_type"]) for a in data["assets"]] == [("image", "image/png")] * 2
    assert all(a["url"].startswith(f"{CDN}/media/") for a in data["assets"])
    assert data["credits"]["charged"] == 8
    assert data["details"]["model"] == "kie-nano-banana"
    assert data["details"]["prompt_used"].startswith("A sunset")
    assert [block.type for block in result.content].count("image") == 1
    sent = next(r for r in sim.requests if r.method == "POST")
    assert sent.path == "/api/v1/generate/image"
    assert sent.headers["x-api-key"] == KEY
    assert "authorization" not in sent.headers
    assert json.loads(sent.body) == {"prompt": "A sunset", "model": "kie-nano-banana", "aspect_ratio": "16:9",
                                     "num_images": 2}  # fmt: skip


async def test_polls_go_to_the_host_relative_poll_url(client: Client, sim: KolboSimulator) -> None:
    data = _data(await client.call_tool("kolbo_generate_image", {"prompt": "x", "wait": 55}))

    generation_id = data["job"].split(":", 1)[1]
    assert set(_gets(sim, "/status")) == {f"/api/v1/generate/{generation_id}/status"}


async def test_poll_url_joins_the_host_root_under_a_mounted_prefix_even_after_a_restart(
    tmp_path: Path, clock: FakeClock, sim: KolboSimulator
) -> None:
    sim.public_url = "http://sandbox.test/kolbo"
    host = Starlette(routes=[Mount("/kolbo", app=sim.app)])
    base = "http://sandbox.test/kolbo/api"
    async with _runtime(tmp_path, clock, host, base_url=base) as first, Client(first.mcp) as client:
        started = _data(await client.call_tool("kolbo_generate_image", {"prompt": "x", "wait": 0}))
        assert started["status"] == "running"
    clock.advance(20)
    async with _runtime(tmp_path, clock, host, base_url=base) as second, Client(second.mcp) as client:
        done = _data(await client.call_tool("poll", {"job": started["job"]}))

    generation_id = started["job"].split(":", 1)[1]
    assert done["status"] == "completed"
    assert done["assets"][0]["url"] == f"http://sandbox.test/kolbo/media/{generation_id}/0.png"
    assert sim.requests.count("POST /kolbo/api/v1/generate/image") == 1
    assert _gets(sim, "/status") == [f"/kolbo/api/v1/generate/{generation_id}/status"]


async def test_edit_image_passes_source_urls_through(client: Client, sim: KolboSimulator) -> None:
    args = {"prompt": "make it red", "source_images": ["https://example.com/car.png"], "wait": 55}
    result = await client.call_tool("kolbo_edit_image", args)

    assert _data(result)["status"] == "completed"
    assert _posted(sim, "/api/v1/generate/image-edit")["source_images"] == ["https://example.com/car.png"]


async def test_video_assets_are_video_and_cost_credit_per_second(client: Client, sim: KolboSimulator) -> None:
    args = {"prompt": "waves", "model": "seedance-1-pro", "duration": 10, "resolution": "1080p", "wait": 55}
    result = await client.call_tool("kolbo_generate_video", args)

    data = _data(result)
    assert data["status"] == "completed"
    assert data["credits"]["charged"] == 112.5
    assert [(a["kind"], a["mime_type"]) for a in data["assets"]] == [("video", "video/mp4")]
    assert data["details"]["thumbnail_url"].endswith(".png")
    assert data["details"]["duration"] == 10
    assert not any(block.type == "image" for block in result.content)


async def test_video_from_image_sends_the_start_frame_as_image_url(client: Client, sim: KolboSimulator) -> None:
    args = {"image": "https://example.com/still.jpg", "prompt": "slow zoom", "duration": 5, "wait": 55}
    data = _data(await client.call_tool("kolbo_video_from_image", args))

    assert data["status"] == "completed"
    assert data["assets"][0]["kind"] == "video"
    assert _posted(sim, "/api/v1/generate/video/from-image")["image_url"] == "https://example.com/still.jpg"


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

    data = _data(result)
    assert data["status"] == "completed"
    assert [(a["kind"], a["mime_type"]) for a in data["assets"]] == [("audio", mime)] * count
    assert not any(block.type == "image" for block in result.content)


async def test_speech_costs_per_started_hundred_characters(client: Client) -> None:
    data = _data(await client.call_tool("kolbo_generate_speech", {"text": "x" * 250, "wait": 0}))
    assert data["credits"]["charged"] == 6


# --- chat -----------------------------------------------------------------------------------------


async def test_chat_uses_message_id_and_a_second_message_continues_the_session(
    client: Client, sim: KolboSimulator
) -> None:
    first = _data(await client.call_tool("kolbo_chat", {"message": "My name is Ada.", "system_prompt": "Be brief."}))

    message_id = first["job"].split(":", 1)[1]
    assert message_id in sim.generations
    assert sim.generations[message_id].type == "chat"
    assert first["status"] == "completed"
    assert "message 1 of this session" in first["text"]
    assert first["credits"]["charged"] > 0
    session_id = first["details"]["session_id"]

    second = _data(await client.call_tool("kolbo_chat", {"message": "What is my name?", "session_id": session_id}))

    assert second["details"]["session_id"] == session_id
    assert 'Your previous message was: "My name is Ada."' in second["text"]
    assert _gets(sim, "/status")[-1] == f"/api/v1/generate/{second['job'].split(':', 1)[1]}/status"


async def test_chat_media_urls_pass_through_and_deep_think_reasoning_is_kept(
    client: Client, sim: KolboSimulator
) -> None:
    args = {"message": "describe", "media_urls": ["https://example.com/a.png"], "deep_think": True}
    data = _data(await client.call_tool("kolbo_chat", args))

    assert "1 attached file" in data["text"]
    assert data["details"]["reasoning"]
    assert _posted(sim, "/api/v1/chat")["media_urls"] == ["https://example.com/a.png"]


# --- creative director ----------------------------------------------------------------------------


async def test_creative_director_reports_finished_scenes_while_it_runs(
    client: Client, sim: KolboSimulator, clock: FakeClock
) -> None:
    started = _data(await client.call_tool("kolbo_creative_director", {"prompt": "red sneaker", "scene_count": 3,
                                                                       "wait": 0}))  # fmt: skip
    assert (started["status"], started["credits"]["charged"]) == ("running", 6)
    seen: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(message or "")

    partial = await client.call_tool("poll", {"job": started["job"], "wait": 10}, progress_callback=on_progress)

    data = _data(partial)
    assert (data["status"], partial.is_error) == ("running", False)
    scene_one = f"kolbo-{started['job'].split(':', 1)[1]}-scene1-image1.png"
    assert [(a["kind"], a["name"]) for a in data["assets"]] == [("image", scene_one)]
    assert data["assets"][0]["pending"] is False
    assert data["assets"][0]["description"] == "Scene 1: Hero Shot"
    assert data["progress"] == 33
    assert [s["status"] for s in data["details"]["scenes"]] == ["completed", "processing", "pending"]
    assert any("1 of 3 scenes done" in message for message in seen)
    assert all(path.startswith("/api/v1/generate/creative-director/") for path in _gets(sim, "/status"))

    done = _data(await client.call_tool("poll", {"job": started["job"], "wait": 55}))
    assert done["status"] == "completed"
    assert len(done["assets"]) == 3
    assert done["credits"] == {"charged": 6, "remaining": None, "refunded": False}


async def test_a_creative_director_handle_from_elsewhere_falls_back_to_its_status_path(
    client: Client, sim: KolboSimulator, clock: FakeClock
) -> None:
    transport = httpx2.ASGITransport(app=sim.app)
    async with httpx2.AsyncClient(transport=transport, base_url=BASE_URL + "/", headers={"X-API-Key": KEY}) as http:
        started = (await http.post("v1/generate/creative-director", json={"prompt": "p", "scene_count": 1})).json()
    clock.advance(30)

    data = _data(await client.call_tool("poll", {"job": f"kolbo:{started['generation_id']}"}))

    assert data["status"] == "completed"
    assert data["assets"][0]["kind"] == "image"
    assert _gets(sim, "/status") == [
        f"/api/v1/generate/{started['generation_id']}/status",
        f"/api/v1/generate/creative-director/{started['generation_id']}/status",
    ]


# --- failures, errors, limits ---------------------------------------------------------------------


async def test_a_failure_carries_its_category_code_and_retryable_into_the_error(client: Client) -> None:
    result = await client.call_tool("kolbo_generate_image", {"prompt": "something [fail]", "wait": 55})

    error = _data(result)["error"]
    assert result.is_error
    assert (error["code"], error["upstream_code"]) == ("job_failed", "CONTENT_FLAGGED_SENSITIVE")
    assert (error["retryable"], error["charged"], error["refunded"]) == (False, True, True)
    assert "content_policy" in error["message"]
    assert _data(result)["credits"]["refunded"] is True


async def test_a_429_on_a_post_is_retried_after_its_retry_after(
    client: Client, sim: KolboSimulator, clock: FakeClock
) -> None:
    sim.rate_limit = 1
    await client.call_tool("kolbo_generate_image", {"prompt": "a", "wait": 0})
    clock.advance(15)

    result = await client.call_tool("kolbo_generate_image", {"prompt": "b", "wait": 0})

    assert _data(result)["status"] == "running"
    assert 45.0 in clock.sleeps
    assert sim.requests.count("POST /api/v1/generate/image") == 3
    assert len(sim.generations) == 2


async def test_a_persistent_429_becomes_rate_limited_with_retry_after(
    client: Client, runtime: Runtime, sim: KolboSimulator
) -> None:
    body = {"status": False, "message": "Too many requests, please try again later"}
    sim.faults.add("POST", "/api/v1/generate/image", status=429, body=body, headers={"Retry-After": "7"}, times=None)

    result = await client.call_tool("kolbo_generate_image", {"prompt": "x"})

    error = _data(result)["error"]
    assert (error["code"], error["retryable"], error["charged"]) == ("rate_limited", True, False)
    assert error["retry_after"] == 7
    assert "Too many requests" in error["message"]
    assert sim.requests.count("POST /api/v1/generate/image") == 4
    assert await runtime.store.list() == []


@pytest.mark.parametrize("status", [400, 402])
async def test_insufficient_credits_as_400_or_402_is_insufficient_credits(
    tmp_path: Path, clock: FakeClock, status: int
) -> None:
    sim = KolboSimulator(accounts={KEY: KolboAccount(plan_credits=1)}, now=clock.now, insufficient_status=status)
    async with _runtime(tmp_path, clock, sim.app) as runtime, Client(runtime.mcp) as client:
        result = await client.call_tool("kolbo_generate_image", {"prompt": "x"})
        jobs = await runtime.store.list()

    error = _data(result)["error"]
    assert (error["code"], error["upstream_code"], error["charged"]) == ("insufficient_credits", "INSUFFICIENT_CREDITS",
                                                                         False)  # fmt: skip
    assert "needs 2, you have 1" in error["message"]
    assert jobs == []


@pytest.mark.parametrize(
    ("status", "body", "code", "upstream"),
    [
        (500, {"success": False, "error": "failed to start", "code": "GENERATION_ERROR"}, "upstream_error",
         "GENERATION_ERROR"),
        (400, {"success": False, "error": "Model not found", "code": "MODEL_NOT_FOUND"}, "invalid_input",
         "MODEL_NOT_FOUND"),
        (400, {"success": False, "error": "Missing required field: prompt", "code": "MISSING_FIELDS"},
         "invalid_input", "MISSING_FIELDS"),
        (403, {"success": False, "error": "nope", "code": "FORBIDDEN"}, "forbidden", "FORBIDDEN"),
        (502, "<html><h1>Bad gateway</h1></html>", "upstream_error", None),
    ],
)  # fmt: skip
async def test_submit_errors_map_onto_the_error_tree(
    client: Client, sim: KolboSimulator, status: int, body: Any, code: str, upstream: str | None
) -> None:
    sim.faults.add("POST", "/api/v1/generate/sound", status=status, body=body)

    error = _data(await client.call_tool("kolbo_generate_sound", {"prompt": "x"}))["error"]

    assert (error["code"], error["upstream_code"]) == (code, upstream)
    assert error["charged"] is (None if status >= 500 else False)


async def test_the_generation_error_marker_is_an_upstream_error(client: Client) -> None:
    error = _data(await client.call_tool("kolbo_generate_image", {"prompt": "[error]"}))["error"]
    assert (error["code"], error["upstream_code"]) == ("upstream_error", "GENERATION_ERROR")


async def test_an_unknown_key_is_an_auth_error_naming_the_variable(
    tmp_path: Path, clock: FakeClock, sim: KolboSimulator
) -> None:
    async with _runtime(tmp_path, clock, sim.app, key="kolbo_live_wrong") as runtime:
        async with Client(runtime.mcp) as client:
            result = await client.call_tool("kolbo_list_models", {})
        with pytest.raises(AuthError):
            await runtime.providers["kolbo"].check()
    error = _data(result)["error"]
    assert (error["code"], error["upstream_code"]) == ("auth_failed", "INVALID_API_KEY")
    assert "KOLBO_API_KEY" in error["message"]
    assert "kolbo_live_wrong" not in error["message"]


async def test_an_unreadable_start_answer_is_submit_unknown(client: Client, sim: KolboSimulator) -> None:
    sim.faults.add("POST", "/api/v1/generate/image", status=200, body={"success": True}, after_handling=True)
    error = _data(await client.call_tool("kolbo_generate_image", {"prompt": "x"}))["error"]
    assert (error["code"], error["charged"]) == ("submit_unknown", None)


async def test_polling_an_unknown_generation_is_not_found(client: Client) -> None:
    result = await client.call_tool("poll", {"job": "kolbo:0123456789abcdef01234567"})
    error = _data(result)["error"]
    assert result.is_error
    assert (error["code"], error["upstream_code"]) == ("not_found", "NOT_FOUND")


# --- cancel ---------------------------------------------------------------------------------------


async def test_cancelling_a_running_job_shows_the_refund(client: Client, sim: KolboSimulator) -> None:
    started = _data(await client.call_tool("kolbo_generate_video", {"prompt": "p", "wait": 0}))
    assert sim.accounts[KEY].plan_credits == 975

    result = await client.call_tool("cancel", {"job": started["job"]})

    data = _data(result)
    assert (data["status"], data["error"]["code"]) == ("failed", "cancelled")
    assert data["credits"] == {"charged": 25, "remaining": None, "refunded": True}
    assert data["details"]["credits_refunded"] == 25
    assert "25 charged then refunded" in _text(result)
    assert sim.accounts[KEY].plan_credits == 1000
    assert sim.requests.count(f"POST /api/v1/generate/{started['job'][6:]}/cancel") == 1


async def test_cancelling_a_job_that_already_finished_says_so(
    client: Client, sim: KolboSimulator, clock: FakeClock
) -> None:
    started = _data(await client.call_tool("kolbo_generate_image", {"prompt": "p", "wait": 0}))
    clock.advance(20)

    result = await client.call_tool("cancel", {"job": started["job"]})

    error = _data(result)["error"]
    assert result.is_error
    assert error["code"] == "already_finished"
    assert "already finished (completed)" in error["message"]
    assert _data(await client.call_tool("poll", {"job": started["job"]}))["status"] == "completed"


# --- local validation: nothing reaches Kolbo ------------------------------------------------------

_DATA_URL = "data:image/png;base64," + base64.b64encode(_png()).decode()


@pytest.mark.parametrize(
    ("tool", "args", "phrase"),
    [
        ("kolbo_creative_director", {"prompt": "p", "scene_count": 9}, "scene_count"),
        ("kolbo_creative_director", {"prompt": "p", "scene_count": 0}, "scene_count"),
        ("kolbo_creative_director", {"prompt": "p", "duration": 5}, "workflow_type 'video' only"),
        ("kolbo_chat", {"message": ""}, "message"),
        ("kolbo_chat", {"message": "   "}, "message"),
        ("kolbo_chat", {"message": "hi", "media_urls": ["https://x.test/a.png"] * 11}, "media_urls"),
        ("kolbo_chat", {"message": "hi", "session_id": "abc", "system_prompt": "x"}, "new conversation"),
        ("kolbo_chat", {"message": "hi", "session_id": "../../v1/account"}, "session_id"),
        ("kolbo_visual_dna_create", {"name": "five", "images": [_DATA_URL] * 5}, "images"),
        ("kolbo_visual_dna_create", {"name": "none", "images": []}, "images"),
        ("kolbo_generate_video", {"prompt": "p", "duration": -5}, "duration"),
        ("kolbo_generate_sound", {"prompt": "p", "duration": 0}, "duration"),
        ("kolbo_generate_image", {"prompt": "p", "num_images": 5}, "num_images"),
        ("kolbo_generate_image", {"prompt": "p", "visual_dna_ids": ["a", "b", "c", "d"]}, "visual_dna_ids"),
        ("kolbo_generate_image", {"prompt": "x" * 4001}, "prompt"),
        ("kolbo_generate_image", {"prompt": "p", "aspect_ratio": "wide"}, "aspect_ratio"),
        ("kolbo_generate_image", {"prompt": "p", "api_key": "kolbo_live_x"}, "api_key: not an accepted argument"),
        ("kolbo_generate_image", {"prompt": "p", "reference_images": [_DATA_URL]}, "public https:// URL"),
        ("kolbo_edit_image", {"prompt": "p", "source_images": []}, "source_images"),
        ("kolbo_video_from_image", {"image": "file:///etc/passwd"}, "public https:// URL"),
        ("kolbo_generate_speech", {"text": "x" * 5001}, "text"),
        ("kolbo_generate_music", {"prompt": "p", "instrumental": True, "lyrics": "la"}, "instrumental"),
        ("kolbo_visual_dna_get", {"visual_dna_id": "../account/credits"}, "visual_dna_id"),
        ("kolbo_moodboards", {"moodboard_id": GOLDEN_HOUR, "scope": "preset"}, "scope"),
        ("kolbo_list_models", {"type": "hologram"}, "type"),
    ],
)
async def test_bad_input_is_an_error_and_sends_nothing_to_kolbo(
    client: Client, sim: KolboSimulator, tool: str, args: dict[str, Any], phrase: str
) -> None:
    result = await client.call_tool(tool, args)

    assert result.is_error
    assert phrase in _text(result)
    assert sim.requests.total == 0


# --- credits, models, visual DNA, moodboards ------------------------------------------------------


async def test_credits_show_the_live_balance(client: Client, sim: KolboSimulator) -> None:
    before = _data(await client.call_tool("credits", {"provider": "kolbo"}))["balances"][0]
    await client.call_tool("kolbo_generate_image", {"prompt": "x", "wait": 0})
    sim.accounts[KEY].credit_pack = 50
    after = _data(await client.call_tool("credits", {}))["balances"]

    assert (before["provider"], before["remaining"], before["live"]) == ("kolbo", 1000, True)
    assert [(b["provider"], b["remaining"], b["live"]) for b in after] == [("kolbo", 1048, True)]
    assert sim.requests.count("GET /api/v1/account/credits") == 2


async def test_check_reads_the_balance(runtime: Runtime) -> None:
    assert await runtime.providers["kolbo"].check() == "key accepted; 1000 credits"


async def test_list_models_shows_costs_and_limits(client: Client, sim: KolboSimulator) -> None:
    result = await client.call_tool("kolbo_list_models", {"type": "video", "provider": "fal"})

    data = _data(result)
    assert data["details"]["count"] == 1
    model = data["details"]["models"][0]
    assert (model["identifier"], model["credit"], model["supported_durations"]) == ("seedance-1-pro", 5, [5, 10])
    assert model["cost"] == "5 credits per second of video (× resolution multiplier)"
    assert model["max_reference_images"] == 1
    assert "16:9" in model["supported_aspect_ratios"]
    assert "seedance-1-pro — Seedance 1.0 Pro (fal): 5 credits per second" in _text(result)
    assert next(r for r in sim.requests if r.path == "/api/v1/models").query == "type=video&provider=fal"


async def test_list_models_prices_chat_per_token_and_speech_per_hundred_characters(client: Client) -> None:
    models = {m["identifier"]: m for m in _data(await client.call_tool("kolbo_list_models", {}))["details"]["models"]}
    assert models["gpt-4o"]["cost"] == "0.5 in / 1.5 out credits per 1K tokens"
    assert models["eleven_v3"]["cost"] == "2 credits per started 100 characters"
    assert models["fal-ai/flux/schnell"]["cost"] == "2 credits per image"


async def test_visual_dna_can_be_created_from_files_then_listed_fetched_and_deleted(
    client: Client, sim: KolboSimulator
) -> None:
    board_image = f"{CDN}/media/{GOLDEN_HOUR}/0.png"  # fetched through the SSRF guard, then uploaded
    args = {"name": "maya", "images": [_DATA_URL, board_image], "dna_type": "character", "prompt_helper": "red hair"}

    created = await client.call_tool("kolbo_visual_dna_create", args)

    data = _data(created)
    assert (data["status"], created.is_error) == ("completed", False)
    dna = data["details"]["visual_dna"]
    assert (dna["name"], dna["dna_type"]) == ("maya", "character")
    assert "red hair" in dna["description"]
    assert [a["kind"] for a in data["assets"]] == ["image", "image"]
    upload = next(r for r in sim.requests if r.key == "POST /api/v1/visual-dna")
    assert upload.headers["content-type"].startswith("multipart/form-data")
    for field in (b'name="dna_type"', b'name="dnaType"', b'name="prompt_helper"', b'name="promptHelper"'):
        assert field in upload.body
    assert upload.body.count(b'name="images"') == 2

    listed = _data(await client.call_tool("kolbo_visual_dna_list", {"scope": "personal"}))["details"]
    assert [d["id"] for d in listed["visual_dnas"]] == [dna["id"]]
    fetched = _data(await client.call_tool("kolbo_visual_dna_get", {"visual_dna_id": dna["id"]}))
    assert "maya" in fetched["details"]["visual_dna"]["system_prompt"]
    deleted = _data(await client.call_tool("kolbo_visual_dna_delete", {"visual_dna_id": dna["id"]}))
    assert deleted["details"]["deleted"] == dna["id"]
    gone = _data(await client.call_tool("kolbo_visual_dna_get", {"visual_dna_id": dna["id"]}))
    assert gone["error"]["code"] == "not_found"
    assert "Visual DNA" in gone["error"]["message"]


async def test_a_global_visual_dna_cannot_be_deleted(client: Client) -> None:
    error = _data(await client.call_tool("kolbo_visual_dna_delete", {"visual_dna_id": GLOBAL_DNA}))["error"]
    assert (error["code"], error["upstream_code"]) == ("forbidden", "FORBIDDEN")


async def test_moodboards_are_listed_and_shown_with_their_images(client: Client) -> None:
    listed = _data(await client.call_tool("kolbo_moodboards", {}))
    assert listed["details"]["count"] == 3
    assert "Golden Hour Film" in listed["text"]

    board = await client.call_tool("kolbo_moodboards", {"moodboard_id": GOLDEN_HOUR})

    data = _data(board)
    assert data["details"]["moodboard"]["style_guide"]
    assert [a["kind"] for a in data["assets"]] == ["image"] * 3
    assert any(block.type == "image" for block in board.content)


async def test_an_image_generation_can_use_a_visual_dna_and_a_moodboard(client: Client, sim: KolboSimulator) -> None:
    args = {"prompt": "portrait", "visual_dna_ids": [GLOBAL_DNA], "moodboard_id": GOLDEN_HOUR, "wait": 55}
    data = _data(await client.call_tool("kolbo_generate_image", args))

    assert "golden-hour" in data["details"]["prompt_used"]
    assert "Kolbo Explorer" in data["details"]["prompt_used"]
    sent = _posted(sim, "/api/v1/generate/image")
    assert (sent["visual_dna_ids"], sent["moodboard_id"]) == ([GLOBAL_DNA], GOLDEN_HOUR)
