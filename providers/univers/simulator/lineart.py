"""Line art: coloring pages traced from the picture's edges (PNG and SVG), and the AI coloring stand-in."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageOps

from providers.univers.simulator.images import PRINT_DPI, WHITE, fit_to_page
from providers.univers.simulator.svg import path_data, svg_document, trace_outlines

__all__ = ["LINEART_DETAILS", "LineArtResult", "render_ai_coloring", "render_line_art"]

LINEART_DETAILS = ("simple", "standard", "detailed", "expert")
AI_COLORING_SIZE = 256
# Median-filter passes and the share of pixels that may become lines, per detail level.
_LINEART_DETAIL: dict[str, tuple[int, float]] = {
    "simple": (3, 0.05),
    "standard": (2, 0.08),
    "detailed": (1, 0.11),
    "expert": (0, 0.14),
}
# Gaussian blur before edge detection (wider blur, wider lines) and a dilation size, per thickness 1-4.
_LINEART_THICKNESS: dict[int, tuple[float, int]] = {1: (0.8, 1), 2: (1.2, 1), 3: (1.6, 3), 4: (2.0, 3)}
_EDGE_FLOOR = 40
_SVG_TRACE_LONG_SIDE = 400


@dataclass
class LineArtResult:
    """A line-art coloring page."""

    line_art_png: Image.Image
    line_art_svg: str
    preview_png: Image.Image
    line_count: int
    dpi: float


def _line_mask(image: Image.Image, detail: str, thickness: int) -> Image.Image:
    """White-on-black ("L") mask of the lines: per-channel Sobel magnitude, thresholded by rank."""
    passes, share = _LINEART_DETAIL.get(detail, _LINEART_DETAIL["standard"])
    sigma, dilate = _LINEART_THICKNESS[max(1, min(4, thickness))]
    smooth = image
    for _ in range(passes):
        smooth = smooth.filter(ImageFilter.MedianFilter(3))
    smooth = smooth.filter(ImageFilter.GaussianBlur(sigma))
    absolute = [min(255, abs(v - 128) * 2) for v in range(256)] * len(smooth.getbands())
    gx = smooth.filter(ImageFilter.Kernel((3, 3), [-1, 0, 1, -2, 0, 2, -1, 0, 1], scale=2, offset=128))
    gy = smooth.filter(ImageFilter.Kernel((3, 3), [-1, -2, -1, 0, 0, 0, 1, 2, 1], scale=2, offset=128))
    magnitude = ImageChops.add(gx.point(absolute), gy.point(absolute))
    bands = magnitude.split()
    strongest = bands[0]
    for band in bands[1:]:
        strongest = ImageChops.lighter(strongest, band)
    histogram = strongest.histogram()
    wanted, seen, threshold = share * strongest.width * strongest.height, 0, 255
    for value in range(255, -1, -1):
        seen += histogram[value]
        if seen >= wanted:
            threshold = value
            break
    threshold = max(threshold, _EDGE_FLOOR)
    mask = strongest.point([255 if v >= threshold else 0 for v in range(256)])
    # The kernels see the image edge as a step; drop that frame.
    ImageDraw.Draw(mask).rectangle((0, 0, mask.width - 1, mask.height - 1), outline=0, width=2)
    # Keep only line pixels with at least two line neighbours: removes specks without thickening lines.
    mask = ImageChops.multiply(mask, mask.filter(ImageFilter.RankFilter(3, 6)))
    if dilate > 1:
        mask = mask.filter(ImageFilter.MaxFilter(dilate))
    return mask


def render_line_art(
    image: Image.Image, *, page: str = "letter", detail: str = "standard", thickness: int = 2
) -> LineArtResult:
    """A coloring page: the image's edges as black lines on white, with an SVG tracing of them."""
    fitted, scale = fit_to_page(image, page)
    mask = _line_mask(fitted, detail, thickness)
    line_art = ImageOps.invert(mask)
    trace_scale = min(1.0, _SVG_TRACE_LONG_SIDE / max(mask.size))
    trace_size = (max(1, round(mask.width * trace_scale)), max(1, round(mask.height * trace_scale)))
    coarse = mask.resize(trace_size, Image.Resampling.BOX) if trace_scale < 1 else mask
    labels = [0 if v >= 64 else -1 for v in coarse.tobytes()]
    loops = trace_outlines(labels, trace_size[0], trace_size[1]).get(0, [])
    sx, sy = mask.width / trace_size[0], mask.height / trace_size[1]
    body = [f'<path fill="#000" d="{path_data([loop], sx, sy)}"/>\n' for loop in loops]
    svg = svg_document(mask.width, mask.height, body)
    preview = line_art.copy()
    preview.thumbnail((max(1, round(800 * scale)), max(1, round(800 * scale * mask.height / mask.width))))
    return LineArtResult(line_art, svg, preview, len(loops), PRINT_DPI * scale)


def render_ai_coloring(image: Image.Image, *, style: str = "kids") -> Image.Image:
    """Stand-in for the AI coloring page: a line drawing of the upload on a square canvas."""
    detail, thickness = ("expert", 1) if style == "zen" else ("simple", 3)
    fitted = image.copy()
    fitted.thumbnail((AI_COLORING_SIZE - 16, AI_COLORING_SIZE - 16), Image.Resampling.LANCZOS)
    lines = ImageOps.invert(_line_mask(fitted, detail, thickness)).convert("RGB")
    canvas = Image.new("RGB", (AI_COLORING_SIZE, AI_COLORING_SIZE), WHITE)
    canvas.paste(lines, ((AI_COLORING_SIZE - lines.width) // 2, (AI_COLORING_SIZE - lines.height) // 2))
    return canvas
