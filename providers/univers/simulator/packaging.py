"""What a render is sent back as: PNG bytes, one file chosen by `output`, or the ZIP with one folder per picture."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image

from providers.univers.simulator.color_by_number import ColorByNumberResult
from providers.univers.simulator.lineart import LineArtResult
from providers.univers.simulator.mosaic import MosaicResult

__all__ = ["File", "Rendered", "output_file", "png_bytes", "result_zip"]

Rendered = MosaicResult | ColorByNumberResult | LineArtResult
"""Any page a job renders."""


@dataclass(frozen=True)
class File:
    """A file as the service answers it: content, media type and the attachment's name."""

    content: bytes
    media_type: str
    filename: str


_PNG = "image/png"
_SVG = "image/svg+xml"


def output_file(result: Rendered, output: str, name: str, *, full_pack: bool) -> File:
    """The file `output` asks for, mapped per result kind as the real server does; the ZIP otherwise."""
    if isinstance(result, LineArtResult):
        label, chosen = "lineart", _line_art_file(result, output, name)
    elif isinstance(result, ColorByNumberResult):
        label, chosen = "cbn", _color_by_number_file(result, output, name)
    else:
        label, chosen = "mosaic", _mosaic_file(result, output, name)
    if chosen is not None:
        return chosen
    return File(result_zip([(name, result)], full_pack=full_pack), "application/zip", f"{name}-{label}.zip")


def _line_art_file(result: LineArtResult, output: str, name: str) -> File | None:
    if output in ("mystery", "png"):
        return File(png_bytes(result.line_art_png, result.dpi), _PNG, f"{name}-lineart.png")
    if output in ("svg", "answer"):
        return File(result.line_art_svg.encode(), _SVG, f"{name}-lineart.svg")
    if output in ("beauty", "preview"):
        return File(png_bytes(result.preview_png, result.dpi), _PNG, f"{name}-preview.png")
    return None


def _color_by_number_file(result: ColorByNumberResult, output: str, name: str) -> File | None:
    if output == "beauty":
        return File(png_bytes(result.mystery_full_png, result.dpi), _PNG, f"{name}-preview.png")
    if output in ("mystery", "svg"):
        return File(result.mystery_svg.encode(), _SVG, f"{name}-mystery.svg")
    if output == "answer":
        return File(result.answer_svg.encode(), _SVG, f"{name}-answer.svg")
    if output == "legend":
        return File(png_bytes(result.legend_png, result.dpi), _PNG, f"{name}-legend.png")
    if output == "full":
        return File(png_bytes(result.mystery_full_png, result.dpi), _PNG, f"{name}-mystery-full.png")
    return None


def _mosaic_file(result: MosaicResult, output: str, name: str) -> File | None:
    pages = {
        "mystery": (result.mystery, "mystery"),
        "answer": (result.answer, "answer"),
        "beauty": (result.beauty, "beauty"),
        "legend": (result.legend, "legend"),
        "full": (result.mystery_full, "mystery-full"),
    }
    if output not in pages:
        return None
    image, suffix = pages[output]
    return File(png_bytes(image, result.dpi), _PNG, f"{name}-{suffix}.png")


def png_bytes(image: Image.Image, dpi: float) -> bytes:
    """Encode as PNG with the given resolution recorded."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", dpi=(dpi, dpi), compress_level=3)
    return buffer.getvalue()


def result_zip(results: Sequence[tuple[str, Rendered]], *, full_pack: bool = True) -> bytes:
    """One folder per result with the engine's member names; without full_pack only the printable page."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, result in results:
            for member, content in _members(name, result, full_pack):
                if isinstance(content, str):
                    archive.writestr(f"{name}/{member}", content, compress_type=zipfile.ZIP_DEFLATED)
                else:
                    archive.writestr(f"{name}/{member}", png_bytes(content, result.dpi))
    return buffer.getvalue()


def _members(name: str, result: Rendered, full_pack: bool) -> list[tuple[str, str | Image.Image]]:
    if isinstance(result, LineArtResult):
        svg: list[tuple[str, str | Image.Image]] = [(f"{name}-lineart.svg", result.line_art_svg)] if full_pack else []
        return [*svg, (f"{name}-lineart.png", result.line_art_png)]
    if isinstance(result, ColorByNumberResult):
        if not full_pack:
            return [(f"{name}-mystery-full.png", result.mystery_full_png)]
        return [
            (f"{name}-mystery.svg", result.mystery_svg),
            (f"{name}-answer.svg", result.answer_svg),
            (f"{name}-mystery.png", result.mystery_png),
            (f"{name}-mystery-full.png", result.mystery_full_png),
            (f"{name}-legend.png", result.legend_png),
            (f"{name}-answer.png", result.answer_png),
        ]
    if not full_pack:
        return [(f"{name}-mystery-full.png", result.mystery_full)]
    return [
        (f"{name}-mystery.png", result.mystery),
        (f"{name}-mystery-full.png", result.mystery_full),
        (f"{name}-answer.png", result.answer),
        (f"{name}-beauty.png", result.beauty),
        (f"{name}-legend.png", result.legend),
    ]
