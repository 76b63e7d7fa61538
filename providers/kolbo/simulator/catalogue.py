"""The simulator's model catalogue (`GET /v1/models`): identifiers, types, prices and limits, Smart Select, and
how a request's `model` is resolved against it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from providers.kolbo.simulator.http import JsonBody, KolboError

__all__ = [
    "MODELS",
    "RESOLUTION_MULTIPLIERS",
    "SDK_TYPES",
    "KolboModel",
    "find_model",
    "models_matching",
    "resolve_model",
    "smart_select",
]

# SDK type (what the generate endpoints and `GET /v1/models?type=` speak) → the raw model type in `types[]`.
SDK_TYPES: dict[str, str] = {
    "image": "text_to_img",
    "image_edit": "image_editing",
    "video": "text_to_video",
    "video_from_image": "img_to_video",
    "music": "music_gen",
    "speech": "text_to_speech",
    "sound": "text_to_sound",
    "chat": "text",
}
# Video credit multipliers relative to 720p (PROVIDERS.md §4.6); "4k" is accepted as an alias of 2160p.
RESOLUTION_MULTIPLIERS: dict[str, float] = {"480p": 0.44, "720p": 1.0, "1080p": 2.25, "2160p": 4.95}
_SQUARE_AND_WIDE = ("1:1", "16:9", "9:16", "4:3", "3:4")
_MANY_RATIOS = ("1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3", "4:5", "5:4", "21:9")


@dataclass(frozen=True)
class KolboModel:
    """One entry of `GET /v1/models`; `credit` is per generation, per second for video, per 100 chars for speech."""

    identifier: str
    name: str
    provider: str
    types: tuple[str, ...]
    credit: float
    summary: str = ""
    supported_aspect_ratios: tuple[str, ...] | None = None
    supported_durations: tuple[int, ...] | None = None
    supported_resolutions: tuple[str, ...] | None = None
    max_reference_images: int | None = None
    max_visual_dna: int | None = None
    recommended: bool = False
    new_model: bool = False
    outputs: int = 1
    input_token_rate: float | None = None
    output_token_rate: float | None = None

    def supports(self, sdk_type: str) -> bool:
        """Whether the model can serve an SDK type such as "image" or "video_from_image"."""
        return SDK_TYPES[sdk_type] in self.types

    def to_json(self) -> dict[str, Any]:
        """The model as `GET /v1/models` lists it."""
        body: dict[str, Any] = {
            "identifier": self.identifier,
            "name": self.name,
            "provider": self.provider,
            "types": list(self.types),
            "credit": self.credit,
            "summary": self.summary,
            "supported_aspect_ratios": _list_or_none(self.supported_aspect_ratios),
            "supported_durations": _list_or_none(self.supported_durations),
            "supported_resolutions": _list_or_none(self.supported_resolutions),
            "max_reference_images": self.max_reference_images,
            "supports_visual_dna": bool(self.max_visual_dna),
            "max_visual_dna": self.max_visual_dna,
            "recommended": self.recommended,
            "new_model": self.new_model,
            "avatar": None,
        }
        if self.supported_resolutions:
            body["resolution_multipliers"] = {r: RESOLUTION_MULTIPLIERS[r] for r in self.supported_resolutions}
        if self.input_token_rate is not None:
            body["input_token_rate"] = self.input_token_rate
            body["output_token_rate"] = self.output_token_rate
        return body


def _list_or_none(values: tuple[Any, ...] | None) -> list[Any] | None:
    return None if values is None else list(values)


MODELS: tuple[KolboModel, ...] = (
    KolboModel(
        "fal-ai/flux/schnell", "Flux Schnell", "fal", ("text_to_img",), 2,
        summary="Fast, cheap text-to-image drafts.", supported_aspect_ratios=_SQUARE_AND_WIDE,
        max_reference_images=8, max_visual_dna=3, recommended=True,
    ),
    KolboModel(
        "kie-nano-banana", "Nano Banana", "kie", ("text_to_img", "image_editing"), 4,
        summary="Prompt-faithful generation and editing with strong identity consistency.",
        supported_aspect_ratios=_MANY_RATIOS, max_reference_images=8, max_visual_dna=3, recommended=True,
    ),
    KolboModel(
        "gpt-image-1", "GPT Image 1", "openai", ("text_to_img", "image_editing"), 10,
        summary="Precise text rendering and instruction following.", supported_aspect_ratios=("1:1", "3:2", "2:3"),
        max_reference_images=4, max_visual_dna=2,
    ),
    KolboModel(
        "fal-ai/flux-pro/kontext", "Flux Kontext Pro", "fal", ("image_editing",), 5,
        summary="Local edits that keep the rest of the picture intact.", supported_aspect_ratios=_SQUARE_AND_WIDE,
        max_reference_images=4, max_visual_dna=1,
    ),
    KolboModel(
        "seedance-1-pro", "Seedance 1.0 Pro", "fal", ("text_to_video", "img_to_video"), 5,
        summary="Smooth motion at a moderate price.", supported_aspect_ratios=_SQUARE_AND_WIDE,
        supported_durations=(5, 10), supported_resolutions=("480p", "720p", "1080p"), max_reference_images=1,
        max_visual_dna=3, recommended=True,
    ),
    KolboModel(
        "kling-2.1-master", "Kling 2.1 Master", "kie", ("text_to_video", "img_to_video"), 8,
        summary="Cinematic camera moves.", supported_aspect_ratios=("16:9", "9:16", "1:1"),
        supported_durations=(5, 10), supported_resolutions=("720p", "1080p"), max_reference_images=1,
        max_visual_dna=3,
    ),
    KolboModel(
        "veo-3-fast", "Veo 3 Fast", "google", ("text_to_video", "img_to_video"), 15,
        summary="Video with native sound.", supported_aspect_ratios=("16:9", "9:16"), supported_durations=(8,),
        supported_resolutions=("720p", "1080p", "2160p"), max_reference_images=1, max_visual_dna=3, new_model=True,
    ),
    KolboModel("chirp-v4", "Suno v4", "suno", ("music_gen",), 10, summary="Songs with vocals.", outputs=2),
    KolboModel(
        "suno-v5", "Suno v5", "suno", ("music_gen",), 12, summary="Latest Suno; two variations per request.",
        recommended=True, new_model=True, outputs=2,
    ),
    KolboModel("elevenlabs-music-v1", "Eleven Music", "elevenlabs", ("music_gen",), 15, summary="Studio-grade music."),
    KolboModel(
        "eleven_v3", "Eleven v3", "elevenlabs", ("text_to_speech",), 2, summary="Expressive speech.", recommended=True
    ),
    KolboModel("eleven_multilingual_v2", "Eleven Multilingual v2", "elevenlabs", ("text_to_speech",), 1),
    KolboModel(
        "elevenlabs-sound-effects-v1", "ElevenLabs Sound Effects", "elevenlabs", ("text_to_sound",), 5,
        summary="Sound effects from a description.", recommended=True,
    ),
    KolboModel(
        "gpt-4o", "GPT-4o", "openai", ("text",), 1, summary="General-purpose chat with vision.", recommended=True,
        input_token_rate=0.5, output_token_rate=1.5,
    ),
    KolboModel(
        "claude-sonnet-4", "Claude Sonnet 4", "anthropic", ("text",), 1, summary="Careful long-form reasoning.",
        input_token_rate=0.6, output_token_rate=3.0,
    ),
    KolboModel(
        "gemini-2.5-flash", "Gemini 2.5 Flash", "google", ("text",), 1, summary="Fast, cheap chat.",
        input_token_rate=0.1, output_token_rate=0.4,
    ),
)  # fmt: skip
_MODELS_BY_ID = {model.identifier: model for model in MODELS}


def find_model(identifier: str) -> KolboModel | None:
    """The catalogue entry with this identifier, if any."""
    return _MODELS_BY_ID.get(identifier)


def smart_select(sdk_type: str) -> KolboModel:
    """The model Smart Select picks when a request omits `model`: the first recommended one for the type."""
    candidates = [model for model in MODELS if model.supports(sdk_type)]
    return next((model for model in candidates if model.recommended), candidates[0])


def models_matching(model_type: str | None, provider: str | None) -> list[KolboModel]:
    """Models filtered by an SDK or raw type and by provider (case-insensitive); unknown filters match nothing."""
    raw_type = SDK_TYPES.get(model_type, model_type) if model_type else None
    return [
        model
        for model in MODELS
        if (raw_type is None or raw_type in model.types)
        and (not provider or model.provider.lower() == provider.strip().lower())
    ]


def resolve_model(
    body: JsonBody, sdk_type: str, *, default: str | None = None, not_found: str = "MODEL_NOT_FOUND"
) -> tuple[str, KolboModel]:
    """The model label to report and the catalogue entry; omitted or "auto" means the default or Smart Select."""
    requested = body.text("model")
    if not requested or requested == "auto":
        if default is not None:
            model = find_model(default)
            assert model is not None
            return default, model
        return "auto", smart_select(sdk_type)
    model = find_model(requested)
    if model is None:
        raise KolboError(400, not_found, "Model not found")
    if not model.supports(sdk_type):
        raise KolboError(400, "INVALID_MODEL", f"Model {requested} does not support {sdk_type} generation")
    return requested, model
