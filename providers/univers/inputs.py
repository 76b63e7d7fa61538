"""The arguments of the Univers operations, as the model sends them (validated before anything is uploaded)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from providers.base import OperationInput
from providers.univers.pricing import AI_IMAGE

__all__ = ["AiImageInput", "BulkInput", "GenerateInput", "PresetsInput"]

Mode = Literal["hex", "voronoi", "cbn", "lineart", "ai"]
Output = Literal["zip", "mystery", "answer", "legend", "full", "beauty", "svg"]
Level = Literal["simple", "standard", "detailed", "expert"]
Density = Literal["easy", "standard", "detailed", "expert"]
Image = Annotated[
    str,
    Field(
        min_length=1,
        max_length=30_000_000,
        description="The picture: an https:// URL, a data:image URL, base64, an artifact:// reference, or an "
        "allowed local path. PNG, JPEG or WebP, at most 10 MB.",
    ),
]

_QUALITY_PRICES = f"low {AI_IMAGE['low']}, medium {AI_IMAGE['medium']}, high {AI_IMAGE['high']} credits."


class _PageOptions(OperationInput):
    mode: Mode = Field(
        default="hex",
        description="hex = hexagon mystery mosaic, voronoi = organic mosaic, cbn = color by number, lineart = coloring "
        "page, ai = AI-drawn coloring page.",
    )
    preset: str | None = Field(
        default=None, max_length=40, description="A preset name from univers_presets (overrides the other options)."
    )
    colors: int | None = Field(default=None, ge=4, le=20, description="Palette size, 4–20 (default 12).")
    page: Literal["letter", "a4"] | None = Field(default=None, description="Default letter.")
    detail: Level | None = Field(default=None, description="Line art detail.")
    density: Density | None = Field(default=None, description="Voronoi cell density.")
    cell_size: int | None = Field(default=None, ge=12, le=50, description="Hexagon size in page pixels (hex).")
    thickness: int | None = Field(default=None, ge=1, le=4, description="Line thickness (line art).")


class GenerateInput(_PageOptions):
    """Arguments of univers_generate."""

    image: Image
    output: Output = Field(
        default="zip",
        description="zip = everything (kept whole and page by page); mystery/answer/legend/full/beauty = one PNG; "
        "svg = vector (line art, color by number). AI mode always answers one PNG.",
    )
    hint: str | None = Field(default=None, max_length=200, description="What the picture shows (AI mode).")
    cbn_style: Literal["kids", "zen"] | None = Field(default=None, description="Line style for AI and color by number.")


class BulkInput(_PageOptions):
    """Arguments of univers_bulk."""

    images: list[Image] = Field(min_length=1, max_length=50, description="1–50 pictures.")
    mode: Literal["hex", "voronoi", "cbn", "lineart"] = "hex"


class AiImageInput(OperationInput):
    """Arguments of univers_ai_image."""

    prompt: str = Field(min_length=3, max_length=1000)
    style: Literal["coloring", "cartoon", "realistic", "pixel-art", "watercolor", "sticker"] = "coloring"
    size: Literal["1024x1024", "1024x1536", "1536x1024"] = "1024x1024"
    quality: Literal["low", "medium", "high"] = Field(default="low", description=_QUALITY_PRICES)


class PresetsInput(OperationInput):
    """univers_presets takes no arguments."""
