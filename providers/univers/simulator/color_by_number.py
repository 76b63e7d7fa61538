"""Color by number: posterized zones, outlined and numbered (PNG and SVG), with the answer and the legend."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageChops, ImageDraw, ImageFilter

from providers.univers.simulator.drawing import INK, NUMBER_INK, centred_text, draw_legend, stack
from providers.univers.simulator.images import PRINT_DPI, RGB, WHITE, NearestColour, fit_to_page, pick_palette
from providers.univers.simulator.svg import path_data, svg_document, trace_outlines

__all__ = ["ColorByNumberResult", "render_color_by_number"]

_CBN_GRID_LONG_SIDE = 180


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


def render_color_by_number(
    image: Image.Image, *, colors: int = 12, page: str = "letter", min_zone_pixels: int = 500, blur: int = 2
) -> ColorByNumberResult:
    """A color-by-number page: posterized zones, outlined and numbered, with its answer and legend."""
    fitted, scale = fit_to_page(image, page)
    width, height = fitted.size
    cell = max(width, height) / _CBN_GRID_LONG_SIDE
    grid_w, grid_h = max(1, round(width / cell)), max(1, round(height / cell))
    source = fitted.filter(ImageFilter.GaussianBlur(blur)) if blur > 0 else fitted
    coarse = source.resize((grid_w, grid_h), Image.Resampling.BOX)
    palette = pick_palette(coarse, colors)
    nearest = NearestColour(palette)
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
    mystery = Image.new("RGB", (width, height), WHITE)
    mystery.paste(INK, mask=outline)

    sx, sy = width / grid_w, height / grid_h
    spots = _label_spots(zones, grid_w, grid_h)
    numbers: list[str] = []
    for zone, (gx, gy, radius) in spots.items():
        at = ((gx + 0.5) * sx, (gy + 0.5) * sy)
        size = max(7, min(22, int(radius * min(sx, sy) * 1.3)))
        text = str(zone_colour[zone] + 1)
        centred_text(mystery, at, text, size, NUMBER_INK)
        numbers.append(
            f'<text x="{at[0]:.1f}" y="{at[1]:.1f}" font-size="{size}" text-anchor="middle" '
            f'dominant-baseline="central" font-family="Arial, Helvetica, sans-serif" fill="#444">{text}</text>\n'
        )
    outlines = trace_outlines(zones, grid_w, grid_h)
    mystery_body: list[str] = []
    answer_body: list[str] = []
    for zone, loops in outlines.items():
        d = path_data(loops, sx, sy)
        r, g, b = palette[zone_colour[zone]]
        mystery_body.append(f'<path d="{d}" fill="#fff" stroke="#222" stroke-width="1"/>\n')
        answer_body.append(f'<path d="{d}" fill="rgb({r},{g},{b})" stroke="#282828" stroke-width="1"/>\n')
    legend = draw_legend(palette, width)
    return ColorByNumberResult(
        mystery_png=mystery,
        answer_png=answer,
        legend_png=legend,
        mystery_full_png=stack(mystery, legend),
        mystery_svg=svg_document(width, height, mystery_body + numbers),
        answer_svg=svg_document(width, height, answer_body),
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
