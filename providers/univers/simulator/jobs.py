"""What a generation renders: the preset table, the job a request resolves to (presets, aliases, clamps), and the
render that job calls for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from PIL import Image

from providers.univers.simulator.color_by_number import render_color_by_number
from providers.univers.simulator.images import PAGE_SIZES
from providers.univers.simulator.lineart import LINEART_DETAILS, render_line_art
from providers.univers.simulator.mosaic import render_hex, render_voronoi
from providers.univers.simulator.packaging import Rendered

__all__ = ["PRESETS", "Job", "Mode", "Preset", "render_job", "resolve_job"]

Mode = Literal["hex", "voronoi", "cbn", "lineart", "ai"]
VORONOI_DENSITIES = {"easy": 200, "standard": 500, "detailed": 900, "expert": 1400}


@dataclass(frozen=True)
class Preset:
    """A named set of generation parameters (from the engine's preset table)."""

    label: str
    page: str
    cell_size: int
    colors: int
    mode: str = "hex"
    blur: int = 0
    voronoi_density: str = "standard"
    min_zone_pixels: int = 500
    lineart_detail: str = "standard"
    lineart_thickness: int = 2
    landscape: bool = False

    def public(self) -> dict[str, Any]:
        """The preset as GET /api/presets lists it (mode-specific fields are null for other modes)."""
        return {
            "label": self.label,
            "page": self.page,
            "cell_size": self.cell_size,
            "colors": self.colors,
            "landscape": self.landscape,
            "mode": self.mode,
            "voronoi_density": self.voronoi_density if self.mode == "voronoi" else None,
            "min_zone_pixels": self.min_zone_pixels if self.mode == "cbn" else None,
            "lineart_detail": self.lineart_detail if self.mode == "lineart" else None,
            "lineart_thickness": self.lineart_thickness if self.mode == "lineart" else None,
        }


PRESETS: dict[str, Preset] = {
    "kdp-letter": Preset("KDP 8.5×11 no bleed", "letter", 25, 12),
    "kdp-a4": Preset("A4 print-ready", "a4", 25, 12),
    "kids-easy": Preset("Kids 4-6 yrs (easy)", "letter", 35, 8),
    "kids-detail": Preset("Kids 7-10 yrs", "letter", 25, 12),
    "adult-fine": Preset("Adult detailed", "letter", 18, 16),
    "voronoi-easy": Preset("Organic Mosaic (easy)", "letter", 0, 10, mode="voronoi", voronoi_density="easy"),
    "voronoi-standard": Preset("Organic Mosaic (standard)", "letter", 0, 12, mode="voronoi"),
    "voronoi-detailed": Preset(
        "Organic Mosaic (detailed)", "letter", 0, 16, mode="voronoi", voronoi_density="detailed"
    ),
    "voronoi-expert": Preset("Organic Mosaic (expert)", "letter", 0, 20, mode="voronoi", voronoi_density="expert"),
    "cbn-kids": Preset("CBN Kids (easy)", "letter", 0, 6, mode="cbn", blur=3, min_zone_pixels=1000),
    "cbn-standard": Preset("CBN Standard", "letter", 0, 10, mode="cbn", blur=2, min_zone_pixels=500),
    "cbn-detailed": Preset("CBN Detailed", "letter", 0, 14, mode="cbn", blur=1, min_zone_pixels=300),
    "cbn-a4": Preset("CBN A4 Print-ready", "a4", 0, 10, mode="cbn", blur=2, min_zone_pixels=500),
    "lineart-simple": Preset(
        "Line Art Simple (Kids 3-6)", "letter", 0, 0, mode="lineart", lineart_detail="simple", lineart_thickness=3
    ),
    "lineart-standard": Preset("Line Art Standard", "letter", 0, 0, mode="lineart"),
    "lineart-detailed": Preset("Line Art Detailed", "letter", 0, 0, mode="lineart", lineart_detail="detailed"),
    "lineart-expert": Preset(
        "Line Art Expert", "letter", 0, 0, mode="lineart", lineart_detail="expert", lineart_thickness=1
    ),
}


@dataclass(frozen=True)
class Job:
    """What to render, after presets and clamping."""

    mode: Mode
    colors: int = 12
    cell_size: int = 25
    page: str = "letter"
    density: str = "standard"
    detail: str = "standard"
    thickness: int = 2
    min_zone_pixels: int = 500
    blur: int = 2
    cbn_style: str = "kids"


def resolve_job(
    preset_name: str,
    mode: str,
    colors: int,
    cell_size: int,
    page: str,
    density: str,
    detail: str,
    thickness: int,
    cbn_style: str,
) -> Job:
    """Resolve presets, aliases and clamps into what to render."""
    preset = PRESETS.get(preset_name)
    if preset is not None:
        return Job(
            mode=_mode(preset.mode),
            colors=preset.colors,
            cell_size=preset.cell_size,
            page=preset.page,
            density=preset.voronoi_density,
            detail=preset.lineart_detail,
            thickness=preset.lineart_thickness,
            min_zone_pixels=preset.min_zone_pixels,
            blur=preset.blur,
            cbn_style=cbn_style,
        )
    return Job(
        mode=_mode(mode),
        colors=max(4, min(20, colors)),
        cell_size=max(12, min(50, cell_size)),
        page=page if page in PAGE_SIZES else "letter",
        density=density if density in VORONOI_DENSITIES else "standard",
        detail=detail if detail in LINEART_DETAILS else "standard",
        thickness=max(1, min(4, thickness)),
        cbn_style=cbn_style,
    )


def _mode(mode: str) -> Mode:
    """The engine's reading of a mode: pbn is color by number, anything unknown is hex."""
    if mode in ("cbn", "pbn"):
        return "cbn"
    if mode == "voronoi":
        return "voronoi"
    if mode == "lineart":
        return "lineart"
    return "ai" if mode == "ai" else "hex"


def render_job(job: Job, image: Image.Image) -> Rendered:
    """The page the job asks for (the app draws AI coloring pages itself)."""
    if job.mode == "lineart":
        return render_line_art(image, page=job.page, detail=job.detail, thickness=job.thickness)
    if job.mode == "cbn":
        return render_color_by_number(
            image, colors=job.colors, page=job.page, min_zone_pixels=job.min_zone_pixels, blur=job.blur
        )
    if job.mode == "voronoi":
        return render_voronoi(image, colors=job.colors, cells=VORONOI_DENSITIES[job.density], page=job.page)
    return render_hex(image, colors=job.colors, cell_size=job.cell_size, page=job.page)
