from __future__ import annotations

import base64
import io
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest
from PIL import Image

from providers._sandbox.images import placeholder_png
from providers.conceptviz.simulator import ConceptVizAccount, ConceptVizSimulator

KEY = "cvk_test_key"
OTHER_KEY = "cvk_other_key"
AUTH = {"Authorization": f"Bearer {KEY}"}
PNG = placeholder_png("input", width=32, height=32)
PNG_DATA_URL = "data:image/png;base64," + base64.b64encode(PNG).decode()


class FakeClock:
    t = 0.0

    def now(self) -> float:
        return self.t


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim(clock: FakeClock) -> ConceptVizSimulator:
    accounts = {KEY: ConceptVizAccount(credits=100), OTHER_KEY: ConceptVizAccount(credits=100)}
    return ConceptVizSimulator(accounts=accounts, job_seconds=10.0, now=clock.now, public_url="http://sim")


@pytest.fixture
async def client(sim: ConceptVizSimulator) -> AsyncIterator[httpx2.AsyncClient]:
    transport = httpx2.ASGITransport(app=sim.app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://sim", headers=AUTH) as client:
        yield client


async def generate(client: httpx2.AsyncClient, **body: Any) -> httpx2.Response:
    return await client.post("/api/v1/generate", json={"prompt": "water cycle", **body})


def assert_error(response: httpx2.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    assert isinstance(response.json()["error"], str)


# --- generate and poll ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_generate_task_moves_from_pending_to_processing_to_completed_with_downloadable_png(
    client: httpx2.AsyncClient, sim: ConceptVizSimulator, clock: FakeClock
) -> None:
    submitted = await generate(client, aspectRatio="16:9")

    assert submitted.status_code == 200
    body = submitted.json()
    task_id = body["taskId"]
    assert body == {
        "taskId": task_id,
        "status": "pending",
        "model": "cv-2",
        "quality": "2k",
        "aspect_ratio": "16:9",
        "credits_used": 2,
        "credits_remaining": 98,
        "poll_url": f"/api/v1/task/{task_id}",
    }
    assert sim.accounts[KEY].credits == 98
    assert (await client.get(body["poll_url"])).json() == {"status": "pending"}
    clock.t = 1.0
    assert (await client.get(body["poll_url"])).json() == {"status": "processing"}
    clock.t = 10.0
    completed = (await client.get(body["poll_url"])).json()
    assert completed == {
        "status": "completed",
        "images": [{"url": f"http://sim/files/{task_id}-0.png", "prompt": "water cycle"}],
    }

    download = await client.get(completed["images"][0]["url"], headers={"Authorization": ""})
    assert download.status_code == 200
    assert download.headers["content-type"] == "image/png"
    assert download.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert Image.open(io.BytesIO(download.content)).size == (512, 288)


@pytest.mark.anyio
async def test_batch_of_two_prompts_charges_four_credits_and_completes_with_two_images(
    client: httpx2.AsyncClient, sim: ConceptVizSimulator, clock: FakeClock
) -> None:
    submitted = await generate(client, prompts=["cell division", "dna helix"])

    assert submitted.json()["credits_used"] == 4
    assert sim.accounts[KEY].credits == 96
    clock.t = 10.0
    images = (await client.get(submitted.json()["poll_url"])).json()["images"]
    assert [image["prompt"] for image in images] == ["cell division", "dna helix"]
    assert [(await client.get(image["url"])).status_code for image in images] == [200, 200]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("model", "quality", "charged_quality", "credits_used"),
    [("cv-2", "2k", "2k", 2), ("cv-2", "4k", "2k", 2), ("cv-1", "2k", "2k", 1), ("cv-1", "4k", "4k", 2)],
)
async def test_price_depends_on_model_and_quality_and_cv2_always_uses_2k(
    client: httpx2.AsyncClient, model: str, quality: str, charged_quality: str, credits_used: int
) -> None:
    body = (await generate(client, model=model, quality=quality)).json()

    assert (body["model"], body["quality"], body["credits_used"]) == (model, charged_quality, credits_used)


@pytest.mark.anyio
async def test_prompts_win_over_prompt_when_both_are_given(
    client: httpx2.AsyncClient, sim: ConceptVizSimulator
) -> None:
    body = (await generate(client, prompts=["only this"])).json()

    assert sim.tasks[body["taskId"]].prompts == ["only this"]


@pytest.mark.anyio
async def test_a4_portrait_image_has_a4_proportions(client: httpx2.AsyncClient, clock: FakeClock) -> None:
    body = (await generate(client, aspectRatio="a4-portrait")).json()
    clock.t = 10.0
    url = (await client.get(body["poll_url"])).json()["images"][0]["url"]

    width, height = Image.open(io.BytesIO((await client.get(url)).content)).size
    assert height == 512
    assert abs(width / height - 210 / 297) < 0.01


@pytest.mark.anyio
async def test_image_urls_use_the_public_url_set_after_submit(
    client: httpx2.AsyncClient, sim: ConceptVizSimulator, clock: FakeClock
) -> None:
    body = (await generate(client)).json()
    sim.public_url = "http://127.0.0.1:4567/"
    clock.t = 10.0

    url = (await client.get(body["poll_url"])).json()["images"][0]["url"]
    assert url == f"http://127.0.0.1:4567/files/{body['taskId']}-0.png"


@pytest.mark.anyio
async def test_failed_task_refunds_credits(
    client: httpx2.AsyncClient, sim: ConceptVizSimulator, clock: FakeClock
) -> None:
    body = (await generate(client, prompts=["fine", "this one will [fail]"])).json()
    assert sim.accounts[KEY].credits == 96
    clock.t = 10.0

    polled = await client.get(body["poll_url"])

    assert polled.status_code == 200
    assert polled.json() == {
        "status": "failed",
        "error": "Image generation failed. Please try again later.",
        "code": "GENERATION_FAILED",
        "credits_refunded": True,
    }
    assert sim.accounts[KEY].credits == 100
    await client.get(body["poll_url"])
    assert sim.accounts[KEY].credits == 100
    assert (await client.get(f"/files/{body['taskId']}-0.png")).status_code == 404


# --- generate errors -----------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"prompt": 42}, "INVALID_BODY"),
        ({"prompts": "not a list"}, "INVALID_BODY"),
        ({"prompt": "x", "aspectRatio": "7:3"}, "INVALID_BODY"),
        ({"prompt": "x", "quality": "8k"}, "INVALID_BODY"),
        ({"prompt": "x", "model": 2}, "INVALID_BODY"),
        ({}, "PROMPT_REQUIRED"),
        ({"prompt": "   "}, "PROMPT_REQUIRED"),
        ({"prompts": ["ok", ""]}, "PROMPT_REQUIRED"),
        ({"prompts": ["a", "b", "c", "d", "e"]}, "TOO_MANY_PROMPTS"),
        ({"prompt": "x", "model": "cv-3"}, "UNSUPPORTED_MODEL"),
        ({"prompt": "a [blocked] diagram"}, "INPUT_MODERATION_BLOCKED"),
    ],
)
async def test_invalid_generate_request_is_rejected_with_400_and_charges_nothing(
    client: httpx2.AsyncClient, sim: ConceptVizSimulator, body: dict[str, Any], code: str
) -> None:
    response = await client.post("/api/v1/generate", json=body)

    assert_error(response, 400, code)
    assert sim.accounts[KEY].credits == 100
    assert sim.tasks == {}


@pytest.mark.anyio
@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b"\xff\xfe"])
async def test_body_that_is_not_a_json_object_is_invalid_body(client: httpx2.AsyncClient, content: bytes) -> None:
    response = await client.post("/api/v1/generate", content=content, headers={"Content-Type": "application/json"})

    assert_error(response, 400, "INVALID_BODY")


@pytest.mark.anyio
@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", "Basic abc", "Bearer a b"])
async def test_missing_or_malformed_authorization_is_unauthorized(
    client: httpx2.AsyncClient, header: str | None
) -> None:
    client.headers.pop("Authorization")
    headers = {} if header is None else {"Authorization": header}

    assert_error(await client.post("/api/v1/generate", json={"prompt": "x"}, headers=headers), 401, "UNAUTHORIZED")


@pytest.mark.anyio
async def test_unknown_key_is_invalid_api_key_without_echoing_it(client: httpx2.AsyncClient) -> None:
    response = await client.get("/api/v1/task/abc", headers={"Authorization": "Bearer cvk_canary_123"})

    assert_error(response, 401, "INVALID_API_KEY")
    assert "cvk_canary_123" not in response.text


@pytest.mark.anyio
async def test_echo_key_in_errors_quotes_the_presented_key(
    client: httpx2.AsyncClient, sim: ConceptVizSimulator
) -> None:
    sim.echo_key_in_errors = True

    response = await client.post("/api/v1/generate", json={}, headers={"Authorization": "Bearer cvk_canary_123"})

    assert_error(response, 401, "INVALID_API_KEY")
    assert "cvk_canary_123" in response.json()["error"]


@pytest.mark.anyio
async def test_free_plan_gets_plan_required_on_every_api_call(
    client: httpx2.AsyncClient, sim: ConceptVizSimulator
) -> None:
    sim.accounts[KEY].plan = "free"

    assert_error(await generate(client), 403, "PLAN_REQUIRED")
    assert_error(await client.get("/api/v1/task/whatever"), 403, "PLAN_REQUIRED")
    assert_error(await client.post("/api/v1/edit", json={}), 403, "PLAN_REQUIRED")


@pytest.mark.anyio
async def test_batch_larger_than_plan_allows_is_plan_limit_exceeded(
    client: httpx2.AsyncClient, sim: ConceptVizSimulator
) -> None:
    sim.accounts[KEY].max_batch = 1

    assert_error(await generate(client, prompts=["a", "b"]), 403, "PLAN_LIMIT_EXCEEDED")
    assert (await generate(client, prompts=["a"])).status_code == 200


@pytest.mark.anyio
async def test_4k_without_plan_support_is_quality_not_allowed(
    client: httpx2.AsyncClient, sim: ConceptVizSimulator
) -> None:
    sim.accounts[KEY].allow_4k = False

    assert_error(await generate(client, model="cv-1", quality="4k"), 403, "QUALITY_NOT_ALLOWED")
    assert sim.accounts[KEY].credits == 100


@pytest.mark.anyio
async def test_insufficient_credits_is_402_with_credits_remaining(
    client: httpx2.AsyncClient, sim: ConceptVizSimulator
) -> None:
    sim.accounts[KEY].credits = 3

    response = await generate(client, prompts=["a", "b"])

    assert_error(response, 402, "INSUFFICIENT_CREDITS")
    assert response.json()["credits_remaining"] == 3
    assert sim.accounts[KEY].credits == 3


@pytest.mark.anyio
async def test_credit_consumption_failure_is_500_and_charges_nothing(
    client: httpx2.AsyncClient, sim: ConceptVizSimulator
) -> None:
    sim.accounts[KEY].credit_consumption_fails = True

    assert_error(await generate(client), 500, "CREDIT_CONSUMPTION_FAILED")
    assert sim.accounts[KEY].credits == 100
    assert sim.tasks == {}


@pytest.mark.anyio
async def test_moderation_limit_answers_429_with_retry_after_until_the_window_passes(
    client: httpx2.AsyncClient, sim: ConceptVizSimulator, clock: FakeClock
) -> None:
    sim.moderation_limit = 2
    assert (await generate(client)).status_code == 200
    clock.t = 20.0
    assert (await generate(client)).status_code == 200

    clock.t = 30.0
    limited = await generate(client)

    assert_error(limited, 429, "MODERATION_RATE_LIMITED")
    assert limited.headers["Retry-After"] == "30"
    assert (await generate(client, prompt="x")).status_code == 429
    other = await client.post(
        "/api/v1/generate", json={"prompt": "x"}, headers={"Authorization": f"Bearer {OTHER_KEY}"}
    )
    assert other.status_code == 200
    clock.t = 60.0
    assert (await generate(client)).status_code == 200


@pytest.mark.anyio
async def test_unknown_task_is_task_not_found(client: httpx2.AsyncClient) -> None:
    assert_error(await client.get("/api/v1/task/doesNotExist"), 404, "TASK_NOT_FOUND")


@pytest.mark.anyio
async def test_another_keys_task_is_task_not_found(client: httpx2.AsyncClient) -> None:
    task_id = (await generate(client)).json()["taskId"]

    response = await client.get(f"/api/v1/task/{task_id}", headers={"Authorization": f"Bearer {OTHER_KEY}"})

    assert_error(response, 404, "TASK_NOT_FOUND")


@pytest.mark.anyio
@pytest.mark.parametrize("name", ["nothing.png", "abc-0.png", "../etc-0.png", "TASK-1.png", "TASK-0.jpg"])
async def test_files_that_do_not_belong_to_a_completed_image_are_404(
    client: httpx2.AsyncClient, clock: FakeClock, name: str
) -> None:
    task_id = (await generate(client)).json()["taskId"]
    clock.t = 10.0

    assert (await client.get(f"/files/{name.replace('TASK', task_id)}")).status_code == 404


@pytest.mark.anyio
async def test_file_is_404_until_the_task_completes(client: httpx2.AsyncClient, clock: FakeClock) -> None:
    task_id = (await generate(client)).json()["taskId"]

    assert (await client.get(f"/files/{task_id}-0.png")).status_code == 404
    clock.t = 10.0
    assert (await client.get(f"/files/{task_id}-0.png")).status_code == 200


# --- edit ----------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_edit_with_data_url_creates_one_image_task(
    client: httpx2.AsyncClient, sim: ConceptVizSimulator, clock: FakeClock
) -> None:
    submitted = await client.post(
        "/api/v1/edit", json={"prompt": "clean it up", "images": [PNG_DATA_URL], "aspectRatio": "1:1"}
    )

    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["credits_used"] == 2
    assert submitted.json()["status"] == "pending"
    clock.t = 10.0
    polled = (await client.get(submitted.json()["poll_url"])).json()
    assert [image["prompt"] for image in polled["images"]] == ["clean it up"]
    assert sim.tasks[submitted.json()["taskId"]].kind == "edit"


@pytest.mark.anyio
async def test_edit_with_https_url_is_accepted_without_fetching_it(
    client: httpx2.AsyncClient, sim: ConceptVizSimulator
) -> None:
    submitted = await client.post(
        "/api/v1/edit",
        json={"prompt": "polish", "images": ["https://example.com/sketch.png"], "model": "cv-1"},
    )

    assert submitted.status_code == 200, submitted.text
    assert (submitted.json()["model"], submitted.json()["credits_used"]) == ("cv-1", 1)
    assert sim.accounts[KEY].credits == 99


@pytest.mark.anyio
async def test_edit_with_multipart_upload_of_two_images_is_accepted(
    client: httpx2.AsyncClient, sim: ConceptVizSimulator
) -> None:
    files = [("image", ("a.png", PNG, "image/png")), ("image", ("b.png", PNG, "image/png"))]

    submitted = await client.post("/api/v1/edit", data={"prompt": "combine", "model": "cv-2"}, files=files)

    assert submitted.status_code == 200, submitted.text
    task = sim.tasks[submitted.json()["taskId"]]
    assert (task.prompts, task.input_images, task.credits_used) == (["combine"], 2, 2)


@pytest.mark.anyio
@pytest.mark.parametrize(
    "image",
    [
        "data:image/png;base64," + base64.b64encode(b"<html>not an image</html>").decode(),
        "data:image/png;base64,@@@not-base64@@@",
        "data:text/plain;base64," + base64.b64encode(PNG).decode(),
        "ftp://example.com/a.png",
        "file:///etc/passwd",
        "https://",
    ],
)
async def test_edit_with_invalid_image_reference_is_invalid_image(
    client: httpx2.AsyncClient, sim: ConceptVizSimulator, image: str
) -> None:
    response = await client.post("/api/v1/edit", json={"prompt": "fix", "images": [image]})

    assert_error(response, 400, "INVALID_IMAGE")
    assert sim.accounts[KEY].credits == 100


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"prompt": "fix"}, "IMAGE_REQUIRED"),
        ({"prompt": "fix", "images": []}, "IMAGE_REQUIRED"),
        ({"prompt": "fix", "images": [PNG_DATA_URL] * 5}, "TOO_MANY_IMAGES"),
        ({"images": [PNG_DATA_URL]}, "PROMPT_REQUIRED"),
        ({"prompt": "fix", "images": "https://example.com/a.png"}, "INVALID_BODY"),
        ({"prompt": "fix", "images": [PNG_DATA_URL], "model": "cv-9"}, "UNSUPPORTED_MODEL"),
        ({"prompt": "[blocked]", "images": [PNG_DATA_URL]}, "INPUT_MODERATION_BLOCKED"),
    ],
)
async def test_invalid_json_edit_request_is_rejected(
    client: httpx2.AsyncClient, sim: ConceptVizSimulator, body: dict[str, Any], code: str
) -> None:
    assert_error(await client.post("/api/v1/edit", json=body), 400, code)
    assert sim.tasks == {}


@pytest.mark.anyio
async def test_multipart_edit_with_non_image_upload_is_invalid_image(client: httpx2.AsyncClient) -> None:
    files = [("image", ("notes.png", b"just some text", "image/png"))]

    response = await client.post("/api/v1/edit", data={"prompt": "fix"}, files=files)

    assert_error(response, 400, "INVALID_IMAGE")


@pytest.mark.anyio
async def test_multipart_edit_without_image_is_image_required(client: httpx2.AsyncClient) -> None:
    files = [("other", ("a.png", PNG, "image/png"))]

    response = await client.post("/api/v1/edit", data={"prompt": "fix"}, files=files)

    assert_error(response, 400, "IMAGE_REQUIRED")


# --- faults and request log ----------------------------------------------------------------------


@pytest.mark.anyio
async def test_html_fault_on_task_poll_answers_once_then_the_real_handler_answers(
    client: httpx2.AsyncClient, sim: ConceptVizSimulator
) -> None:
    task_id = (await generate(client)).json()["taskId"]
    sim.faults.add("GET", "/api/v1/task", status=503, body="<html><h1>Bad gateway</h1></html>")

    faulted = await client.get(f"/api/v1/task/{task_id}")
    real = await client.get(f"/api/v1/task/{task_id}")

    assert faulted.status_code == 503
    assert faulted.headers["content-type"].startswith("text/html")
    assert "Bad gateway" in faulted.text
    assert real.status_code == 200
    assert real.json() == {"status": "pending"}


@pytest.mark.anyio
async def test_fault_after_handling_charges_credits_but_returns_the_fault(
    client: httpx2.AsyncClient, sim: ConceptVizSimulator
) -> None:
    sim.faults.add("POST", "/api/v1/generate", status=502, after_handling=True)

    response = await generate(client)

    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert sim.accounts[KEY].credits == 98
    assert len(sim.tasks) == 1


@pytest.mark.anyio
async def test_fault_with_json_body_and_headers_is_sent_as_given(
    client: httpx2.AsyncClient, sim: ConceptVizSimulator
) -> None:
    sim.faults.add(
        "GET", "/api/v1/task/", status=429, body={"error": "slow down"}, headers={"Retry-After": "7"}, times=2
    )

    responses = [await client.get("/api/v1/task/x") for _ in range(3)]

    assert [r.status_code for r in responses] == [429, 429, 404]
    assert responses[0].json() == {"error": "slow down"}
    assert responses[0].headers["Retry-After"] == "7"


@pytest.mark.anyio
async def test_request_log_counts_every_request_including_faulted_ones(
    client: httpx2.AsyncClient, sim: ConceptVizSimulator
) -> None:
    task_id = (await generate(client)).json()["taskId"]
    sim.faults.add("GET", "/api/v1/task", status=500)
    await client.get(f"/api/v1/task/{task_id}")
    await client.get(f"/api/v1/task/{task_id}")

    assert sim.requests.count("POST /api/v1/generate") == 1
    assert sim.requests.count(f"GET /api/v1/task/{task_id}") == 2
    assert sim.requests.count("GET /api/v1/task/", prefix=True) == 2
    assert sim.requests.total == len(sim.requests) == 3
    first = next(iter(sim.requests))
    assert (first.method, first.path) == ("POST", "/api/v1/generate")
    assert first.headers["authorization"] == f"Bearer {KEY}"
    assert b"water cycle" in first.body
