"""SVG for the vector pages: outlines traced along pixel edges, as path data in a page-sized document."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["Loop", "path_data", "svg_document", "trace_outlines"]

Loop = list[tuple[int, int]]
"""A closed outline as its corner points, in grid coordinates."""
_Edges = dict[int, list[int]]
"""Directed pixel edges of one label: from a corner (as y * stride + x) to the corners it leads to."""


def trace_outlines(labels: Sequence[int], width: int, height: int) -> dict[int, list[Loop]]:
    """Closed outlines along pixel edges of every label >= 0, as corner-point loops (holes run the other way)."""
    stride = width + 1
    return {label: _walk(edges, stride) for label, edges in _boundary_edges(labels, width, height).items()}


def _boundary_edges(labels: Sequence[int], width: int, height: int) -> dict[int, _Edges]:
    """Every label's pixel sides that border another label or the frame, clockwise around the label."""
    stride = width + 1
    outgoing: dict[int, _Edges] = {}
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
    return outgoing


def _walk(edges: _Edges, stride: int) -> list[Loop]:
    """The closed loops the edges form (the edges are used up)."""
    loops: list[Loop] = []
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
    return loops


def _drop_collinear(loop: Loop) -> Loop:
    kept = []
    for k, (x, y) in enumerate(loop):
        px, py = loop[k - 1]
        nx, ny = loop[(k + 1) % len(loop)]
        if (x - px) * (ny - y) != (y - py) * (nx - x):
            kept.append((x, y))
    return kept or loop


def path_data(loops: Sequence[Sequence[tuple[int, int]]], sx: float, sy: float) -> str:
    """SVG path data for the loops, scaled from grid to page coordinates."""
    parts = []
    for loop in loops:
        points = " ".join(f"{x * sx:.1f},{y * sy:.1f}" for x, y in loop)
        parts.append(f"M{points}Z")
    return " ".join(parts)


def svg_document(width: int, height: int, body: Sequence[str]) -> str:
    """A page-sized SVG on a white background holding the given elements."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}">\n'
        '<rect width="100%" height="100%" fill="#fff"/>\n' + "".join(body) + "</svg>\n"
    )
