"""Knowing what bytes are, and making small previews of images."""

from __future__ import annotations

import io
import warnings

__all__ = ["image_pixels", "preview_of", "sniff_image"]

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
PREVIEW_SIDE = 384
PREVIEW_MAX_BYTES = 200_000


def sniff_image(data: bytes) -> str | None:
    """The image MIME type the bytes really are (PNG, JPEG, GIF, WebP), or None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    for magic, mime in _SIGNATURES:
        if data.startswith(magic):
            return mime
    return None


def image_pixels(data: bytes) -> int | None:
    """Width × height from the image header (nothing is decoded), or None when Pillow cannot read it."""
    from PIL import Image  # Pillow is needed at the first image, not at start-up

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    return width * height


def preview_of(data: bytes, *, max_pixels: int) -> tuple[bytes, str] | None:
    """A small JPEG of an image (at most 384 px a side, ~200 KB), or None when it cannot be made safely."""
    pixels = image_pixels(data)
    if pixels is None or pixels > max_pixels:
        return None
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
            rgb = image.convert("RGB")
    except (OSError, ValueError):
        return None
    for quality in (80, 60, 40):
        out = io.BytesIO()
        rgb.save(out, "JPEG", quality=quality, optimize=True)
        if out.tell() <= PREVIEW_MAX_BYTES:
            return out.getvalue(), "image/jpeg"
    return None
