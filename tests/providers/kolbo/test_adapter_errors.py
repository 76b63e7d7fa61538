"""How the Kolbo adapter reports what went wrong: failed generations, the odd 429 body, insufficient credits as 400
or 402, every documented error code, a refused key, unreadable answers, and bad input that must never reach Kolbo."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from providers.kolbo.simulator import KolboAccount, KolboSimulator
from server.app import Runtime
from server.errors import AuthError
from tests.harness.clock import FakeClock
from tests.harness.results import data, text
from tests.providers.kolbo.support import GOLDEN_HOUR, KEY, kolbo_runtime, png

pytestmark = pytest.mark.anyio


async def test_a_failure_carries_its_category_code_and_retryable_into_the_error(client: Client) -> None:
    result = await client.call_tool("kolbo_generate_image", {"prompt": "something [fail]", "wait": 55})

    error = data(result)["error"]
    assert result.is_error
    assert error["code"] == "job_failed"
    assert error["upstream_code"] == "CONTENT_FLAGGED_SENSITIVE"
    assert error["retryable"] is False
    assert error["charged"] is True
    assert error["refunded"] is True
    assert "content_policy" in error["message"]
    assert data(result)["credits"]["refunded"] is True


async def test_a_429_on_a_post_is_retried_after_its_retry_after(
    client: Client, upstream: KolboSimulator, clock: FakeClock
) -> None:
    upstream.rate_limit = 1
    await client.call_tool("kolbo_generate_image", {"prompt": "a", "wait": 0})
    clock.advance(15)

    result = await client.call_tool("kolbo_generate_image", {"prompt": "b", "wait": 0})

    assert data(result)["status"] == "running"
    assert 45.0 in clock.sleeps
    assert upstream.requests.count("POST /api/v1/generate/image") == 3
    assert len(upstream.generations) == 2


async def test_a_persistent_429_becomes_rate_limited_with_retry_after(
    client: Client, runtime: Runtime, upstream: KolboSimulator
) -> None:
    body = {"status": False, "message": "Too many requests, please try again later"}
    upstream.faults.add(
        "POST", "/api/v1/generate/image", status=429, body=body, headers={"Retry-After": "7"}, times=None
    )

    result = await client.call_tool("kolbo_generate_image", {"prompt": "x"})

    error = data(result)["error"]
    assert error["code"] == "rate_limited"
    assert error["retryable"] is True
    assert error["charged"] is False
    assert error["retry_after"] == 7
    assert "Too many requests" in error["message"]
    assert upstream.requests.count("POST /api/v1/generate/image") == 4
    assert await runtime.store.list() == []


@pytest.mark.parametrize("status", [400, 402])
async def test_insufficient_credits_as_400_or_402_is_insufficient_credits(
    tmp_path: Path, clock: FakeClock, status: int
) -> None:
    sim = KolboSimulator(accounts={KEY: KolboAccount(plan_credits=1)}, now=clock.now, insufficient_status=status)
    async with kolbo_runtime(tmp_path, clock, sim.app) as runtime, Client(runtime.mcp) as client:
        result = await client.call_tool("kolbo_generate_image", {"prompt": "x"})
        jobs = await runtime.store.list()

    error = data(result)["error"]
    assert error["code"] == "insufficient_credits"
    assert error["upstream_code"] == "INSUFFICIENT_CREDITS"
    assert error["charged"] is False
    assert "needs 2, you have 1" in error["message"]
    assert jobs == []


@pytest.mark.parametrize(
    ("status", "body", "code", "upstream_code"),
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
    client: Client, upstream: KolboSimulator, status: int, body: Any, code: str, upstream_code: str | None
) -> None:
    upstream.faults.add("POST", "/api/v1/generate/sound", status=status, body=body)

    error = data(await client.call_tool("kolbo_generate_sound", {"prompt": "x"}))["error"]

    assert error["code"] == code
    assert error["upstream_code"] == upstream_code
    assert error["charged"] is (None if status >= 500 else False)


async def test_the_generation_error_marker_is_an_upstream_error(client: Client) -> None:
    error = data(await client.call_tool("kolbo_generate_image", {"prompt": "[error]"}))["error"]
    assert error["code"] == "upstream_error"
    assert error["upstream_code"] == "GENERATION_ERROR"


async def test_an_unknown_key_is_an_auth_error_naming_the_variable(
    tmp_path: Path, clock: FakeClock, upstream: KolboSimulator
) -> None:
    async with kolbo_runtime(tmp_path, clock, upstream.app, key="kolbo_live_wrong") as runtime:
        async with Client(runtime.mcp) as client:
            result = await client.call_tool("kolbo_list_models", {})
        with pytest.raises(AuthError):
            await runtime.providers["kolbo"].check()
    error = data(result)["error"]
    assert error["code"] == "auth_failed"
    assert error["upstream_code"] == "INVALID_API_KEY"
    assert "KOLBO_API_KEY" in error["message"]
    assert "kolbo_live_wrong" not in error["message"]


async def test_an_unreadable_start_answer_is_submit_unknown(client: Client, upstream: KolboSimulator) -> None:
    upstream.faults.add("POST", "/api/v1/generate/image", status=200, body={"success": True}, after_handling=True)
    error = data(await client.call_tool("kolbo_generate_image", {"prompt": "x"}))["error"]
    assert error["code"] == "submit_unknown"
    assert error["charged"] is None


async def test_polling_an_unknown_generation_is_not_found(client: Client) -> None:
    result = await client.call_tool("poll", {"job": "kolbo:0123456789abcdef01234567"})
    error = data(result)["error"]
    assert result.is_error
    assert error["code"] == "not_found"
    assert error["upstream_code"] == "NOT_FOUND"


# --- local validation: nothing reaches Kolbo ------------------------------------------------------

_DATA_URL = "data:image/png;base64," + base64.b64encode(png()).decode()


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
    client: Client, upstream: KolboSimulator, tool: str, args: dict[str, Any], phrase: str
) -> None:
    result = await client.call_tool(tool, args)

    assert result.is_error
    assert phrase in text(result)
    assert upstream.requests.total == 0
