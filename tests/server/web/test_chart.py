"""The spend chart as SVG (no browser needed), and the colours the page claims are readable."""

from __future__ import annotations

import re
from pathlib import Path

from server.web.chart import PALETTE, spend_chart

CSS = Path(__file__).resolve().parents[3] / "server" / "web" / "static" / "app.css"


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(one: str, other: str) -> float:
    """The WCAG contrast ratio of two #rrggbb colours."""
    light, dark = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_bars_stand_for_each_providers_spend_with_an_accessible_name() -> None:
    days = ["2026-05-01", "2026-05-02", "2026-05-03"]
    chart = spend_chart(days, [("2026-05-02", "kolbo", 40.0), ("2026-05-03", "univers", 10.0)], ["kolbo", "univers"])
    svg = str(chart.svg)
    assert 'role="img"' in svg
    assert '<title id="chart-title">Credits spent per provider per day</title>' in svg
    heights = [float(h) for h in re.findall(r'<rect [^>]*height="([\d.]+)"', svg)]
    assert len(heights) == 2
    assert heights[0] == 4 * heights[1]
    assert "kolbo: 40 credits on 2026-05-02" in svg
    assert chart.rows == [("2026-05-01", [0.0, 0.0]), ("2026-05-02", [40.0, 0.0]), ("2026-05-03", [0.0, 10.0])]


def test_a_chart_without_spend_still_lists_the_providers_and_escapes_names() -> None:
    chart = spend_chart(["2026-05-01"], [], ["<b>odd</b>"])
    assert chart.providers == ["<b>odd</b>"]
    assert "<rect" not in str(chart.svg)
    hostile = spend_chart(["2026-05-01"], [("2026-05-01", "<script>x</script>", 1.0)], [])
    assert "<script>" not in str(hostile.svg)


def test_text_and_bar_colours_meet_wcag_aa_contrast() -> None:
    css = CSS.read_text()
    variables = dict(re.findall(r"--([a-z]+):\s*(#[0-9a-f]{6})", css))
    for text in ("ink", "muted", "accent", "ok", "bad", "warn"):
        for ground in ("card", "page"):
            assert contrast(variables[text], variables[ground]) >= 4.5, (text, ground)
    for colour in PALETTE:
        assert contrast(colour, "#ffffff") >= 4.5, colour
