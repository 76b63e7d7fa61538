"""What Kolbo's spending operations cost: the cost texts their tools show, the figures those texts quote, and the
estimates computed from the same figures (PROVIDERS.md §4.6; 1 credit = $0.01).

Kolbo prices every model separately in its live catalogue (`GET /v1/models`, shown by kolbo_list_models), and the
catalogue changes without notice. An estimate is therefore a number only where the arguments pin a model whose price
the documentation states (the figures below, which the cost texts quote); everywhere else it is None, because the
price is upstream data that the arguments alone do not determine.
"""

from __future__ import annotations

import math

from providers.base import OperationInput
from providers.kolbo.inputs import ChatInput, GenerateMusicInput, GenerateSoundInput, GenerateSpeechInput
from providers.kolbo.wire import ModelInfo

__all__ = [
    "CHAT_COST",
    "CREATIVE_DIRECTOR_COST",
    "FREE",
    "IMAGE_COST",
    "MUSIC_COST",
    "MUSIC_PRICES",
    "RESOLUTION_MULTIPLIERS",
    "SOUND_COST",
    "SOUND_PRICE",
    "SPEECH_COST",
    "SPEECH_DEFAULT_MODEL",
    "SPEECH_PRICES",
    "VIDEO_COST",
    "chat_estimate",
    "describe_price",
    "music_estimate",
    "per_model_estimate",
    "sound_estimate",
    "speech_credits",
    "speech_estimate",
    "video_credits",
]

# --- the documented figures -------------------------------------------------------------------------

RESOLUTION_MULTIPLIERS: dict[str, float] = {"480p": 0.44, "720p": 1.0, "1080p": 2.25, "4k": 4.95}
"""Video credit multipliers relative to 720p ('2160p' is the same as '4k')."""
MUSIC_PRICES: dict[str, float] = {"chirp-v4": 10.0}
"""Flat credits per music generation, for the models the documentation prices."""
SPEECH_PRICES: dict[str, float] = {"eleven_v3": 2.0}
"""Credits per started 100 characters, for the speech models the documentation prices."""
SPEECH_DEFAULT_MODEL = "eleven_v3"
"""The speech model Kolbo uses when the call names none."""
SPEECH_CHARACTERS_PER_UNIT = 100
SOUND_PRICE = 5.0
"""Flat credits per sound effect: kolbo_generate_sound has no model argument, so Kolbo's default model always runs."""
DEFAULT_SCENES = 4
"""Creative Director scenes when the call gives no scene_count."""


def video_credits(per_second: float, seconds: float, resolution: str = "720p") -> float | None:
    """What a clip costs at a model's per-second price; None for a resolution without a documented multiplier."""
    multiplier = RESOLUTION_MULTIPLIERS.get("4k" if resolution.lower() in ("4k", "2160p") else resolution.lower())
    return None if multiplier is None else round(per_second * seconds * multiplier, 2)


def speech_credits(characters: int, per_unit: float) -> float:
    """What reading `characters` aloud costs at a model's price per started 100 characters."""
    return math.ceil(characters / SPEECH_CHARACTERS_PER_UNIT) * per_unit


# --- the cost texts (quoting the figures above) -------------------------------------------------------

_PER_MODEL = "Exact per-model prices: kolbo_list_models (1 credit = $0.01)."
_REFUND = "Charged when submitted; refunded automatically if the generation fails or is cancelled."
_MULTIPLIERS = ", ".join(f"{name} ×{factor:g}" for name, factor in RESOLUTION_MULTIPLIERS.items() if factor != 1.0)
_SPEECH_EXAMPLE = (
    f"250 characters with {SPEECH_DEFAULT_MODEL} at {SPEECH_PRICES[SPEECH_DEFAULT_MODEL]:g} credits = "
    f"{speech_credits(250, SPEECH_PRICES[SPEECH_DEFAULT_MODEL]):g}"
)

FREE = "Free (no credit cost is documented)."
IMAGE_COST = (
    "A flat price per image set by the model (typically 2–10 credits) × num_images, times the model's "
    f"resolution/quality multipliers. {_PER_MODEL} {_REFUND}"
)
VIDEO_COST = (
    f"The model's credit per second × duration (e.g. 5 credits/s × 5 s = {video_credits(5, 5):g}), times the "
    f"resolution multiplier relative to 720p ({_MULTIPLIERS}). {_PER_MODEL} {_REFUND}"
)
MUSIC_COST = (
    f"A flat price per generation set by the model (e.g. {MUSIC_PRICES['chirp-v4']:g} credits for chirp-v4). "
    f"{_PER_MODEL} {_REFUND}"
)
SPEECH_COST = f"ceil(characters / 100) × the model's credit (e.g. {_SPEECH_EXAMPLE}). {_PER_MODEL} {_REFUND}"
SOUND_COST = f"A flat price per generation (e.g. {SOUND_PRICE:g} credits). {_PER_MODEL} {_REFUND}"
CREATIVE_DIRECTOR_COST = (
    f"Each scene is billed as its own generation: scene_count (default {DEFAULT_SCENES}) × the image price, or in "
    f"video mode × the video price (credit per second × duration). {_PER_MODEL} {_REFUND}"
)
CHAT_COST = (
    "Per token, at the model's input_token_rate and output_token_rate per 1K tokens (kolbo_list_models type "
    "'chat'); the conversation's history counts as input. Settled when the answer is ready."
)

# --- the estimates ----------------------------------------------------------------------------------


def per_model_estimate(args: OperationInput) -> float | None:
    """Unknown: images, edits, video clips and Creative Director scenes cost what the model's catalogue entry says
    (per image, or per second of video), and the catalogue is upstream data the arguments do not carry (with no
    `model`, Smart Select even picks the model upstream)."""
    return None


def music_estimate(args: GenerateMusicInput) -> float | None:
    """The documented flat price of the named model; None for other models and when Kolbo picks one (its default
    music model has changed since the documentation named chirp-v4)."""
    return MUSIC_PRICES.get(args.model) if args.model is not None else None


def speech_estimate(args: GenerateSpeechInput) -> float | None:
    """ceil(characters / 100) × the model's documented price; None for a model the documentation does not price."""
    price = SPEECH_PRICES.get(args.model or SPEECH_DEFAULT_MODEL)
    return None if price is None else speech_credits(len(args.text), price)


def sound_estimate(args: GenerateSoundInput) -> float | None:
    """The flat price of Kolbo's sound model, whatever the duration."""
    return SOUND_PRICE


def chat_estimate(args: ChatInput) -> float | None:
    """Unknown: chat is billed per token, and neither the answer's length nor (in a continued session) the
    history's is known before the model answers."""
    return None


# --- prices as kolbo_list_models shows them -----------------------------------------------------------

_VIDEO_TYPES = frozenset(
    {
        "text_to_video",
        "img_to_video",
        "video_to_video",
        "elements",
        "firstlastgenerations",
        "lipsync-image",
        "lipsync-video",
    }
)


def describe_price(model: ModelInfo) -> str | None:
    """A catalogue entry's price in words (per token, per second, per 100 characters, per image or per run)."""
    if model.input_token_rate is not None or model.output_token_rate is not None:
        return f"{model.input_token_rate or 0:g} in / {model.output_token_rate or 0:g} out credits per 1K tokens"
    if model.credit is None:
        return None
    types = set(model.types)
    if types & _VIDEO_TYPES:
        return f"{model.credit:g} credits per second of video (× resolution multiplier)"
    if "text_to_speech" in types:
        return f"{model.credit:g} credits per started 100 characters"
    if types & {"text_to_img", "image_editing"}:
        return f"{model.credit:g} credits per image"
    return f"{model.credit:g} credits per generation"
