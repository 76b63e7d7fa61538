"""Reading uploads and sampling their colours: decoding, fitting to the page, palettes and colour names."""

from __future__ import annotations

import colorsys
import io
from collections.abc import Sequence

from PIL import Image, ImageOps

__all__ = [
    "MAX_LONG_SIDE",
    "PAGE_SIZES",
    "PRINT_DPI",
    "RGB",
    "WHITE",
    "NearestColour",
    "Point",
    "UnreadableImage",
    "colour_name",
    "fit_to_page",
    "open_image",
    "pick_palette",
    "pixel_at",
    "sniff_image_type",
]

RGB = tuple[int, int, int]
Point = tuple[float, float]

PAGE_SIZES: dict[str, tuple[int, int]] = {"letter": (2550, 3300), "a4": (2480, 3508)}
PAGE_MARGIN = 50
PRINT_DPI = 300
# Pages are rendered at their print size scaled down until the long side fits, to keep each render fast.
MAX_LONG_SIDE = 1100
MAX_INPUT_PIXELS = 40_000_000
WHITE: RGB = (255, 255, 255)
_FORMATS = ("PNG", "JPEG", "WEBP")


class UnreadableImage(ValueError):
    """The upload is not a decodable PNG, JPEG or WebP image."""


def sniff_image_type(data: bytes) -> str | None:
    """The content type the magic bytes announce (PNG, JPEG or WebP), or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def open_image(data: bytes) -> Image.Image:
    """Decode an upload to RGB on white, at most MAX_LONG_SIDE pixels on its long side."""
    try:
        opened = Image.open(io.BytesIO(data), formats=_FORMATS)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise UnreadableImage("file content is not a PNG, JPEG or WebP image") from exc
    with opened:
        if opened.width * opened.height > MAX_INPUT_PIXELS:
            raise UnreadableImage(f"image is too large ({opened.width}x{opened.height} pixels)")
        try:
            opened.draft("RGB", (MAX_LONG_SIDE, MAX_LONG_SIDE))  # JPEG only: decode at a reduced scale
            image = ImageOps.exif_transpose(opened)
            image.load()
            if "A" in image.getbands() or "transparency" in image.info:
                rgba = image.convert("RGBA")
                image = Image.alpha_composite(Image.new("RGBA", rgba.size, (*WHITE, 255)), rgba)
            image = image.convert("RGB")
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            raise UnreadableImage("image data could not be decoded") from exc
    image.thumbnail((MAX_LONG_SIDE, MAX_LONG_SIDE), Image.Resampling.LANCZOS)
    return image


def fit_to_page(image: Image.Image, page: str) -> tuple[Image.Image, float]:
    """The image scaled to fill the page inside its margins, at render scale; and that scale."""
    page_w, page_h = PAGE_SIZES.get(page, PAGE_SIZES["letter"])
    scale = MAX_LONG_SIDE / max(page_w, page_h)
    fit = min((page_w - 2 * PAGE_MARGIN) * scale / image.width, (page_h - 2 * PAGE_MARGIN) * scale / image.height)
    size = (max(1, int(image.width * fit)), max(1, int(image.height * fit)))
    return image.resize(size, Image.Resampling.LANCZOS), scale


def pick_palette(image: Image.Image, colors: int) -> list[RGB]:
    """Up to `colors` representative colours of the image (fewer when the image has fewer)."""
    small = image.copy()
    small.thumbnail((256, 256))
    # Octree keeps distinct objects apart; median cut spends colours on splitting large flat areas.
    quantized = small.quantize(colors=colors, method=Image.Quantize.FASTOCTREE)
    flat = quantized.getpalette() or []
    used = sorted(index for _, index in quantized.getcolors(256) or [] if isinstance(index, int))
    palette: list[RGB] = []
    for i in used:
        colour = (flat[3 * i], flat[3 * i + 1], flat[3 * i + 2])
        if all(sum((a - b) ** 2 for a, b in zip(colour, kept, strict=True)) >= 12**2 for kept in palette):
            palette.append(colour)
    return palette or [WHITE]


class NearestColour:
    """Maps colours to the index of the nearest palette colour, remembering answers."""

    def __init__(self, palette: Sequence[RGB]) -> None:
        self.palette = palette
        self.memo: dict[RGB, int] = {}

    def __call__(self, colour: RGB) -> int:
        found = self.memo.get(colour)
        if found is None:
            r, g, b = colour
            found = min(
                range(len(self.palette)),
                key=lambda i: (
                    (self.palette[i][0] - r) ** 2 + (self.palette[i][1] - g) ** 2 + (self.palette[i][2] - b) ** 2
                ),
            )
            self.memo[colour] = found
        return found


def colour_name(colour: RGB) -> str:
    """A plain English name for an RGB colour, as printed in legends."""
    hue, saturation, value = colorsys.rgb_to_hsv(*(c / 255 for c in colour))
    if saturation < 0.18 or value < 0.15:
        for limit, name in ((0.2, "Black"), (0.45, "Dark Grey"), (0.7, "Grey"), (0.9, "Light Grey")):
            if value < limit:
                return name
        return "White"
    degrees = hue * 360
    name = "Red"
    for limit, candidate in (
        (15, "Red"),
        (40, "Orange"),
        (65, "Yellow"),
        (90, "Yellow-Green"),
        (160, "Green"),
        (190, "Turquoise"),
        (215, "Sky Blue"),
        (255, "Blue"),
        (290, "Purple"),
        (345, "Pink"),
    ):
        if degrees < limit:
            name = candidate
            break
    if value < 0.45:
        return f"Dark {name}"
    if value > 0.85 and saturation < 0.45:
        return f"Light {name}"
    return name


def pixel_at(data: bytes, size: tuple[int, int], x: float, y: float) -> RGB:
    """The RGB pixel nearest to (x, y), clamped to the image, from RGB tobytes() data."""
    width, height = size
    ix = min(width - 1, max(0, int(x)))
    iy = min(height - 1, max(0, int(y)))
    offset = 3 * (iy * width + ix)
    return data[offset], data[offset + 1], data[offset + 2]
