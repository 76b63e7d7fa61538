"""The Kolbo simulator's Creative Director batches over HTTP: scenes that finish one after another on their own
status path, per-scene billing, per-scene moodboards, and the requests it refuses."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from providers.kolbo.simulator import KolboSimulator
from tests.harness.clock import FakeClock
from tests.providers.kolbo.support import GOLDEN_HOUR, KEY, NEON, assert_error, poll, start

pytestmark = pytest.mark.anyio


async def test_creative_director_scenes_complete_one_by_one(
    api: httpx2.AsyncClient, sim: KolboSimulator, clock: FakeClock
) -> None:
    started = await start(api, "creative-director", prompt="red sneaker", scene_count=3)

    cd_id = started["generation_id"]
    assert started == {
        "success": True,
        "generation_id": cd_id,
        "type": "creative_director",
        "scene_count": 3,
        "model": "auto",
        "credits_charged": 6,
        "poll_url": f"/api/v1/generate/creative-director/{cd_id}/status",
        "poll_interval_hint": 5,
    }
    pending = await poll(api, started)
    assert (pending["state"], pending["progress"]) == ("pending", 0)
    assert [s["status"] for s in pending["scenes"]] == ["pending"] * 3

    clock.advance(6)
    first_running = await poll(api, started)
    assert first_running["state"] == "processing"
    assert [s["status"] for s in first_running["scenes"]] == ["processing", "pending", "pending"]
    assert first_running["scenes"][0]["progress"] == 50

    clock.advance(6)
    one_done = await poll(api, started)
    assert (one_done["state"], one_done["progress"]) == ("processing", 33)
    assert [s["status"] for s in one_done["scenes"]] == ["completed", "processing", "pending"]
    scene = one_done["scenes"][0]
    assert (scene["scene_number"], scene["title"]) == (1, "Hero Shot")
    assert scene["image_urls"] == [f"http://sim/media/{cd_id}/1.png"]
    assert (await api.get(scene["image_urls"][0])).headers["content-type"] == "image/png"
    assert (await api.get(f"/media/{cd_id}/2.png")).status_code == 404

    clock.advance(9)
    two_done = await poll(api, started)
    assert (two_done["state"], two_done["progress"]) == ("processing", 66)

    clock.advance(10)
    done = await poll(api, started)
    assert (done["state"], done["progress"], done["credits_used"]) == ("completed", 100, 6)
    assert [s["scene_number"] for s in done["scenes"]] == [1, 2, 3]
    assert [s["status"] for s in done["scenes"]] == ["completed"] * 3
    assert [len(s["image_urls"]) for s in done["scenes"]] == [1] * 3
    assert sim.accounts[KEY].plan_credits == 94


async def test_creative_director_video_workflow_gives_video_urls_and_bills_each_scene(
    api: httpx2.AsyncClient, sim: KolboSimulator, clock: FakeClock
) -> None:
    started = await start(api, "creative-director", prompt="ad", scene_count=2, workflow_type="video", duration=5)

    assert started["credits_charged"] == 50
    assert len(sim.generations[started["generation_id"]].charges) == 2
    clock.advance(42)
    done = await poll(api, started)
    assert done["state"] == "completed"
    video = await api.get(done["scenes"][1]["video_urls"][0])
    assert (video.headers["content-type"], video.content[4:8]) == ("video/mp4", b"ftyp")


async def test_moodboard_ids_apply_per_scene(api: httpx2.AsyncClient, sim: KolboSimulator) -> None:
    started = await start(
        api, "creative-director", prompt="p", scene_count=3, moodboard_ids=[NEON], moodboard_id=GOLDEN_HOUR
    )

    scenes = sim.generations[started["generation_id"]].scenes
    assert [scene.moodboard_id for scene in scenes] == [NEON, GOLDEN_HOUR, GOLDEN_HOUR]
    assert "neon magenta" in scenes[0].prompt
    assert "golden-hour" in scenes[1].prompt


async def test_generic_and_creative_director_status_endpoints_do_not_read_each_others_ids(
    api: httpx2.AsyncClient,
) -> None:
    cd = await start(api, "creative-director", prompt="p")
    image = await start(api, "image", prompt="p")

    assert_error(await api.get(f"/api/v1/generate/{cd['generation_id']}/status"), 404, "NOT_FOUND")
    response = await api.get(f"/api/v1/generate/creative-director/{image['generation_id']}/status")
    assert_error(response, 404, "NOT_FOUND")


@pytest.mark.parametrize(
    "body",
    [
        {"prompt": "p", "scene_count": 0},
        {"prompt": "p", "scene_count": 9},
        {"prompt": "p", "workflow_type": "audio"},
        {"prompt": "p", "moodboard_ids": ["nope"]},
    ],
)
async def test_invalid_creative_director_requests_are_validation_errors(
    api: httpx2.AsyncClient, body: dict[str, Any]
) -> None:
    assert_error(await api.post("/api/v1/generate/creative-director", json=body), 400, "VALIDATION_ERROR")
