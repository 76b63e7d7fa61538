"""The simulator's Visual DNAs and moodboards: the stores (with the global presets every simulator starts with), the
multipart Visual DNA upload, and the list answers with their filters and paging."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request

from providers._sandbox.images import placeholder_png
from providers.kolbo.simulator.http import invalid, media_url, missing_field

__all__ = [
    "Moodboard",
    "VisualDna",
    "VisualDnaUpload",
    "list_moodboards",
    "list_visual_dnas",
    "read_visual_dna_form",
    "seed_moodboards",
    "seed_visual_dnas",
]

SEED_CREATED_AT = "2026-01-15T09:00:00.000Z"
DNA_TYPES = frozenset({"character", "product", "style", "environment", "scene"})
MAX_DNA_IMAGES = 4
MAX_DNA_IMAGE_BYTES = 25 * 1024 * 1024
MAX_DNA_NAME = 100
MAX_LIST_LIMIT = 100


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
