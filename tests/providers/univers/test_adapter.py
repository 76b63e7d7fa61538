"""The Univers adapter: files in, files out — uploads, artifacts (ZIP members too), calls that outlive the budget."""

from __future__ import annotations

import base64
import io
import zipfile
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp_types import BlobResourceContents
from PIL import Image, ImageDraw

from server.artifacts import artifact_id_from
from server.jobs import JobRecord
from tests.harness.results import data, text
from tests.providers.univers.support import KEY, World

pytestmark = pytest.mark.anyio


def _png(size: tuple[int, int] = (96, 96)) -> bytes:
    image = Image.new("RGB", size, "white")
    w, h = size
    ImageDraw.Draw(image).rectangle((w // 5, h // 3, w * 4 // 5, h * 2 // 3), fill=(200, 40, 40))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _data_url(content: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(content).decode()


async def test_a_coloring_page_comes_back_as_an_artifact_with_a_preview(univers: World) -> None:
    result = await univers.client.call_tool(
        "univers_generate", {"image": _data_url(_png()), "mode": "lineart", "output": "mystery"}
    )

    body = data(result)
    assert body["status"] == "completed", body
    (asset,) = body["assets"]
    assert (asset["kind"], asset["mime_type"]) == ("image", "image/png")
    assert asset["resource"].startswith("artifact://")
    assert asset["name"].endswith(".png")
    assert body["credits"]["charged"] == 1
    assert body["job"].startswith("univers:")
    blocks = [b.type for b in result.content]
    assert blocks == ["text", "resource_link", "image"]
    assert univers.sim.accounts[KEY].balance == 99


async def test_a_zip_result_is_kept_whole_and_each_page_is_readable_over_mcp_and_http(univers: World) -> None:
    result = await univers.client.call_tool("univers_generate", {"image": _data_url(_png()), "mode": "hex"})

    assets = data(result)["assets"]
    assert assets[0]["mime_type"] == "application/zip"
    assert len(assets) > 2
    member = next(a for a in assets[1:] if a["name"].endswith("-answer.png"))
    read = await univers.client.read_resource(member["resource"])
    (content,) = read.contents
    assert isinstance(content, BlobResourceContents)
    assert content.mime_type == "image/png"

    archive_id = artifact_id_from(assets[0]["resource"])
    assert archive_id is not None
    app = univers.runtime.http_app()
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://t") as http:
        whole = await http.get(f"/artifacts/{archive_id}")
        page = await http.get(f"/artifacts/{artifact_id_from(member['resource'])}")
    assert whole.headers["content-type"] == "application/zip"
    assert whole.headers["content-disposition"].startswith("attachment;")
    names = zipfile.ZipFile(io.BytesIO(whole.content)).namelist()
    assert any(name.endswith("-answer.png") for name in names)
    assert page.content.startswith(b"\x89PNG")
    assert page.headers["x-content-type-options"] == "nosniff"


async def test_a_call_that_outlives_the_budget_answers_running_and_poll_delivers_the_file(univers: World) -> None:
    gate = anyio.Event()

    async def held(seconds: float) -> None:
        await gate.wait()

    univers.sim.sleep = held
    univers.sim.delay_seconds = 30
    started = await univers.client.call_tool("univers_ai_image", {"prompt": "a cat on a sofa", "wait": 0})
    body = data(started)
    assert (body["status"], started.is_error) == ("running", False)
    assert body["job"].startswith("univers:")
    assert "poll" in body["next"]
    still = await univers.client.call_tool("poll", {"job": body["job"], "wait": 0})
    assert data(still)["status"] == "running"

    gate.set()
    finished = await univers.client.call_tool("poll", {"job": body["job"], "wait": 20})
    assert data(finished)["status"] == "completed"
    assert data(finished)["assets"][0]["name"] == "ai-image.png"
    assert univers.sim.requests.count("POST /api/ai-image") == 1


async def test_one_tools_output_feeds_another_as_an_artifact(univers: World) -> None:
    drawn = data(await univers.client.call_tool("univers_ai_image", {"prompt": "a big friendly dog"}))
    artifact = drawn["assets"][0]["resource"]

    result = await univers.client.call_tool(
        "univers_generate", {"image": artifact, "mode": "lineart", "output": "mystery"}
    )

    assert data(result)["status"] == "completed"
    upload = next(r for r in univers.sim.requests if r.path == "/api/generate")
    assert b"\x89PNG" in upload.body


async def test_bulk_makes_one_zip_and_charges_per_picture(univers: World, tmp_path: Path) -> None:
    (tmp_path / "pictures" / "one.png").write_bytes(_png())
    result = await univers.client.call_tool(
        "univers_bulk", {"images": [str(tmp_path / "pictures" / "one.png"), _data_url(_png((64, 64)))]}
    )
    body = data(result)
    assert body["status"] == "completed"
    assert body["assets"][0]["name"] == "mystery-mosaics-bulk.zip"
    assert univers.sim.accounts[KEY].balance == 98


async def test_presets_and_live_credits(univers: World) -> None:
    presets = data(await univers.client.call_tool("univers_presets", {}))
    credits = data(await univers.client.call_tool("credits", {"provider": "univers"}))

    assert "kdp-letter" in presets["details"]["presets"]
    assert presets["details"]["presets"]["cbn-kids"]["mode"] == "cbn"
    (entry,) = credits["balances"]
    assert (entry["remaining"], entry["live"]) == (100, True)


async def test_provider_refusals_are_clear(univers: World) -> None:
    univers.sim.accounts[KEY].balance = 0
    broke = await univers.client.call_tool("univers_generate", {"image": _data_url(_png()), "mode": "lineart"})
    univers.sim.accounts[KEY].balance = 50
    failed = await univers.client.call_tool(
        "univers_generate", {"image": _data_url(_png()), "mode": "ai", "hint": "[upstream-fail]"}
    )

    assert data(broke)["error"]["code"] == "insufficient_credits"
    assert "0 left" in text(broke)
    assert data(failed)["error"]["code"] == "upstream_error"
    assert data(failed)["error"]["charged"] is False
    assert univers.sim.accounts[KEY].balance == 50
    assert await univers.runtime.store.list(provider="univers") == []


@pytest.mark.parametrize(
    ("image", "phrase"),
    [
        ("http://127.0.0.1/cat.png", "only public URLs"),
        ("http://169.254.169.254/latest/meta-data/", "only public URLs"),
        ("http://[::1]:8000/cat.png", "only public URLs"),
        ("http://2130706433/cat.png", "only public URLs"),
        ("https://user@127.0.0.1/cat.png", "user:password"),
        ("http://localhost/cat.png", "only public URLs"),
        ("file:///etc/passwd", "'file:' inputs are not accepted"),
        ("gopher://example.com/x", "'gopher:' inputs are not accepted"),
        ("/etc/passwd", "outside the allowed directories"),
        ("data:image/png;base64,PGh0bWw+PC9odG1sPg==", "not a PNG"),
        ("artifact://" + "A" * 32, "no artifact"),
    ],
)
async def test_unsafe_image_inputs_are_refused_with_zero_upstream_requests(
    univers: World, image: str, phrase: str
) -> None:
    result = await univers.client.call_tool("univers_generate", {"image": image})
    assert result.is_error
    assert phrase in text(result)
    assert univers.sim.requests.total == 0


async def test_local_paths_are_read_only_inside_the_allowed_directories(univers: World, tmp_path: Path) -> None:
    outside = tmp_path / "secret.png"
    outside.write_bytes(_png())
    inside = tmp_path / "pictures"
    (inside / "link.png").symlink_to(outside)
    for path in (str(outside), str(inside / "link.png"), str(inside / ".." / "secret.png"), str(inside) + "_evil/x"):
        result = await univers.client.call_tool("univers_generate", {"image": path})
        assert result.is_error
    assert univers.sim.requests.total == 0


async def test_bad_arguments_cost_nothing(univers: World) -> None:
    calls: list[tuple[str, dict[str, Any]]] = [
        ("univers_generate", {"image": _data_url(_png()), "colors": 30}),
        ("univers_generate", {"image": _data_url(_png()), "mode": "spiral"}),
        ("univers_bulk", {"images": [_data_url(_png())] * 51}),
        ("univers_ai_image", {"prompt": "hi"}),
        ("univers_ai_image", {"prompt": "a cat", "quality": "ultra"}),
    ]
    for tool, args in calls:
        assert (await univers.client.call_tool(tool, args)).is_error
    assert univers.sim.requests.total == 0


async def test_a_call_whose_process_died_becomes_interrupted(univers: World) -> None:
    wall = univers.runtime.clock.wall()
    orphan = JobRecord(
        provider="univers",
        operation="generate",
        status="running",
        upstream_id="orphan123",
        created_at=wall,
        updated_at=wall,
        poll_state={"local": True, "owner": "nohost:1:dead", "expires_at": wall - 1},
    )
    await univers.runtime.store.create(orphan)

    result = await univers.client.call_tool("poll", {"job": "univers:orphan123", "wait": 5})

    body = data(result)
    assert result.is_error
    assert body["error"]["code"] == "interrupted"
    assert body["error"]["charged"] is None
    assert "may have been charged" in text(result)
