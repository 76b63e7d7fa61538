"""The Masko simulator's generations: a job's life on the fake clock and its CDN URLs (placeholder, then the
file), both job shapes, animations and transitions with their prices, refused requests, and batches."""

from __future__ import annotations

import io
from typing import Any

import httpx2
import pytest
from PIL import Image

from providers.masko.simulator import MaskoAccount, MaskoSimulator
from tests.harness.clock import FakeClock
from tests.providers.masko.simulator.support import (
    FREE_KEY,
    assert_error,
    generate,
    image_job,
    new_collection,
    payload,
    total,
)

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("envelope", [True, False])
async def test_image_job_completes_and_its_cdn_url_switches_from_placeholder_to_final_png(
    client: httpx2.AsyncClient, sim: MaskoSimulator, clock: FakeClock, envelope: bool
) -> None:
    sim.envelope = envelope
    collection_id = await new_collection(client, sim)

    response = await generate(client, collection_id, type="image", name="Waving hello", image_prompt="waving")

    assert response.status_code == 202
    job = payload(sim, response)
    assert (job["status"], job["type"], job["item_name"], job["estimated_cost"]) == (
        "pending",
        "image",
        "Waving hello",
        1,
    )
    assert set(job["asset_ids"]) == {"image", "transparent_image"}
    assert set(job["urls"]) == {"image", "transparent_image"}
    prefix = f"http://sim/cdn/{sim.collections[collection_id].user_prefix}/felix-the-fox/waving-hello-"
    assert job["urls"]["image"].startswith(prefix)
    assert job["urls"]["image"].endswith(".png")
    assert response.json()["poll"] == f"/v1/jobs/{job['job_id']}"
    assert job["poll_url"] == f"/v1/jobs/{job['job_id']}"
    assert total(sim) == 149

    placeholder = await client.get(job["urls"]["image"], headers={"Authorization": ""})
    assert placeholder.status_code == 200
    assert placeholder.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(placeholder.content)).size == (256, 256)
    assert payload(sim, await client.get(f"/v1/jobs/{job['job_id']}"))["status"] == "pending"
    clock.advance(1)
    assert payload(sim, await client.get(f"/v1/jobs/{job['job_id']}"))["status"] == "processing"
    clock.advance(9)
    completed = payload(sim, await client.get(f"/v1/jobs/{job['job_id']}"))
    assert completed["status"] == "completed"
    assert completed["urls"] == job["urls"]

    final = await client.get(job["urls"]["image"])
    assert final.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(final.content)).size == (512, 512)
    transparent = Image.open(io.BytesIO((await client.get(job["urls"]["transparent_image"])).content))
    assert transparent.mode == "RGBA"
    assert transparent.getchannel("A").getextrema() == (0, 255)


async def test_envelope_job_shape_is_the_newer_data_object(
    client: httpx2.AsyncClient, sim: MaskoSimulator, clock: FakeClock
) -> None:
    collection_id = await new_collection(client, sim)
    job = await image_job(client, sim, collection_id, "Wave")
    clock.advance(10)

    body = (await client.get(f"/v1/jobs/{job['job_id']}")).json()

    assert set(body) == {"data"}
    assert body["data"] | {"created_at": "", "updated_at": "", "completed_at": ""} == {
        "id": job["job_id"],
        "status": "completed",
        "type": "item_generation",
        "collection_id": collection_id,
        "cost_credits": 1,
        "created_at": "",
        "updated_at": "",
        "completed_at": "",
        "item_id": job["item_id"],
        "item_name": "Wave",
        "asset_ids": job["asset_ids"],
        "urls": job["urls"],
    }


async def test_bare_mode_job_shape_is_the_older_object_with_assets_list(
    client: httpx2.AsyncClient, sim: MaskoSimulator, clock: FakeClock
) -> None:
    sim.envelope = False
    collection_id = await new_collection(client, sim)
    submitted = (await generate(client, collection_id, type="animation", prompt="waving hello", duration=3)).json()
    assert submitted["job_id"]
    assert submitted["estimated_cost"] == 16
    assert "data" not in submitted
    clock.advance(20)

    job = (await client.get(submitted["poll"])).json()

    assert job["id"] == submitted["job_id"]
    assert (job["status"], job["type"], job["collection_id"]) == ("completed", "animation", collection_id)
    assert job["output_data"] == {"item_id": submitted["item_id"], "duration": 3}
    assert set(job["asset_ids"]) == {"image", "transparent_image", "video", "webm", "hevc"}
    assert {asset["type"]: asset["url"] for asset in job["assets"]} == submitted["urls"]
    assert job["urls"] == submitted["urls"]
    assert job["completed_at"].endswith("Z")


async def test_cdn_urls_follow_the_public_url_and_unknown_paths_are_404(
    client: httpx2.AsyncClient, sim: MaskoSimulator
) -> None:
    collection_id = await new_collection(client, sim)
    job = await image_job(client, sim, collection_id, "Wave")
    sim.public_url = "http://127.0.0.1:4567/masko/"

    polled = payload(sim, await client.get(f"/v1/jobs/{job['job_id']}"))

    assert polled["urls"]["image"] == job["urls"]["image"].replace("http://sim", "http://127.0.0.1:4567/masko")
    assert (await client.get("/cdn/nothing/here-0000.png")).status_code == 404


async def test_animation_from_scratch_costs_21_and_from_an_existing_image_20(
    client: httpx2.AsyncClient, sim: MaskoSimulator, clock: FakeClock
) -> None:
    collection_id = await new_collection(client, sim)
    scratch = await generate(
        client, collection_id, type="animation", name="Idle", image_prompt="standing", animation_prompt="breathing"
    )
    assert payload(sim, scratch)["estimated_cost"] == 21
    assert set(payload(sim, scratch)["asset_ids"]) == {"image", "transparent_image", "video", "webm", "hevc"}
    image = await image_job(client, sim, collection_id, "Wave")
    assert total(sim) == 150 - 21 - 1

    from_asset = await generate(
        client, collection_id, type="animation", source_image_asset_id=image["asset_ids"]["image"], duration=4
    )
    from_item = await generate(client, collection_id, type="animation", item_id=image["item_id"], prompt="waving")

    assert [payload(sim, r)["estimated_cost"] for r in (from_asset, from_item)] == [20, 20]
    assert set(payload(sim, from_asset)["asset_ids"]) == {"video", "webm", "hevc"}
    assert payload(sim, from_item)["item_id"] == image["item_id"]
    assert total(sim) == 150 - 21 - 1 - 40
    clock.advance(20)
    statuses = [payload(sim, await client.get(f"/v1/jobs/{job_id}"))["status"] for job_id in sim.jobs]
    assert statuses == ["completed"] * 4


async def test_animation_takes_twice_as_long_and_video_urls_have_video_content_types(
    client: httpx2.AsyncClient, sim: MaskoSimulator, clock: FakeClock
) -> None:
    collection_id = await new_collection(client, sim)
    job = payload(sim, await generate(client, collection_id, type="animation", prompt="waving", sizes=[480]))
    clock.advance(10)
    assert payload(sim, await client.get(f"/v1/jobs/{job['job_id']}"))["status"] == "processing"
    assert (await client.get(job["urls"]["webm"])).headers["content-type"] == "image/png"
    clock.advance(10)

    types = {key: (await client.get(url)).headers["content-type"] for key, url in job["urls"].items()}

    assert types == {
        "image": "image/png",
        "transparent_image": "image/png",
        "video": "video/mp4",
        "webm": "video/webm",
        "hevc": "video/quicktime",
        "webm_480": "video/webm",
        "hevc_480": "video/quicktime",
        "stacked_video_480": "video/mp4",
    }
    assert job["urls"]["webm_480"].endswith("-480.webm")


async def test_sizes_only_return_urls_for_sizes_enabled_in_the_collection(
    client: httpx2.AsyncClient, sim: MaskoSimulator
) -> None:
    collection_id = await new_collection(client, sim)
    settings = {"publish_params": {"animation_sizes": {"enabled": True, "sizes": [480, 360]}}}
    assert (await client.patch(f"/v1/collections/{collection_id}/settings", json=settings)).status_code == 200

    job = payload(sim, await generate(client, collection_id, type="animation", prompt="wave", sizes=[720, 360]))

    assert sorted(key for key in job["urls"] if key[-1].isdigit()) == ["hevc_360", "stacked_video_360", "webm_360"]


async def test_transition_with_auto_reverse_makes_two_jobs_and_the_reverse_is_free(
    client: httpx2.AsyncClient, sim: MaskoSimulator, clock: FakeClock
) -> None:
    collection_id = await new_collection(client, sim)
    idle = await image_job(client, sim, collection_id, "Idle")
    wave = await image_job(client, sim, collection_id, "Wave")
    before = total(sim)

    response = await generate(
        client,
        collection_id,
        type="animation",
        name="Idle to Wave",
        source_image_asset_id=idle["asset_ids"]["image"],
        end_image_asset_id=wave["asset_ids"]["image"],
        animation_prompt="transitioning from idle to waving",
        auto_reverse=True,
        loop=True,
        duration=4,
    )

    forward = payload(sim, response)
    reverse = forward["reverse_job"]
    assert (forward["estimated_cost"], reverse["cost"], reverse["status"]) == (20, 0, "pending")
    assert (forward["item_name"], reverse["item_name"]) == ("Idle to Wave", "Wave to Idle")
    assert set(reverse["asset_ids"]) == {"video", "webm", "hevc"}
    assert reverse["job_id"] != forward["job_id"]
    assert reverse["item_id"] != forward["item_id"]
    assert total(sim) == before - 20
    assert sim.jobs[forward["job_id"]].loop is False
    clock.advance(20)
    for job_id in (forward["job_id"], reverse["job_id"]):
        assert payload(sim, await client.get(f"/v1/jobs/{job_id}"))["status"] == "completed"
    reverse_job = payload(sim, await client.get(f"/v1/jobs/{reverse['job_id']}"))
    assert (reverse_job["type"], reverse_job["cost_credits"]) == ("reverse", 0)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"type": "animation", "prompt": "x", "duration": 11}, "duration"),
        ({"type": "animation", "prompt": "x", "duration": 2}, "duration"),
        ({"type": "animation", "prompt": "x", "duration": 4.5}, "duration"),
        ({"type": "animation", "prompt": "x", "sizes": [512]}, "sizes"),
        ({"type": "animation", "prompt": "x", "auto_reverse": True}, "auto_reverse"),
        ({"type": "edit", "edit_instructions": "add a hat"}, "source_image_asset_id"),
        ({"type": "image"}, "image_prompt"),
        ({"type": "video", "prompt": "x"}, "type"),
        ({"type": "image", "prompt": 5}, "prompt"),
    ],
)
async def test_invalid_generate_request_is_400_and_charges_nothing(
    client: httpx2.AsyncClient, sim: MaskoSimulator, body: dict[str, Any], message: str
) -> None:
    collection_id = await new_collection(client, sim)

    response = await generate(client, collection_id, **body)

    assert message in assert_error(sim, response, 400, "bad_request")["error"]["message"]
    assert total(sim) == 150
    assert sim.jobs == {}


async def test_edit_by_item_id_adds_assets_to_that_item_for_one_credit(
    client: httpx2.AsyncClient, sim: MaskoSimulator
) -> None:
    collection_id = await new_collection(client, sim)
    image = await image_job(client, sim, collection_id, "Wave")

    edit = payload(
        sim, await generate(client, collection_id, type="edit", item_id=image["item_id"], prompt="add a hat")
    )

    assert (edit["estimated_cost"], edit["item_id"], edit["item_name"]) == (1, image["item_id"], "Wave")
    assert set(edit["asset_ids"]) == {"image", "transparent_image"}
    assert edit["asset_ids"] != image["asset_ids"]


@pytest.mark.parametrize("key", [FREE_KEY, "masko_starter"])
async def test_logo_on_free_or_starter_plan_is_forbidden(
    client: httpx2.AsyncClient, sim: MaskoSimulator, key: str
) -> None:
    sim.accounts["masko_starter"] = MaskoAccount(plan="starter")
    client.headers["Authorization"] = f"Bearer {key}"
    collection_id = await new_collection(client, sim)
    before = sim.accounts[key].total

    response = await generate(client, collection_id, type="logo", name="App Logo", logo_description="face")

    assert_error(sim, response, 403, "forbidden")
    assert sim.accounts[key].total == before


async def test_logo_on_pro_costs_5(client: httpx2.AsyncClient, sim: MaskoSimulator) -> None:
    collection_id = await new_collection(client, sim)

    response = await generate(client, collection_id, type="logo", name="App Logo", logo_description="face")

    assert response.status_code == 202
    assert (payload(sim, response)["estimated_cost"], total(sim)) == (5, 145)


@pytest.mark.parametrize("list_key", ["requests", "items"])
async def test_batch_of_three_accepts_requests_or_items(
    client: httpx2.AsyncClient, sim: MaskoSimulator, list_key: str
) -> None:
    collection_id = await new_collection(client, sim)
    entries = [
        {"type": "image", "name": "Waving", "image_prompt": "waving hello"},
        {"type": "image", "name": "Thinking", "image_prompt": "hand on chin"},
        {"type": "animation", "name": "Celebrating", "image_prompt": "jumping", "animation_prompt": "jump"},
    ]

    response = await client.post(f"/v1/collections/{collection_id}/generate-batch", json={list_key: entries})

    assert response.status_code == 202, response.text
    batch = payload(sim, response)
    assert batch["total_cost"] == 23
    assert [job["item_name"] for job in batch["jobs"]] == ["Waving", "Thinking", "Celebrating"]
    assert [job["estimated_cost"] for job in batch["jobs"]] == [1, 1, 21]
    assert all(job["status"] == "pending" for job in batch["jobs"])
    assert all(job["job_id"] in sim.jobs for job in batch["jobs"])
    assert total(sim) == 127


async def test_batch_of_eleven_is_400(client: httpx2.AsyncClient, sim: MaskoSimulator) -> None:
    collection_id = await new_collection(client, sim)
    entries = [{"type": "image", "image_prompt": f"pose {n}"} for n in range(11)]

    response = await client.post(f"/v1/collections/{collection_id}/generate-batch", json={"requests": entries})

    assert_error(sim, response, 400, "bad_request")
    assert sim.jobs == {}


async def test_batch_with_one_invalid_request_creates_nothing(client: httpx2.AsyncClient, sim: MaskoSimulator) -> None:
    collection_id = await new_collection(client, sim)
    entries = [{"type": "image", "image_prompt": "ok"}, {"type": "animation", "prompt": "x", "duration": 11}]

    response = await client.post(f"/v1/collections/{collection_id}/generate-batch", json={"requests": entries})

    assert "requests[1]" in assert_error(sim, response, 400, "bad_request")["error"]["message"]
    assert (sim.jobs, total(sim)) == ({}, 150)
