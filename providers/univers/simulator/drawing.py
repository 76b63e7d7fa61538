"""Drawing shared by the page renders: numbers stamped in place, the colour legend, and pages stacked."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont

from providers.univers.simulator.images import RGB, WHITE, Point, colour_name

__all__ = ["BLACK", "INK", "NUMBER_INK", "centred_text", "draw_legend", "stack"]

BLACK: RGB = (0, 0, 0)
INK: RGB = (30, 30, 30)
NUMBER_INK: RGB = (70, 70, 70)


@functools.lru_cache(maxsize=64)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


@functools.lru_cache(maxsize=512)
def _stamp(text: str, size: int) -> Image.Image:
    """The text drawn once as a tight "L" mask; pasting it is much cheaper than drawing text per cell."""
    font = _font(size)
    left, top, right, bottom = (int(v) for v in font.getbbox(text))
    mask = Image.new("L", (max(1, right - left + 1), max(1, bottom - top + 1)), 0)
    ImageDraw.Draw(mask).text((-left, -top), text, fill=255, font=font)
    return mask


def centred_text(image: Image.Image, at: Point, text: str, size: int, fill: RGB) -> None:
    """Draw `text` centred on `at`."""
    stamp = _stamp(text, size)
    image.paste(fill, (round(at[0] - stamp.width / 2), round(at[1] - stamp.height / 2)), stamp)


def draw_legend(palette: Sequence[RGB], width: int) -> Image.Image:
    """Numbered colour swatches with colour names."""
    columns = max(1, min(4, len(palette)))
    rows = max(1, math.ceil(len(palette) / columns))
    pad, swatch, top = 12, 28, 44
    column_width = max(160, (width - pad) // columns)
    legend = Image.new("RGB", (max(width, pad + columns * column_width), top + rows * (swatch + pad) + pad), WHITE)
    draw = ImageDraw.Draw(legend)
    draw.text((pad, 10), "Color Legend", fill=BLACK, font=_font(20))
    for index, colour in enumerate(palette):
        x = pad + (index % columns) * column_width
        y = top + (index // columns) * (swatch + pad)
        draw.rectangle((x, y, x + swatch, y + swatch), fill=colour, outline=BLACK, width=2)
        draw.text((x + swatch + 8, y + 6), f"{index + 1} = {colour_name(colour)}", fill=BLACK, font=_font(15))
    return legend


def stack(top: Image.Image, bottom: Image.Image, gap: int = 10) -> Image.Image:
    """`top` above `bottom`, both centred, `gap` pixels apart on white."""
    width = max(top.width, bottom.width)
    combined = Image.new("RGB", (width, top.height + gap + bottom.height), WHITE)
    combined.paste(top, ((width - top.width) // 2, 0))
    combined.paste(bottom, ((width - bottom.width) // 2, top.height + gap))
    return combined
