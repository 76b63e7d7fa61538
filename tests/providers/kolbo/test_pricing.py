"""What Kolbo calls are expected to cost: every paid operation's estimate against the figures its cost text quotes,
the texts against the tables, and the estimates against what the simulator charges."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client

from providers.base import Operation
from providers.kolbo import pricing
from server.app import Runtime
from tests.harness.results import data

pytestmark = pytest.mark.anyio


def _operations(runtime: Runtime) -> dict[str, Operation[Any]]:
    return {op.name: op for op in runtime.providers["kolbo"].operations()}


def _estimate(runtime: Runtime, name: str, args: dict[str, Any]) -> float | None:
    op = _operations(runtime)[name]
    return op.estimated_cost(op.input_model.model_validate(args))


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        # ceil(characters / 100) × 2 credits for eleven_v3, the default speech model.
        ("generate_speech", {"text": "x" * 250}, 6),
        ("generate_speech", {"text": "x" * 100, "model": "eleven_v3"}, 2),
        ("generate_speech", {"text": "x" * 101, "voice": "Adam"}, 4),
        # The flat 10 credits of chirp-v4.
        ("generate_music", {"prompt": "lofi", "model": "chirp-v4"}, 10),
        ("generate_music", {"prompt": "lofi", "model": "chirp-v4", "instrumental": True}, 10),
        # The flat price of Kolbo's sound model, whatever the length.
        ("generate_sound", {"prompt": "door"}, 5),
        ("generate_sound", {"prompt": "door", "duration": 12}, 5),
    ],
)
async def test_an_estimate_is_the_documented_price_for_these_arguments(
    runtime: Runtime, name: str, args: dict[str, Any], expected: float
) -> None:
    assert _estimate(runtime, name, args) == expected


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("generate_image", {"prompt": "p", "num_images": 2}),
        ("generate_image", {"prompt": "p", "model": "fal-ai/flux/schnell"}),
        ("edit_image", {"prompt": "p", "source_images": ["https://x.test/a.png"]}),
        ("generate_video", {"prompt": "p", "model": "seedance-1-pro", "duration": 5}),
        ("video_from_image", {"image": "https://x.test/a.png", "duration": 5}),
        ("creative_director", {"prompt": "p", "scene_count": 3}),
        ("creative_director", {"prompt": "p", "workflow_type": "video", "duration": 5}),
        ("generate_music", {"prompt": "lofi"}),
        ("generate_music", {"prompt": "lofi", "model": "suno-v5"}),
        ("generate_speech", {"text": "hi", "model": "eleven_multilingual_v2"}),
        ("chat", {"message": "hi"}),
    ],
)
async def test_an_estimate_is_unknown_where_the_price_is_the_models_or_per_token(
    runtime: Runtime, name: str, args: dict[str, Any]
) -> None:
    assert _estimate(runtime, name, args) is None


async def test_every_paid_operation_declares_an_estimate_and_free_ones_cost_nothing(runtime: Runtime) -> None:
    for op in _operations(runtime).values():
        if op.kind == "spend":
            assert op.estimate is not None, op.name
        else:
            assert op.estimated_cost(op.input_model.model_construct()) == 0, op.name


@pytest.mark.parametrize(
    ("tool", "args", "estimate"),
    [
        ("kolbo_generate_speech", {"text": "x" * 250}, 6),
        ("kolbo_generate_music", {"prompt": "lofi", "model": "chirp-v4"}, 10),
        ("kolbo_generate_sound", {"prompt": "door", "duration": 2}, 5),
    ],
)
async def test_the_simulator_charges_what_the_estimate_says(
    client: Client, tool: str, args: dict[str, Any], estimate: float
) -> None:
    answer = data(await client.call_tool(tool, {**args, "wait": 0}))
    assert answer["credits"]["charged"] == estimate


def test_video_costs_credit_per_second_times_duration_times_the_resolution_multiplier() -> None:
    assert pricing.video_credits(5, 5) == 25
    assert pricing.video_credits(5, 10, "1080p") == 112.5
    assert pricing.video_credits(5, 5, "480p") == 11
    assert pricing.video_credits(5, 5, "4k") == 123.75
    assert pricing.video_credits(5, 5, "2160P") == 123.75
    assert pricing.video_credits(5, 5, "1440p") is None


def test_the_cost_texts_quote_the_tables() -> None:
    assert "e.g. 5 credits/s × 5 s = 25" in pricing.VIDEO_COST
    assert "(480p ×0.44, 1080p ×2.25, 4k ×4.95)" in pricing.VIDEO_COST
    assert "e.g. 10 credits for chirp-v4" in pricing.MUSIC_COST
    assert "e.g. 250 characters with eleven_v3 at 2 credits = 6" in pricing.SPEECH_COST
    assert "e.g. 5 credits" in pricing.SOUND_COST
    assert "scene_count (default 4)" in pricing.CREATIVE_DIRECTOR_COST
