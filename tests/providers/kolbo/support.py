"""Constants and helpers shared by the Kolbo tests: keys, seeded ids, a runtime wired to a simulator, and readers of
what the simulator received or answered."""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path
from typing import Any

import httpx2
from PIL import Image
from starlette.types import ASGIApp

from providers.kolbo.simulator import KolboSimulator
from server.app import Runtime
from tests.harness.clock import FakeClock
from tests.harness.runtime import in_process_runtime
from tests.harness.settings import build_settings

KEY = "kolbo_live_" + "a" * 40
OTHER_KEY = "kolbo_live_" + "b" * 40
AUTH = {"X-API-Key": KEY}
BASE_URL = "https://api.kolbo.test/api"
CDN = "https://cdn.kolbo.test"
GLOBAL_DNA = "64f1a0000000000000000001"
"""A global Visual DNA every simulator starts with ("Kolbo Explorer")."""
GOLDEN_HOUR = "64f1b0000000000000000001"
"""A preset moodboard every simulator starts with ("Golden Hour Film")."""
NEON = "64f1b0000000000000000003"
"""Another preset moodboard ("Cyberpunk Night")."""


def kolbo_runtime(
    tmp_path: Path, clock: FakeClock, app: ASGIApp, *, base_url: str = BASE_URL, key: str = KEY
) -> Runtime:
    """A runtime whose Kolbo provider (and whose downloads) go to `app`."""
    settings = build_settings(tmp_path, providers={"kolbo": {"api_key": key, "base_url": base_url}})
    return in_process_runtime(settings, apps={"kolbo": app}, clock=clock, fetch_app=app)


def png() -> bytes:
    """A small PNG."""
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), "teal").save(buffer, "PNG")
    return buffer.getvalue()


def job_id(handle: str) -> str:
    """The upstream id in a `kolbo:<id>` job handle."""
    return handle.split(":", 1)[1]


def posted(sim: KolboSimulator, path: str) -> dict[str, Any]:
    """The JSON body of the first POST the simulator received at `path`."""
    body: dict[str, Any] = json.loads(next(r for r in sim.requests if r.key == f"POST {path}").body)
    return body


def gets(sim: KolboSimulator, fragment: str) -> list[str]:
    """The paths of the GETs the simulator received that contain `fragment`, in order."""
    return [r.path for r in sim.requests if r.method == "GET" and fragment in r.path]


async def start(api: httpx2.AsyncClient, kind: str, **body: Any) -> dict[str, Any]:
    """Start a generation (`kind` is the path under /api/v1/generate/) and return the start answer."""
    response = await api.post(f"/api/v1/generate/{kind}", json=body)
    assert response.status_code == 200, response.text
    started: dict[str, Any] = response.json()
    return started


async def poll(api: httpx2.AsyncClient, started: dict[str, Any]) -> dict[str, Any]:
    """Read a generation's status at the poll URL its start answered."""
    response = await api.get(started["poll_url"])
    assert response.status_code == 200, response.text
    status: dict[str, Any] = response.json()
    return status


def assert_error(response: httpx2.Response, status: int, code: str) -> None:
    """Assert `response` is a Kolbo error of this status and code, with a message."""
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
