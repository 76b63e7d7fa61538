"""Artifacts: stored by opaque id, served with safe headers over HTTP, readable through MCP resources."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client
from mcp_types import BlobResourceContents
from PIL import Image

from server.app import Runtime
from server.artifacts import FileArtifactStore, Files, artifact_id_from
from tests.harness.clock import FakeClock

pytestmark = pytest.mark.anyio


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 10), "green").save(out, "PNG")
    return out.getvalue()


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("cat/cat-mystery.png", _png())
        archive.writestr("cat/cat-lineart.svg", "<svg xmlns='http://www.w3.org/2000/svg'/>")
        archive.writestr("cat/", "")
    return out.getvalue()


async def test_a_zip_is_kept_whole_and_member_by_member(tmp_path: Path, clock: FakeClock) -> None:
    files = Files(FileArtifactStore(tmp_path, ttl_seconds=60, clock=clock.wall), "https://genmcp.example")
    assets = await files.keep(_zip(), mime_type="application/zip", filename="cat-mosaic.zip")

    assert [(a.kind, a.mime_type, a.name) for a in assets] == [
        ("archive", "application/zip", "cat-mosaic.zip"),
        ("image", "image/png", "cat-mystery.png"),
        ("image", "image/svg+xml", "cat-lineart.svg"),
    ]
    assert all(a.url.startswith("https://genmcp.example/artifacts/") for a in assets)
    assert all(a.resource and a.resource.startswith("artifact://") for a in assets)
    member = await files.store.get(artifact_id_from(assets[1].resource or "") or "")
    assert member is not None
    assert await files.store.read(member) == _png()


async def test_artifacts_expire_and_are_cleaned_up(tmp_path: Path, clock: FakeClock) -> None:
    store = FileArtifactStore(tmp_path, ttl_seconds=60, clock=clock.wall)
    artifact = await store.put(b"data", mime_type="text/plain", filename="../../etc/passwd")
    assert artifact.filename == "passwd"
    assert await store.get(artifact.id) is not None
    clock.advance(61)
    assert await store.get(artifact.id) is None
    assert await store.cleanup() == 1
    assert [path async for path in anyio.Path(tmp_path).iterdir()] == []


@pytest.mark.parametrize("bad", ["../jobs", "..%2f..%2fetc%2fpasswd", "x" * 32 + "/../..", "short", "%2e%2e"])
async def test_unknown_or_malformed_artifact_ids_are_404(runtime: Runtime, bad: str) -> None:
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=runtime.http_app()), base_url="http://t") as http:
        response = await http.get(f"/artifacts/{bad}")
    if response.request.url.path == "/":
        # The client removed the dot segments: that is a request for the web page, whose Host check refuses "t".
        assert response.status_code == 421
    else:
        assert response.status_code == 404


async def test_artifacts_are_served_with_their_type_and_never_inline_as_markup(runtime: Runtime) -> None:
    app = runtime.http_app()
    png = await runtime.artifacts.put(_png(), mime_type="image/png", filename="page.png")
    svg = await runtime.artifacts.put(b"<svg onload='alert(1)'/>", mime_type="image/svg+xml", filename="page.svg")
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://t") as http:
        shown = await http.get(f"/artifacts/{png.id}")
        downloaded = await http.get(f"/artifacts/{svg.id}")

    assert shown.status_code == 200
    assert shown.content == _png()
    assert shown.headers["content-type"] == "image/png"
    assert shown.headers["x-content-type-options"] == "nosniff"
    assert shown.headers["content-disposition"].startswith('inline; filename="page.png"')
    assert "sandbox" in shown.headers["content-security-policy"]
    assert downloaded.headers["content-type"].startswith("image/svg+xml")
    assert downloaded.headers["content-disposition"].startswith("attachment;")
    assert "sandbox" in downloaded.headers["content-security-policy"]


async def test_artifacts_are_readable_through_mcp_resources(runtime: Runtime) -> None:
    artifact = await runtime.artifacts.put(_png(), mime_type="image/png", filename="page.png")
    async with Client(runtime.mcp) as client:
        templates = await client.list_resource_templates()
        result = await client.read_resource(artifact.uri)
        with pytest.raises(Exception, match="No artifact"):
            await client.read_resource("artifact://" + "A" * 32)

    assert [t.uri_template for t in templates.resource_templates] == ["artifact://{artifact_id}"]
    (content,) = result.contents
    assert isinstance(content, BlobResourceContents)
    assert content.mime_type == "image/png"
