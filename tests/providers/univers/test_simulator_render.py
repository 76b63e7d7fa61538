"""The simulator's Pillow renders called directly."""

from __future__ import annotations

import io

from PIL import Image

from providers.univers.simulator.color_by_number import render_color_by_number
from providers.univers.simulator.images import open_image
from tests.providers.univers.support import SCENE


def test_color_by_number_render_is_deterministic() -> None:
    image = open_image(SCENE)

    first = render_color_by_number(image, colors=12)
    again = render_color_by_number(image, colors=12)

    assert first.mystery_svg == again.mystery_svg
    assert first.zone_count >= 5
    assert len(first.palette) <= 12


def test_transparent_png_is_flattened_on_white() -> None:
    clear = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    buffer = io.BytesIO()
    clear.save(buffer, format="PNG")

    image = open_image(buffer.getvalue())

    assert image.mode == "RGB"
