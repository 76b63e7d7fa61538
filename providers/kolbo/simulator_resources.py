"""Resource stores of the Kolbo simulator (model catalogue, Visual DNAs, moodboards) and its request parsing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from providers._sandbox.images import placeholder_png

__all__ = [
    "MODELS",
    "RESOLUTION_MULTIPLIERS",
    "SDK_TYPES",
    "JsonBody",
    "KolboError",
    "KolboModel",
    "Moodboard",
    "VisualDna",
    "VisualDnaUpload",
    "error_response",
    "find_model",
    "http_error_response",
    "invalid",
    "list_moodboards",
    "list_visual_dnas",
    "media_url",
    "missing_field",
    "models_matching",
    "read_json_body",
    "read_visual_dna_form",
    "seed_moodboards",
    "seed_visual_dnas",
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
SEED_CREATED_AT = "2026-01-15T09:00:00.000Z"
DNA_TYPES = frozenset({"character", "product", "style", "environment", "scene"})
MAX_DNA_IMAGES = 4
MAX_DNA_IMAGE_BYTES = 25 * 1024 * 1024
MAX_DNA_NAME = 100
MAX_LIST_LIMIT = 100
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


def media_url(base_url: str, item_id: str, index: int, extension: str) -> str:
    """Where the simulator serves file `index` of a generation, Visual DNA or moodboard."""
    return f"{base_url.rstrip('/')}/media/{item_id}/{index}.{extension}"


@dataclass
class VisualDna:
    """A Visual DNA: its reference images (bytes and content type) and analysis; owner None means global."""

    id: str
    name: str
    dna_type: str
    owner: str | None
    images: list[tuple[bytes, str]]
    created_at: str
    prompt_helper: str = ""
    description: str = ""
    system_prompt: str = ""

    @property
    def is_global(self) -> bool:
        """Whether Kolbo provides this DNA to everyone (such DNAs cannot be deleted)."""
        return self.owner is None

    def visible_to(self, key: str) -> bool:
        """Whether the API key may see and use it."""
        return self.owner is None or self.owner == key

    def image_extension(self, index: int) -> str:
        """The file extension of reference image `index`."""
        return _EXTENSIONS[self.images[index][1]]

    def to_json(self, base_url: str, *, detail: bool = False) -> dict[str, Any]:
        """The DNA as the list (or, with detail, the get) endpoint returns it."""
        images = [media_url(base_url, self.id, n, self.image_extension(n)) for n in range(len(self.images))]
        body: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "dna_type": self.dna_type,
            "description": self.description,
            "thumbnail_url": images[0] if images else None,
            "images": images,
            "is_global": self.is_global,
            "created_at": self.created_at,
        }
        if detail:
            body["system_prompt"] = self.system_prompt
            body["prompt_helper"] = self.prompt_helper
        return body


@dataclass
class Moodboard:
    """A moodboard (style template); presets are shared by everyone, personal ones belong to one key."""

    id: str
    name: str
    master_prompt: str
    style_guide: str
    scope: str
    owner: str | None = None
    image_count: int = 3
    created_at: str = SEED_CREATED_AT
    image_cache: dict[int, bytes] = field(default_factory=dict, repr=False)

    def visible_to(self, key: str) -> bool:
        """Whether the API key may see and use it."""
        return self.owner is None or self.owner == key

    def image(self, index: int) -> bytes:
        """Placeholder PNG `index` of the board (drawn on first use)."""
        if index not in self.image_cache:
            text = f"{self.name}: {self.master_prompt}"
            self.image_cache[index] = placeholder_png(text, width=256, height=256, label=f"SANDBOX moodboard {index}")
        return self.image_cache[index]

    def to_json(self, base_url: str, *, detail: bool = False) -> dict[str, Any]:
        """The moodboard as the list (or, with detail, the get) endpoint returns it."""
        images = [media_url(base_url, self.id, n, "png") for n in range(self.image_count)]
        body: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "master_prompt": self.master_prompt,
            "thumbnail_url": images[0] if images else None,
            "images": images,
            "scope": self.scope,
            "is_preset": self.scope == "preset",
        }
        if detail:
            body["style_guide"] = self.style_guide
            body["created_at"] = self.created_at
        return body


_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}


def seed_visual_dnas() -> dict[str, VisualDna]:
    """The global Visual DNAs every simulator starts with."""
    seeds = [
        ("64f1a0000000000000000001", "Kolbo Explorer", "character", "A friendly explorer in a teal jacket."),
        ("64f1a0000000000000000002", "Neo-Noir", "style", "High-contrast monochrome light, rain-slick streets."),
    ]
    dnas: dict[str, VisualDna] = {}
    for dna_id, name, dna_type, description in seeds:
        png = placeholder_png(description, width=256, height=256, label=f"SANDBOX visual DNA: {name}")
        dnas[dna_id] = VisualDna(
            id=dna_id,
            name=name,
            dna_type=dna_type,
            owner=None,
            images=[(png, "image/png")],
            created_at=SEED_CREATED_AT,
            description=description,
            system_prompt=f"Keep the {dna_type} consistent: {description}",
        )
    return dnas


def seed_moodboards() -> dict[str, Moodboard]:
    """The preset moodboards every simulator starts with."""
    boards = [
        Moodboard(
            "64f1b0000000000000000001",
            "Golden Hour Film",
            "warm golden-hour light, 35mm film grain, soft lens flare",
            "Low sun, amber highlights, lifted blacks; keep skin tones natural.",
            "preset",
        ),
        Moodboard(
            "64f1b0000000000000000002",
            "Minimal Product Studio",
            "seamless pastel backdrop, soft-box lighting, crisp contact shadows",
            "One hero object, generous negative space, no props.",
            "preset",
        ),
        Moodboard(
            "64f1b0000000000000000003",
            "Cyberpunk Night",
            "neon magenta and cyan, wet streets, volumetric haze",
            "Night only; reflections everywhere; saturated but not clipped.",
            "preset",
        ),
    ]
    return {board.id: board for board in boards}


# --- Visual DNA and moodboard endpoints ---------------------------------------------------------


@dataclass
class VisualDnaUpload:
    """The fields of a valid `POST /v1/visual-dna` multipart body."""

    name: str
    dna_type: str
    prompt_helper: str
    images: list[tuple[bytes, str]]


async def read_visual_dna_form(request: Request) -> VisualDnaUpload:
    """Parse and check a Visual DNA upload; snake_case (docs) and camelCase (MCP) field names are both accepted."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise invalid("Visual DNA must be created with a multipart/form-data body")
    try:
        async with request.form(max_files=16, max_fields=64) as form:
            fields = {name: value for name, value in form.multi_items() if isinstance(value, str)}
            name = (fields.get("name") or "").strip()
            if not name:
                raise missing_field("name")
            if len(name) > MAX_DNA_NAME:
                raise invalid(f"name must be at most {MAX_DNA_NAME} characters")
            dna_type = fields.get("dna_type") or fields.get("dnaType") or "character"
            if dna_type not in DNA_TYPES:
                raise invalid(f"dna_type must be one of {', '.join(sorted(DNA_TYPES))}")
            helper = fields.get("prompt_helper") or fields.get("promptHelper") or ""
            uploads = form.getlist("images")
            if not uploads:
                raise missing_field("images")
            if len(uploads) > MAX_DNA_IMAGES:
                raise invalid(f"At most {MAX_DNA_IMAGES} images are allowed")
            images = []
            for upload in uploads:
                if not isinstance(upload, UploadFile):
                    raise invalid("images must be file uploads")
                images.append(_sniff_image(await upload.read(MAX_DNA_IMAGE_BYTES + 1)))
    except HTTPException as exc:  # raised by Starlette's multipart parser
        raise invalid(f"Invalid multipart body: {exc.detail}") from exc
    return VisualDnaUpload(name, dna_type, helper, images)


def list_visual_dnas(dnas: Iterable[VisualDna], key: str, query: Mapping[str, str], base_url: str) -> dict[str, Any]:
    """The `GET /v1/visual-dna` body: the key's own DNAs and the global ones, filtered and paged."""
    scope = query.get("scope") or None
    if scope not in (None, "personal", "global", "organization"):
        raise invalid("scope must be personal, global or organization")
    search = (query.get("search") or "").lower()
    page = _query_int(query.get("page"), 1, 1, 10**6)
    limit = _query_int(query.get("limit"), 50, 1, MAX_LIST_LIMIT)
    found = [
        dna
        for dna in dnas
        if dna.visible_to(key)
        and search in dna.name.lower()
        and scope != "organization"  # the sandbox has no organisations
        and (scope is None or (scope == "global") == dna.is_global)
    ]
    shown = found[(page - 1) * limit : page * limit]
    return {
        "success": True,
        "visual_dnas": [dna.to_json(base_url) for dna in shown],
        "count": len(shown),
        "total": len(found),
        "has_more": page * limit < len(found),
    }


def list_moodboards(boards: Iterable[Moodboard], key: str, scope: str | None, base_url: str) -> dict[str, Any]:
    """The `GET /v1/moodboards` body: personal boards and presets (no scope lists them all)."""
    # Presets are Kolbo's own boards, so "global" lists them too.
    wanted = {"personal": {"personal"}, "preset": {"preset"}, "global": {"preset"}, "organization": {"organization"}}
    if scope and scope not in wanted:
        raise invalid("scope must be personal, preset, global or organization")
    scopes = wanted[scope] if scope else {"personal", "preset", "organization"}
    shown = [board.to_json(base_url) for board in boards if board.visible_to(key) and board.scope in scopes]
    return {"success": True, "moodboards": shown, "count": len(shown)}


# --- errors and request parsing -----------------------------------------------------------------


class KolboError(Exception):
    """An error answered as `{success: false, error, code}` (or as `body`, for the odd 429 shape)."""

    def __init__(self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None) -> None:
        """Describe the error; `body` may be replaced before raising."""
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}
        self.body: dict[str, Any] = {"success": False, "error": message, "code": code}


def missing_field(name: str) -> KolboError:
    """A 400 MISSING_FIELDS error."""
    return KolboError(400, "MISSING_FIELDS", f"Missing required field: {name}")


def invalid(message: str) -> KolboError:
    """A 400 for a present but unacceptable value (the docs name no code for it)."""
    return KolboError(400, "VALIDATION_ERROR", message)


async def error_response(request: Request, exc: Exception) -> Response:
    """Starlette exception handler for KolboError."""
    assert isinstance(exc, KolboError)
    return JSONResponse(exc.body, exc.status, headers=exc.headers)


async def http_error_response(request: Request, exc: Exception) -> Response:
    """Starlette exception handler that answers unknown routes and methods in the Kolbo error shape."""
    assert isinstance(exc, HTTPException)
    code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, "HTTP_ERROR")
    body = {"success": False, "error": str(exc.detail), "code": code}
    return JSONResponse(body, exc.status_code, headers=exc.headers)


class JsonBody:
    """A JSON request body (and the key that sent it) with typed accessors that raise 400 errors."""

    def __init__(self, data: dict[str, Any], key: str) -> None:
        """Wrap an already decoded JSON object."""
        self.data, self.key = data, key

    def text(self, name: str) -> str | None:
        """An optional string field."""
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise invalid(f"{name} must be a string")
        return value

    def required_text(self, name: str) -> str:
        """A string field that must be present and not blank (else MISSING_FIELDS)."""
        value = self.text(name)
        if value is None or not value.strip():
            raise missing_field(name)
        return value

    def flag(self, name: str, default: bool) -> bool:
        """An optional boolean field."""
        value = self.data.get(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise invalid(f"{name} must be true or false")
        return value

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        """An optional integer field within [low, high]."""
        value = self.data.get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise invalid(f"{name} must be an integer from {low} to {high}")
        return value

    def number(self, name: str, low: float, high: float) -> float | None:
        """An optional number field greater than low and at most high."""
        value = self.data.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not low < value <= high:
            raise invalid(f"{name} must be a number greater than {low:g} and at most {high:g}")
        return float(value)

    def strings(self, name: str, max_items: int) -> list[str]:
        """An optional array of non-empty strings with at most max_items items."""
        value = self.data.get(name)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
            raise invalid(f"{name} must be an array of strings")
        if len(value) > max_items:
            raise invalid(f"{name} accepts at most {max_items} items")
        return list(value)

    def urls(self, name: str, max_items: int) -> list[str]:
        """An optional array of http(s) or data:image URLs."""
        values = self.strings(name, max_items)
        for value in values:
            _check_url(name, value)
        return values

    def url(self, name: str) -> str:
        """A required http(s) or data:image URL."""
        value = self.required_text(name)
        _check_url(name, value)
        return value


async def read_json_body(request: Request, key: str) -> JsonBody:
    """Decode the request body, which must be a JSON object."""
    try:
        data = await request.json()
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
        raise invalid("Request body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise invalid("Request body must be a JSON object")
    return JsonBody(data, key)


def _check_url(name: str, value: str) -> None:
    if value.startswith("data:image/"):
        return
    try:
        url = urlsplit(value)
    except ValueError as exc:
        raise invalid(f"{name} must contain http(s) URLs") from exc
    if url.scheme not in ("http", "https") or not url.hostname:
        raise invalid(f"{name} must contain http(s) URLs")


def _sniff_image(data: bytes) -> tuple[bytes, str]:
    if len(data) > MAX_DNA_IMAGE_BYTES:
        raise invalid("Each image must be at most 25 MB")
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return data, "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return data, "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return data, "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return data, "image/gif"
    raise invalid("images must be PNG, JPEG, WebP or GIF files")


def _query_int(value: str | None, default: int, low: int, high: int) -> int:
    if not value:
        return default
    try:
        number = int(value)
    except ValueError as exc:
        raise invalid("page and limit must be integers") from exc
    return max(low, min(high, number))
