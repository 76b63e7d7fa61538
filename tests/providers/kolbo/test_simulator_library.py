"""The Kolbo simulator's catalogue and library over HTTP: models by type and provider, Visual DNAs (multipart
uploads, listing, paging, deleting, use in prompts), moodboards, and the request log and faults."""

from __future__ import annotations

import io

import httpx2
import pytest
from PIL import Image

from providers._sandbox.images import placeholder_png
from providers.kolbo.simulator import KolboSimulator
from tests.harness.clock import FakeClock
from tests.providers.kolbo.support import GLOBAL_DNA, GOLDEN_HOUR, KEY, OTHER_KEY, assert_error, poll, start

pytestmark = pytest.mark.anyio

PNG = placeholder_png("reference", width=32, height=32)


async def test_models_lists_a_realistic_catalogue_across_every_type(api: httpx2.AsyncClient) -> None:
    body = (await api.get("/api/v1/models")).json()

    assert body["success"] is True
    assert body["count"] == len(body["models"])
    assert body["count"] >= 15
    fields = {"identifier", "name", "provider", "types", "credit", "supported_aspect_ratios", "supported_durations"}
    fields |= {"max_reference_images", "recommended"}
    assert all(fields <= set(model) for model in body["models"])
    for sdk_type in ("image", "image_edit", "video", "video_from_image", "music", "speech", "sound", "chat"):
        typed = (await api.get("/api/v1/models", params={"type": sdk_type})).json()
        assert typed["count"] > 0, sdk_type
        assert any(model["recommended"] for model in typed["models"]), sdk_type


async def test_models_filter_by_raw_type_and_provider(api: httpx2.AsyncClient) -> None:
    videos = (await api.get("/api/v1/models", params={"type": "text_to_video", "provider": "FAL"})).json()

    assert [model["identifier"] for model in videos["models"]] == ["seedance-1-pro"]
    assert videos["models"][0]["supported_durations"] == [5, 10]
    assert videos["models"][0]["credit"] == 5
    speech = (await api.get("/api/v1/models", params={"type": "speech"})).json()
    assert {model["provider"] for model in speech["models"]} == {"elevenlabs"}
    assert (await api.get("/api/v1/models", params={"type": "hologram"})).json()["count"] == 0


async def test_visual_dna_from_one_image_can_be_listed_fetched_used_and_deleted(
    api: httpx2.AsyncClient, sim: KolboSimulator, clock: FakeClock
) -> None:
    created = await api.post(
        "/api/v1/visual-dna",
        data={"name": "Emma", "dna_type": "character", "prompt_helper": "red hair"},
        files=[("images", ("emma.png", PNG, "image/png"))],
    )

    assert created.status_code == 200, created.text
    dna = created.json()["visual_dna"]
    assert (dna["name"], dna["dna_type"], dna["is_global"]) == ("Emma", "character", False)
    assert "red hair" in dna["description"]
    assert dna["images"][0] == f"http://sim/media/{dna['id']}/0.png"
    assert dna["thumbnail_url"] == dna["images"][0]
    image = await api.get(dna["images"][0], headers={"X-API-Key": ""})
    assert (image.content, image.headers["content-type"]) == (PNG, "image/png")

    listed = (await api.get("/api/v1/visual-dna")).json()
    assert {d["id"] for d in listed["visual_dnas"]} == {dna["id"], *(d for d in sim.visual_dnas if d != dna["id"])}
    assert listed["count"] == 3
    assert listed["total"] == 3
    assert listed["has_more"] is False
    personal = (await api.get("/api/v1/visual-dna", params={"scope": "personal"})).json()
    assert [d["id"] for d in personal["visual_dnas"]] == [dna["id"]]
    other = (await api.get("/api/v1/visual-dna", headers={"X-API-Key": OTHER_KEY})).json()
    assert dna["id"] not in {d["id"] for d in other["visual_dnas"]}
    detail = (await api.get(f"/api/v1/visual-dna/{dna['id']}")).json()["visual_dna"]
    assert "Emma" in detail["system_prompt"]

    started = await start(api, "image", prompt="Emma in a cafe", visual_dna_ids=[dna["id"]])
    assert "featuring Emma (character)" in sim.generations[started["generation_id"]].prompt_used

    deleted = await api.delete(f"/api/v1/visual-dna/{dna['id']}")
    assert deleted.json() == {"success": True, "message": "Visual DNA deleted successfully"}
    assert_error(await api.get(f"/api/v1/visual-dna/{dna['id']}"), 404, "NOT_FOUND")


async def test_visual_dna_accepts_camel_case_fields_and_four_images(
    api: httpx2.AsyncClient, sim: KolboSimulator
) -> None:
    jpeg = io.BytesIO()
    Image.new("RGB", (8, 8)).save(jpeg, format="JPEG")
    files = [("images", (f"{n}.png", PNG, "image/png")) for n in range(3)]
    files.append(("images", ("x.jpg", jpeg.getvalue(), "image/jpeg")))

    created = await api.post(
        "/api/v1/visual-dna", data={"name": "Mug", "dnaType": "product", "promptHelper": "matte"}, files=files
    )

    assert created.status_code == 200, created.text
    dna = created.json()["visual_dna"]
    assert dna["dna_type"] == "product"
    assert dna["images"][3].endswith("/3.jpg")
    assert (await api.get(dna["images"][3])).headers["content-type"] == "image/jpeg"
    assert sim.visual_dnas[dna["id"]].prompt_helper == "matte"


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
    api: httpx2.AsyncClient, sim: KolboSimulator, data: dict[str, str], images: list[bytes], code: str
) -> None:
    files = [("images", (f"{n}.png", image, "image/png")) for n, image in enumerate(images)]
    if not files:
        files = [("other", ("x.txt", b"x", "text/plain"))]

    assert_error(await api.post("/api/v1/visual-dna", data=data, files=files), 400, code)
    assert len(sim.visual_dnas) == 2


async def test_visual_dna_must_be_multipart(api: httpx2.AsyncClient) -> None:
    assert_error(await api.post("/api/v1/visual-dna", json={"name": "x"}), 400, "VALIDATION_ERROR")


async def test_global_visual_dna_is_listed_but_cannot_be_deleted(api: httpx2.AsyncClient) -> None:
    global_only = (await api.get("/api/v1/visual-dna", params={"scope": "global"})).json()
    assert {d["is_global"] for d in global_only["visual_dnas"]} == {True}
    assert GLOBAL_DNA in {d["id"] for d in global_only["visual_dnas"]}

    assert_error(await api.delete(f"/api/v1/visual-dna/{GLOBAL_DNA}"), 403, "FORBIDDEN")
    assert (await api.get(f"/api/v1/visual-dna/{GLOBAL_DNA}")).status_code == 200


async def test_visual_dna_list_searches_and_pages(api: httpx2.AsyncClient) -> None:
    found = (await api.get("/api/v1/visual-dna", params={"search": "noir"})).json()
    assert [d["name"] for d in found["visual_dnas"]] == ["Neo-Noir"]

    page = (await api.get("/api/v1/visual-dna", params={"limit": 1, "page": 1})).json()
    assert (page["count"], page["total"], page["has_more"]) == (1, 2, True)


async def test_moodboards_list_presets_and_get_details(api: httpx2.AsyncClient, sim: KolboSimulator) -> None:
    listed = (await api.get("/api/v1/moodboards")).json()

    assert listed["success"] is True
    assert listed["count"] == 3
    assert len(listed["moodboards"]) == 3
    assert {"id", "name", "master_prompt", "thumbnail_url", "images"} <= set(listed["moodboards"][0])
    assert (await api.get("/api/v1/moodboards", params={"scope": "personal"})).json()["count"] == 0
    detail = (await api.get(f"/api/v1/moodboards/{GOLDEN_HOUR}")).json()["moodboard"]
    assert detail["name"] == "Golden Hour Film"
    assert detail["style_guide"]
    thumbnail = await api.get(detail["thumbnail_url"])
    assert thumbnail.headers["content-type"] == "image/png"
    assert_error(await api.get("/api/v1/moodboards/nope"), 404, "NOT_FOUND")


async def test_moodboard_id_steers_the_prompt_used(api: httpx2.AsyncClient, clock: FakeClock) -> None:
    started = await start(api, "image", prompt="portrait", moodboard_id=GOLDEN_HOUR, enhance_prompt=False)
    clock.advance(10)

    prompt_used = (await poll(api, started))["result"]["prompt_used"]
    assert prompt_used == "portrait, warm golden-hour light, 35mm film grain, soft lens flare"


async def test_requests_are_recorded_and_faults_apply(api: httpx2.AsyncClient, sim: KolboSimulator) -> None:
    sim.faults.add("GET", "/api/v1/account/credits", status=503, body="<html>down</html>")

    assert (await api.get("/api/v1/account/credits")).status_code == 503
    assert (await api.get("/api/v1/account/credits")).status_code == 200
    assert sim.requests.count("GET /api/v1/account/credits") == 2
    assert next(iter(sim.requests)).headers["x-api-key"] == KEY
