"""Image inputs are refused before anything is sent when they are unsafe or not images."""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path

import pytest
from PIL import Image

from server.config import InputSettings
from server.errors import InvalidInput
from server.inputs import ImageInputs, sniff_image

WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\0" * 16


def _png(size: tuple[int, int] = (8, 8)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "red").save(out, "PNG")
    return out.getvalue()


PNG = _png()


def test_sniffing_knows_the_common_image_types() -> None:
    assert sniff_image(PNG) == "image/png"
    assert sniff_image(b"\xff\xd8\xff\xe0" + b"\0" * 8) == "image/jpeg"
    assert sniff_image(WEBP) == "image/webp"
    assert sniff_image(b"GIF89a...") == "image/gif"
    assert sniff_image(b"<html><body>png</body></html>") is None


@pytest.mark.anyio
async def test_urls_pass_through_untouched() -> None:
    inputs = ImageInputs(InputSettings())
    url = "https://cdn.example.com/a.png?sig=abc"
    assert await inputs.reference(url, field="image") == url


@pytest.mark.parametrize(
    ("value", "phrase"),
    [
        ("ftp://example.com/a.png", "'ftp:' inputs are not accepted"),
        ("gopher://example.com/", "'gopher:' inputs"),
        ("javascript:alert(1)", "'javascript:' inputs"),
        ("https:///nohost", "has no host"),
        ("data:text/html;base64,PGh0bWw+", "not a PNG"),
        ("data:image/png,notbase64", "data URL must look like"),
    ],
)
@pytest.mark.anyio
async def test_unsafe_or_malformed_inputs_are_refused(value: str, phrase: str) -> None:
    with pytest.raises(InvalidInput, match=phrase):
        await ImageInputs(InputSettings()).reference(value, field="image")


@pytest.mark.anyio
async def test_oversized_base64_is_refused_by_length_before_decoding() -> None:
    inputs = ImageInputs(InputSettings(max_image_bytes=1024))
    huge = "iVBORw0KGgo" + "A" * 50_000_000
    with pytest.raises(InvalidInput, match="larger than the 1 KiB limit"):
        await inputs.reference(huge, field="image")


@pytest.mark.anyio
async def test_local_paths_resist_traversal_symlinks_and_prefix_tricks(tmp_path: Path) -> None:
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    (allowed / "ok.png").write_bytes(PNG)
    (allowed / "notes.txt").write_text("not an image")
    evil = tmp_path / "allowed_evil"
    evil.mkdir()
    (evil / "x.png").write_bytes(PNG)
    os.symlink(evil / "x.png", allowed / "link.png")
    inputs = ImageInputs(InputSettings(allowed_dirs=[str(allowed)]))

    assert (
        await inputs.reference(str(allowed / "ok.png"), field="i")
        == "data:image/png;base64," + base64.b64encode(PNG).decode()
    )
    for bad, phrase in [
        (str(evil / "x.png"), "outside the allowed"),
        (str(allowed / "link.png"), "outside the allowed"),
        (str(allowed / ".." / "allowed_evil" / "x.png"), "outside the allowed"),
        (str(allowed / "notes.txt"), "not a PNG"),
        (str(allowed), "not a regular file"),
        (str(allowed / "ok.png\x00.txt"), "NUL"),
        (str(allowed / "missing.png"), "no readable file"),
    ]:
        with pytest.raises(InvalidInput, match=phrase):
            await inputs.reference(bad, field="i")
