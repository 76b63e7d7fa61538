"""What Univers charges: the price figures, the cost texts the tools show (composed from those figures, so the two
cannot drift), and each spending operation's estimate of a call's cost from its arguments."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from providers.univers.inputs import AiImageInput, BulkInput, GenerateInput

__all__ = [
    "AI_IMAGE",
    "AI_IMAGE_COST",
    "BULK_COST",
    "FREE",
    "GENERATE_COST",
    "ai_image_estimate",
    "bulk_estimate",
    "generate_estimate",
    "page_charge",
]

FREE = "Free."
"""The cost text of a read."""
PAGE = 1
"""A line art, hexagon or voronoi page."""
AI_PAGE = 10
"""An AI-drawn coloring page (univers_generate in mode ai)."""
CBN_DOCUMENTED = 1
CBN_CHARGED = 10
"""A color-by-number page: the docs say `CBN_DOCUMENTED`, the service's own code charges `CBN_CHARGED`."""
BULK_PICTURE = 1
"""A picture a bulk call processed, whatever the mode (color by number too); skipped pictures are free."""
AI_IMAGE = {"low": 1, "medium": 3, "high": 10}
"""univers_ai_image, by quality."""

GENERATE_COST = (
    f"{PAGE} credit per page for lineart, hex and voronoi; AI coloring {AI_PAGE}. Color by number: {CBN_DOCUMENTED} "
    f"credit per the docs, but the service's own code charges {CBN_CHARGED} — expect up to {CBN_CHARGED}."
)
BULK_COST = f"{BULK_PICTURE} credit per processed picture (the balance must cover all of them)."
AI_IMAGE_COST = f"quality low {AI_IMAGE['low']} credit, medium {AI_IMAGE['medium']}, high {AI_IMAGE['high']}."

_PAGE = {"hex": PAGE, "voronoi": PAGE, "lineart": PAGE, "ai": AI_PAGE}
"""Pages whose price is certain, by mode."""


def page_charge(args: GenerateInput) -> float | None:
    """What a generated page is known to have cost (reported with the result): unknown with a preset, which picks
    the mode, and for color by number, whose price is either figure."""
    return None if args.preset else _PAGE.get(args.mode)


def generate_estimate(args: GenerateInput) -> float | None:
    """The expected cost of univers_generate."""
    if args.preset:
        # A preset picks the mode from the service's own preset table (see univers_presets), so the arguments
        # alone do not say which price applies.
        return None
    # Color by number: 1 credit in the docs but 10 in the service's code; expect the higher figure.
    return CBN_CHARGED if args.mode == "cbn" else _PAGE[args.mode]


def bulk_estimate(args: BulkInput) -> float:
    """The expected cost of univers_bulk: every picture, as the balance must cover them all (the service skips
    pictures it cannot read, and does not charge for them)."""
    return BULK_PICTURE * len(args.images)


def ai_image_estimate(args: AiImageInput) -> float:
    """The expected cost of univers_ai_image."""
    return AI_IMAGE[args.quality]
