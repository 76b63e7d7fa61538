"""What the Univers tests share: the keys, test pictures, readers for the files the service sends, and the world an
adapter test runs in (a simulator, a genmcp runtime routed to it, and an MCP client)."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx2
from mcp import Client
from PIL import Image, ImageDraw

from providers.univers.simulator import UniversSimulator
from server.app import Runtime

__all__ = [
    "AUTH",
    "HOUSE",
    "KEY",
    "OTHER_KEY",
    "SCENE",
    "SKY",
    "SUN",
    "SVG",
    "TINY",
    "World",
    "attachment",
    "connect",
    "generate",
    "members",
    "near",
    "png",
    "scene",
    "svg",
]

KEY = "us_live_" + "a1" * 20
OTHER_KEY = "us_live_" + "b2" * 20
AUTH = {"Authorization": f"Bearer {KEY}"}
SVG = "{http://www.w3.org/2000/svg}"
SKY, SUN, HOUSE = (135, 200, 240), (250, 210, 40), (200, 80, 60)


def scene(fmt: str = "PNG", size: int = 512) -> bytes:
    """A simple picture with flat shapes: sky, sun, house, tree and a grass gradient."""
    image = Image.new("RGB", (size, size), SKY)
    draw = ImageDraw.Draw(image)
    for y in range(size // 2, size):
        draw.line([(0, y), (size, y)], fill=(60, 160 - (y - size // 2) * 40 // size, 70))
    s = size / 100
    draw.ellipse([70 * s, 8 * s, 90 * s, 28 * s], fill=SUN)
    draw.rectangle([18 * s, 42 * s, 48 * s, 72 * s], fill=HOUSE)
    draw.polygon([(14 * s, 44 * s), (33 * s, 26 * s), (52 * s, 44 * s)], fill=(120, 40, 30))
    draw.rectangle([62 * s, 50 * s, 66 * s, 75 * s], fill=(110, 70, 30))
    draw.ellipse([54 * s, 30 * s, 74 * s, 56 * s], fill=(30, 120, 40))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


SCENE = scene()
TINY = scene(size=32)


@dataclass
class World:
    """An adapter test's world: the simulator, the runtime whose `univers` provider talks to it, and a client."""

    sim: UniversSimulator
    runtime: Runtime
    client: Client


@asynccontextmanager
async def connect(sim: UniversSimulator, headers: dict[str, str] | None = None) -> AsyncIterator[httpx2.AsyncClient]:
    """An HTTP client talking to the simulator in process, with `KEY` unless other headers are given."""
    transport = httpx2.ASGITransport(app=sim.app)
    async with httpx2.AsyncClient(
        transport=transport, base_url="http://sim", headers=AUTH if headers is None else headers
    ) as client:
        yield client


async def generate(
    client: httpx2.AsyncClient,
    image: bytes = SCENE,
    *,
    filename: str = "garden.png",
    content_type: str = "image/png",
    **fields: str,
) -> httpx2.Response:
    """POST /api/generate with one upload and the given form fields."""
    return await client.post("/api/generate", data=fields, files={"image": (filename, image, content_type)})


def png(response: httpx2.Response) -> Image.Image:
    """The response's PNG, decoded."""
    assert response.headers["content-type"] == "image/png", response.text
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "PNG"
    image.load()
    return image


def svg(content: bytes) -> ET.Element:
    """The root of an SVG document."""
    root = ET.fromstring(content)
    assert root.tag == f"{SVG}svg"
    return root


def members(response: httpx2.Response) -> dict[str, bytes]:
    """The members of a ZIP response, by name."""
    assert response.headers["content-type"] == "application/zip", response.text
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}


def attachment(response: httpx2.Response) -> str:
    """The file name the response is sent as."""
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="')
    assert disposition.endswith('"')
    return disposition[len('attachment; filename="') : -1]


def near(colour: Any, expected: tuple[int, int, int], tolerance: int = 30) -> bool:
    """Whether every channel of `colour` is within `tolerance` of `expected`."""
    return all(abs(a - b) <= tolerance for a, b in zip(colour, expected, strict=True))
