"""What Masko charges: the price figures, the cost texts the tools show (composed from those figures, so the two
cannot drift), and each spending operation's estimate of a call's cost from its arguments."""

from __future__ import annotations

from providers.masko.inputs import (
    DEFAULT_DURATION,
    MAX_PREVIEWS,
    ApplyTemplateInput,
    CreateMascotInput,
    GenerateBatchInput,
    GenerateCanvasInput,
    GenerateRequest,
    PreviewInput,
)

__all__ = [
    "APPLY_TEMPLATE_COST",
    "BATCH_COST",
    "CREATE_MASCOT_COST",
    "EDIT",
    "FREE",
    "GENERATE_CANVAS_COST",
    "GENERATE_COST",
    "IMAGE",
    "LOGO",
    "PER_SECOND",
    "PREVIEW",
    "PREVIEW_COST",
    "animation_cost",
    "apply_template_estimate",
    "batch_estimate",
    "create_mascot_estimate",
    "generate_canvas_estimate",
    "preview_estimate",
    "request_cost",
]

FREE = "Free."
"""The cost text of every read and free write."""
IMAGE = 1
"""A pose image; also the reference image Masko draws for a mascot created from a prompt alone."""
EDIT = 1
LOGO = 5
PER_SECOND = 5
"""An animation, per second of video (a transition's free auto-reverse costs nothing)."""
PREVIEW = 1
"""New-character previews (up to `MAX_PREVIEWS` images in one call); previews of an existing mascot are free."""
_FOUR_STATE_ANIMATIONS = 8
"""Paid animations of a 4-state canvas template: 4 loops and 4 forward transitions."""


def animation_cost(seconds: int, *, with_image: bool) -> int:
    """Credits for one animation, plus its pose image when that is generated in the same request."""
    return PER_SECOND * seconds + (IMAGE if with_image else 0)


_PRICES = (
    f"Image {IMAGE} credit, edit {EDIT}, logo {LOGO}, animation {PER_SECOND} credits per second (+{IMAGE} when its "
    f"pose image is generated in the same request: {DEFAULT_DURATION} s from scratch = "
    f"{animation_cost(DEFAULT_DURATION, with_image=True)}, from an existing image = "
    f"{animation_cost(DEFAULT_DURATION, with_image=False)}); the auto-reverse of a transition is free"
)
CHARGING = "Charged when the job starts, refunded automatically if it fails. Size variants are free."

CREATE_MASCOT_COST = (
    f"{IMAGE} credit when created from a prompt alone (Masko draws the reference image); free with reference images."
)
PREVIEW_COST = f"{PREVIEW} credit for new-character previews (up to {MAX_PREVIEWS} images); free with mascot_id."
GENERATE_COST = f"{_PRICES}. {CHARGING}"
BATCH_COST = f"The sum of each request's price. {_PRICES}. {CHARGING}"
APPLY_TEMPLATE_COST = (
    f"{IMAGE} credit per pose image ({4 * IMAGE} for a 4-state template). Animations are made later by "
    "masko_generate_canvas."
)
GENERATE_CANVAS_COST = (
    f"{IMAGE} credit per missing pose image + {PER_SECOND} credits per second per paid animation ({DEFAULT_DURATION} s "
    f"each by default): a 4-state template is about "
    f"{_FOUR_STATE_ANIMATIONS * animation_cost(DEFAULT_DURATION, with_image=False)} credits at {DEFAULT_DURATION} s. "
    f"Reverses are free. {CHARGING}"
)

_FLAT = {"image": IMAGE, "edit": EDIT, "logo": LOGO}


def request_cost(request: GenerateRequest) -> int:
    """Credits Masko charges for one generate request (a transition's auto-reverse is free)."""
    if request.type == "animation":
        return animation_cost(request.duration or DEFAULT_DURATION, with_image=not request.has_source)
    return _FLAT[request.type]


def batch_estimate(args: GenerateBatchInput) -> int:
    """A batch costs the sum of its requests."""
    return sum(request_cost(request) for request in args.requests)


def create_mascot_estimate(args: CreateMascotInput) -> int:
    """One reference image when created from a prompt alone; free with reference images."""
    return IMAGE if args.direct else 0


def preview_estimate(args: PreviewInput) -> int:
    """New-character previews cost one charge whatever their count; a pose preview of an existing mascot is free."""
    return 0 if args.mascot_id is not None else PREVIEW


def apply_template_estimate(args: ApplyTemplateInput) -> None:
    """Unknown: the charge is one credit per pose of the template, and the template's pose count is not in the
    arguments (only its id; masko_list_canvas_templates shows each template's states)."""
    return None


def generate_canvas_estimate(args: GenerateCanvasInput) -> None:
    """Unknown: the charge depends on what the canvas still lacks (missing pose images, animations not yet made or
    failed), which only Masko knows; the template's estimated_cost is the price of a canvas generated in full."""
    return None
