"""Pillow renders for the Univers Studio simulator: line art, color by number and hex or voronoi mystery mosaics."""

from __future__ import annotations

import colorsys
import functools
import io
import math
import random
import zipfile
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont, ImageOps

__all__ = [
    "LINEART_DETAILS",
    "MAX_LONG_SIDE",
    "PAGE_SIZES",
    "ColorByNumberResult",
    "LineArtResult",
    "MosaicResult",
    "Rendered",
    "UnreadableImage",
    "colour_name",
    "open_image",
    "png_bytes",
    "render_ai_coloring",
    "render_color_by_number",
    "render_hex",
    "render_line_art",
    "render_voronoi",
    "result_zip",
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
LINEART_DETAILS = ("simple", "standard", "detailed", "expert")
AI_COLORING_SIZE = 256

_WHITE: RGB = (255, 255, 255)
_BLACK: RGB = (0, 0, 0)
_INK: RGB = (30, 30, 30)
_NUMBER_INK: RGB = (70, 70, 70)
_FORMATS = ("PNG", "JPEG", "WEBP")
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
_CBN_GRID_LONG_SIDE = 180


class UnreadableImage(ValueError):
    """The upload is not a decodable PNG, JPEG or WebP image."""


@dataclass
class MosaicResult:
    """A hex or voronoi mystery mosaic."""

    mystery: Image.Image
    answer: Image.Image
    beauty: Image.Image
    legend: Image.Image
    mystery_full: Image.Image
    palette: list[RGB]
    cell_count: int
    dpi: float


@dataclass
class ColorByNumberResult:
    """A color-by-number page as PNGs and SVGs."""

    mystery_png: Image.Image
    answer_png: Image.Image
    legend_png: Image.Image
    mystery_full_png: Image.Image
    mystery_svg: str
    answer_svg: str
    palette: list[RGB]
    zone_count: int
    dpi: float


@dataclass
class LineArtResult:
    """A line-art coloring page."""

    line_art_png: Image.Image
    line_art_svg: str
    preview_png: Image.Image
    line_count: int
    dpi: float


Rendered = MosaicResult | ColorByNumberResult | LineArtResult


@dataclass
class _Cell:
    polygon: list[Point]
    label_at: Point
    colour: int
    average: RGB
    font_size: int


# --- input ----------------------------------------------------------------------------------------


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
            image = ImageOps.exif_transpose(opened) or opened
            image.load()
            if "A" in image.getbands() or "transparency" in image.info:
                rgba = image.convert("RGBA")
                image = Image.alpha_composite(Image.new("RGBA", rgba.size, (*_WHITE, 255)), rgba)
            image = image.convert("RGB")
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            raise UnreadableImage("image data could not be decoded") from exc
    image.thumbnail((MAX_LONG_SIDE, MAX_LONG_SIDE), Image.Resampling.LANCZOS)
    return image


def _fit_to_page(image: Image.Image, page: str) -> tuple[Image.Image, float]:
    """The image scaled to fill the page inside its margins, at render scale; and that scale."""
    page_w, page_h = PAGE_SIZES.get(page, PAGE_SIZES["letter"])
    scale = MAX_LONG_SIDE / max(page_w, page_h)
    fit = min((page_w - 2 * PAGE_MARGIN) * scale / image.width, (page_h - 2 * PAGE_MARGIN) * scale / image.height)
    size = (max(1, int(image.width * fit)), max(1, int(image.height * fit)))
    return image.resize(size, Image.Resampling.LANCZOS), scale


# --- colours --------------------------------------------------------------------------------------


def _palette(image: Image.Image, colors: int) -> list[RGB]:
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
    return palette or [_WHITE]


class _Nearest:
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


def _pixel(data: bytes, size: tuple[int, int], x: float, y: float) -> RGB:
    """The RGB pixel nearest to (x, y), clamped to the image, from RGB tobytes() data."""
    width, height = size
    ix = min(width - 1, max(0, int(x)))
    iy = min(height - 1, max(0, int(y)))
    offset = 3 * (iy * width + ix)
    return data[offset], data[offset + 1], data[offset + 2]


# --- shared drawing -------------------------------------------------------------------------------


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


def _centred_text(image: Image.Image, at: Point, text: str, size: int, fill: RGB) -> None:
    stamp = _stamp(text, size)
    image.paste(fill, (round(at[0] - stamp.width / 2), round(at[1] - stamp.height / 2)), stamp)


def _legend(palette: Sequence[RGB], width: int) -> Image.Image:
    """Numbered colour swatches with colour names."""
    columns = max(1, min(4, len(palette)))
    rows = max(1, math.ceil(len(palette) / columns))
    pad, swatch, top = 12, 28, 44
    column_width = max(160, (width - pad) // columns)
    legend = Image.new("RGB", (max(width, pad + columns * column_width), top + rows * (swatch + pad) + pad), _WHITE)
    draw = ImageDraw.Draw(legend)
    draw.text((pad, 10), "Color Legend", fill=_BLACK, font=_font(20))
    for index, colour in enumerate(palette):
        x = pad + (index % columns) * column_width
        y = top + (index // columns) * (swatch + pad)
        draw.rectangle((x, y, x + swatch, y + swatch), fill=colour, outline=_BLACK, width=2)
        draw.text((x + swatch + 8, y + 6), f"{index + 1} = {colour_name(colour)}", fill=_BLACK, font=_font(15))
    return legend


def _stack(top: Image.Image, bottom: Image.Image, gap: int = 10) -> Image.Image:
    width = max(top.width, bottom.width)
    combined = Image.new("RGB", (width, top.height + gap + bottom.height), _WHITE)
    combined.paste(top, ((width - top.width) // 2, 0))
    combined.paste(bottom, ((width - bottom.width) // 2, top.height + gap))
    return combined


def _polygon_area_centroid(polygon: Sequence[Point]) -> tuple[float, Point]:
    area2 = cx = cy = 0.0
    for (x1, y1), (x2, y2) in zip(polygon, [*polygon[1:], polygon[0]], strict=True):
        cross = x1 * y2 - x2 * y1
        area2 += cross
        cx += (x1 + x2) * cross
        cy += (y1 + y2) * cross
    if abs(area2) < 1e-9:
        xs, ys = [p[0] for p in polygon], [p[1] for p in polygon]
        return 0.0, (sum(xs) / len(xs), sum(ys) / len(ys))
    return abs(area2) / 2, (cx / (3 * area2), cy / (3 * area2))


def _draw_mosaic(size: tuple[int, int], cells: Sequence[_Cell], palette: list[RGB], dpi: float) -> MosaicResult:
    mystery = Image.new("RGB", size, _WHITE)
    answer = Image.new("RGB", size, _WHITE)
    beauty = Image.new("RGB", size, _WHITE)
    draw_mystery, draw_answer, draw_beauty = ImageDraw.Draw(mystery), ImageDraw.Draw(answer), ImageDraw.Draw(beauty)
    for cell in cells:
        draw_beauty.polygon(cell.polygon, fill=cell.average, outline=cell.average)
        draw_answer.polygon(cell.polygon, fill=palette[cell.colour], outline=(40, 40, 40))
        draw_mystery.polygon(cell.polygon, outline=_BLACK)
    for cell in cells:
        if cell.font_size:
            _centred_text(mystery, cell.label_at, str(cell.colour + 1), cell.font_size, _NUMBER_INK)
    legend = _legend(palette, size[0])
    return MosaicResult(mystery, answer, beauty, legend, _stack(mystery, legend), palette, len(cells), dpi)


# --- hex and voronoi mosaics ----------------------------------------------------------------------


def render_hex(image: Image.Image, *, colors: int = 12, cell_size: int = 25, page: str = "letter") -> MosaicResult:
    """A mystery mosaic of numbered hexagons; cell_size is the hexagon radius in 300 dpi page pixels."""
    fitted, scale = _fit_to_page(image, page)
    width, height = fitted.size
    radius = max(3.0, cell_size * scale)
    palette = _palette(fitted, colors)
    nearest = _Nearest(palette)
    averages = fitted.filter(ImageFilter.BoxBlur(max(1, int(radius * 0.45)))).tobytes()
    font_size = max(7, min(28, int(radius * 0.9)))
    col_step, row_step = 1.5 * radius, math.sqrt(3) * radius
    corners = [(radius * math.cos(math.radians(60 * k)), radius * math.sin(math.radians(60 * k))) for k in range(6)]
    cells: list[_Cell] = []
    for col in range(int(width / col_step) + 2):
        for row in range(int(height / row_step) + 2):
            cx, cy = col * col_step, row * row_step + (row_step / 2 if col % 2 else 0.0)
            if not (-radius < cx < width + radius and -radius < cy < height + radius):
                continue
            average = _pixel(averages, fitted.size, cx, cy)
            polygon = [(cx + dx, cy + dy) for dx, dy in corners]
            cells.append(_Cell(polygon, (cx, cy), nearest(average), average, font_size))
    return _draw_mosaic(fitted.size, cells, palette, PRINT_DPI * scale)


def render_voronoi(image: Image.Image, *, colors: int = 12, cells: int = 500, page: str = "letter") -> MosaicResult:
    """A mystery mosaic of numbered organic (voronoi) cells."""
    fitted, scale = _fit_to_page(image, page)
    width, height = fitted.size
    count = max(50, min(2000, cells))
    palette = _palette(fitted, colors)
    nearest = _Nearest(palette)
    spacing = math.sqrt(width * height / count)
    averages = fitted.filter(ImageFilter.BoxBlur(max(1, int(spacing * 0.3)))).tobytes()
    mosaic: list[_Cell] = []
    for polygon in _voronoi_polygons(width, height, count, random.Random(42)):
        area, centroid = _polygon_area_centroid(polygon)
        average = _pixel(averages, fitted.size, centroid[0], centroid[1])
        side = math.sqrt(area)
        font_size = max(7, min(24, int(0.3 * side)))
        # Like the real engine, cells too small to hold a legible number are left unnumbered.
        if side * 0.8 < font_size * 1.2:
            font_size = 0
        mosaic.append(_Cell(polygon, centroid, nearest(average), average, font_size))
    return _draw_mosaic(fitted.size, mosaic, palette, PRINT_DPI * scale)


def _voronoi_polygons(width: int, height: int, count: int, rng: random.Random) -> list[list[Point]]:
    """Voronoi cells of `count` random seeds clipped to the rectangle, by half-plane clipping."""
    seeds = [(rng.uniform(0, width), rng.uniform(0, height)) for _ in range(count)]
    bucket = math.sqrt(width * height / count)
    grid: dict[tuple[int, int], list[int]] = {}
    for index, (x, y) in enumerate(seeds):
        grid.setdefault((int(x // bucket), int(y // bucket)), []).append(index)
    max_ring = int(max(width, height) // bucket) + 2
    rectangle: list[Point] = [(0.0, 0.0), (float(width), 0.0), (float(width), float(height)), (0.0, float(height))]
    polygons: list[list[Point]] = []
    for index, (sx, sy) in enumerate(seeds):
        bx, by = int(sx // bucket), int(sy // bucket)
        polygon = rectangle
        reach2 = _reach2(polygon, sx, sy)
        seen = {index}
        ring = 1
        while True:
            candidates = [
                j
                for gx in range(bx - ring, bx + ring + 1)
                for gy in range(by - ring, by + ring + 1)
                for j in grid.get((gx, gy), ())
                if j not in seen
            ]
            candidates.sort(key=lambda j: (seeds[j][0] - sx) ** 2 + (seeds[j][1] - sy) ** 2)
            for j in candidates:
                seen.add(j)
                # A seed farther than twice the cell's farthest corner cannot cut the cell.
                if (seeds[j][0] - sx) ** 2 + (seeds[j][1] - sy) ** 2 >= 4 * reach2:
                    continue
                polygon = _clip_half_plane(polygon, (sx, sy), seeds[j])
                reach2 = _reach2(polygon, sx, sy)
            # Seeds outside the searched rings are at least ring * bucket away.
            if 4 * reach2 <= (ring * bucket) ** 2 or ring > max_ring:
                break
            ring += 1
        if len(polygon) >= 3:
            polygons.append(polygon)
    return polygons


def _reach2(polygon: Sequence[Point], sx: float, sy: float) -> float:
    return max(((x - sx) ** 2 + (y - sy) ** 2 for x, y in polygon), default=0.0)


def _clip_half_plane(polygon: Sequence[Point], seed: Point, other: Point) -> list[Point]:
    """The part of a convex polygon closer to seed than to other."""
    nx, ny = other[0] - seed[0], other[1] - seed[1]
    limit = (nx * (seed[0] + other[0]) + ny * (seed[1] + other[1])) / 2
    clipped: list[Point] = []
    for k, (x1, y1) in enumerate(polygon):
        x2, y2 = polygon[(k + 1) % len(polygon)]
        d1, d2 = nx * x1 + ny * y1 - limit, nx * x2 + ny * y2 - limit
        if d1 <= 0:
            clipped.append((x1, y1))
        if (d1 <= 0) != (d2 <= 0):
            t = d1 / (d1 - d2)
            clipped.append((x1 + t * (x2 - x1), y1 + t * (y2 - y1)))
    return clipped


# --- line art -------------------------------------------------------------------------------------


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
    fitted, scale = _fit_to_page(image, page)
    mask = _line_mask(fitted, detail, thickness)
    line_art = ImageOps.invert(mask)
    trace_scale = min(1.0, _SVG_TRACE_LONG_SIDE / max(mask.size))
    trace_size = (max(1, round(mask.width * trace_scale)), max(1, round(mask.height * trace_scale)))
    coarse = mask.resize(trace_size, Image.Resampling.BOX) if trace_scale < 1 else mask
    labels = [0 if v >= 64 else -1 for v in coarse.tobytes()]
    loops = _trace_outlines(labels, trace_size[0], trace_size[1]).get(0, [])
    sx, sy = mask.width / trace_size[0], mask.height / trace_size[1]
    body = [f'<path fill="#000" d="{_path_data([loop], sx, sy)}"/>\n' for loop in loops]
    svg = _svg_document(mask.width, mask.height, body)
    preview = line_art.copy()
    preview.thumbnail((max(1, round(800 * scale)), max(1, round(800 * scale * mask.height / mask.width))))
    return LineArtResult(line_art, svg, preview, len(loops), PRINT_DPI * scale)


def render_ai_coloring(image: Image.Image, *, style: str = "kids") -> Image.Image:
    """Stand-in for the AI coloring page: a line drawing of the upload on a square canvas."""
    detail, thickness = ("expert", 1) if style == "zen" else ("simple", 3)
    fitted = image.copy()
    fitted.thumbnail((AI_COLORING_SIZE - 16, AI_COLORING_SIZE - 16), Image.Resampling.LANCZOS)
    lines = ImageOps.invert(_line_mask(fitted, detail, thickness)).convert("RGB")
    canvas = Image.new("RGB", (AI_COLORING_SIZE, AI_COLORING_SIZE), _WHITE)
    canvas.paste(lines, ((AI_COLORING_SIZE - lines.width) // 2, (AI_COLORING_SIZE - lines.height) // 2))
    return canvas


# --- color by number ------------------------------------------------------------------------------


def render_color_by_number(
    image: Image.Image, *, colors: int = 12, page: str = "letter", min_zone_pixels: int = 500, blur: int = 2
) -> ColorByNumberResult:
    """A color-by-number page: posterized zones, outlined and numbered, with its answer and legend."""
    fitted, scale = _fit_to_page(image, page)
    width, height = fitted.size
    cell = max(width, height) / _CBN_GRID_LONG_SIDE
    grid_w, grid_h = max(1, round(width / cell)), max(1, round(height / cell))
    source = fitted.filter(ImageFilter.GaussianBlur(blur)) if blur > 0 else fitted
    coarse = source.resize((grid_w, grid_h), Image.Resampling.BOX)
    palette = _palette(coarse, colors)
    nearest = _Nearest(palette)
    data = coarse.tobytes()
    indices = [nearest((data[i], data[i + 1], data[i + 2])) for i in range(0, len(data), 3)]
    # The page-pixel minimums of the real engine are far below what a printed number needs at this scale.
    min_cells = max(10, min_zone_pixels // 40)
    zones, zone_colour = _merge_small_zones(indices, grid_w, grid_h, min_cells)
    # Merging can leave palette colours unused; renumber so the legend lists only colours on the page.
    used = sorted(set(zone_colour))
    renumber = {old: new for new, old in enumerate(used)}
    palette = [palette[old] for old in used]
    zone_colour = [renumber[c] for c in zone_colour]
    indices = [renumber[c] for c in indices]

    labels = Image.frombytes("L", (grid_w, grid_h), bytes(indices)).resize((width, height), Image.Resampling.NEAREST)
    left = ImageChops.difference(labels, ImageChops.offset(labels, 1, 0))
    up = ImageChops.difference(labels, ImageChops.offset(labels, 0, 1))
    outline = ImageChops.lighter(left, up).point([0] + [255] * 255)
    # offset() wraps around, which the page frame drawn here covers up.
    ImageDraw.Draw(outline).rectangle((0, 0, width - 1, height - 1), outline=255)

    luts = [[palette[i][band] if i < len(palette) else 255 for i in range(256)] for band in range(3)]
    answer = Image.merge("RGB", [labels.point(lut) for lut in luts])
    answer.paste((40, 40, 40), mask=outline)
    mystery = Image.new("RGB", (width, height), _WHITE)
    mystery.paste(_INK, mask=outline)

    sx, sy = width / grid_w, height / grid_h
    spots = _label_spots(zones, grid_w, grid_h)
    numbers: list[str] = []
    for zone, (gx, gy, radius) in spots.items():
        at = ((gx + 0.5) * sx, (gy + 0.5) * sy)
        size = max(7, min(22, int(radius * min(sx, sy) * 1.3)))
        text = str(zone_colour[zone] + 1)
        _centred_text(mystery, at, text, size, _NUMBER_INK)
        numbers.append(
            f'<text x="{at[0]:.1f}" y="{at[1]:.1f}" font-size="{size}" text-anchor="middle" '
            f'dominant-baseline="central" font-family="Arial, Helvetica, sans-serif" fill="#444">{text}</text>\n'
        )
    outlines = _trace_outlines(zones, grid_w, grid_h)
    mystery_body: list[str] = []
    answer_body: list[str] = []
    for zone, loops in outlines.items():
        d = _path_data(loops, sx, sy)
        r, g, b = palette[zone_colour[zone]]
        mystery_body.append(f'<path d="{d}" fill="#fff" stroke="#222" stroke-width="1"/>\n')
        answer_body.append(f'<path d="{d}" fill="rgb({r},{g},{b})" stroke="#282828" stroke-width="1"/>\n')
    legend = _legend(palette, width)
    return ColorByNumberResult(
        mystery_png=mystery,
        answer_png=answer,
        legend_png=legend,
        mystery_full_png=_stack(mystery, legend),
        mystery_svg=_svg_document(width, height, mystery_body + numbers),
        answer_svg=_svg_document(width, height, answer_body),
        palette=palette,
        zone_count=len(outlines),
        dpi=PRINT_DPI * scale,
    )


def _zones(indices: Sequence[int], width: int, height: int) -> tuple[list[int], list[int]]:
    """Label 4-connected runs of equal colour index; returns the zone map and each zone's size."""
    zones = [-1] * len(indices)
    sizes: list[int] = []
    for start in range(len(indices)):
        if zones[start] >= 0:
            continue
        zone, colour = len(sizes), indices[start]
        zones[start] = zone
        queue = deque([start])
        size = 0
        while queue:
            i = queue.popleft()
            size += 1
            x = i % width
            for j, ok in (
                (i - 1, x > 0),
                (i + 1, x < width - 1),
                (i - width, i >= width),
                (i + width, i + width < len(indices)),
            ):
                if ok and zones[j] < 0 and indices[j] == colour:
                    zones[j] = zone
                    queue.append(j)
        sizes.append(size)
    return zones, sizes


def _merge_small_zones(indices: list[int], width: int, height: int, min_cells: int) -> tuple[list[int], list[int]]:
    """Recolour zones too small or thin for a number like their neighbours; returns zone map and zone colours."""
    zones, sizes = _zones(indices, width, height)
    for _ in range(4):
        spots = _label_spots(zones, width, height)
        small = {zone for zone, size in enumerate(sizes) if size < min_cells or spots[zone][2] < 1}
        if not small or len(sizes) == 1:
            break
        neighbours: dict[int, Counter[int]] = {zone: Counter() for zone in small}
        for i, zone in enumerate(zones):
            if zone not in small:
                continue
            x = i % width
            for j, ok in (
                (i - 1, x > 0),
                (i + 1, x < width - 1),
                (i - width, i >= width),
                (i + width, i + width < len(zones)),
            ):
                # Prefer the colours of zones that stay, or two small neighbours just swap colours.
                if ok and zones[j] != zone:
                    neighbours[zone][indices[j]] += 1 if zones[j] in small else 1000
        for i, zone in enumerate(zones):
            counts = neighbours.get(zone)
            if counts:
                indices[i] = counts.most_common(1)[0][0]
        zones, sizes = _zones(indices, width, height)
    colours = [0] * len(sizes)
    for i, zone in enumerate(zones):
        colours[zone] = indices[i]
    return zones, colours


def _label_spots(zones: Sequence[int], width: int, height: int) -> dict[int, tuple[int, int, float]]:
    """For each zone, the grid cell farthest from its outline and that distance (chessboard metric)."""
    total = len(zones)
    far = total
    distance = [far] * total
    for i, zone in enumerate(zones):
        x = i % width
        if (
            x == 0
            or x == width - 1
            or i < width
            or i + width >= total
            or zones[i - 1] != zone
            or zones[i + 1] != zone
            or zones[i - width] != zone
            or zones[i + width] != zone
        ):
            distance[i] = 0
    for i in range(total):
        if distance[i]:
            distance[i] = min(distance[i], distance[i - 1] + 1, distance[i - width] + 1)
    for i in range(total - 1, -1, -1):
        if distance[i]:
            distance[i] = min(distance[i], distance[i + 1] + 1, distance[i + width] + 1)
    best: dict[int, tuple[int, int, float]] = {}
    for i, zone in enumerate(zones):
        found = best.get(zone)
        if found is None or distance[i] + 0.5 > found[2]:
            best[zone] = (i % width, i // width, distance[i] + 0.5)
    return best


# --- SVG ------------------------------------------------------------------------------------------


def _trace_outlines(labels: Sequence[int], width: int, height: int) -> dict[int, list[list[tuple[int, int]]]]:
    """Closed outlines along pixel edges of every label >= 0, as corner-point loops (holes run the other way)."""
    stride = width + 1
    outgoing: dict[int, dict[int, list[int]]] = {}
    for y in range(height):
        row = y * width
        for x in range(width):
            label = labels[row + x]
            if label < 0:
                continue
            edges = outgoing.get(label)
            if edges is None:
                edges = outgoing[label] = {}
            top_left = y * stride + x
            bottom_left = top_left + stride
            if y == 0 or labels[row + x - width] != label:
                edges.setdefault(top_left, []).append(top_left + 1)
            if x == width - 1 or labels[row + x + 1] != label:
                edges.setdefault(top_left + 1, []).append(bottom_left + 1)
            if y == height - 1 or labels[row + x + width] != label:
                edges.setdefault(bottom_left + 1, []).append(bottom_left)
            if x == 0 or labels[row + x - 1] != label:
                edges.setdefault(bottom_left, []).append(top_left)
    outlines: dict[int, list[list[tuple[int, int]]]] = {}
    for label, edges in outgoing.items():
        loops: list[list[tuple[int, int]]] = []
        while edges:
            start = next(iter(edges))
            vertex, loop = start, []
            # Every vertex has as many edges in as out, so each walk returns to where it started.
            while True:
                row, column = divmod(vertex, stride)
                loop.append((column, row))
                ends = edges[vertex]
                nxt = ends.pop()
                if not ends:
                    del edges[vertex]
                vertex = nxt
                if vertex == start:
                    break
            loops.append(_drop_collinear(loop))
        outlines[label] = loops
    return outlines


def _drop_collinear(loop: list[tuple[int, int]]) -> list[tuple[int, int]]:
    kept = []
    for k, (x, y) in enumerate(loop):
        px, py = loop[k - 1]
        nx, ny = loop[(k + 1) % len(loop)]
        if (x - px) * (ny - y) != (y - py) * (nx - x):
            kept.append((x, y))
    return kept or loop


def _path_data(loops: Sequence[Sequence[tuple[int, int]]], sx: float, sy: float) -> str:
    parts = []
    for loop in loops:
        points = " ".join(f"{x * sx:.1f},{y * sy:.1f}" for x, y in loop)
        parts.append(f"M{points}Z")
    return " ".join(parts)


def _svg_document(width: int, height: int, body: Sequence[str]) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}">\n'
        '<rect width="100%" height="100%" fill="#fff"/>\n' + "".join(body) + "</svg>\n"
    )


# --- encoding -------------------------------------------------------------------------------------


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
