"""Mystery mosaics: numbered hexagon or organic (voronoi) cells, their answer, beauty and legend pages."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFilter

from providers.univers.simulator.drawing import BLACK, NUMBER_INK, centred_text, draw_legend, stack
from providers.univers.simulator.images import (
    PRINT_DPI,
    RGB,
    WHITE,
    NearestColour,
    Point,
    fit_to_page,
    pick_palette,
    pixel_at,
)

__all__ = ["MosaicResult", "render_hex", "render_voronoi"]


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
class _Cell:
    """One cell of a mosaic: its outline, where its number goes, its palette index and its average colour."""

    polygon: list[Point]
    label_at: Point
    colour: int
    average: RGB
    font_size: int


def _draw_mosaic(size: tuple[int, int], cells: Sequence[_Cell], palette: list[RGB], dpi: float) -> MosaicResult:
    mystery = Image.new("RGB", size, WHITE)
    answer = Image.new("RGB", size, WHITE)
    beauty = Image.new("RGB", size, WHITE)
    draw_mystery, draw_answer, draw_beauty = ImageDraw.Draw(mystery), ImageDraw.Draw(answer), ImageDraw.Draw(beauty)
    for cell in cells:
        draw_beauty.polygon(cell.polygon, fill=cell.average, outline=cell.average)
        draw_answer.polygon(cell.polygon, fill=palette[cell.colour], outline=(40, 40, 40))
        draw_mystery.polygon(cell.polygon, outline=BLACK)
    for cell in cells:
        if cell.font_size:
            centred_text(mystery, cell.label_at, str(cell.colour + 1), cell.font_size, NUMBER_INK)
    legend = draw_legend(palette, size[0])
    return MosaicResult(mystery, answer, beauty, legend, stack(mystery, legend), palette, len(cells), dpi)


def render_hex(image: Image.Image, *, colors: int = 12, cell_size: int = 25, page: str = "letter") -> MosaicResult:
    """A mystery mosaic of numbered hexagons; cell_size is the hexagon radius in 300 dpi page pixels."""
    fitted, scale = fit_to_page(image, page)
    width, height = fitted.size
    radius = max(3.0, cell_size * scale)
    palette = pick_palette(fitted, colors)
    nearest = NearestColour(palette)
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
            average = pixel_at(averages, fitted.size, cx, cy)
            polygon = [(cx + dx, cy + dy) for dx, dy in corners]
            cells.append(_Cell(polygon, (cx, cy), nearest(average), average, font_size))
    return _draw_mosaic(fitted.size, cells, palette, PRINT_DPI * scale)


def render_voronoi(image: Image.Image, *, colors: int = 12, cells: int = 500, page: str = "letter") -> MosaicResult:
    """A mystery mosaic of numbered organic (voronoi) cells."""
    fitted, scale = fit_to_page(image, page)
    width, height = fitted.size
    count = max(50, min(2000, cells))
    palette = pick_palette(fitted, colors)
    nearest = NearestColour(palette)
    spacing = math.sqrt(width * height / count)
    averages = fitted.filter(ImageFilter.BoxBlur(max(1, int(spacing * 0.3)))).tobytes()
    mosaic: list[_Cell] = []
    for polygon in _voronoi_polygons(width, height, count, random.Random(42)):
        area, centroid = _polygon_area_centroid(polygon)
        average = pixel_at(averages, fitted.size, centroid[0], centroid[1])
        side = math.sqrt(area)
        font_size = max(7, min(24, int(0.3 * side)))
        # Like the real engine, cells too small to hold a legible number are left unnumbered.
        if side * 0.8 < font_size * 1.2:
            font_size = 0
        mosaic.append(_Cell(polygon, centroid, nearest(average), average, font_size))
    return _draw_mosaic(fitted.size, mosaic, palette, PRINT_DPI * scale)


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
