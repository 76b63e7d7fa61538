"""Placeholder images drawn by the provider simulators."""

from __future__ import annotations

import hashlib
import io
import textwrap

from PIL import Image, ImageDraw, ImageFont

__all__ = ["dimensions_for", "placeholder_png"]

_NAMED_RATIOS: dict[str, tuple[float, float]] = {
    "a4-portrait": (210.0, 297.0),
    "a4-landscape": (297.0, 210.0),
}
_MARGIN = 12
_FONT_SIZE = 14
_LINE_GAP = 4
_SAMPLE = "the quick brown fox jumps over a lazy dog, THEN 123"


def dimensions_for(aspect_ratio: str, long_side: int = 512) -> tuple[int, int]:
    """Return (width, height) for an aspect ratio like "16:9" or "a4-portrait"; unknown ratios are square."""
    ratio = _parse_ratio(aspect_ratio)
    if ratio is None:
        return long_side, long_side
    width, height = ratio
    if width >= height:
        return long_side, max(1, round(long_side * height / width))
    return max(1, round(long_side * width / height)), long_side


def placeholder_png(text: str, *, width: int, height: int, label: str = "SANDBOX") -> bytes:
    """Draw a PNG showing the wrapped text and a label on a background colour derived from the text."""
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    background = _colour_for(text)
    # Pick black or white ink by perceived luminance so the text stays readable on any background.
    luminance = 0.299 * background[0] + 0.587 * background[1] + 0.114 * background[2]
    ink = (0, 0, 0) if luminance > 140 else (255, 255, 255)

    image = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=_FONT_SIZE)
    line_height = _FONT_SIZE + _LINE_GAP

    draw.text((_MARGIN, _MARGIN), label, font=font, fill=ink)
    top = _MARGIN + 2 * line_height
    max_lines = max(0, (height - top - _MARGIN) // line_height)
    average_char = max(1.0, font.getlength(_SAMPLE) / len(_SAMPLE))
    chars_per_line = max(1, int((width - 2 * _MARGIN) / (1.1 * average_char)))
    lines = textwrap.wrap(" ".join(text.split()), width=chars_per_line) or [""]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        if lines:
            lines[-1] = lines[-1][: max(0, chars_per_line - 3)] + "..."
    for index, line in enumerate(lines):
        draw.text((_MARGIN, top + index * line_height), line, font=font, fill=ink)

    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _parse_ratio(aspect_ratio: str) -> tuple[float, float] | None:
    named = _NAMED_RATIOS.get(aspect_ratio.strip().lower())
    if named is not None:
        return named
    parts = aspect_ratio.split(":")
    if len(parts) != 2:
        return None
    try:
        width, height = float(parts[0]), float(parts[1])
    except ValueError:
        return None
    if not (0 < width < float("inf") and 0 < height < float("inf")):
        return None
    return width, height


def _colour_for(text: str) -> tuple[int, int, int]:
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
    return digest[0], digest[1], digest[2]
