"""Local paths as image inputs: off unless directories are configured, and then only regular image files inside them —
no `..`, absolute escapes, symlinks that leave, prefix tricks, NUL bytes, devices or pipes; nothing else is ever
uploaded (the simulators count every request).
"""

from __future__ import annotations

import io
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from PIL import Image

from providers import PROVIDERS
from providers.kolbo.simulator import KolboAccount, KolboSimulator
from providers.univers.simulator import UniversAccount, UniversSimulator
from server.app import Runtime
from tests.harness.settings import build_settings
from tests.security.conftest import (
    CANARIES,
    Leaks,
    data,
    error_code,
    text,
)

pytestmark = pytest.mark.anyio

TOOLS = ["univers_generate", "kolbo_visual_dna_create"]


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (24, 24), "orange").save(out, "PNG")
    return out.getvalue()


@dataclass
class Files:
    root: Path
    allowed: Path
    client: Client
    univers: UniversSimulator
    kolbo: KolboSimulator

    def upstream(self) -> int:
        return self.univers.requests.total + self.kolbo.requests.total


def _layout(root: Path) -> Path:
    allowed = root / "allowed"
    (allowed / "sub").mkdir(parents=True)
    (root / "allowed_evil").mkdir()
    (root / "outside").mkdir()
    (allowed / "pic.png").write_bytes(_png())
    (allowed / "sub" / "deep.png").write_bytes(_png())
    (root / "secret.png").write_bytes(_png())
    (root / "allowed_evil" / "pic.png").write_bytes(_png())
    (root / "outside" / "pic.png").write_bytes(_png())
    (allowed / "notes.txt").write_text("api_key = not-an-image\n")
    (allowed / "page.png").write_bytes(b"<html><script>alert(1)</script></html>")
    (allowed / "drawing.png").write_bytes(b'<svg xmlns="http://www.w3.org/2000/svg"/>')
    (allowed / "empty.png").write_bytes(b"")
    with (allowed / "huge.png").open("wb") as sparse:
        sparse.write(_png())
        sparse.truncate(50 * 1024 * 1024)
    os.mkfifo(allowed / "pipe.png")
    (allowed / "escape.png").symlink_to(root / "secret.png")
    (allowed / "escape_dir").symlink_to(root / "outside", target_is_directory=True)
    (allowed / "zero.png").symlink_to("/dev/zero")
    (allowed / "inner_link.png").symlink_to(allowed / "pic.png")
    return allowed


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def files(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Files]:
    root = tmp_path_factory.mktemp("local")
    allowed = _layout(root)
    univers = UniversSimulator(accounts={CANARIES["univers"]: UniversAccount()})
    kolbo = KolboSimulator(accounts={CANARIES["kolbo"]: KolboAccount()})
    settings = build_settings(
        root / "state",
        providers={
            "univers": {"api_key": CANARIES["univers"], "base_url": "https://univers.test"},
            "kolbo": {"api_key": CANARIES["kolbo"], "base_url": "https://kolbo.test/api"},
        },
        inputs={"allowed_dirs": [str(allowed)], "max_image_bytes": 1024 * 1024},
        limits={"calls_per_minute": 0, "concurrent_calls": 0},
    )
    transports = {"univers": httpx2.ASGITransport(app=univers.app), "kolbo": httpx2.ASGITransport(app=kolbo.app)}
    async with Runtime(settings, PROVIDERS, transports=transports) as runtime, Client(runtime.mcp) as client:
        yield Files(root, allowed, client, univers, kolbo)


@pytest.fixture
def box(files: Files) -> Files:
    files.univers.requests.clear()
    files.kolbo.requests.clear()
    return files


async def _call(box: Files, leaks: Leaks, tool: str, path: str) -> Any:
    arguments: dict[str, Any] = (
        {"image": path, "mode": "lineart"} if tool == "univers_generate" else {"name": "subject", "images": [path]}
    )
    return leaks.result(tool, await box.client.call_tool(tool, arguments))


ESCAPES = [
    pytest.param("{allowed}/../secret.png", "outside the allowed", id="dot-dot"),
    pytest.param("{allowed}/sub/../../secret.png", "outside the allowed", id="dot-dot-deep"),
    pytest.param("{allowed}/./sub/../../outside/pic.png", "outside the allowed", id="dot-dot-mixed"),
    pytest.param("{root}/secret.png", "outside the allowed", id="absolute-outside"),
    pytest.param("/etc/passwd", "outside the allowed", id="etc-passwd"),
    pytest.param("/proc/self/environ", "outside the allowed", id="proc-environ"),
    pytest.param("{root}/allowed_evil/pic.png", "outside the allowed", id="prefix-trick"),
    pytest.param("{allowed}_evil/pic.png", "outside the allowed", id="prefix-trick-concat"),
    pytest.param("{allowed}/escape.png", "outside the allowed", id="symlink-out"),
    pytest.param("{allowed}/escape_dir/pic.png", "outside the allowed", id="symlinked-dir-out"),
    pytest.param("{allowed}/zero.png", "outside the allowed", id="symlink-to-device"),
    pytest.param("{allowed}/pic.png\x00.txt", "NUL", id="nul-byte"),
    pytest.param("{allowed}/missing.png", "no readable file", id="missing"),
    pytest.param("~/../../etc/passwd", "outside the allowed", id="home-escape"),
    pytest.param("file://{allowed}/pic.png", "'file:' inputs are not accepted", id="file-url-inside"),
]


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize(("path", "phrase"), ESCAPES)
async def test_paths_that_leave_the_allowed_directories_are_refused(
    box: Files, leaks: Leaks, tool: str, path: str, phrase: str
) -> None:
    value = path.format(allowed=box.allowed, root=box.root)
    result = await _call(box, leaks, tool, value)
    assert result.is_error, text(result)
    assert error_code(result) == "invalid_input", text(result)
    assert phrase in text(result), text(result)
    assert box.upstream() == 0


NOT_IMAGES = [
    pytest.param("notes.txt", id="text-file"),
    pytest.param("page.png", id="html-named-png"),
    pytest.param("drawing.png", id="svg-named-png"),
    pytest.param("empty.png", id="empty"),
    pytest.param("huge.png", id="over-the-size-limit"),
    pytest.param("pipe.png", id="named-pipe"),
    pytest.param("sub", id="directory"),
]


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("name", NOT_IMAGES)
async def test_files_inside_that_are_not_images_are_never_uploaded(
    box: Files, leaks: Leaks, tool: str, name: str
) -> None:
    result = await _call(box, leaks, tool, str(box.allowed / name))
    assert result.is_error, text(result)
    assert error_code(result) == "invalid_input", text(result)
    assert box.upstream() == 0
    assert "api_key = not-an-image" not in result.model_dump_json()


@pytest.mark.parametrize("name", ["pic.png", "sub/deep.png", "inner_link.png"])
async def test_image_files_inside_are_uploaded(box: Files, leaks: Leaks, name: str) -> None:
    result = await _call(box, leaks, "kolbo_visual_dna_create", str(box.allowed / name))
    assert not result.is_error, text(result)
    assert box.kolbo.requests.count("POST /api/v1/visual-dna") == 1


async def test_local_paths_are_off_unless_configured(tmp_path: Path, leaks: Leaks) -> None:
    picture = tmp_path / "pic.png"
    picture.write_bytes(_png())
    kolbo = KolboSimulator(accounts={CANARIES["kolbo"]: KolboAccount()})
    settings = build_settings(
        tmp_path, providers={"kolbo": {"api_key": CANARIES["kolbo"], "base_url": "https://kolbo.test/api"}}
    )
    async with (
        Runtime(settings, PROVIDERS, transports={"kolbo": httpx2.ASGITransport(app=kolbo.app)}) as runtime,
        Client(runtime.mcp) as client,
    ):
        for value in (str(picture), "/etc/passwd", "pic.png", "./pic.png"):
            result = leaks.result(
                "off", await client.call_tool("kolbo_visual_dna_create", {"name": "x", "images": [value]})
            )
            assert result.is_error, text(result)
            assert "local paths are off" in text(result), text(result)
            assert data(result)["error"]["charged"] is False
    assert kolbo.requests.total == 0
