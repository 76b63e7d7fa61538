"""The Kolbo simulator's generations over HTTP: the pending → processing → completed lifecycle, host-relative poll
URLs, every generation type with media of the right content type, and each type's price and result fields."""

from __future__ import annotations

import io
import struct
import wave
from typing import Any

import httpx2
import pytest
from PIL import Image
from starlette.applications import Starlette
from starlette.routing import Mount

from providers.kolbo.simulator import KolboSimulator
from tests.harness.clock import FakeClock
from tests.providers.kolbo.support import AUTH, KEY, mp4_boxes, poll, start

pytestmark = pytest.mark.anyio

SOURCE = "https://x.test/a.png"
MP4_START = b"\x00\x00\x00\x1cftypisom"


async def test_image_runs_pending_then_processing_then_completed_with_a_downloadable_png(
    api: httpx2.AsyncClient, sim: KolboSimulator, clock: FakeClock
) -> None:
    started = await start(api, "image", prompt="A sunset over mountains", aspect_ratio="16:9")

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
    pending = await poll(api, started)
    assert (pending["state"], pending["progress"]) == ("pending", 0)
    assert "result" not in pending
    clock.advance(5)
    processing = await poll(api, started)
    assert (processing["state"], processing["progress"]) == ("processing", 50)
    clock.advance(5)
    completed = await poll(api, started)

    assert completed["success"] is True
    assert (completed["generation_id"], completed["type"]) == (generation_id, "image")
    assert (completed["state"], completed["progress"], completed["credits_used"]) == ("completed", 100, 2)
    result = completed["result"]
    assert result["urls"] == [f"http://sim/media/{generation_id}/0.png"]
    assert result["model"] == "fal-ai/flux/schnell"
    assert result["prompt_used"].startswith("A sunset over mountains, ")
    assert result["aspect_ratio"] == "16:9"
    download = await api.get(result["urls"][0], headers={"X-API-Key": ""})
    assert download.status_code == 200
    assert download.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(download.content)).size == (512, 288)


async def test_num_images_gives_that_many_urls_and_charges_per_image(api: httpx2.AsyncClient, clock: FakeClock) -> None:
    started = await start(api, "image", prompt="cats", model="kie-nano-banana", num_images=3, enhance_prompt=False)

    assert (started["model"], started["credits_charged"]) == ("kie-nano-banana", 12)
    clock.advance(10)
    result = (await poll(api, started))["result"]
    assert result["prompt_used"] == "cats"
    assert [url.rsplit("/", 1)[1] for url in result["urls"]] == ["0.png", "1.png", "2.png"]
    assert [(await api.get(url)).status_code for url in result["urls"]] == [200, 200, 200]


async def test_poll_url_is_host_relative_and_works_when_the_simulator_is_mounted_under_a_prefix(
    sim: KolboSimulator, clock: FakeClock
) -> None:
    sim.public_url = "http://sandbox/kolbo"
    host = Starlette(routes=[Mount("/kolbo", app=sim.app)])
    transport = httpx2.ASGITransport(app=host)
    async with httpx2.AsyncClient(transport=transport, base_url="http://sandbox", headers=AUTH) as api:
        started = (await api.post("/kolbo/api/v1/generate/image", json={"prompt": "x"})).json()
        assert started["poll_url"] == f"/api/v1/generate/{started['generation_id']}/status"
        clock.advance(10)

        status = (await api.get("/kolbo" + started["poll_url"])).json()
        url = status["result"]["urls"][0]
        assert url == f"http://sandbox/kolbo/media/{started['generation_id']}/0.png"
        assert (await api.get(url)).headers["content-type"] == "image/png"


async def test_media_urls_use_the_public_url_at_poll_time(
    api: httpx2.AsyncClient, sim: KolboSimulator, clock: FakeClock
) -> None:
    started = await start(api, "image", prompt="x")
    sim.public_url = "http://127.0.0.1:4567/kolbo/"
    clock.advance(10)

    url = (await poll(api, started))["result"]["urls"][0]
    assert url == f"http://127.0.0.1:4567/kolbo/media/{started['generation_id']}/0.png"


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
    api: httpx2.AsyncClient,
    clock: FakeClock,
    kind: str,
    body: dict[str, Any],
    gen_type: str,
    hint: int,
    seconds: float,
    content_type: str,
    magic: bytes,
) -> None:
    began = clock.now()
    started = await start(api, kind, **body)

    assert started["type"] == gen_type
    assert started["poll_interval_hint"] == hint
    assert started["poll_url"] == f"/api/v1/generate/{started['generation_id']}/status"
    clock.t = began + seconds - 0.01
    assert (await poll(api, started))["state"] == "processing"
    clock.t = began + seconds
    status = await poll(api, started)
    assert status["state"] == "completed"
    assert status["result"]["urls"]
    for url in status["result"]["urls"]:
        download = await api.get(url)
        assert download.status_code == 200
        assert download.headers["content-type"] == content_type
        assert download.content.startswith(magic)


async def test_video_costs_credit_per_second_times_resolution_and_has_a_thumbnail(
    api: httpx2.AsyncClient, sim: KolboSimulator, clock: FakeClock
) -> None:
    sim.accounts[KEY].plan_credits = 1000
    started = await start(api, "video", prompt="city at night", model="seedance-1-pro", duration=10, resolution="1080p")

    assert (started["model"], started["credits_charged"]) == ("seedance-1-pro", 112.5)
    assert sim.accounts[KEY].plan_credits == 887.5
    clock.advance(20)
    result = (await poll(api, started))["result"]
    assert (result["duration"], result["aspect_ratio"], result["model"]) == (10, "16:9", "seedance-1-pro")
    thumbnail = await api.get(result["thumbnail_url"])
    assert thumbnail.headers["content-type"] == "image/png"
    boxes = mp4_boxes((await api.get(result["urls"][0])).content)
    assert struct.unpack(">II", boxes[b"tkhd"][-8:]) == (1920 << 16, 1080 << 16)
    assert struct.unpack(">I", boxes[b"mvhd"][16:20]) == (10_000,)


async def test_video_from_image_needs_no_prompt_and_reports_type_video(
    api: httpx2.AsyncClient, sim: KolboSimulator
) -> None:
    started = await start(api, "video/from-image", image_url="https://x.test/still.jpg", duration=5)

    assert (started["type"], started["credits_charged"]) == ("video", 25)
    assert sim.generations[started["generation_id"]].params["image_url"] == "https://x.test/still.jpg"


@pytest.mark.parametrize(("given", "stored"), [("m", "male"), ("f", "female"), ("male", "male"), ("FEMALE", "female")])
async def test_music_accepts_both_vocal_gender_spellings(
    api: httpx2.AsyncClient, sim: KolboSimulator, given: str, stored: str
) -> None:
    started = await start(api, "music", prompt="ballad", vocal_gender=given)

    assert sim.generations[started["generation_id"]].params["vocal_gender"] == stored


async def test_music_result_has_two_suno_variations_title_duration_and_lyrics(
    api: httpx2.AsyncClient, clock: FakeClock
) -> None:
    started = await start(api, "music", prompt="summer road trip anthem", lyrics="La la la", duration_seconds=30)

    assert (started["model"], started["credits_charged"], started["poll_interval_hint"]) == ("chirp-v4", 10, 8)
    clock.advance(15)
    result = (await poll(api, started))["result"]
    assert len(result["urls"]) == 2
    assert (result["title"], result["duration"], result["lyrics"]) == ("Summer Road Trip Anthem", 30, "La la la")


async def test_instrumental_music_from_a_one_output_model_has_no_lyrics(
    api: httpx2.AsyncClient, clock: FakeClock
) -> None:
    started = await start(api, "music", prompt="piano", model="elevenlabs-music-v1", instrumental=True)
    clock.advance(15)

    result = (await poll(api, started))["result"]
    assert (len(result["urls"]), result["lyrics"], result["model"]) == (1, "", "elevenlabs-music-v1")


async def test_speech_costs_per_started_hundred_characters_and_reports_the_voice(
    api: httpx2.AsyncClient, clock: FakeClock
) -> None:
    started = await start(api, "speech", text="x" * 250, voice="Adam")

    assert (started["model"], started["credits_charged"]) == ("eleven_v3", 6)
    clock.advance(5)
    result = (await poll(api, started))["result"]
    assert (result["voice"], result["model"]) == ("Adam", "eleven_v3")


async def test_speech_without_voice_uses_rachel(api: httpx2.AsyncClient, clock: FakeClock) -> None:
    started = await start(api, "speech", text="hi", model="eleven_multilingual_v2")
    clock.advance(5)

    assert (await poll(api, started))["result"]["voice"] == "Rachel"
    assert started["credits_charged"] == 1


async def test_sound_wav_lasts_the_requested_duration(api: httpx2.AsyncClient, clock: FakeClock) -> None:
    started = await start(api, "sound", prompt="thunder", duration=2.5)
    assert (started["model"], started["credits_charged"]) == ("auto", 5)
    clock.advance(7.5)

    result = (await poll(api, started))["result"]
    assert (result["duration"], result["model"]) == (2.5, "elevenlabs-sound-effects-v1")
    with wave.open(io.BytesIO((await api.get(result["urls"][0])).content)) as reader:
        assert reader.getnframes() / reader.getframerate() == 2.5


async def test_progress_rises_until_completion(api: httpx2.AsyncClient, clock: FakeClock) -> None:
    started = await start(api, "video", prompt="slow pan")
    seen = []
    for _ in range(11):  # every 2 s from the start to 20 s, when it is done
        status = await poll(api, started)
        seen.append((status["state"], status["progress"]))
        clock.advance(2)

    assert seen[0] == ("pending", 0)
    assert seen[-1] == ("completed", 100)
    processing = [progress for state, progress in seen if state == "processing"]
    assert len(processing) == 9
    assert processing == sorted(set(processing))
    assert processing[0] > 0
    assert processing[-1] < 100
