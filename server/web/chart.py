"""Spend per provider per day as a server-rendered SVG bar chart (no JavaScript, no chart library).

Each day is a group of bars, one per provider, in colours that keep a 3:1 contrast against the page and are told
apart by a legend; the figures are in a table beside the chart for screen readers and for exact values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

__all__ = ["PALETTE", "SpendChart", "spend_chart"]

PALETTE = ("#1d4ed8", "#b45309", "#047857", "#9d174d", "#6d28d9", "#0e7490", "#4d7c0f")
"""Provider colours: each at least 4.5:1 against white."""
_WIDTH, _HEIGHT = 720, 240
_LEFT, _BOTTOM, _TOP = 48, 28, 12


@dataclass(frozen=True)
class SpendChart:
    """The chart and the data behind it."""

    svg: Markup
    days: list[str]
    providers: list[str]
    rows: list[tuple[str, list[float]]]
    """One row per day: the day and each provider's credits, in `providers` order."""
    colours: dict[str, str]


def _nice_top(value: float) -> float:
    if value <= 0:
        return 1.0
    step = 1.0
    while step * 10 < value:
        step *= 10
    for factor in (1, 2, 2.5, 5, 10):
        if step * factor >= value:
            return step * factor
    return step * 10


def spend_chart(
    days: Sequence[str],
    spend: Sequence[tuple[str, str, float]],
    providers: Sequence[str],
    *,
    everyone: Sequence[str] = (),
) -> SpendChart:
    """The chart of `spend` ((day, provider, credits) rows) over `days`: one bar per provider that spent in that
    window (every provider of `providers`, when none did, so the table still lists them). Colours follow the order
    of `everyone` (all providers), so a provider keeps its colour under any filter."""
    names = sorted({name for _, name, amount in spend if amount > 0}) or sorted(providers)
    # A provider keeps its colour whichever providers spent (or are filtered in).
    order = sorted(set(everyone) | set(providers) | set(names))
    colours = {name: PALETTE[order.index(name) % len(PALETTE)] for name in names}
    table = {(day, name): amount for day, name, amount in spend}
    rows = [(day, [table.get((day, name), 0.0) for name in names]) for day in days]
    top = _nice_top(max((amount for _, values in rows for amount in values), default=0.0))
    plot_width, plot_height = _WIDTH - _LEFT - 8, _HEIGHT - _BOTTOM - _TOP
    group = plot_width / max(1, len(days))
    bar = max(2.0, min(18.0, (group - 6) / max(1, len(names))))
    parts = [
        f'<svg class="chart" viewBox="0 0 {_WIDTH} {_HEIGHT}" role="img" aria-labelledby="chart-title chart-desc" '
        'xmlns="http://www.w3.org/2000/svg">',
        '<title id="chart-title">Credits spent per provider per day</title>',
        f'<desc id="chart-desc">Bars for the last {len(days)} days; the table below gives every value.</desc>',
    ]
    for tick in range(5):
        value = top * tick / 4
        y = _TOP + plot_height - plot_height * tick / 4
        parts.append(f'<line x1="{_LEFT}" x2="{_WIDTH - 8}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">{value:g}</text>')
    for index, (day, values) in enumerate(rows):
        x0 = _LEFT + index * group + (group - bar * len(names)) / 2
        for position, (name, amount) in enumerate(zip(names, values, strict=True)):
            if amount <= 0:
                continue
            height = plot_height * amount / top
            x, y = x0 + position * bar, _TOP + plot_height - height
            label = escape(f"{name}: {amount:g} credits on {day}")
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar - 1:.1f}" height="{height:.1f}" '
                f'fill="{colours[name]}"><title>{label}</title></rect>'
            )
        if len(days) <= 16 or index % 2 == len(days) % 2:
            parts.append(
                f'<text x="{_LEFT + (index + 0.5) * group:.1f}" y="{_HEIGHT - 10}" class="tick" text-anchor="middle">'
                f"{escape(day[5:])}</text>"
            )
    parts.append("</svg>")
    return SpendChart(svg=Markup("".join(parts)), days=list(days), providers=names, rows=rows, colours=colours)
