"""The Masko simulator's collections and helpers: both create shapes, paginated lists, uploads, styles, website
analysis, pose suggestions, previews, and a collection's items and URLs."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from providers.masko.simulator import MaskoSimulator
from tests.harness.clock import FakeClock
from tests.providers.masko.simulator.support import (
    PNG,
    REFERENCE,
    assert_error,
    generate,
    image_job,
    new_collection,
    payload,
    total,
)

pytestmark = pytest.mark.anyio


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


async def test_envelope_lists_carry_pagination_meta(client: httpx2.AsyncClient, sim: MaskoSimulator) -> None:
    for n in range(3):
        await client.post("/v1/projects", json={"name": f"P{n}"})

    body = (await client.get("/v1/projects", params={"limit": 2, "offset": 1})).json()

    assert [project["name"] for project in body["data"]] == ["P1", "P2"]
    assert body["meta"] == {"pagination": {"total": 3, "limit": 2, "offset": 1, "has_more": False}}


async def test_upload_by_multipart_and_by_url_give_asset_ids_usable_as_sources(
    client: httpx2.AsyncClient, sim: MaskoSimulator
) -> None:
    collection_id = await new_collection(client, sim)

    by_file = await client.post("/v1/upload", files={"file": ("mascot.png", PNG, "image/png")})
    by_url = await client.post("/v1/upload", json={"url": "https://example.com/my-mascot.png"})

    assert (by_file.status_code, by_url.status_code) == (201, 201)
    file_id, url_id = payload(sim, by_file)["asset_id"], payload(sim, by_url)["asset_id"]
    assert sim.assets[file_id].data == PNG
    assert sim.assets[url_id].source_url == "https://example.com/my-mascot.png"
    edit = await generate(client, collection_id, type="edit", source_image_asset_id=file_id, edit_instructions="hat")
    assert payload(sim, edit)["estimated_cost"] == 1
    project_id = sim.collections[collection_id].project_id
    body = {"project_id": project_id, "reference_asset_ids": [file_id, url_id]}
    from_image = payload(sim, await client.post("/v1/collections", json=body))
    assert from_image["config"]["reference_asset_ids"] == [file_id, url_id]


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


async def test_styles_analyze_url_and_suggest_actions_are_free(client: httpx2.AsyncClient, sim: MaskoSimulator) -> None:
    collection_id = await new_collection(client, sim)
    await image_job(client, sim, collection_id, "Thumbs Up")
    before = total(sim)

    styles = payload(sim, await client.get("/v1/styles"))["styles"]
    first = payload(sim, await client.post("/v1/analyze-url", json={"url": "https://www.example.com/pricing"}))
    second = payload(sim, await client.post("/v1/analyze-url", json={"url": "https://example.com"}))
    suggestions = payload(sim, await client.post(f"/v1/collections/{collection_id}/suggest-actions", json={}))

    assert {"3d-render", "pixel-art", "flat-vector"} <= {style["id"] for style in styles}
    assert (await client.get(styles[0]["preview_url"])).headers["content-type"] == "image/png"
    assert first == second
    assert first["brand"]["name"] == "Example"
    assert {s["style"] for s in first["suggestions"]} <= {style["id"] for style in styles}
    assert 6 <= len(suggestions["suggestions"]) <= 8
    assert "Thumbs Up" not in suggestions["suggestions"]
    assert total(sim) == before


async def test_preview_from_text_costs_one_credit_and_collection_preview_is_free(
    client: httpx2.AsyncClient, sim: MaskoSimulator, clock: FakeClock
) -> None:
    collection_id = await new_collection(client, sim)

    four = payload(sim, await client.post("/v1/generate/preview", json={"prompt": "fox", "preset_id": "3d-render"}))
    one = payload(
        sim, await client.post("/v1/generate/preview", json={"collection_id": collection_id, "prompt": "wave"})
    )

    assert (len(four["images"]), len(one["images"]), total(sim)) == (4, 1, 149)
    preview = await client.get(four["images"][0]["url"], headers={"Authorization": ""})
    assert preview.headers["content-type"] == "image/png"
    clock.advance(3600)
    assert (await client.get(four["images"][0]["url"])).status_code == 404


async def test_collection_items_and_urls_list_every_asset(
    client: httpx2.AsyncClient, sim: MaskoSimulator, clock: FakeClock
) -> None:
    collection_id = await new_collection(client, sim)
    image = await image_job(client, sim, collection_id, "Wave")
    await generate(client, collection_id, type="animation", item_id=image["item_id"], prompt="waving")
    clock.advance(20)

    items = payload(sim, await client.get(f"/v1/collections/{collection_id}/items"))
    urls = payload(sim, await client.get(f"/v1/collections/{collection_id}/urls"))

    assert [item["name"] for item in items] == ["Wave"]
    assert {asset["type"] for asset in items[0]["assets"]} == {"image", "transparent_image", "video", "webm", "hevc"}
    assert all(asset["status"] == "completed" for asset in items[0]["assets"])
    assert urls["collection"] == "Felix the Fox"
    assert urls["items"][0]["image"] == image["urls"]["image"]
    assert set(urls["items"][0]["animations"][0]) == {"video", "transparent_video_webm", "transparent_video_mov"}
