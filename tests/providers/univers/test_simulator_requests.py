"""How the simulator reads requests and answers errors: uploads, form bodies, the preset list, routing and injected
faults."""

from __future__ import annotations

import httpx2
import pytest

from providers.univers.simulator import PRESETS, UniversSimulator
from tests.harness.clock import FakeClock
from tests.providers.univers.support import KEY, SCENE, attachment, generate

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("content", "content_type", "detail"),
    [
        (b"just some text, not a picture", "image/png", "Unsupported image type: image/png ("),
        (SCENE, "text/plain", "Unsupported image type: text/plain"),
        (SCENE, "image/gif", "Unsupported image type: image/gif"),
        (SCENE[:200], "image/png", "Unsupported image type: image/png ("),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 10_000_000, "image/png", "Image too large (max 10 MB)"),
    ],
)
async def test_bad_uploads_are_400_and_charge_nothing(
    client: httpx2.AsyncClient,
    sim: UniversSimulator,
    clock: FakeClock,
    content: bytes,
    content_type: str,
    detail: str,
) -> None:
    response = await generate(client, content, filename="notes.png", content_type=content_type)

    assert response.status_code == 400
    assert response.json()["detail"].startswith(detail)
    assert sim.accounts[KEY].balance == 100
    assert clock.sleeps == []


@pytest.mark.parametrize(
    ("filename", "expected"), [("C:\\pics\\café.png", "caf_-legend.png"), ("a/b/ünï.jpg", "_n_-legend.png")]
)
async def test_attachment_name_is_the_upload_stem_made_header_safe(
    client: httpx2.AsyncClient, filename: str, expected: str
) -> None:
    response = await generate(client, filename=filename, output="legend")

    assert attachment(response) == expected


async def test_malformed_multipart_body_is_400(client: httpx2.AsyncClient) -> None:
    response = await client.post("/api/generate", content=b"garbage", headers={"Content-Type": "multipart/form-data"})

    assert response.status_code == 400
    assert response.json() == {"detail": "There was an error parsing the body"}


async def test_presets_are_listed_without_auth_keyed_by_name(client: httpx2.AsyncClient) -> None:
    response = await client.get("/api/presets", headers={"Authorization": ""})

    body = response.json()
    assert response.status_code == 200
    assert set(body) == set(PRESETS)
    assert len(body) == 17
    assert body["kdp-letter"] == {
        "label": "KDP 8.5×11 no bleed",
        "page": "letter",
        "cell_size": 25,
        "colors": 12,
        "landscape": False,
        "mode": "hex",
        "voronoi_density": None,
        "min_zone_pixels": None,
        "lineart_detail": None,
        "lineart_thickness": None,
    }
    assert body["voronoi-easy"]["voronoi_density"] == "easy"
    assert (body["cbn-kids"]["min_zone_pixels"], body["cbn-kids"]["colors"]) == (1000, 6)
    assert (body["lineart-expert"]["lineart_detail"], body["lineart-expert"]["lineart_thickness"]) == ("expert", 1)
    assert body["cbn-a4"]["page"] == "a4"


async def test_unknown_route_and_wrong_method_answer_fastapi_style_json(client: httpx2.AsyncClient) -> None:
    missing = await client.get("/api/nothing")
    wrong = await client.get("/api/generate")

    assert (missing.status_code, missing.json()) == (404, {"detail": "Not Found"})
    assert (wrong.status_code, wrong.json()) == (405, {"detail": "Method Not Allowed"})


async def test_fault_answers_once_and_the_request_log_counts_it(
    client: httpx2.AsyncClient, sim: UniversSimulator
) -> None:
    sim.faults.add("POST", "/api/generate", status=503, body={"detail": "busy"})

    faulted = await generate(client, output="legend")
    real = await generate(client, output="legend")

    assert (faulted.status_code, faulted.json()) == (503, {"detail": "busy"})
    assert real.status_code == 200
    assert sim.accounts[KEY].balance == 99
    assert sim.requests.count("POST /api/generate") == 2
