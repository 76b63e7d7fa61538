"""What a section of the suite hands back, and how results are shown: a console table and `RESULTS.md`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Section", "Target", "markdown_table", "percentile", "render_console", "render_markdown", "text_table"]


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100) with linear interpolation; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class Target:
    """One target of the issue: what was asked, what was measured, and whether it was met (None: not measured)."""

    name: str
    goal: str
    measured: str
    met: bool | None

    @property
    def verdict(self) -> str:
        """'met', 'MISSED' or 'not measured'."""
        return {True: "met", False: "MISSED", None: "not measured"}[self.met]


@dataclass
class Section:
    """One part of the suite: a table of figures, the targets it checks, notes, and raw data for `--json`."""

    key: str
    title: str
    headers: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    skipped: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Everything, as plain JSON data."""
        return asdict(self)


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns aligned with spaces (numbers to the right), for the console."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.rjust(width) if _numeric(cell) else cell.ljust(width)
            for cell, width in zip(cells, widths, strict=True)
        ).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub Markdown table (numbers right-aligned)."""
    align = [
        "---:"
        if any(_numeric(row[i]) for row in rows) and all(_numeric(row[i]) or not row[i] for row in rows)
        else "---"
        for i in range(len(headers))
    ]
    lines = [f"| {' | '.join(headers)} |", f"| {' | '.join(align)} |"]
    lines += [f"| {' | '.join(row)} |" for row in rows]
    return "\n".join(lines)


def _numeric(cell: str) -> bool:
    head = cell.strip().split(" ", 1)[0].rstrip("%×x")
    try:
        float(head)
    except ValueError:
        return False
    return True


def _targets_rows(sections: Sequence[Section]) -> list[list[str]]:
    return [[t.name, t.goal, t.measured, t.verdict] for s in sections for t in s.targets]


def render_console(sections: Sequence[Section]) -> str:
    """The whole run as plain text."""
    parts: list[str] = []
    for section in sections:
        parts.append(f"== {section.title} ==")
        if section.skipped:
            parts.append(f"skipped: {section.skipped}")
        elif section.rows:
            parts.append(text_table(section.headers, section.rows))
        parts.extend(f"  note: {note}" for note in section.notes)
        parts.append("")
    parts.append("== Targets ==")
    parts.append(text_table(["target", "goal", "measured", "verdict"], _targets_rows(sections)))
    return "\n".join(parts)


def render_markdown(sections: Sequence[Section], *, machine: dict[str, str], command: str, date: str) -> str:
    """`RESULTS.md`: when, where and how it was run, every section's table and notes, then the targets."""
    lines = [
        "# genmcp benchmark results",
        "",
        "Written by `python -m bench.run` (do not edit by hand; see `bench/README.md` for what each figure means).",
        "",
        f"- **Command:** `{command}`",
        f"- **Date:** {date}",
        *(f"- **{name}:** {value}" for name, value in machine.items()),
        "",
    ]
    for section in sections:
        lines += [f"## {section.title}", ""]
        if section.skipped:
            lines += [f"Skipped: {section.skipped}", ""]
        elif section.rows:
            lines += [markdown_table(section.headers, section.rows), ""]
        lines += [f"- {note}" for note in section.notes]
        if section.notes:
            lines.append("")
    lines += ["## Targets", "", markdown_table(["target", "goal", "measured", "verdict"], _targets_rows(sections)), ""]
    return "\n".join(lines)
