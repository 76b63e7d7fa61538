from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import anyio.lowlevel
import httpx2
import pytest
from PIL import Image

from providers._sandbox.images import placeholder_png
from providers.masko.simulator import MaskoAccount, MaskoSimulator

KEY = "masko_test_key"
OTHER_KEY = "masko_other_key"
FREE_KEY = "masko_free_key"
AUTH = {"Authorization": f"Bearer {KEY}"}
PNG = placeholder_png("upload", width=32, height=32)
REFERENCE = "https://example.com/fox.png"


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds
        await anyio.lowlevel.checkpoint()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim(clock: FakeClock) -> MaskoSimulator:
    accounts = {
        KEY: MaskoAccount(subscription_credits=100, topup_credits=50),
        OTHER_KEY: MaskoAccount(),
        FREE_KEY: MaskoAccount(plan="free"),
    }
    return MaskoSimulator(
        accounts=accounts, job_seconds=10.0, now=clock.now, sleep=clock.sleep, public_url="http://sim"
    )


@pytest.fixture
async def client(sim: MaskoSimulator) -> AsyncIterator[httpx2.AsyncClient]:
    transport = httpx2.ASGITransport(app=sim.app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://sim", headers=AUTH) as client:
        yield client


def data(sim: MaskoSimulator, response: httpx2.Response) -> Any:
    """The payload, unwrapped from `{data}` in envelope mode."""
    return response.json()["data"] if sim.envelope else response.json()


def assert_error(sim: MaskoSimulator, response: httpx2.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    if sim.envelope:
        assert body["error"]["code"] == code
        assert isinstance(body["error"]["message"], str)
    else:
        assert isinstance(body["error"], str)
    return body


async def new_collection(client: httpx2.AsyncClient, sim: MaskoSimulator, **fields: Any) -> str:
    """A collection with an external reference image (free: nothing is generated)."""
    project = data(sim, await client.post("/v1/projects", json={"name": "My App"}))
    body = {"project_id": project["id"], "name": "Felix the Fox", "reference_image_urls": [REFERENCE], **fields}
    response = await client.post("/v1/collections", json=body)
    assert response.status_code == 201, response.text
    collection_id: str = data(sim, response)["id"]
    return collection_id


async def generate(client: httpx2.AsyncClient, collection_id: str, **body: Any) -> httpx2.Response:
    return await client.post(f"/v1/collections/{collection_id}/generate", json=body)


async def image_job(client: httpx2.AsyncClient, sim: MaskoSimulator, collection_id: str, name: str) -> dict[str, Any]:
    response = await generate(client, collection_id, type="image", name=name, image_prompt=f"{name} pose")
    assert response.status_code == 202, response.text
    job: dict[str, Any] = data(sim, response)
    return job


def total(sim: MaskoSimulator) -> int:
    return sim.accounts[KEY].total


# --- the basic flow ------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("envelope", [True, False])
async def test_image_job_completes_and_its_cdn_url_switches_from_placeholder_to_final_png(
    client: httpx2.AsyncClient, sim: MaskoSimulator, clock: FakeClock, envelope: bool
) -> None:
    sim.envelope = envelope
    collection_id = await new_collection(client, sim)

    response = await generate(client, collection_id, type="image", name="Waving hello", image_prompt="waving")

    assert response.status_code == 202
    job = data(sim, response)
    assert (job["status"], job["type"], job["item_name"], job["estimated_cost"]) == (
        "pending",
        "image",
        "Waving hello",
        1,
    )
    assert set(job["asset_ids"]) == set(job["urls"]) == {"image", "transparent_image"}
    prefix = f"http://sim/cdn/{sim.collections[collection_id].user_prefix}/felix-the-fox/waving-hello-"
    assert job["urls"]["image"].startswith(prefix)
    assert job["urls"]["image"].endswith(".png")
    assert (response.json()["poll"], job["poll_url"]) == (f"/v1/jobs/{job['job_id']}",) * 2
    assert total(sim) == 149

    placeholder = await client.get(job["urls"]["image"], headers={"Authorization": ""})
    assert placeholder.status_code == 200
    assert placeholder.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(placeholder.content)).size == (256, 256)
    assert data(sim, await client.get(f"/v1/jobs/{job['job_id']}"))["status"] == "pending"
    clock.t = 1.0
    assert data(sim, await client.get(f"/v1/jobs/{job['job_id']}"))["status"] == "processing"
    clock.t = 10.0
    completed = data(sim, await client.get(f"/v1/jobs/{job['job_id']}"))
    assert completed["status"] == "completed"
    assert completed["urls"] == job["urls"]

    final = await client.get(job["urls"]["image"])
    assert final.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(final.content)).size == (512, 512)
    transparent = Image.open(io.BytesIO((await client.get(job["urls"]["transparent_image"])).content))
    assert transparent.mode == "RGBA"
    assert transparent.getchannel("A").getextrema() == (0, 255)


@pytest.mark.anyio
async def test_envelope_job_shape_is_the_newer_data_object(
    client: httpx2.AsyncClient, sim: MaskoSimulator, clock: FakeClock
) -> None:
    collection_id = await new_collection(client, sim)
    job = await image_job(client, sim, collection_id, "Wave")
    clock.t = 10.0

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


@pytest.mark.anyio
async def test_bare_mode_job_shape_is_the_older_object_with_assets_list(
    client: httpx2.AsyncClient, sim: MaskoSimulator, clock: FakeClock
) -> None:
    sim.envelope = False
    collection_id = await new_collection(client, sim)
    submitted = (await generate(client, collection_id, type="animation", prompt="waving hello", duration=3)).json()
    assert submitted["job_id"]
    assert submitted["estimated_cost"] == 16
    assert "data" not in submitted
    clock.t = 20.0

    job = (await client.get(submitted["poll"])).json()

    assert job["id"] == submitted["job_id"]
    assert (job["status"], job["type"], job["collection_id"]) == ("completed", "animation", collection_id)
    assert job["output_data"] == {"item_id": submitted["item_id"], "duration": 3}
    assert set(job["asset_ids"]) == {"image", "transparent_image", "video", "webm", "hevc"}
    assert {asset["type"]: asset["url"] for asset in job["assets"]} == job["urls"] == submitted["urls"]
    assert job["completed_at"].endswith("Z")


@pytest.mark.anyio
async def test_cdn_urls_follow_the_public_url_and_unknown_paths_are_404(
    client: httpx2.AsyncClient, sim: MaskoSimulator
) -> None:
    collection_id = await new_collection(client, sim)
    job = await image_job(client, sim, collection_id, "Wave")
    sim.public_url = "http://127.0.0.1:4567/masko/"

    polled = data(sim, await client.get(f"/v1/jobs/{job['job_id']}"))

    assert polled["urls"]["image"] == job["urls"]["image"].replace("http://sim", "http://127.0.0.1:4567/masko")
    assert (await client.get("/cdn/nothing/here-0000.png")).status_code == 404


# --- animations ----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_animation_from_scratch_costs_21_and_from_an_existing_image_20(
    client: httpx2.AsyncClient, sim: MaskoSimulator, clock: FakeClock
) -> None:
    collection_id = await new_collection(client, sim)
    scratch = await generate(
        client, collection_id, type="animation", name="Idle", image_prompt="standing", animation_prompt="breathing"
    )
    assert data(sim, scratch)["estimated_cost"] == 21
    assert set(data(sim, scratch)["asset_ids"]) == {"image", "transparent_image", "video", "webm", "hevc"}
    image = await image_job(client, sim, collection_id, "Wave")
    assert total(sim) == 150 - 21 - 1

    from_asset = await generate(
        client, collection_id, type="animation", source_image_asset_id=image["asset_ids"]["image"], duration=4
    )
    from_item = await generate(client, collection_id, type="animation", item_id=image["item_id"], prompt="waving")

    assert [data(sim, r)["estimated_cost"] for r in (from_asset, from_item)] == [20, 20]
    assert set(data(sim, from_asset)["asset_ids"]) == {"video", "webm", "hevc"}
    assert data(sim, from_item)["item_id"] == image["item_id"]
    assert total(sim) == 150 - 21 - 1 - 40
    clock.t = 20.0
    statuses = [data(sim, await client.get(f"/v1/jobs/{job_id}"))["status"] for job_id in sim.jobs]
    assert statuses == ["completed"] * 4


@pytest.mark.anyio
async def test_animation_takes_twice_as_long_and_video_urls_have_video_content_types(
    client: httpx2.AsyncClient, sim: MaskoSimulator, clock: FakeClock
) -> None:
    collection_id = await new_collection(client, sim)
    job = data(sim, await generate(client, collection_id, type="animation", prompt="waving", sizes=[480]))
    clock.t = 10.0
    assert data(sim, await client.get(f"/v1/jobs/{job['job_id']}"))["status"] == "processing"
    assert (await client.get(job["urls"]["webm"])).headers["content-type"] == "image/png"
    clock.t = 20.0

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


@pytest.mark.anyio
async def test_sizes_only_return_urls_for_sizes_enabled_in_the_collection(
    client: httpx2.AsyncClient, sim: MaskoSimulator
) -> None:
    collection_id = await new_collection(client, sim)
    settings = {"publish_params": {"animation_sizes": {"enabled": True, "sizes": [480, 360]}}}
    assert (await client.patch(f"/v1/collections/{collection_id}/settings", json=settings)).status_code == 200

    job = data(sim, await generate(client, collection_id, type="animation", prompt="wave", sizes=[720, 360]))

    assert sorted(key for key in job["urls"] if key[-1].isdigit()) == ["hevc_360", "stacked_video_360", "webm_360"]


@pytest.mark.anyio
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

    forward = data(sim, response)
    reverse = forward["reverse_job"]
    assert (forward["estimated_cost"], reverse["cost"], reverse["status"]) == (20, 0, "pending")
    assert (forward["item_name"], reverse["item_name"]) == ("Idle to Wave", "Wave to Idle")
    assert set(reverse["asset_ids"]) == {"video", "webm", "hevc"}
    assert reverse["job_id"] != forward["job_id"]
    assert reverse["item_id"] != forward["item_id"]
    assert total(sim) == before - 20
    assert sim.jobs[forward["job_id"]].loop is False
    clock.t = 20.0
    for job_id in (forward["job_id"], reverse["job_id"]):
        assert data(sim, await client.get(f"/v1/jobs/{job_id}"))["status"] == "completed"
    reverse_job = data(sim, await client.get(f"/v1/jobs/{reverse['job_id']}"))
    assert (reverse_job["type"], reverse_job["cost_credits"]) == ("reverse", 0)


@pytest.mark.anyio
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


@pytest.mark.anyio
async def test_edit_by_item_id_adds_assets_to_that_item_for_one_credit(
    client: httpx2.AsyncClient, sim: MaskoSimulator
) -> None:
    collection_id = await new_collection(client, sim)
    image = await image_job(client, sim, collection_id, "Wave")

    edit = data(sim, await generate(client, collection_id, type="edit", item_id=image["item_id"], prompt="add a hat"))

    assert (edit["estimated_cost"], edit["item_id"], edit["item_name"]) == (1, image["item_id"], "Wave")
    assert set(edit["asset_ids"]) == {"image", "transparent_image"}
    assert edit["asset_ids"] != image["asset_ids"]


@pytest.mark.anyio
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


@pytest.mark.anyio
async def test_logo_on_pro_costs_5(client: httpx2.AsyncClient, sim: MaskoSimulator) -> None:
    collection_id = await new_collection(client, sim)

    response = await generate(client, collection_id, type="logo", name="App Logo", logo_description="face")

    assert response.status_code == 202
    assert (data(sim, response)["estimated_cost"], total(sim)) == (5, 145)


# --- batches -------------------------------------------------------------------------------------


@pytest.mark.anyio
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
    batch = data(sim, response)
    assert batch["total_cost"] == 23
    assert [job["item_name"] for job in batch["jobs"]] == ["Waving", "Thinking", "Celebrating"]
    assert [job["estimated_cost"] for job in batch["jobs"]] == [1, 1, 21]
    assert all(job["status"] == "pending" and job["job_id"] in sim.jobs for job in batch["jobs"])
    assert total(sim) == 127


@pytest.mark.anyio
async def test_batch_of_eleven_is_400(client: httpx2.AsyncClient, sim: MaskoSimulator) -> None:
    collection_id = await new_collection(client, sim)
    entries = [{"type": "image", "image_prompt": f"pose {n}"} for n in range(11)]

    response = await client.post(f"/v1/collections/{collection_id}/generate-batch", json={"requests": entries})

    assert_error(sim, response, 400, "bad_request")
    assert sim.jobs == {}


@pytest.mark.anyio
async def test_batch_with_one_invalid_request_creates_nothing(client: httpx2.AsyncClient, sim: MaskoSimulator) -> None:
    collection_id = await new_collection(client, sim)
    entries = [{"type": "image", "image_prompt": "ok"}, {"type": "animation", "prompt": "x", "duration": 11}]

    response = await client.post(f"/v1/collections/{collection_id}/generate-batch", json={"requests": entries})

    assert "requests[1]" in assert_error(sim, response, 400, "bad_request")["error"]["message"]
    assert (sim.jobs, total(sim)) == ({}, 150)


# --- credits -------------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("envelope", [True, False])
async def test_insufficient_credits_is_402_in_the_mode_shape(
    client: httpx2.AsyncClient, sim: MaskoSimulator, envelope: bool
) -> None:
    sim.envelope = envelope
    collection_id = await new_collection(client, sim)
    sim.accounts[KEY].subscription_credits, sim.accounts[KEY].topup_credits = 3, 2

    response = await generate(client, collection_id, type="animation", prompt="waving", duration=4)

    assert response.status_code == 402
    if envelope:
        assert response.json() == {
            "error": {
                "code": "insufficient_credits",
                "message": "Not enough credits. Required: 21, balance: 5.",
                "required": 21,
                "balance": 5,
            }
        }
    else:
        assert response.json() == {"error": "Insufficient credits", "required": 21, "available": 5}
    assert total(sim) == 5
    assert sim.jobs == {}


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("envelope", "expected"),
    [
        (True, {"data": {"subscription": 79, "topup": 50, "total": 129}}),
        (False, {"subscription_credits": 79, "topup_credits": 50, "total": 129}),
    ],
)
async def test_credits_shape_and_subscription_credits_are_spent_first(
    client: httpx2.AsyncClient, sim: MaskoSimulator, envelope: bool, expected: dict[str, Any]
) -> None:
    sim.envelope = envelope
    collection_id = await new_collection(client, sim)
    await generate(client, collection_id, type="animation", prompt="waving")

    assert (await client.get("/v1/credits")).json() == expected


@pytest.mark.anyio
async def test_topup_credits_are_used_once_subscription_credits_run_out(
    client: httpx2.AsyncClient, sim: MaskoSimulator
) -> None:
    collection_id = await new_collection(client, sim)
    sim.accounts[KEY].subscription_credits = 10

    await generate(client, collection_id, type="animation", prompt="waving")

    assert (sim.accounts[KEY].subscription_credits, sim.accounts[KEY].topup_credits) == (0, 39)


@pytest.mark.anyio
@pytest.mark.parametrize("envelope", [True, False])
async def test_failing_job_refunds_its_credits_and_reports_an_error(
    client: httpx2.AsyncClient, sim: MaskoSimulator, clock: FakeClock, envelope: bool
) -> None:
    sim.envelope = envelope
    collection_id = await new_collection(client, sim)
    sim.accounts[KEY].subscription_credits = 10
    job = data(sim, await generate(client, collection_id, type="animation", prompt="this will [fail]"))
    assert (sim.accounts[KEY].subscription_credits, sim.accounts[KEY].topup_credits) == (0, 39)
    clock.t = 20.0

    failed = data(sim, await client.get(f"/v1/jobs/{job['job_id']}"))

    assert failed["status"] == "failed"
    if envelope:
        assert failed["error"]["code"] == "generation_failed"
    else:
        assert isinstance(failed["error"], str)
    assert (sim.accounts[KEY].subscription_credits, sim.accounts[KEY].topup_credits) == (10, 50)
    await client.get(f"/v1/jobs/{job['job_id']}")
    assert total(sim) == 60
    assert (await client.get(job["urls"]["webm"])).headers["content-type"] == "image/png"


@pytest.mark.anyio
async def test_direct_collection_creation_charges_one_credit_for_its_reference_image(
    client: httpx2.AsyncClient, sim: MaskoSimulator, clock: FakeClock
) -> None:
    project = data(sim, await client.post("/v1/projects", json={"name": "App"}))
    body = {"project_id": project["id"], "name": "Astro Fox", "prompt": "a fox in a helmet", "style": "3d"}

    collection = data(sim, await client.post("/v1/collections", json=body))

    assert total(sim) == 149
    assert collection["config"]["style"] == "3d-render"
    assert len(collection["config"]["reference_asset_ids"]) == 1
    clock.t = 10.0
    reference = data(sim, await client.get(f"/v1/jobs/{collection['reference_job_id']}"))
    assert (reference["status"], reference["type"]) == ("completed", "image_generation")


@pytest.mark.anyio
async def test_bare_collection_create_serves_both_the_flat_object_and_a_collection_key(
    client: httpx2.AsyncClient, sim: MaskoSimulator
) -> None:
    sim.envelope = False
    project = (await client.post("/v1/projects", json={"name": "App"})).json()
    body = {"project_id": project["id"], "name": "Felix", "description": "a fox", "reference_image_urls": [REFERENCE]}

    created = (await client.post("/v1/collections", json=body)).json()

    assert created["id"] == created["collection"]["id"]
    assert (created["collection"]["prompt"], created["collection"]["cdn_enabled"]) == ("a fox", True)
    assert (await client.get("/v1/projects")).json() == {"projects": [project]}
    listed = (await client.get("/v1/collections", params={"project_id": project["id"]})).json()
    assert [(c["id"], c["description"], c["item_count"]) for c in listed["collections"]] == [
        (created["id"], "a fox", 0)
    ]


@pytest.mark.anyio
async def test_envelope_lists_carry_pagination_meta(client: httpx2.AsyncClient, sim: MaskoSimulator) -> None:
    for n in range(3):
        await client.post("/v1/projects", json={"name": f"P{n}"})

    body = (await client.get("/v1/projects", params={"limit": 2, "offset": 1})).json()

    assert [project["name"] for project in body["data"]] == ["P1", "P2"]
    assert body["meta"] == {"pagination": {"total": 3, "limit": 2, "offset": 1, "has_more": False}}


# --- jobs ----------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_wait_true_answers_in_one_request_once_the_job_completes(
    client: httpx2.AsyncClient, sim: MaskoSimulator, clock: FakeClock
) -> None:
    collection_id = await new_collection(client, sim)
    job = await image_job(client, sim, collection_id, "Wave")
    sim.requests.clear()

    response = await client.get(f"/v1/jobs/{job['job_id']}", params={"wait": "true"})

    assert data(sim, response)["status"] == "completed"
    assert sim.requests.total == 1
    assert clock.t == pytest.approx(10.0)
    assert all(step <= 1.0 for step in clock.sleeps)


@pytest.mark.anyio
async def test_wait_true_gives_up_after_wait_timeout_with_the_current_status(
    client: httpx2.AsyncClient, sim: MaskoSimulator, clock: FakeClock
) -> None:
    sim.wait_timeout = 3.0
    collection_id = await new_collection(client, sim)
    job = await image_job(client, sim, collection_id, "Wave")

    response = await client.get(f"/v1/jobs/{job['job_id']}", params={"wait": "true"})

    assert response.status_code == 200
    assert data(sim, response)["status"] == "processing"
    assert clock.t == pytest.approx(3.0)


@pytest.mark.anyio
async def test_wait_true_ends_even_if_the_clock_never_moves(client: httpx2.AsyncClient, sim: MaskoSimulator) -> None:
    async def no_sleep(seconds: float) -> None:
        await anyio.lowlevel.checkpoint()

    sim.sleep, sim.wait_timeout = no_sleep, 2.0
    collection_id = await new_collection(client, sim)
    job = await image_job(client, sim, collection_id, "Wave")

    with anyio.fail_after(5):
        response = await client.get(f"/v1/jobs/{job['job_id']}", params={"wait": "true"})

    assert data(sim, response)["status"] == "pending"


@pytest.mark.anyio
async def test_list_jobs_filters_by_status_collection_and_type(
    client: httpx2.AsyncClient, sim: MaskoSimulator, clock: FakeClock
) -> None:
    first = await new_collection(client, sim)
    second = await new_collection(client, sim)
    image = await image_job(client, sim, first, "Wave")
    clock.t = 10.0
    animation = data(sim, await generate(client, second, type="animation", prompt="hop"))

    async def ids(**params: str) -> list[str]:
        return [job["id"] for job in data(sim, await client.get("/v1/jobs", params=params))]

    assert await ids() == [animation["job_id"], image["job_id"]]
    assert await ids(status="completed") == [image["job_id"]]
    assert await ids(collection_id=second) == [animation["job_id"]]
    assert await ids(type="image") == await ids(type="item_generation") == [image["job_id"]]
    assert_error(sim, await client.get("/v1/jobs", params={"status": "done"}), 400, "bad_request")


# --- canvases ------------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("envelope", [True, False])
async def test_canvas_from_template_generate_all_status_and_export(
    client: httpx2.AsyncClient, sim: MaskoSimulator, clock: FakeClock, envelope: bool
) -> None:
    sim.envelope = envelope
    sim.accounts[KEY].topup_credits = 500
    collection_id = await new_collection(client, sim)
    templates = await client.get("/v1/canvas-templates")
    template_rows = templates.json()["data"] if envelope else templates.json()["templates"]
    assert [t["id"] for t in template_rows] == ["claude-code-4state", "website-greeter-3state"]
    canvas = data(sim, await client.post(f"/v1/collections/{collection_id}/canvases", json={"name": "Main"}))
    base = f"/v1/collections/{collection_id}/canvases/{canvas['id']}"

    applied = await client.post(f"{base}/from-template", json={"template_id": "claude-code-4state"})

    assert applied.status_code == 202
    result = data(sim, applied)
    assert (len(result["nodes"]), len(result["jobs"]), result["total_cost"]) == (4, 4, 4)
    assert set(result["node_mapping"]) == {"idle", "thinking", "working", "attention"}
    assert total(sim) == 596
    clock.t = 10.0

    summary = data(sim, await client.post(f"{base}/generate-all", json={"duration": 4}))

    assert (summary["generated"], summary["reverse_free"], summary["actual_cost"]) == (12, 4, 160)
    assert (summary["already_complete"], summary["estimated_cost"]) == (4, 164)
    assert {item["reason"] for item in summary["skipped_items"]} == {"image exists", "any-state edge"}
    assert total(sim) == 596 - 160
    status = data(sim, await client.get(f"{base}/status"))
    assert status == {
        "canvas_id": canvas["id"],
        "total_jobs": 16,
        "completed": 4,
        "pending": 12,
        "failed": 0,
        "progress": 0.25,
    }
    clock.t = 30.0
    assert data(sim, await client.get(f"{base}/status"))["progress"] == 1.0
    detail = data(sim, await client.get(base))
    assert (detail["status"]["percent"], detail["completed_edge_count"]) == (100, 12)

    config = data(sim, await client.get(f"{base}/export"))

    assert set(config) == {"version", "name", "initialNode", "autoPlay", "nodes", "edges", "inputs"}
    assert (config["version"], config["name"], config["autoPlay"]) == ("1.0", "Main", True)
    assert config["initialNode"] == config["nodes"][0]["id"] == result["node_mapping"]["idle"]
    assert all(node["transparentThumbnailUrl"].startswith("http://sim/cdn/") for node in config["nodes"])
    loops = [edge for edge in config["edges"] if edge["isLoop"]]
    assert len(loops) == 4
    assert all(edge["source"] == edge["target"] for edge in loops)
    video_edges = [edge for edge in config["edges"] if edge["source"] != "*"]
    assert all(set(edge["videos"]) == {"webm", "hevc"} for edge in video_edges)
    assert all(isinstance(edge["duration"], float) for edge in config["edges"])
    any_state = next(edge for edge in config["edges"] if edge["source"] == "*")
    assert any_state["videos"] == {}
    assert any_state["conditions"] == [{"input": "reset", "op": "==", "value": True}]
    assert {(i["name"], i["type"]) for i in config["inputs"]} == {("state", "number"), ("reset", "trigger")}
    webm = await client.get(video_edges[0]["videos"]["webm"])
    assert webm.headers["content-type"] == "video/webm"


@pytest.mark.anyio
async def test_generate_all_again_skips_completed_work_and_create_with_template_works_in_one_call(
    client: httpx2.AsyncClient, sim: MaskoSimulator, clock: FakeClock
) -> None:
    sim.accounts[KEY].topup_credits = 500
    collection_id = await new_collection(client, sim)
    body = {"name": "Greeter", "template_id": "website-greeter-3state"}
    created = await client.post(f"/v1/collections/{collection_id}/canvases", json=body)
    assert created.status_code == 201
    canvas = data(sim, created)
    assert (len(canvas["nodes"]), canvas["total_cost"]) == (3, 3)
    base = f"/v1/collections/{collection_id}/canvases/{canvas['id']}"
    first = data(sim, await client.post(f"{base}/generate-all"))
    assert (first["generated"], first["actual_cost"], first["reverse_free"]) == (7, 100, 2)
    clock.t = 30.0

    again = data(sim, await client.post(f"{base}/generate-all", json={"targets": "animations"}))

    assert (again["generated"], again["actual_cost"], again["already_complete"]) == (0, 0, 5)
    redo = data(sim, await client.post(f"{base}/generate-all", json={"targets": "animations", "skip_completed": False}))
    assert (redo["generated"], redo["actual_cost"]) == (7, 100)


@pytest.mark.anyio
async def test_canvas_errors(client: httpx2.AsyncClient, sim: MaskoSimulator) -> None:
    collection_id = await new_collection(client, sim)
    canvas = data(sim, await client.post(f"/v1/collections/{collection_id}/canvases", json={"name": "Empty"}))
    base = f"/v1/collections/{collection_id}/canvases/{canvas['id']}"

    assert_error(sim, await client.post(f"{base}/generate-all"), 400, "bad_request")
    assert_error(sim, await client.post(f"{base}/from-template", json={"template_id": "nope"}), 404, "not_found")
    assert_error(sim, await client.post(f"{base}/generate-all", json={"duration": 11}), 400, "bad_request")
    assert_error(sim, await client.get(f"/v1/collections/{collection_id}/canvases/nope/status"), 404, "not_found")


# --- rate limits and auth ------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("envelope", [True, False])
async def test_rate_limit_headers_and_429_with_retry_after(
    client: httpx2.AsyncClient, sim: MaskoSimulator, clock: FakeClock, envelope: bool
) -> None:
    sim.envelope, sim.rate_limit = envelope, 3
    responses = [await client.get("/v1/credits") for _ in range(3)]
    assert [r.headers["X-RateLimit-Remaining"] for r in responses] == ["2", "1", "0"]
    assert responses[0].headers["X-RateLimit-Reset"] == "60"
    clock.t = 45.0

    limited = await client.get("/v1/credits")

    assert_error(sim, limited, 429, "rate_limited")
    assert (limited.headers["Retry-After"], limited.headers["X-RateLimit-Remaining"]) == ("15", "0")
    other = await client.get("/v1/credits", headers={"Authorization": f"Bearer {OTHER_KEY}"})
    assert other.status_code == 200
    clock.t = 60.0
    assert (await client.get("/v1/credits")).headers["X-RateLimit-Remaining"] == "2"


@pytest.mark.anyio
async def test_rate_limit_headers_are_sent_without_a_limit(client: httpx2.AsyncClient) -> None:
    response = await client.get("/v1/styles")

    assert (response.headers["X-RateLimit-Remaining"], response.headers["X-RateLimit-Reset"]) == ("60", "60")


@pytest.mark.anyio
@pytest.mark.parametrize("envelope", [True, False])
@pytest.mark.parametrize("header", [None, "Bearer", "Basic abc", "Bearer masko_unknown"])
async def test_missing_or_unknown_key_is_401(
    client: httpx2.AsyncClient, sim: MaskoSimulator, envelope: bool, header: str | None
) -> None:
    sim.envelope = envelope
    client.headers.pop("Authorization")
    headers = {} if header is None else {"Authorization": header}

    assert_error(sim, await client.get("/v1/credits", headers=headers), 401, "unauthorized")


@pytest.mark.anyio
async def test_another_workspaces_collection_is_403_and_unknown_ids_are_404(
    client: httpx2.AsyncClient, sim: MaskoSimulator
) -> None:
    collection_id = await new_collection(client, sim)
    job = await image_job(client, sim, collection_id, "Wave")
    other = {"Authorization": f"Bearer {OTHER_KEY}"}

    assert_error(sim, await client.get(f"/v1/collections/{collection_id}", headers=other), 403, "forbidden")
    assert_error(sim, await client.get(f"/v1/jobs/{job['job_id']}", headers=other), 403, "forbidden")
    assert_error(sim, await client.get("/v1/collections/nope"), 404, "not_found")
    assert_error(sim, await client.get("/v1/jobs/nope"), 404, "not_found")
    assert_error(sim, await client.get("/v1/no-such-route"), 404, "not_found")


@pytest.mark.anyio
async def test_fault_with_error_body_answers_500_in_the_envelope(
    client: httpx2.AsyncClient, sim: MaskoSimulator
) -> None:
    sim.faults.add("GET", "/v1/credits", status=500, body=sim.error_body(500, "boom"))

    assert_error(sim, await client.get("/v1/credits"), 500, "internal_error")
    assert (await client.get("/v1/credits")).status_code == 200


# --- uploads and free utilities ------------------------------------------------------------------


@pytest.mark.anyio
async def test_upload_by_multipart_and_by_url_give_asset_ids_usable_as_sources(
    client: httpx2.AsyncClient, sim: MaskoSimulator
) -> None:
    collection_id = await new_collection(client, sim)

    by_file = await client.post("/v1/upload", files={"file": ("mascot.png", PNG, "image/png")})
    by_url = await client.post("/v1/upload", json={"url": "https://example.com/my-mascot.png"})

    assert (by_file.status_code, by_url.status_code) == (201, 201)
    file_id, url_id = data(sim, by_file)["asset_id"], data(sim, by_url)["asset_id"]
    assert sim.assets[file_id].data == PNG
    assert sim.assets[url_id].source_url == "https://example.com/my-mascot.png"
    edit = await generate(client, collection_id, type="edit", source_image_asset_id=file_id, edit_instructions="hat")
    assert data(sim, edit)["estimated_cost"] == 1
    project_id = sim.collections[collection_id].project_id
    body = {"project_id": project_id, "reference_asset_ids": [file_id, url_id]}
    from_image = data(sim, await client.post("/v1/collections", json=body))
    assert from_image["config"]["reference_asset_ids"] == [file_id, url_id]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("kwargs"),
    [
        {"files": {"file": ("notes.png", b"just some text", "image/png")}},
        {"files": {"file": ("big.png", b"\x89PNG\r\n\x1a\n" + bytes(10 * 1024 * 1024), "image/png")}},
        {"files": {"other": ("a.png", PNG, "image/png")}},
        {"json": {"url": "file:///etc/passwd"}},
        {"json": {}},
    ],
)
async def test_invalid_upload_is_400(client: httpx2.AsyncClient, sim: MaskoSimulator, kwargs: dict[str, Any]) -> None:
    assert_error(sim, await client.post("/v1/upload", **kwargs), 400, "bad_request")
    assert sim.assets == {}


@pytest.mark.anyio
async def test_styles_analyze_url_and_suggest_actions_are_free(client: httpx2.AsyncClient, sim: MaskoSimulator) -> None:
    collection_id = await new_collection(client, sim)
    await image_job(client, sim, collection_id, "Thumbs Up")
    before = total(sim)

    styles = data(sim, await client.get("/v1/styles"))["styles"]
    first = data(sim, await client.post("/v1/analyze-url", json={"url": "https://www.example.com/pricing"}))
    second = data(sim, await client.post("/v1/analyze-url", json={"url": "https://example.com"}))
    suggestions = data(sim, await client.post(f"/v1/collections/{collection_id}/suggest-actions", json={}))

    assert {"3d-render", "pixel-art", "flat-vector"} <= {style["id"] for style in styles}
    assert (await client.get(styles[0]["preview_url"])).headers["content-type"] == "image/png"
    assert first == second
    assert first["brand"]["name"] == "Example"
    assert {s["style"] for s in first["suggestions"]} <= {style["id"] for style in styles}
    assert 6 <= len(suggestions["suggestions"]) <= 8
    assert "Thumbs Up" not in suggestions["suggestions"]
    assert total(sim) == before


@pytest.mark.anyio
async def test_preview_from_text_costs_one_credit_and_collection_preview_is_free(
    client: httpx2.AsyncClient, sim: MaskoSimulator, clock: FakeClock
) -> None:
    collection_id = await new_collection(client, sim)

    four = data(sim, await client.post("/v1/generate/preview", json={"prompt": "fox", "preset_id": "3d-render"}))
    one = data(sim, await client.post("/v1/generate/preview", json={"collection_id": collection_id, "prompt": "wave"}))

    assert (len(four["images"]), len(one["images"]), total(sim)) == (4, 1, 149)
    preview = await client.get(four["images"][0]["url"], headers={"Authorization": ""})
    assert preview.headers["content-type"] == "image/png"
    clock.t = 3600.0
    assert (await client.get(four["images"][0]["url"])).status_code == 404


@pytest.mark.anyio
async def test_collection_items_and_urls_list_every_asset(
    client: httpx2.AsyncClient, sim: MaskoSimulator, clock: FakeClock
) -> None:
    collection_id = await new_collection(client, sim)
    image = await image_job(client, sim, collection_id, "Wave")
    await generate(client, collection_id, type="animation", item_id=image["item_id"], prompt="waving")
    clock.t = 20.0

    items = data(sim, await client.get(f"/v1/collections/{collection_id}/items"))
    urls = data(sim, await client.get(f"/v1/collections/{collection_id}/urls"))

    assert [item["name"] for item in items] == ["Wave"]
    assert {asset["type"] for asset in items[0]["assets"]} == {"image", "transparent_image", "video", "webm", "hevc"}
    assert all(asset["status"] == "completed" for asset in items[0]["assets"])
    assert urls["collection"] == "Felix the Fox"
    assert urls["items"][0]["image"] == image["urls"]["image"]
    assert set(urls["items"][0]["animations"][0]) == {"video", "transparent_video_webm", "transparent_video_mov"}
