"""What the Kolbo simulator refuses over HTTP, the way Kolbo does: invalid generation requests (400, nothing
charged), bodies that are not JSON objects, missing or unknown keys (401 on every API route), unknown routes."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from providers.kolbo.simulator import KolboSimulator
from tests.providers.kolbo.support import GLOBAL_DNA, KEY, assert_error

pytestmark = pytest.mark.anyio

SOURCE = "https://x.test/a.png"


@pytest.mark.parametrize(
    ("kind", "body", "code"),
    [
        ("image", {}, "MISSING_FIELDS"),
        ("image", {"prompt": "  "}, "MISSING_FIELDS"),
        ("image", {"prompt": "x", "num_images": 5}, "VALIDATION_ERROR"),
        ("image", {"prompt": "x", "num_images": 0}, "VALIDATION_ERROR"),
        ("image", {"prompt": "x", "aspect_ratio": "7:1"}, "VALIDATION_ERROR"),
        ("image", {"prompt": "x", "model": "gpt-image-1", "aspect_ratio": "16:9"}, "VALIDATION_ERROR"),
        ("image", {"prompt": "x", "model": "no-such-model"}, "MODEL_NOT_FOUND"),
        ("image", {"prompt": "x", "model": "suno-v5"}, "INVALID_MODEL"),
        ("image", {"prompt": "x", "visual_dna_ids": [GLOBAL_DNA] * 4}, "VALIDATION_ERROR"),
        ("image", {"prompt": "x", "visual_dna_ids": ["0123456789abcdef01234567"]}, "VALIDATION_ERROR"),
        ("image", {"prompt": "x", "moodboard_id": "nope"}, "VALIDATION_ERROR"),
        ("image", {"prompt": "x", "reference_images": ["ftp://x.test/a.png"]}, "VALIDATION_ERROR"),
        ("image", {"prompt": "x", "enhance_prompt": "yes"}, "VALIDATION_ERROR"),
        ("image-edit", {"prompt": "x"}, "MISSING_FIELDS"),
        ("image-edit", {"prompt": "x", "source_images": []}, "MISSING_FIELDS"),
        ("image-edit", {"prompt": "x", "source_images": [SOURCE], "model": "fal-ai/flux/schnell"}, "INVALID_MODEL"),
        ("video", {"prompt": "x", "duration": 0}, "VALIDATION_ERROR"),
        ("video", {"prompt": "x", "model": "veo-3-fast", "duration": 5}, "VALIDATION_ERROR"),
        ("video", {"prompt": "x", "resolution": "8k"}, "VALIDATION_ERROR"),
        ("video/from-image", {"prompt": "x"}, "MISSING_FIELDS"),
        ("video/from-image", {"image_url": "not a url"}, "VALIDATION_ERROR"),
        ("music", {"prompt": "x", "vocal_gender": "x"}, "VALIDATION_ERROR"),
        ("music", {"prompt": "x", "duration_seconds": 2}, "VALIDATION_ERROR"),
        ("speech", {"voice": "Rachel"}, "MISSING_FIELDS"),
        ("sound", {"prompt": "x", "duration": -1}, "VALIDATION_ERROR"),
        ("creative-director", {"scene_count": 2}, "MISSING_FIELDS"),
    ],
)  # fmt: skip
async def test_invalid_generation_requests_are_400_and_charge_nothing(
    api: httpx2.AsyncClient, sim: KolboSimulator, kind: str, body: dict[str, Any], code: str
) -> None:
    assert_error(await api.post(f"/api/v1/generate/{kind}", json=body), 400, code)
    assert sim.accounts[KEY].plan_credits == 100
    assert sim.generations == {}


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b"\xff\xfe"])
async def test_body_that_is_not_a_json_object_is_rejected(api: httpx2.AsyncClient, content: bytes) -> None:
    response = await api.post("/api/v1/generate/image", content=content, headers={"Content-Type": "application/json"})
    assert_error(response, 400, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-API-Key": ""}, {"X-API-Key": "kolbo_live_unknown"}, {"Authorization": f"Bearer {KEY}"}],
)
async def test_missing_or_unknown_api_key_is_401_on_every_api_route(
    api: httpx2.AsyncClient, headers: dict[str, str]
) -> None:
    api.headers.pop("X-API-Key")
    requests = [
        api.post("/api/v1/generate/image", json={"prompt": "x"}, headers=headers),
        api.post("/api/v1/chat", json={"message": "x"}, headers=headers),
        api.get("/api/v1/generate/abc/status", headers=headers),
        api.get("/api/v1/models", headers=headers),
        api.get("/api/v1/account/credits", headers=headers),
        api.get("/api/v1/visual-dna", headers=headers),
        api.get("/api/v1/moodboards", headers=headers),
    ]
    for request in requests:
        assert_error(await request, 401, "INVALID_API_KEY")


async def test_unknown_api_route_is_a_json_404(api: httpx2.AsyncClient) -> None:
    assert_error(await api.get("/api/v1/nothing-here"), 404, "NOT_FOUND")
