from __future__ import annotations

import io
import struct
import wave
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest
from PIL import Image
from starlette.applications import Starlette
from starlette.routing import Mount

from providers._sandbox.images import placeholder_png
from providers._sandbox.media import placeholder_mp3, placeholder_mp4, silent_wav
from providers.kolbo.simulator import KolboAccount, KolboSimulator

KEY = "kolbo_live_" + "a" * 40
OTHER_KEY = "kolbo_live_" + "b" * 40
AUTH = {"X-API-Key": KEY}
PNG = placeholder_png("reference", width=32, height=32)
SOURCE = "https://x.test/a.png"
MP4_START = b"\x00\x00\x00\x1cftypisom"
GLOBAL_DNA = "64f1a0000000000000000001"
GOLDEN_HOUR = "64f1b0000000000000000001"
FAILURE = {
    "message": "Your prompt was flagged as sensitive content. Credits have been refunded.",
    "category": "content_policy",
    "code": "CONTENT_FLAGGED_SENSITIVE",
    "retryable": False,
    "severity": "error",
    "provider": "fal-ai/flux/schnell",
}


class FakeClock:
    t = 0.0

    def now(self) -> float:
        return self.t


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim(clock: FakeClock) -> KolboSimulator:
    accounts = {KEY: KolboAccount(plan_credits=100), OTHER_KEY: KolboAccount(plan_credits=100)}
    return KolboSimulator(accounts=accounts, job_seconds=10.0, now=clock.now, public_url="http://sim")


@pytest.fixture
async def client(sim: KolboSimulator) -> AsyncIterator[httpx2.AsyncClient]:
    transport = httpx2.ASGITransport(app=sim.app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://sim", headers=AUTH) as client:
        yield client


async def start(client: httpx2.AsyncClient, kind: str, **body: Any) -> dict[str, Any]:
    response = await client.post(f"/api/v1/generate/{kind}", json=body)
    assert response.status_code == 200, response.text
    started: dict[str, Any] = response.json()
    return started


async def poll(client: httpx2.AsyncClient, started: dict[str, Any]) -> dict[str, Any]:
    response = await client.get(started["poll_url"])
    assert response.status_code == 200, response.text
    status: dict[str, Any] = response.json()
    return status


def assert_error(response: httpx2.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert body["code"] == code
    assert isinstance(body["error"], str)
    assert body["error"]


def mp4_boxes(data: bytes) -> dict[bytes, bytes]:
    """Every box of an MP4 by type (containers are descended into), mapped to its payload."""
    boxes: dict[bytes, bytes] = {}
    offset = 0
    while offset < len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        payload = data[offset + 8 : offset + size]
        boxes[kind] = payload
        if kind in (b"moov", b"trak", b"mdia"):
            boxes.update(mp4_boxes(payload))
        offset += size
    return boxes


# --- image: the whole lifecycle ------------------------------------------------------------------


@pytest.mark.anyio
async def test_image_runs_pending_then_processing_then_completed_with_a_downloadable_png(
    client: httpx2.AsyncClient, sim: KolboSimulator, clock: FakeClock
) -> None:
    started = await start(client, "image", prompt="A sunset over mountains", aspect_ratio="16:9")

    generation_id = started["generation_id"]
    assert started == {
        "success": True,
        "generation_id": generation_id,
        "type": "image",
        "model": "auto",
        "credits_charged": 2,
        "poll_url": f"/api/v1/generate/{generation_id}/status",
        "poll_interval_hint": 3,
    }
    assert sim.accounts[KEY].plan_credits == 98
    pending = await poll(client, started)
    assert (pending["state"], pending["progress"]) == ("pending", 0)
    assert "result" not in pending
    clock.t = 5.0
    processing = await poll(client, started)
    assert (processing["state"], processing["progress"]) == ("processing", 50)
    clock.t = 10.0
    completed = await poll(client, started)

    assert completed["success"] is True
    assert (completed["generation_id"], completed["type"]) == (generation_id, "image")
    assert (completed["state"], completed["progress"], completed["credits_used"]) == ("completed", 100, 2)
    result = completed["result"]
    assert result["urls"] == [f"http://sim/media/{generation_id}/0.png"]
    assert result["model"] == "fal-ai/flux/schnell"
    assert result["prompt_used"].startswith("A sunset over mountains, ")
    assert result["aspect_ratio"] == "16:9"
    download = await client.get(result["urls"][0], headers={"X-API-Key": ""})
    assert download.status_code == 200
    assert download.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(download.content)).size == (512, 288)


@pytest.mark.anyio
async def test_num_images_gives_that_many_urls_and_charges_per_image(
    client: httpx2.AsyncClient, clock: FakeClock
) -> None:
    started = await start(client, "image", prompt="cats", model="kie-nano-banana", num_images=3, enhance_prompt=False)

    assert (started["model"], started["credits_charged"]) == ("kie-nano-banana", 12)
    clock.t = 10.0
    result = (await poll(client, started))["result"]
    assert result["prompt_used"] == "cats"
    assert [url.rsplit("/", 1)[1] for url in result["urls"]] == ["0.png", "1.png", "2.png"]
    assert [(await client.get(url)).status_code for url in result["urls"]] == [200, 200, 200]


@pytest.mark.anyio
async def test_poll_url_is_host_relative_and_works_when_the_simulator_is_mounted_under_a_prefix(
    sim: KolboSimulator, clock: FakeClock
) -> None:
    sim.public_url = "http://sandbox/kolbo"
    host = Starlette(routes=[Mount("/kolbo", app=sim.app)])
    transport = httpx2.ASGITransport(app=host)
    async with httpx2.AsyncClient(transport=transport, base_url="http://sandbox", headers=AUTH) as client:
        started = (await client.post("/kolbo/api/v1/generate/image", json={"prompt": "x"})).json()
        assert started["poll_url"] == f"/api/v1/generate/{started['generation_id']}/status"
        clock.t = 10.0

        status = (await client.get("/kolbo" + started["poll_url"])).json()
        url = status["result"]["urls"][0]
        assert url == f"http://sandbox/kolbo/media/{started['generation_id']}/0.png"
        assert (await client.get(url)).headers["content-type"] == "image/png"


@pytest.mark.anyio
async def test_media_urls_use_the_public_url_at_poll_time(
    client: httpx2.AsyncClient, sim: KolboSimulator, clock: FakeClock
) -> None:
    started = await start(client, "image", prompt="x")
    sim.public_url = "http://127.0.0.1:4567/kolbo/"
    clock.t = 10.0

    url = (await poll(client, started))["result"]["urls"][0]
    assert url == f"http://127.0.0.1:4567/kolbo/media/{started['generation_id']}/0.png"


# --- every other generation type -----------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("kind", "body", "gen_type", "hint", "seconds", "content_type", "magic"),
    [
        ("image-edit", {"prompt": "tidy", "source_images": [SOURCE]}, "image_edit", 3, 10, "image/png", b"\x89PNG"),
        ("video", {"prompt": "waves", "duration": 5}, "video", 8, 20, "video/mp4", MP4_START),
        ("video/from-image", {"image_url": SOURCE}, "video", 8, 20, "video/mp4", MP4_START),
        ("music", {"prompt": "lofi beat", "duration_seconds": 5}, "music", 8, 15, "audio/mpeg", b"ID3"),
        ("speech", {"text": "Hello there, world."}, "speech", 3, 5, "audio/mpeg", b"ID3"),
        ("sound", {"prompt": "door creak", "duration": 2}, "sound", 5, 7.5, "audio/wav", b"RIFF"),
    ],
)  # fmt: skip
async def test_each_generation_type_completes_with_media_of_the_right_content_type(
    client: httpx2.AsyncClient,
    clock: FakeClock,
    kind: str,
    body: dict[str, Any],
    gen_type: str,
    hint: int,
    seconds: float,
    content_type: str,
    magic: bytes,
) -> None:
    started = await start(client, kind, **body)

    assert (started["type"], started["poll_interval_hint"]) == (gen_type, hint)
    assert started["poll_url"] == f"/api/v1/generate/{started['generation_id']}/status"
    clock.t = seconds - 0.01
    assert (await poll(client, started))["state"] == "processing"
    clock.t = seconds
    status = await poll(client, started)
    assert status["state"] == "completed"
    assert status["result"]["urls"]
    for url in status["result"]["urls"]:
        download = await client.get(url)
        assert download.status_code == 200
        assert download.headers["content-type"] == content_type
        assert download.content.startswith(magic)


@pytest.mark.anyio
async def test_video_costs_credit_per_second_times_resolution_and_has_a_thumbnail(
    client: httpx2.AsyncClient, sim: KolboSimulator, clock: FakeClock
) -> None:
    sim.accounts[KEY].plan_credits = 1000
    started = await start(
        client, "video", prompt="city at night", model="seedance-1-pro", duration=10, resolution="1080p"
    )

    assert (started["model"], started["credits_charged"]) == ("seedance-1-pro", 112.5)
    assert sim.accounts[KEY].plan_credits == 887.5
    clock.t = 20.0
    result = (await poll(client, started))["result"]
    assert (result["duration"], result["aspect_ratio"], result["model"]) == (10, "16:9", "seedance-1-pro")
    thumbnail = await client.get(result["thumbnail_url"])
    assert thumbnail.headers["content-type"] == "image/png"
    boxes = mp4_boxes((await client.get(result["urls"][0])).content)
    assert struct.unpack(">II", boxes[b"tkhd"][-8:]) == (1920 << 16, 1080 << 16)
    assert struct.unpack(">I", boxes[b"mvhd"][16:20]) == (10_000,)


@pytest.mark.anyio
async def test_video_from_image_needs_no_prompt_and_reports_type_video(
    client: httpx2.AsyncClient, sim: KolboSimulator
) -> None:
    started = await start(client, "video/from-image", image_url="https://x.test/still.jpg", duration=5)

    assert (started["type"], started["credits_charged"]) == ("video", 25)
    assert sim.generations[started["generation_id"]].params["image_url"] == "https://x.test/still.jpg"


@pytest.mark.anyio
@pytest.mark.parametrize(("given", "stored"), [("m", "male"), ("f", "female"), ("male", "male"), ("FEMALE", "female")])
async def test_music_accepts_both_vocal_gender_spellings(
    client: httpx2.AsyncClient, sim: KolboSimulator, given: str, stored: str
) -> None:
    started = await start(client, "music", prompt="ballad", vocal_gender=given)

    assert sim.generations[started["generation_id"]].params["vocal_gender"] == stored


@pytest.mark.anyio
async def test_music_result_has_two_suno_variations_title_duration_and_lyrics(
    client: httpx2.AsyncClient, clock: FakeClock
) -> None:
    started = await start(client, "music", prompt="summer road trip anthem", lyrics="La la la", duration_seconds=30)

    assert (started["model"], started["credits_charged"], started["poll_interval_hint"]) == ("chirp-v4", 10, 8)
    clock.t = 15.0
    result = (await poll(client, started))["result"]
    assert len(result["urls"]) == 2
    assert (result["title"], result["duration"], result["lyrics"]) == ("Summer Road Trip Anthem", 30, "La la la")


@pytest.mark.anyio
async def test_instrumental_music_from_a_one_output_model_has_no_lyrics(
    client: httpx2.AsyncClient, clock: FakeClock
) -> None:
    started = await start(client, "music", prompt="piano", model="elevenlabs-music-v1", instrumental=True)
    clock.t = 15.0

    result = (await poll(client, started))["result"]
    assert (len(result["urls"]), result["lyrics"], result["model"]) == (1, "", "elevenlabs-music-v1")


@pytest.mark.anyio
async def test_speech_costs_per_started_hundred_characters_and_reports_the_voice(
    client: httpx2.AsyncClient, clock: FakeClock
) -> None:
    started = await start(client, "speech", text="x" * 250, voice="Adam")

    assert (started["model"], started["credits_charged"]) == ("eleven_v3", 6)
    clock.t = 5.0
    result = (await poll(client, started))["result"]
    assert (result["voice"], result["model"]) == ("Adam", "eleven_v3")


@pytest.mark.anyio
async def test_speech_without_voice_uses_rachel(client: httpx2.AsyncClient, clock: FakeClock) -> None:
    started = await start(client, "speech", text="hi", model="eleven_multilingual_v2")
    clock.t = 5.0

    assert (await poll(client, started))["result"]["voice"] == "Rachel"
    assert started["credits_charged"] == 1


@pytest.mark.anyio
async def test_sound_wav_lasts_the_requested_duration(client: httpx2.AsyncClient, clock: FakeClock) -> None:
    started = await start(client, "sound", prompt="thunder", duration=2.5)
    assert (started["model"], started["credits_charged"]) == ("auto", 5)
    clock.t = 7.5

    result = (await poll(client, started))["result"]
    assert (result["duration"], result["model"]) == (2.5, "elevenlabs-sound-effects-v1")
    with wave.open(io.BytesIO((await client.get(result["urls"][0])).content)) as reader:
        assert reader.getnframes() / reader.getframerate() == 2.5


@pytest.mark.anyio
async def test_progress_rises_until_completion(client: httpx2.AsyncClient, clock: FakeClock) -> None:
    started = await start(client, "video", prompt="slow pan")
    seen = []
    for t in range(0, 21, 2):
        clock.t = float(t)
        status = await poll(client, started)
        seen.append((status["state"], status["progress"]))

    assert seen[0] == ("pending", 0)
    assert seen[-1] == ("completed", 100)
    processing = [progress for state, progress in seen if state == "processing"]
    assert len(processing) == 9
    assert processing == sorted(set(processing))
    assert processing[0] > 0
    assert processing[-1] < 100


# --- chat ----------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_chat_answers_with_message_id_and_a_continued_session_remembers_earlier_messages(
    client: httpx2.AsyncClient, sim: KolboSimulator, clock: FakeClock
) -> None:
    first = (
        await client.post("/api/v1/chat", json={"message": "My name is Ada.", "system_prompt": "Be brief."})
    ).json()

    message_id, session_id = first["message_id"], first["session_id"]
    assert first == {
        "success": True,
        "message_id": message_id,
        "session_id": session_id,
        "type": "chat",
        "model": "auto",
        "poll_url": f"/api/v1/generate/{message_id}/status",
        "poll_interval_hint": 2,
    }
    clock.t = 2.5
    first_status = await poll(client, first)
    assert (first_status["type"], first_status["state"], first_status["session_id"]) == (
        "chat",
        "completed",
        session_id,
    )
    assert "message 1 of this session" in first_status["result"]["content"]
    assert 'system prompt: "Be brief."' in first_status["result"]["content"]

    second = (await client.post("/api/v1/chat", json={"message": "What is my name?", "session_id": session_id})).json()
    assert second["session_id"] == session_id
    clock.t = 5.0
    content = (await poll(client, second))["result"]["content"]

    assert "message 3 of this session (2 from you)" in content
    assert 'Your previous message was: "My name is Ada."' in content
    assert [m.role for m in sim.chat_sessions[session_id].messages] == ["user", "assistant", "user", "assistant"]


@pytest.mark.anyio
async def test_chat_with_deep_think_media_and_a_chosen_model(client: httpx2.AsyncClient, clock: FakeClock) -> None:
    body = {"message": "describe", "model": "claude-sonnet-4", "deep_think": True, "media_urls": ["https://x.test/a"]}
    started = (await client.post("/api/v1/chat", json=body)).json()
    clock.t = 2.5

    result = (await poll(client, started))["result"]
    assert result["model"] == "claude-sonnet-4"
    assert "1 attached file" in result["content"]
    assert result["reasoning_content"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"message": ""}, 400, "MISSING_FIELDS"),
        ({}, 400, "MISSING_FIELDS"),
        ({"message": "hi", "model": "gpt-99"}, 400, "INVALID_MODEL"),
        ({"message": "hi", "model": "eleven_v3"}, 400, "INVALID_MODEL"),
        ({"message": "hi", "media_urls": ["https://x.test/a"] * 11}, 400, "VALIDATION_ERROR"),
        ({"message": "hi", "session_id": "0123456789abcdef01234567"}, 404, "NOT_FOUND"),
    ],
)
async def test_invalid_chat_requests_are_rejected(
    client: httpx2.AsyncClient, sim: KolboSimulator, body: dict[str, Any], status: int, code: str
) -> None:
    assert_error(await client.post("/api/v1/chat", json=body), status, code)
    assert sim.chat_sessions == {}


@pytest.mark.anyio
async def test_another_keys_chat_session_is_not_found(client: httpx2.AsyncClient) -> None:
    session_id = (await client.post("/api/v1/chat", json={"message": "secret"})).json()["session_id"]

    response = await client.post(
        "/api/v1/chat", json={"message": "hi", "session_id": session_id}, headers={"X-API-Key": OTHER_KEY}
    )
    assert_error(response, 404, "NOT_FOUND")


# --- creative director ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_creative_director_scenes_complete_one_by_one(
    client: httpx2.AsyncClient, sim: KolboSimulator, clock: FakeClock
) -> None:
    started = await start(client, "creative-director", prompt="red sneaker", scene_count=3)

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
    pending = await poll(client, started)
    assert (pending["state"], pending["progress"]) == ("pending", 0)
    assert [s["status"] for s in pending["scenes"]] == ["pending"] * 3

    clock.t = 6.0
    first_running = await poll(client, started)
    assert first_running["state"] == "processing"
    assert [s["status"] for s in first_running["scenes"]] == ["processing", "pending", "pending"]
    assert first_running["scenes"][0]["progress"] == 50

    clock.t = 12.0
    one_done = await poll(client, started)
    assert (one_done["state"], one_done["progress"]) == ("processing", 33)
    assert [s["status"] for s in one_done["scenes"]] == ["completed", "processing", "pending"]
    scene = one_done["scenes"][0]
    assert (scene["scene_number"], scene["title"]) == (1, "Hero Shot")
    assert scene["image_urls"] == [f"http://sim/media/{cd_id}/1.png"]
    assert (await client.get(scene["image_urls"][0])).headers["content-type"] == "image/png"
    assert (await client.get(f"/media/{cd_id}/2.png")).status_code == 404

    clock.t = 21.0
    two_done = await poll(client, started)
    assert (two_done["state"], two_done["progress"]) == ("processing", 66)

    clock.t = 31.0
    done = await poll(client, started)
    assert (done["state"], done["progress"], done["credits_used"]) == ("completed", 100, 6)
    assert [s["scene_number"] for s in done["scenes"]] == [1, 2, 3]
    assert all(s["status"] == "completed" and len(s["image_urls"]) == 1 for s in done["scenes"])
    assert sim.accounts[KEY].plan_credits == 94


@pytest.mark.anyio
async def test_creative_director_video_workflow_gives_video_urls_and_bills_each_scene(
    client: httpx2.AsyncClient, sim: KolboSimulator, clock: FakeClock
) -> None:
    started = await start(client, "creative-director", prompt="ad", scene_count=2, workflow_type="video", duration=5)

    assert started["credits_charged"] == 50
    assert len(sim.generations[started["generation_id"]].charges) == 2
    clock.t = 42.0
    done = await poll(client, started)
    assert done["state"] == "completed"
    video = await client.get(done["scenes"][1]["video_urls"][0])
    assert (video.headers["content-type"], video.content[4:8]) == ("video/mp4", b"ftyp")


@pytest.mark.anyio
async def test_moodboard_ids_apply_per_scene(client: httpx2.AsyncClient, sim: KolboSimulator) -> None:
    other_board = "64f1b0000000000000000003"
    started = await start(
        client, "creative-director", prompt="p", scene_count=3, moodboard_ids=[other_board], moodboard_id=GOLDEN_HOUR
    )

    scenes = sim.generations[started["generation_id"]].scenes
    assert [scene.moodboard_id for scene in scenes] == [other_board, GOLDEN_HOUR, GOLDEN_HOUR]
    assert "neon magenta" in scenes[0].prompt
    assert "golden-hour" in scenes[1].prompt


@pytest.mark.anyio
async def test_generic_and_creative_director_status_endpoints_do_not_read_each_others_ids(
    client: httpx2.AsyncClient,
) -> None:
    cd = await start(client, "creative-director", prompt="p")
    image = await start(client, "image", prompt="p")

    assert_error(await client.get(f"/api/v1/generate/{cd['generation_id']}/status"), 404, "NOT_FOUND")
    response = await client.get(f"/api/v1/generate/creative-director/{image['generation_id']}/status")
    assert_error(response, 404, "NOT_FOUND")


@pytest.mark.anyio
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
    client: httpx2.AsyncClient, body: dict[str, Any]
) -> None:
    assert_error(await client.post("/api/v1/generate/creative-director", json=body), 400, "VALIDATION_ERROR")


# --- cancel, failure, credits, limits ------------------------------------------------------------


@pytest.mark.anyio
async def test_cancel_refunds_and_freezes_the_generation(
    client: httpx2.AsyncClient, sim: KolboSimulator, clock: FakeClock
) -> None:
    started = await start(client, "video", prompt="p")
    assert sim.accounts[KEY].plan_credits == 75
    clock.t = 10.0

    cancelled = await client.post(f"/api/v1/generate/{started['generation_id']}/cancel", json={})

    assert cancelled.status_code == 200
    assert cancelled.json() == {
        "success": True,
        "generation_id": started["generation_id"],
        "state": "cancelled",
        "credits_refunded": 25,
        "message": "Generation cancelled",
    }
    assert sim.accounts[KEY].plan_credits == 100
    clock.t = 100.0
    status = await poll(client, started)
    assert (status["state"], status["progress"], status["credits_used"]) == ("cancelled", 50, 0)
    assert "result" not in status
    assert (await client.get(f"/media/{started['generation_id']}/0.mp4")).status_code == 404
    again = await client.post(f"/api/v1/generate/{started['generation_id']}/cancel", json={})
    assert_error(again, 409, "ALREADY_TERMINAL")
    assert sim.accounts[KEY].plan_credits == 100


@pytest.mark.anyio
async def test_cancel_of_a_finished_generation_is_409_and_refunds_nothing(
    client: httpx2.AsyncClient, sim: KolboSimulator, clock: FakeClock
) -> None:
    started = await start(client, "image", prompt="p")
    clock.t = 10.0

    assert_error(
        await client.post(f"/api/v1/generate/{started['generation_id']}/cancel", json={}), 409, "ALREADY_TERMINAL"
    )
    assert sim.accounts[KEY].plan_credits == 98
    assert (await poll(client, started))["state"] == "completed"


@pytest.mark.anyio
async def test_cancelling_a_creative_director_batch_refunds_only_unfinished_scenes(
    client: httpx2.AsyncClient, sim: KolboSimulator, clock: FakeClock
) -> None:
    started = await start(client, "creative-director", prompt="p", scene_count=4)
    clock.t = 12.0

    cancelled = (await client.post(f"/api/v1/generate/{started['generation_id']}/cancel", json={})).json()

    assert cancelled["credits_refunded"] == 6
    assert sim.accounts[KEY].plan_credits == 98
    status = await poll(client, started)
    assert status["state"] == "cancelled"
    assert [s["status"] for s in status["scenes"]] == ["completed", "cancelled", "cancelled", "cancelled"]


@pytest.mark.anyio
async def test_unknown_generation_is_not_found_for_status_and_cancel(client: httpx2.AsyncClient) -> None:
    assert_error(await client.get("/api/v1/generate/0123456789abcdef01234567/status"), 404, "NOT_FOUND")
    assert_error(await client.post("/api/v1/generate/0123456789abcdef01234567/cancel", json={}), 404, "NOT_FOUND")


@pytest.mark.anyio
async def test_another_keys_generation_is_not_found(client: httpx2.AsyncClient) -> None:
    started = await start(client, "image", prompt="mine")

    response = await client.get(started["poll_url"], headers={"X-API-Key": OTHER_KEY})
    assert_error(response, 404, "NOT_FOUND")


@pytest.mark.anyio
async def test_flagged_prompt_fails_with_failure_details_and_is_refunded_without_polling(
    client: httpx2.AsyncClient, sim: KolboSimulator, clock: FakeClock
) -> None:
    started = await start(client, "image", prompt="something [fail]")
    assert sim.accounts[KEY].plan_credits == 98
    clock.t = 10.0
    await client.get("/api/v1/account/credits")
    assert sim.accounts[KEY].plan_credits == 100

    status = await poll(client, started)

    assert status["state"] == "failed"
    assert status["error"] == FAILURE["message"]
    assert status["failure"] == FAILURE
    assert status["credits_used"] == 0
    assert "result" not in status
    assert (await client.get(f"/media/{started['generation_id']}/0.png")).status_code == 404
    await poll(client, started)
    assert sim.accounts[KEY].plan_credits == 100


@pytest.mark.anyio
async def test_flagged_creative_director_fails_scene_by_scene_with_refunds(
    client: httpx2.AsyncClient, sim: KolboSimulator, clock: FakeClock
) -> None:
    started = await start(client, "creative-director", prompt="[fail]", scene_count=2)
    clock.t = 12.0

    partial = await poll(client, started)
    assert partial["state"] == "processing"
    assert [s["status"] for s in partial["scenes"]] == ["failed", "processing"]
    assert sim.accounts[KEY].plan_credits == 98
    clock.t = 21.0
    failed = await poll(client, started)
    assert (failed["state"], failed["failure"]["code"]) == ("failed", "CONTENT_FLAGGED_SENSITIVE")
    assert sim.accounts[KEY].plan_credits == 100


@pytest.mark.anyio
async def test_flagged_chat_message_fails_and_is_not_remembered_as_answered(
    client: httpx2.AsyncClient, sim: KolboSimulator, clock: FakeClock
) -> None:
    started = (await client.post("/api/v1/chat", json={"message": "[fail] this"})).json()
    clock.t = 2.5

    status = await poll(client, started)
    assert (status["state"], status["failure"]["category"]) == ("failed", "content_policy")
    assert [m.role for m in sim.chat_sessions[started["session_id"]].messages] == ["user"]


@pytest.mark.anyio
async def test_error_marker_is_a_500_generation_error_that_charges_nothing(
    client: httpx2.AsyncClient, sim: KolboSimulator
) -> None:
    assert_error(await client.post("/api/v1/generate/image", json={"prompt": "[error]"}), 500, "GENERATION_ERROR")
    assert sim.accounts[KEY].plan_credits == 100
    assert sim.generations == {}


@pytest.mark.anyio
@pytest.mark.parametrize("status", [400, 402])
async def test_insufficient_credits_uses_the_configured_status_and_charges_nothing(
    clock: FakeClock, status: int
) -> None:
    sim = KolboSimulator(
        accounts={KEY: KolboAccount(plan_credits=1)}, now=clock.now, insufficient_status=status, job_seconds=10
    )
    transport = httpx2.ASGITransport(app=sim.app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://sim", headers=AUTH) as client:
        response = await client.post("/api/v1/generate/image", json={"prompt": "x"})
        assert_error(response, status, "INSUFFICIENT_CREDITS")
        chat = await client.post("/api/v1/chat", json={"message": "x" * 20_000})
        assert_error(chat, status, "INSUFFICIENT_CREDITS")

    assert sim.accounts[KEY].plan_credits == 1
    assert sim.generations == {}
    assert sim.chat_sessions == {}


def test_insufficient_status_other_than_400_or_402_is_rejected() -> None:
    with pytest.raises(ValueError, match="400 or 402"):
        KolboSimulator(insufficient_status=403)


@pytest.mark.anyio
async def test_credits_are_taken_from_plan_then_pack_then_redemption_and_refunded_to_the_same_buckets(
    client: httpx2.AsyncClient, sim: KolboSimulator, clock: FakeClock
) -> None:
    sim.accounts[KEY] = KolboAccount(plan_credits=1, credit_pack=1.5, redemption=5)
    assert (await client.get("/api/v1/account/credits")).json() == {
        "success": True,
        "credits": {"total": 7.5, "plan_credits": 1, "credit_pack": 1.5, "redemption": 5},
    }

    started = await start(client, "image", prompt="[fail]", model="kie-nano-banana")

    credits = (await client.get("/api/v1/account/credits")).json()["credits"]
    assert credits == {"total": 3.5, "plan_credits": 0, "credit_pack": 0, "redemption": 3.5}
    clock.t = 10.0
    assert (await poll(client, started))["state"] == "failed"
    credits = (await client.get("/api/v1/account/credits")).json()["credits"]
    assert credits == {"total": 7.5, "plan_credits": 1, "credit_pack": 1.5, "redemption": 5}


@pytest.mark.anyio
async def test_rate_limit_answers_429_in_its_own_shape_with_retry_after_and_charges_nothing(
    client: httpx2.AsyncClient, sim: KolboSimulator, clock: FakeClock
) -> None:
    sim.rate_limit = 2
    await start(client, "image", prompt="a")
    clock.t = 20.0
    await client.post("/api/v1/chat", json={"message": "b"})
    clock.t = 30.0

    limited = await client.post("/api/v1/generate/image", json={"prompt": "c"})

    assert limited.status_code == 429
    assert limited.json() == {"status": False, "message": "Too many requests, please try again later"}
    assert limited.headers["Retry-After"] == "30"
    assert len(sim.generations) == 2
    assert (await client.get("/api/v1/account/credits")).status_code == 200
    other = await client.post("/api/v1/generate/image", json={"prompt": "c"}, headers={"X-API-Key": OTHER_KEY})
    assert other.status_code == 200
    clock.t = 60.0
    assert (await client.post("/api/v1/generate/image", json={"prompt": "c"})).status_code == 200


# --- validation and auth -------------------------------------------------------------------------


@pytest.mark.anyio
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
    client: httpx2.AsyncClient, sim: KolboSimulator, kind: str, body: dict[str, Any], code: str
) -> None:
    assert_error(await client.post(f"/api/v1/generate/{kind}", json=body), 400, code)
    assert sim.accounts[KEY].plan_credits == 100
    assert sim.generations == {}


@pytest.mark.anyio
@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b"\xff\xfe"])
async def test_body_that_is_not_a_json_object_is_rejected(client: httpx2.AsyncClient, content: bytes) -> None:
    response = await client.post(
        "/api/v1/generate/image", content=content, headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400, "VALIDATION_ERROR")


@pytest.mark.anyio
@pytest.mark.parametrize(
    "headers",
    [{}, {"X-API-Key": ""}, {"X-API-Key": "kolbo_live_unknown"}, {"Authorization": f"Bearer {KEY}"}],
)
async def test_missing_or_unknown_api_key_is_401_on_every_api_route(
    client: httpx2.AsyncClient, headers: dict[str, str]
) -> None:
    client.headers.pop("X-API-Key")
    requests = [
        client.post("/api/v1/generate/image", json={"prompt": "x"}, headers=headers),
        client.post("/api/v1/chat", json={"message": "x"}, headers=headers),
        client.get("/api/v1/generate/abc/status", headers=headers),
        client.get("/api/v1/models", headers=headers),
        client.get("/api/v1/account/credits", headers=headers),
        client.get("/api/v1/visual-dna", headers=headers),
        client.get("/api/v1/moodboards", headers=headers),
    ]
    for request in requests:
        assert_error(await request, 401, "INVALID_API_KEY")


@pytest.mark.anyio
async def test_unknown_api_route_is_a_json_404(client: httpx2.AsyncClient) -> None:
    assert_error(await client.get("/api/v1/nothing-here"), 404, "NOT_FOUND")


# --- models, credits -----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_models_lists_a_realistic_catalogue_across_every_type(client: httpx2.AsyncClient) -> None:
    body = (await client.get("/api/v1/models")).json()

    assert body["success"] is True
    assert body["count"] == len(body["models"]) >= 15
    fields = {"identifier", "name", "provider", "types", "credit", "supported_aspect_ratios", "supported_durations"}
    fields |= {"max_reference_images", "recommended"}
    assert all(fields <= set(model) for model in body["models"])
    for sdk_type in ("image", "image_edit", "video", "video_from_image", "music", "speech", "sound", "chat"):
        typed = (await client.get("/api/v1/models", params={"type": sdk_type})).json()
        assert typed["count"] > 0, sdk_type
        assert any(model["recommended"] for model in typed["models"]), sdk_type


@pytest.mark.anyio
async def test_models_filter_by_raw_type_and_provider(client: httpx2.AsyncClient) -> None:
    videos = (await client.get("/api/v1/models", params={"type": "text_to_video", "provider": "FAL"})).json()

    assert [model["identifier"] for model in videos["models"]] == ["seedance-1-pro"]
    assert videos["models"][0]["supported_durations"] == [5, 10]
    assert videos["models"][0]["credit"] == 5
    speech = (await client.get("/api/v1/models", params={"type": "speech"})).json()
    assert {model["provider"] for model in speech["models"]} == {"elevenlabs"}
    assert (await client.get("/api/v1/models", params={"type": "hologram"})).json()["count"] == 0


# --- visual DNA ----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_visual_dna_from_one_image_can_be_listed_fetched_used_and_deleted(
    client: httpx2.AsyncClient, sim: KolboSimulator, clock: FakeClock
) -> None:
    created = await client.post(
        "/api/v1/visual-dna",
        data={"name": "Emma", "dna_type": "character", "prompt_helper": "red hair"},
        files=[("images", ("emma.png", PNG, "image/png"))],
    )

    assert created.status_code == 200, created.text
    dna = created.json()["visual_dna"]
    assert (dna["name"], dna["dna_type"], dna["is_global"]) == ("Emma", "character", False)
    assert "red hair" in dna["description"]
    assert dna["thumbnail_url"] == dna["images"][0] == f"http://sim/media/{dna['id']}/0.png"
    image = await client.get(dna["images"][0], headers={"X-API-Key": ""})
    assert (image.content, image.headers["content-type"]) == (PNG, "image/png")

    listed = (await client.get("/api/v1/visual-dna")).json()
    assert {d["id"] for d in listed["visual_dnas"]} == {dna["id"], *(d for d in sim.visual_dnas if d != dna["id"])}
    assert listed["count"] == listed["total"] == 3
    assert listed["has_more"] is False
    personal = (await client.get("/api/v1/visual-dna", params={"scope": "personal"})).json()
    assert [d["id"] for d in personal["visual_dnas"]] == [dna["id"]]
    other = (await client.get("/api/v1/visual-dna", headers={"X-API-Key": OTHER_KEY})).json()
    assert dna["id"] not in {d["id"] for d in other["visual_dnas"]}
    detail = (await client.get(f"/api/v1/visual-dna/{dna['id']}")).json()["visual_dna"]
    assert "Emma" in detail["system_prompt"]

    started = await start(client, "image", prompt="Emma in a cafe", visual_dna_ids=[dna["id"]])
    assert "featuring Emma (character)" in sim.generations[started["generation_id"]].prompt_used

    deleted = await client.delete(f"/api/v1/visual-dna/{dna['id']}")
    assert deleted.json() == {"success": True, "message": "Visual DNA deleted successfully"}
    assert_error(await client.get(f"/api/v1/visual-dna/{dna['id']}"), 404, "NOT_FOUND")


@pytest.mark.anyio
async def test_visual_dna_accepts_camel_case_fields_and_four_images(
    client: httpx2.AsyncClient, sim: KolboSimulator
) -> None:
    jpeg = io.BytesIO()
    Image.new("RGB", (8, 8)).save(jpeg, format="JPEG")
    files = [("images", (f"{n}.png", PNG, "image/png")) for n in range(3)]
    files.append(("images", ("x.jpg", jpeg.getvalue(), "image/jpeg")))

    created = await client.post(
        "/api/v1/visual-dna", data={"name": "Mug", "dnaType": "product", "promptHelper": "matte"}, files=files
    )

    assert created.status_code == 200, created.text
    dna = created.json()["visual_dna"]
    assert dna["dna_type"] == "product"
    assert dna["images"][3].endswith("/3.jpg")
    assert (await client.get(dna["images"][3])).headers["content-type"] == "image/jpeg"
    assert sim.visual_dnas[dna["id"]].prompt_helper == "matte"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("data", "images", "code"),
    [
        ({"name": "Five"}, [PNG] * 5, "VALIDATION_ERROR"),
        ({"name": "None"}, [], "MISSING_FIELDS"),
        ({}, [PNG], "MISSING_FIELDS"),
        ({"name": "n" * 101}, [PNG], "VALIDATION_ERROR"),
        ({"name": "Text"}, [b"just text, not an image"], "VALIDATION_ERROR"),
        ({"name": "Kind", "dna_type": "vehicle"}, [PNG], "VALIDATION_ERROR"),
    ],
)
async def test_invalid_visual_dna_uploads_are_400(
    client: httpx2.AsyncClient, sim: KolboSimulator, data: dict[str, str], images: list[bytes], code: str
) -> None:
    files = [("images", (f"{n}.png", image, "image/png")) for n, image in enumerate(images)]
    if not files:
        files = [("other", ("x.txt", b"x", "text/plain"))]

    assert_error(await client.post("/api/v1/visual-dna", data=data, files=files), 400, code)
    assert len(sim.visual_dnas) == 2


@pytest.mark.anyio
async def test_visual_dna_must_be_multipart(client: httpx2.AsyncClient) -> None:
    assert_error(await client.post("/api/v1/visual-dna", json={"name": "x"}), 400, "VALIDATION_ERROR")


@pytest.mark.anyio
async def test_global_visual_dna_is_listed_but_cannot_be_deleted(client: httpx2.AsyncClient) -> None:
    global_only = (await client.get("/api/v1/visual-dna", params={"scope": "global"})).json()
    assert {d["is_global"] for d in global_only["visual_dnas"]} == {True}
    assert GLOBAL_DNA in {d["id"] for d in global_only["visual_dnas"]}

    assert_error(await client.delete(f"/api/v1/visual-dna/{GLOBAL_DNA}"), 403, "FORBIDDEN")
    assert (await client.get(f"/api/v1/visual-dna/{GLOBAL_DNA}")).status_code == 200


@pytest.mark.anyio
async def test_visual_dna_list_searches_and_pages(client: httpx2.AsyncClient) -> None:
    found = (await client.get("/api/v1/visual-dna", params={"search": "noir"})).json()
    assert [d["name"] for d in found["visual_dnas"]] == ["Neo-Noir"]

    page = (await client.get("/api/v1/visual-dna", params={"limit": 1, "page": 1})).json()
    assert (page["count"], page["total"], page["has_more"]) == (1, 2, True)


# --- moodboards ----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_moodboards_list_presets_and_get_details(client: httpx2.AsyncClient, sim: KolboSimulator) -> None:
    listed = (await client.get("/api/v1/moodboards")).json()

    assert listed["success"] is True
    assert listed["count"] == len(listed["moodboards"]) == 3
    assert {"id", "name", "master_prompt", "thumbnail_url", "images"} <= set(listed["moodboards"][0])
    assert (await client.get("/api/v1/moodboards", params={"scope": "personal"})).json()["count"] == 0
    detail = (await client.get(f"/api/v1/moodboards/{GOLDEN_HOUR}")).json()["moodboard"]
    assert detail["name"] == "Golden Hour Film"
    assert detail["style_guide"]
    thumbnail = await client.get(detail["thumbnail_url"])
    assert thumbnail.headers["content-type"] == "image/png"
    assert_error(await client.get("/api/v1/moodboards/nope"), 404, "NOT_FOUND")


@pytest.mark.anyio
async def test_moodboard_id_steers_the_prompt_used(client: httpx2.AsyncClient, clock: FakeClock) -> None:
    started = await start(client, "image", prompt="portrait", moodboard_id=GOLDEN_HOUR, enhance_prompt=False)
    clock.t = 10.0

    prompt_used = (await poll(client, started))["result"]["prompt_used"]
    assert prompt_used == "portrait, warm golden-hour light, 35mm film grain, soft lens flare"


# --- request log and faults ----------------------------------------------------------------------


@pytest.mark.anyio
async def test_requests_are_recorded_and_faults_apply(client: httpx2.AsyncClient, sim: KolboSimulator) -> None:
    sim.faults.add("GET", "/api/v1/account/credits", status=503, body="<html>down</html>")

    assert (await client.get("/api/v1/account/credits")).status_code == 503
    assert (await client.get("/api/v1/account/credits")).status_code == 200
    assert sim.requests.count("GET /api/v1/account/credits") == 2
    assert next(iter(sim.requests)).headers["x-api-key"] == KEY


# --- placeholder media ---------------------------------------------------------------------------


def test_silent_wav_is_valid_pcm_of_the_requested_length() -> None:
    with wave.open(io.BytesIO(silent_wav(1.5))) as reader:
        assert (reader.getnchannels(), reader.getsampwidth(), reader.getframerate()) == (1, 2, 8000)
        assert reader.getnframes() == 12_000
        assert set(reader.readframes(reader.getnframes())) == {0}


def test_placeholder_mp3_has_an_id3_tag_then_mpeg1_layer3_frames_covering_the_duration() -> None:
    data = placeholder_mp3(3.0, title="Song")

    assert data.startswith(b"ID3\x03\x00")
    tag_size = (data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9]
    frames = data[10 + tag_size :]
    assert frames[:2] == b"\xff\xfb"  # frame sync, MPEG-1, Layer III, no CRC
    assert len(frames) % 144 == 0
    assert len(frames) // 144 * 1152 / 32000 >= 3.0
    assert "Song".encode("utf-16-le") in data[:tag_size]


def test_placeholder_mp4_starts_with_an_isom_ftyp_box_and_carries_size_and_duration() -> None:
    data = placeholder_mp4(640, 360, 2.5)

    size, kind, brand = struct.unpack(">I4s4s", data[:12])
    assert (kind, brand) == (b"ftyp", b"isom")
    boxes = mp4_boxes(data)
    assert {b"ftyp", b"moov", b"mvhd", b"trak", b"tkhd", b"mdia", b"mdhd", b"hdlr", b"mdat"} <= set(boxes)
    assert struct.unpack(">II", boxes[b"mvhd"][12:20]) == (1000, 2500)
    assert struct.unpack(">II", boxes[b"tkhd"][-8:]) == (640 << 16, 360 << 16)
    assert boxes[b"hdlr"][8:12] == b"vide"


@pytest.mark.parametrize(
    "make",
    [lambda: silent_wav(-1), lambda: placeholder_mp3(float("inf")), lambda: placeholder_mp4(0, 10, 1)],
)
def test_placeholder_media_reject_impossible_arguments(make: Any) -> None:
    with pytest.raises(ValueError):
        make()
