"""Local simulator of the Masko REST API (https://api.masko.ai/v1)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import math
import re
import secrets
import struct
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

import anyio
from PIL import Image, ImageChops
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from providers._sandbox.faults import Faults, RequestLog, SimulatorMiddleware
from providers._sandbox.images import placeholder_png
from providers.masko import simulator_canvas as canvases

__all__ = [
    "MaskoAccount",
    "MaskoAsset",
    "MaskoCollection",
    "MaskoItem",
    "MaskoJob",
    "MaskoProject",
    "MaskoSimulator",
]

COST_IMAGE = 1
COST_EDIT = 1
COST_LOGO = 5
COST_PER_SECOND = 5
COST_REFERENCE = 1
COST_PREVIEW = 1
MIN_DURATION, MAX_DURATION, DEFAULT_DURATION = 3, 10, 4
ANIMATION_SIZES = (720, 480, 360, 240)
MAX_BATCH = 10
MAX_REFERENCES = 6
MAX_PREVIEWS = 4
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
LOGO_BLOCKED_PLANS = frozenset({"free", "starter"})
DOCUMENTED_RATE_LIMIT = 60
RATE_WINDOW = 60.0
WAIT_STEP = 0.5
PAGE_LIMIT, MAX_PAGE_LIMIT = 50, 100
PREVIEW_TTL = 3600.0
FAILED_MESSAGE = "Generation failed. Your credits have been refunded."

GENERATION_TYPES = ("image", "animation", "edit", "logo")
JOB_STATUSES = ("pending", "processing", "completed", "failed")
IMAGE_ASSETS = ("image", "transparent_image")
VIDEO_ASSETS = ("video", "webm", "hevc")
SIZE_VARIANT_ASSETS = ("webm", "hevc", "stacked_video")
EXTENSIONS = {
    "image": "png",
    "transparent_image": "png",
    "video": "mp4",
    "webm": "webm",
    "hevc": "mov",
    "stacked_video": "mp4",
}
CONTENT_TYPES = {"png": "image/png", "mp4": "video/mp4", "webm": "video/webm", "mov": "video/quicktime"}
# Job `type` as the newer jobs page names it, and as the older one (and the generate request) names it.
NEW_JOB_TYPES = {
    "image": "item_generation",
    "edit": "item_generation",
    "logo": "logo",
    "animation": "animation",
    "reverse": "reverse",
    "reference": "image_generation",
}
OLD_JOB_TYPES = {**{kind: kind for kind in GENERATION_TYPES}, "reverse": "animation", "reference": "image"}
ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    402: "insufficient_credits",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    429: "rate_limited",
    500: "internal_error",
}
STYLES = (
    ("3d-render", "3D Render"),
    ("pixel-art", "Pixel Art"),
    ("flat-vector", "Flat Vector"),
    ("cartoon", "Cartoon"),
    ("anime", "Anime"),
    ("watercolor", "Watercolor"),
    ("clay", "Clay"),
    ("line-art", "Line Art"),
    ("chibi", "Chibi"),
    ("low-poly", "Low Poly"),
)
STYLE_ALIASES = {"3d": "3d-render", "pixel": "pixel-art", "flat": "flat-vector", "vector": "flat-vector"}
ACTIONS = tuple(
    [
        "Wave Hello",
        "Thumbs Up",
        "Thinking",
        "Celebrate",
        "Point Right",
        "Sleeping",
        "Running",
        "Confused",
        "Dancing",
        "Reading",
        "Coffee Break",
        "Surprised",
        "Laughing",
        "High Five",
        "Typing",
        "Jumping",
        "Shrug",
        "Peace Sign",
        "Facepalm",
        "Cheering",
    ]
)
INDUSTRIES = ("Developer Tools", "E-commerce", "Education", "Finance", "Health", "Gaming", "Travel", "Media")
CHARACTERS = ("robot", "fox", "owl", "cat", "panda", "octopus", "dragon", "penguin")
MASCOT_NAMES = ("Codey", "Buildy", "Sparky", "Nova", "Bolt", "Ziggy", "Milo", "Pixel")


@dataclass
class MaskoAccount:
    """One API key's workspace: plan and its two credit balances."""

    plan: str = "pro"
    subscription_credits: int = 500
    topup_credits: int = 500

    @property
    def total(self) -> int:
        """Credits available right now."""
        return self.subscription_credits + self.topup_credits


@dataclass
class MaskoProject:
    """A project grouping collections."""

    id: str
    key: str
    name: str
    created: float


@dataclass
class MaskoCollection:
    """A collection (= one mascot character)."""

    id: str
    key: str
    project_id: str
    name: str
    prompt: str
    style: str | None
    slug: str
    user_prefix: str
    created: float
    updated: float
    reference_asset_ids: list[str] = field(default_factory=list)
    reference_image_urls: list[str] = field(default_factory=list)
    animation_sizes: list[int] = field(default_factory=lambda: list(ANIMATION_SIZES))
    cdn_enabled: bool = True
    style_card: dict[str, Any] | None = None
    caution_list: list[str] = field(default_factory=list)


@dataclass
class MaskoItem:
    """A pose or action of a mascot; every generation on it adds assets."""

    id: str
    collection_id: str
    name: str
    slug: str
    type: str
    prompt: str
    created: float
    asset_ids: list[str] = field(default_factory=list)


@dataclass
class MaskoAsset:
    """One file: generated (served on the CDN path) or uploaded."""

    id: str
    key: str
    type: str
    created: float
    collection_id: str | None = None
    item_id: str | None = None
    job_id: str | None = None
    path: str | None = None
    size: int | None = None
    data: bytes | None = None
    source_url: str | None = None


@dataclass
class MaskoJob:
    """One generation job; its status follows from the clock."""

    id: str
    key: str
    kind: str
    collection_id: str
    item_id: str | None
    prompt: str
    cost: int
    created: float
    processing_at: float
    ready_at: float
    fails: bool
    duration: int | None = None
    loop: bool | None = None
    sizes: list[int] = field(default_factory=list)
    asset_ids: dict[str, str] = field(default_factory=dict)
    variant_ids: dict[str, str] = field(default_factory=dict)
    charged: tuple[int, int] = (0, 0)
    refunded: bool = False
    reverse_of: str | None = None
    reverse_job_id: str | None = None

    def status_at(self, now: float) -> str:
        """pending, processing, completed or failed at time now."""
        if now < self.processing_at:
            return "pending"
        if now < self.ready_at:
            return "processing"
        return "failed" if self.fails else "completed"

    def changed_at(self, now: float) -> float:
        """When the status last changed."""
        if now >= self.ready_at:
            return self.ready_at
        return self.processing_at if now >= self.processing_at else self.created


class _Owned(Protocol):
    key: str


_T = TypeVar("_T")
_O = TypeVar("_O", bound=_Owned)


class _ApiError(Exception):
    def __init__(self, status: int, message: str, *, headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, ERROR_CODES[status], message, extra
        self.headers = headers or {}


@dataclass(frozen=True)
class _Caller:
    key: str
    account: MaskoAccount


@dataclass
class _Plan:
    """A validated generate request, not yet charged."""

    kind: str
    item: MaskoItem | None
    item_name: str
    item_type: str
    prompt: str
    cost: int
    asset_types: tuple[str, ...]
    fails: bool
    duration: int | None = None
    loop: bool | None = None
    sizes: list[int] = field(default_factory=list)
    reverse_name: str | None = None


_Handler = Callable[[Request, _Caller], Awaitable[Response]]


class MaskoSimulator:
    """A Starlette app that behaves like the Masko API, with inspectable state."""

    def __init__(
        self,
        *,
        accounts: dict[str, MaskoAccount] | None = None,
        job_seconds: float = 8.0,
        now: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        public_url: str = "http://127.0.0.1",
        envelope: bool = True,
        wait_timeout: float = 120.0,
        rate_limit: int | None = None,
    ) -> None:
        """Create the simulator; accounts default to {"masko_sandbox": MaskoAccount()}."""
        self.accounts = accounts if accounts is not None else {"masko_sandbox": MaskoAccount()}
        self.job_seconds = job_seconds
        self.now = now
        self.sleep = sleep
        self.public_url = public_url
        self.envelope = envelope
        self.wait_timeout = wait_timeout
        self.rate_limit = rate_limit
        self.projects: dict[str, MaskoProject] = {}
        self.collections: dict[str, MaskoCollection] = {}
        self.items: dict[str, MaskoItem] = {}
        self.assets: dict[str, MaskoAsset] = {}
        self.jobs: dict[str, MaskoJob] = {}
        self.canvases: dict[str, canvases.Canvas] = {}
        self.requests = RequestLog()
        self.faults = Faults()
        self._epoch = time.time() - now()
        self._cdn_paths: dict[str, str] = {}
        self._files: dict[str, bytes] = {}
        self._previews: dict[str, tuple[str, float]] = {f"style-{sid}.png": (name, math.inf) for sid, name in STYLES}
        self._windows: dict[str, tuple[float, int]] = {}
        canvas = "/v1/collections/{collection_id}/canvases/{canvas_id}"
        api: list[tuple[str, str, _Handler]] = [
            ("POST", "/v1/projects", self._create_project),
            ("GET", "/v1/projects", self._list_projects),
            ("POST", "/v1/collections", self._create_collection),
            ("GET", "/v1/collections", self._list_collections),
            ("GET", "/v1/collections/{collection_id}", self._get_collection),
            ("PATCH", "/v1/collections/{collection_id}/settings", self._update_settings),
            ("GET", "/v1/collections/{collection_id}/items", self._list_items),
            ("GET", "/v1/collections/{collection_id}/urls", self._collection_urls),
            ("POST", "/v1/collections/{collection_id}/generate", self._generate),
            ("POST", "/v1/collections/{collection_id}/generate-batch", self._generate_batch),
            ("POST", "/v1/collections/{collection_id}/suggest-actions", self._suggest_actions),
            ("POST", "/v1/collections/{collection_id}/canvases", self._create_canvas),
            ("GET", canvas, self._get_canvas),
            ("POST", canvas + "/from-template", self._canvas_from_template),
            ("POST", canvas + "/generate-all", self._canvas_generate_all),
            ("GET", canvas + "/status", self._canvas_status),
            ("GET", canvas + "/export", self._canvas_export),
            ("GET", "/v1/canvas-templates", self._list_templates),
            ("POST", "/v1/upload", self._upload),
            ("POST", "/v1/analyze-url", self._analyze_url),
            ("GET", "/v1/styles", self._styles),
            ("POST", "/v1/generate/preview", self._preview),
            ("GET", "/v1/jobs", self._list_jobs),
            ("GET", "/v1/jobs/{job_id}", self._get_job),
            ("GET", "/v1/credits", self._credits),
        ]
        routes = [Route(path, self._api(handler), methods=[method]) for method, path, handler in api]
        routes.append(Route("/v1/previews/{name}", self._preview_file, methods=["GET"]))
        routes.append(Route("/cdn/{path:path}", self._cdn, methods=["GET"]))
        self.app = Starlette(
            routes=routes,
            middleware=[Middleware(SimulatorMiddleware, log=self.requests, faults=self.faults)],
            exception_handlers={HTTPException: self._http_error},
        )

    def error_body(self, status: int, message: str, **extra: Any) -> dict[str, Any]:
        """An error body in the current envelope mode (handy for `faults.add(..., body=...)`)."""
        if self.envelope:
            return {"error": {"code": ERROR_CODES.get(status, "internal_error"), "message": message, **extra}}
        return {"error": message, **extra}

    # --- projects and collections ---------------------------------------------------------------

    async def _create_project(self, request: Request, caller: _Caller) -> Response:
        body = await _json_object(request)
        project = MaskoProject(_new_id(), caller.key, _req_str(body, "name"), self.now())
        self.projects[project.id] = project
        return self._reply(self._project_new(project), self._project_old(project), status=201)

    async def _list_projects(self, request: Request, caller: _Caller) -> Response:
        rows = [p for p in self.projects.values() if p.key == caller.key]
        return self._list(request, rows, self._project_new, self._project_old, "projects")

    async def _create_collection(self, request: Request, caller: _Caller) -> Response:
        body = await _json_object(request)
        project = self._owned(self.projects, _req_str(body, "project_id"), caller, "Project")
        # `prompt` (from-text docs) and `description` (quickstart) both carry the character description.
        prompt = _opt_str(body, "prompt") or _opt_str(body, "description")
        style = self._style(_opt_str(body, "style"))
        ref_ids = _str_list(body, "reference_asset_ids")
        ref_urls = _str_list(body, "reference_image_urls")
        for asset_id in ref_ids:
            self._image_asset(caller, asset_id, "reference_asset_ids")
        for url in ref_urls:
            _http_host(url, "reference_image_urls")
        if len(ref_ids) + len(ref_urls) > MAX_REFERENCES:
            raise _ApiError(400, f"A collection holds at most {MAX_REFERENCES} reference images")
        sizes = _sizes(body.get("animation_sizes"), "animation_sizes", list(ANIMATION_SIZES))
        direct = not (ref_ids or ref_urls)
        if direct and not prompt:
            raise _ApiError(400, "prompt (or description) is required when no reference images are given")
        if direct:
            self._check_funds(caller.account, COST_REFERENCE)
        name = _opt_str(body, "name") or (_title(prompt) if prompt else "Mascot")
        now = self.now()
        collection = MaskoCollection(
            id=_new_id(),
            key=caller.key,
            project_id=project.id,
            name=name,
            prompt=prompt or f"The character shown in the reference images of {name}",
            style=style,
            slug=self._unique_slug(name),
            user_prefix=hashlib.sha256(caller.key.encode()).hexdigest()[:6],
            created=now,
            updated=now,
            reference_asset_ids=ref_ids,
            reference_image_urls=ref_urls,
            animation_sizes=sizes,
            cdn_enabled=_opt_bool(body, "cdn_enabled", True),
        )
        self.collections[collection.id] = collection
        reference_job = None
        if direct:
            fails = "[fail]" in collection.prompt
            plan = _Plan("reference", None, "Reference", "", collection.prompt, COST_REFERENCE, ("image",), fails)
            reference_job = self._start_job(caller, collection, plan)
            collection.reference_asset_ids.append(reference_job.asset_ids["image"])
        created = {"reference_job_id": reference_job.id if reference_job else None}
        old = self._collection_old(collection)
        summary: dict[str, Any] = {"id": collection.id, "name": name, "prompt": collection.prompt}
        summary |= {"cdn_enabled": collection.cdn_enabled, "created_at": old["created_at"]}
        # Quickstart reads `collection.id` from the body, from-text reads `{ collection }`: serve both.
        bare = {**old, **summary, **created, "collection": summary}
        return self._reply({**self._collection_new(collection), **created}, bare, status=201)

    async def _list_collections(self, request: Request, caller: _Caller) -> Response:
        project_id = request.query_params.get("project_id")
        rows = [
            c
            for c in self.collections.values()
            if c.key == caller.key and (project_id is None or c.project_id == project_id)
        ]
        return self._list(request, rows, self._collection_new, self._collection_list_old, "collections")

    async def _get_collection(self, request: Request, caller: _Caller) -> Response:
        collection = self._collection(request, caller)
        return self._reply(self._collection_new(collection), self._collection_old(collection))

    async def _update_settings(self, request: Request, caller: _Caller) -> Response:
        collection = self._collection(request, caller)
        body = await _json_object(request)
        params = body.get("publish_params")
        if not isinstance(params, dict) or not isinstance(params.get("animation_sizes"), dict):
            raise _ApiError(400, "publish_params.animation_sizes must be an object")
        conf: dict[str, Any] = params["animation_sizes"]
        enabled = _opt_bool(conf, "enabled", True)
        sizes = _sizes(conf.get("sizes"), "sizes", list(collection.animation_sizes))
        collection.animation_sizes = sizes if enabled else []
        collection.updated = self.now()
        data = {"id": collection.id, "animation_sizes": {"enabled": enabled, "sizes": collection.animation_sizes}}
        return self._reply(data)

    async def _list_items(self, request: Request, caller: _Caller) -> Response:
        collection = self._collection(request, caller)
        rows = self._collection_items(collection)
        return self._list(request, rows, self._item_json, self._item_json, "items")

    async def _collection_urls(self, request: Request, caller: _Caller) -> Response:
        collection = self._collection(request, caller)
        items: list[dict[str, Any]] = []
        for item in self._collection_items(collection):
            entry: dict[str, Any] = {"name": item.name}
            animations: list[dict[str, str]] = []
            for job in self.jobs.values():
                if job.item_id != item.id:
                    continue
                urls = self._urls(job)
                entry.update({k: urls[k] for k in IMAGE_ASSETS if k in urls})
                if "webm" in urls:
                    animations.append(
                        {
                            "video": urls["video"],
                            "transparent_video_webm": urls["webm"],
                            "transparent_video_mov": urls["hevc"],
                        }
                    )
            if animations:
                entry["animations"] = animations
            items.append(entry)
        return self._reply({"collection": collection.name, "items": items})

    async def _suggest_actions(self, request: Request, caller: _Caller) -> Response:
        collection = self._collection(request, caller)
        existing = {item.name.casefold() for item in self._collection_items(collection)}
        start = int(hashlib.sha256(collection.id.encode()).hexdigest()[:8], 16) % len(ACTIONS)
        rotated = ACTIONS[start:] + ACTIONS[:start]
        suggestions = [action for action in rotated if action.casefold() not in existing][:8]
        return self._reply({"suggestions": suggestions})

    # --- uploads, styles, analysis, previews ----------------------------------------------------

    async def _upload(self, request: Request, caller: _Caller) -> Response:
        asset = MaskoAsset(_new_id(), caller.key, "image", self.now())
        if request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
            asset.data = await _multipart_image(request)
        else:
            body = await _json_object(request)
            asset.source_url = _req_str(body, "url")
            _http_host(asset.source_url, "url")
        self.assets[asset.id] = asset
        return self._reply({"asset_id": asset.id}, status=201)

    async def _styles(self, request: Request, caller: _Caller) -> Response:
        base = self.public_url.rstrip("/")
        styles = [
            {"id": sid, "name": name, "preview_url": f"{base}/v1/previews/style-{sid}.png"} for sid, name in STYLES
        ]
        return self._reply({"styles": styles})

    async def _analyze_url(self, request: Request, caller: _Caller) -> Response:
        body = await _json_object(request)
        url = _req_str(body, "url")
        host = _http_host(url if "://" in url else f"https://{url}", "url").removeprefix("www.")
        digest = hashlib.sha256(host.encode()).digest()
        brand = " ".join(part.capitalize() for part in re.split(r"[-_]", host.split(".")[0]) if part) or "Brand"
        colors = [f"#{digest[i]:02x}{digest[i + 1]:02x}{digest[i + 2]:02x}" for i in (0, 3, 6)]
        suggestions = [
            {
                "name": MASCOT_NAMES[(digest[10] + n) % len(MASCOT_NAMES)],
                "prompt": f"A friendly {CHARACTERS[(digest[11] + n) % len(CHARACTERS)]} mascot for {brand}, "
                f"in {colors[0]} and {colors[1]}",
                "style": STYLES[(digest[12] + n) % len(STYLES)][0],
            }
            for n in range(3)
        ]
        data = {"brand": {"name": brand, "colors": colors, "industry": INDUSTRIES[digest[9] % len(INDUSTRIES)]}}
        return self._reply({**data, "suggestions": suggestions})

    async def _preview(self, request: Request, caller: _Caller) -> Response:
        body = await _json_object(request)
        prompt = _req_str(body, "prompt")
        collection_id = _opt_str(body, "collection_id")
        if collection_id is not None:
            # Variant B (generation page): a prompt test inside a collection, documented as free.
            collection = self._owned(self.collections, collection_id, caller, "Collection")
            text, count, cost = f"{collection.name}: {prompt}", 1, 0
        else:
            # Variant A (from-text page): "costs 1 credit and gives you 4 options".
            style = self._style(_opt_str(body, "preset_id"))
            text, count, cost = f"{prompt} ({style or 'default style'})", _opt_int(body, "count", 4), COST_PREVIEW
            if not 1 <= count <= MAX_PREVIEWS:
                raise _ApiError(400, f"count must be between 1 and {MAX_PREVIEWS}")
        self._check_funds(caller.account, cost)
        _charge(caller.account, cost)
        base = self.public_url.rstrip("/")
        token = secrets.token_hex(8)
        images = []
        for n in range(count):
            self._previews[f"{token}_{n}.png"] = (f"{text} #{n + 1}", self.now() + PREVIEW_TTL)
            images.append({"url": f"{base}/v1/previews/{token}_{n}.png"})
        return self._reply({"images": images, "cost": cost})

    async def _preview_file(self, request: Request) -> Response:
        preview = self._previews.get(request.path_params["name"])
        if preview is None or self.now() >= preview[1]:
            return Response("Not Found", status_code=404, media_type="text/plain")
        return Response(
            placeholder_png(preview[0], width=256, height=256, label="MASKO PREVIEW"), media_type="image/png"
        )

    # --- generation -----------------------------------------------------------------------------

    async def _generate(self, request: Request, caller: _Caller) -> Response:
        collection = self._collection(request, caller)
        plan = self._plan(caller, collection, await _json_object(request))
        self._check_funds(caller.account, plan.cost)
        data = self._submitted(*self._commit(caller, collection, plan))
        return self._reply(data, {**data, "poll": data["poll_url"]}, status=202, top={"poll": data["poll_url"]})

    async def _generate_batch(self, request: Request, caller: _Caller) -> Response:
        collection = self._collection(request, caller)
        body = await _json_object(request)
        # /docs/generate/batch names the list `requests`, /docs/generation names it `items`: accept both.
        entries = body["requests"] if "requests" in body else body.get("items")
        if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
            raise _ApiError(400, "requests must be a non-empty array of generate requests")
        if len(entries) > MAX_BATCH:
            raise _ApiError(400, f"A batch holds at most {MAX_BATCH} requests, got {len(entries)}")
        plans = []
        for index, entry in enumerate(entries):
            try:
                plans.append(self._plan(caller, collection, entry))
            except _ApiError as exc:
                exc.message = f"requests[{index}]: {exc.message}"
                raise
        total = sum(plan.cost for plan in plans)
        self._check_funds(caller.account, total)
        jobs = [self._submitted(*self._commit(caller, collection, plan)) for plan in plans]
        return self._reply({"jobs": jobs, "total_cost": total}, status=202)

    def _plan(self, caller: _Caller, collection: MaskoCollection, body: dict[str, Any]) -> _Plan:
        kind = body.get("type")
        if kind not in GENERATION_TYPES:
            raise _ApiError(400, f"type must be one of {', '.join(GENERATION_TYPES)}")
        name = _opt_str(body, "name")
        prompt, image_prompt, animation_prompt, edit_instructions, logo_description = (
            _opt_str(body, key)
            for key in ("prompt", "image_prompt", "animation_prompt", "edit_instructions", "logo_description")
        )
        for key in ("logo_style_name", "logo_style_instruction", "reverse_name"):
            _opt_str(body, key)  # type-checked only
        duration = _duration(body)
        loop = _opt_bool(body, "loop", True)
        auto_reverse = _opt_bool(body, "auto_reverse", False)
        sizes = [s for s in _sizes(body.get("sizes"), "sizes", []) if s in collection.animation_sizes]
        item = self._collection_item(collection, _opt_str(body, "item_id"))
        source = self._image_asset(caller, _opt_str(body, "source_image_asset_id"), "source_image_asset_id")
        end = self._image_asset(caller, _opt_str(body, "end_image_asset_id"), "end_image_asset_id")
        texts = (prompt, image_prompt, animation_prompt, edit_instructions, logo_description)
        fails = any(text is not None and "[fail]" in text for text in texts)
        if end is not None and kind != "animation":
            raise _ApiError(400, "end_image_asset_id is only used by animations (transitions)")
        if auto_reverse and end is None:
            raise _ApiError(400, "auto_reverse needs end_image_asset_id: it reverses a transition")

        if kind in ("image", "logo"):
            if kind == "logo" and caller.account.plan.lower() in LOGO_BLOCKED_PLANS:
                raise _ApiError(403, "Logo generation requires a Pro plan or higher")
            text = (image_prompt or prompt) if kind == "image" else (logo_description or prompt or "logo")
            if not text:
                raise _ApiError(400, "image_prompt (or prompt) is required")
            label = name or (item.name if item else ("Logo" if kind == "logo" else _title(text)))
            cost = COST_IMAGE if kind == "image" else COST_LOGO
            return _Plan(kind, item, label, kind, text, cost, IMAGE_ASSETS, fails)
        if kind == "edit":
            instructions = edit_instructions or prompt
            if source is None and item is None:
                raise _ApiError(400, "edit needs source_image_asset_id or item_id")
            if not instructions:
                raise _ApiError(400, "edit_instructions is required")
            if source is None and item is not None:
                self._item_image(item)  # the item must have an image to edit
            if item is None and source is not None:  # editing an item's image adds to that item
                owner = self.items.get(source.item_id or "")
                item = owner if owner and owner.collection_id == collection.id else None
            label = name or (item.name if item else _title(instructions))
            return _Plan("edit", item, label, "image", instructions, COST_EDIT, IMAGE_ASSETS, fails)

        # Animations: from scratch (image + video), from an existing image, or a transition to an end image.
        plan = _Plan("animation", item, "", "animation", "", COST_PER_SECOND * duration, VIDEO_ASSETS, fails)
        plan.duration, plan.loop, plan.sizes = duration, loop, sizes
        if source is None and item is not None:
            source = self._item_image(item)
        if source is None:
            pose = image_prompt or prompt
            if not pose:
                raise _ApiError(400, "image_prompt (or prompt) is required to animate from scratch")
            plan.prompt, plan.item_name = animation_prompt or prompt or pose, name or _title(pose)
            plan.cost += COST_IMAGE
            plan.asset_types = IMAGE_ASSETS + VIDEO_ASSETS
            return plan
        plan.prompt = animation_prompt or prompt or "subtle idle motion"
        plan.item_name = name or (item.name if item else _title(plan.prompt))
        if end is not None:
            plan.loop = False  # transitions play once
            if auto_reverse:
                plan.reverse_name = _opt_str(body, "reverse_name") or _reverse_name(plan.item_name)
        return plan

    def _commit(self, caller: _Caller, collection: MaskoCollection, plan: _Plan) -> tuple[MaskoJob, MaskoJob | None]:
        """Create the plan's item (unless it reuses one), charge and start its job, and its reverse if asked."""
        item = plan.item or self._new_item(collection, plan.item_name, plan.item_type, plan.prompt)
        job = self._start_job(caller, collection, dataclasses.replace(plan, item=item))
        if plan.reverse_name is None:
            return job, None
        reverse_item = self._new_item(collection, plan.reverse_name, "animation", f"reverse of {plan.item_name}")
        reverse_plan = dataclasses.replace(
            plan,
            kind="reverse",
            item=reverse_item,
            item_name=reverse_item.name,
            prompt=f"{plan.prompt} (reversed)",
            cost=0,
            asset_types=VIDEO_ASSETS,
            reverse_name=None,
        )
        reverse = self._start_job(caller, collection, reverse_plan)
        reverse.reverse_of, job.reverse_job_id = job.id, reverse.id
        return job, reverse

    def _start_job(self, caller: _Caller, collection: MaskoCollection, plan: _Plan) -> MaskoJob:
        now = self.now()
        seconds = self.job_seconds * (2 if plan.kind in ("animation", "reverse") else 1)
        job = MaskoJob(
            id=_new_id(),
            key=caller.key,
            kind=plan.kind,
            collection_id=collection.id,
            item_id=plan.item.id if plan.item else None,
            prompt=plan.prompt,
            cost=plan.cost,
            created=now,
            processing_at=now + 0.1 * seconds,
            ready_at=now + seconds,
            fails=plan.fails,
            duration=plan.duration,
            loop=plan.loop,
            sizes=list(plan.sizes),
            charged=_charge(caller.account, plan.cost),
        )
        slug = plan.item.slug if plan.item else "reference"
        for asset_type in plan.asset_types:
            job.asset_ids[asset_type] = self._new_asset(caller, collection, job, asset_type, slug, None).id
        for size in plan.sizes:
            for asset_type in SIZE_VARIANT_ASSETS:
                job.variant_ids[f"{asset_type}_{size}"] = self._new_asset(
                    caller, collection, job, asset_type, slug, size
                ).id
        if plan.item is not None:
            plan.item.asset_ids.extend([*job.asset_ids.values(), *job.variant_ids.values()])
        if collection.style_card is None:  # extracted lazily on the first generation
            digest = hashlib.sha256(collection.prompt.encode()).hexdigest()
            colors = [f"#{digest[i : i + 6]}" for i in (0, 6, 12)]
            collection.style_card = {
                "palette": colors,
                "proportions": "chibi",
                "line_style": "clean",
                "shading": "soft",
            }
        collection.updated = now
        self.jobs[job.id] = job
        return job

    def _new_item(self, collection: MaskoCollection, name: str, item_type: str, prompt: str) -> MaskoItem:
        item = MaskoItem(_new_id(), collection.id, name, _slug(name, "item"), item_type, prompt, self.now())
        self.items[item.id] = item
        return item

    def _new_asset(
        self, caller: _Caller, collection: MaskoCollection, job: MaskoJob, asset_type: str, slug: str, size: int | None
    ) -> MaskoAsset:
        suffix = f"-{size}" if size else ""
        path = (
            f"{collection.user_prefix}/{collection.slug}/{slug}-{secrets.token_hex(4)}{suffix}.{EXTENSIONS[asset_type]}"
        )
        asset = MaskoAsset(
            _new_id(), caller.key, asset_type, self.now(), collection.id, job.item_id, job.id, path, size
        )
        self.assets[asset.id] = asset
        self._cdn_paths[path] = asset.id
        return asset

    def _submitted(self, job: MaskoJob, reverse: MaskoJob | None = None) -> dict[str, Any]:
        item = self.items.get(job.item_id or "")
        data: dict[str, Any] = {
            "job_id": job.id,
            "status": job.status_at(self.now()),
            "type": OLD_JOB_TYPES[job.kind],
            "item_id": job.item_id,
            "item_name": item.name if item else None,
            "estimated_cost": job.cost,
            "asset_ids": dict(job.asset_ids),
            "urls": self._urls(job),
            "poll_url": f"/v1/jobs/{job.id}",
        }
        if reverse is not None:
            summary = self._submitted(reverse)
            data["reverse_job"] = {**summary, "cost": 0}
        return data

    # --- jobs and credits -----------------------------------------------------------------------

    async def _list_jobs(self, request: Request, caller: _Caller) -> Response:
        query = request.query_params
        status, collection_id, kind = query.get("status"), query.get("collection_id"), query.get("type")
        if status is not None and status not in JOB_STATUSES:
            raise _ApiError(400, f"status must be one of {', '.join(JOB_STATUSES)}")
        now = self.now()
        rows = [
            job
            for job in reversed(self.jobs.values())
            if job.key == caller.key
            and (status is None or job.status_at(now) == status)
            and (collection_id is None or job.collection_id == collection_id)
            and (kind is None or kind in (job.kind, NEW_JOB_TYPES[job.kind], OLD_JOB_TYPES[job.kind]))
        ]
        return self._list(request, rows, self._job_new, self._job_old, "jobs")

    async def _get_job(self, request: Request, caller: _Caller) -> Response:
        job = self._owned(self.jobs, request.path_params["job_id"], caller, "Job")
        if request.query_params.get("wait", "").lower() in ("true", "1", "yes"):
            limit = self.wait_timeout
            if "timeout" in request.query_params:
                limit = min(limit, _number(request.query_params["timeout"], "timeout"))
            start, waited = self.now(), 0.0
            # Counting slept time too keeps the hold finite even if the injected clock does not move.
            while job.status_at(self.now()) in ("pending", "processing") and waited < limit:
                if self.now() - start >= limit:
                    break
                step = min(WAIT_STEP, limit - waited)
                await self.sleep(step)
                waited += step
            self._settle()
        return self._reply(self._job_new(job), self._job_old(job))

    async def _credits(self, request: Request, caller: _Caller) -> Response:
        account = caller.account
        data = {"subscription": account.subscription_credits, "topup": account.topup_credits, "total": account.total}
        bare = {
            "subscription_credits": account.subscription_credits,
            "topup_credits": account.topup_credits,
            "total": account.total,
        }
        return self._reply(data, bare)

    def _job_new(self, job: MaskoJob) -> dict[str, Any]:
        now = self.now()
        status = job.status_at(now)
        item = self.items.get(job.item_id or "")
        data: dict[str, Any] = {
            "id": job.id,
            "status": status,
            "type": NEW_JOB_TYPES[job.kind],
            "collection_id": job.collection_id,
            "cost_credits": job.cost,
            "created_at": self._iso(job.created),
            "updated_at": self._iso(job.changed_at(now)),
            "item_id": job.item_id,
            "item_name": item.name if item else None,
            "asset_ids": dict(job.asset_ids),
            "urls": self._urls(job),
        }
        if job.sizes:
            data["size_variants"] = {"status": status, "sizes": job.sizes}
        if job.reverse_job_id is not None:
            data["reverse_job_id"] = job.reverse_job_id
        if status == "completed":
            data["completed_at"] = self._iso(job.ready_at)
        if status == "failed":
            data["error"] = {"code": "generation_failed", "message": FAILED_MESSAGE}
            data["credits_refunded"] = job.cost
        return data

    def _job_old(self, job: MaskoJob) -> dict[str, Any]:
        status = job.status_at(self.now())
        urls = self._urls(job)
        data: dict[str, Any] = {
            "id": job.id,
            "status": status,
            "type": OLD_JOB_TYPES[job.kind],
            "collection_id": job.collection_id,
            "created_at": self._iso(job.created),
            "completed_at": self._iso(job.ready_at) if status in ("completed", "failed") else None,
            "output_data": {"item_id": job.item_id, "duration": job.duration},
            "asset_ids": dict(job.asset_ids),
            "urls": urls,
            "assets": [{"type": asset_type, "url": url} for asset_type, url in urls.items()],
        }
        if status == "failed":
            data["error"] = FAILED_MESSAGE
        return data

    # --- canvases -------------------------------------------------------------------------------

    async def _list_templates(self, request: Request, caller: _Caller) -> Response:
        source = request.query_params.get("source", "builtin")
        if source not in ("builtin", "mine"):
            raise _ApiError(400, "source must be builtin or mine")
        rows = list(canvases.TEMPLATES.values()) if source == "builtin" else []
        return self._list(request, rows, canvases.template_json, canvases.template_json, "templates")

    async def _create_canvas(self, request: Request, caller: _Caller) -> Response:
        collection = self._collection(request, caller)
        body = await _json_object(request)
        template_id = _opt_str(body, "template_id")
        template = self._template(template_id) if template_id else None
        if template is not None:
            self._check_funds(caller.account, canvases.IMAGE_COST * len(template.nodes))
        now = self.now()
        canvas = canvases.Canvas(_new_id(), caller.key, collection.id, _opt_str(body, "name") or "Canvas", now, now)
        self.canvases[canvas.id] = canvas
        extra = self._apply_template(caller, collection, canvas, template) if template else {}
        data = {**canvases.canvas_json(canvas, self._job_status, self._iso), **extra}
        return self._reply(data, status=201)

    async def _canvas_from_template(self, request: Request, caller: _Caller) -> Response:
        collection, canvas = self._canvas(request, caller)
        template = self._template(_req_str(await _json_object(request), "template_id"))
        if canvas.nodes:
            raise _ApiError(400, "Canvas already has nodes; create a new canvas to apply a template")
        self._check_funds(caller.account, canvases.IMAGE_COST * len(template.nodes))
        data = self._apply_template(caller, collection, canvas, template)
        detail = canvases.canvas_json(canvas, self._job_status, self._iso)
        return self._reply(
            {"canvas_id": canvas.id, "nodes": detail["nodes"], "edges": detail["edges"], **data}, status=202
        )

    async def _canvas_generate_all(self, request: Request, caller: _Caller) -> Response:
        collection, canvas = self._canvas(request, caller)
        body = await _json_object(request, optional=True)
        targets, duration = _opt_str(body, "targets") or "all", _duration(body)
        skip_completed = _opt_bool(body, "skip_completed", True)
        try:
            plan = canvases.plan_generate_all(
                canvas, targets=targets, skip_completed=skip_completed, duration=duration, status=self._job_status
            )
        except ValueError as exc:
            raise _ApiError(400, str(exc)) from exc
        self._check_funds(caller.account, plan.actual_cost)
        jobs = [self._node_image(caller, collection, node) for node in plan.images]
        reverse_free = 0
        for edge, reverse in plan.animations:
            generate = canvases.animation_request(canvas, edge, reverse, duration)
            job, reverse_job = self._commit(caller, collection, self._plan(caller, collection, generate))
            edge.job_id, edge.duration = job.id, duration
            if reverse is not None and reverse_job is not None:
                reverse.job_id, reverse.duration = reverse_job.id, duration
                reverse_free += 1
            jobs.append(self._submitted(job, reverse_job))
        canvas.updated = self.now()
        summary = {
            "canvas_id": canvas.id,
            "generated": len(plan.images) + len(plan.animations) + reverse_free,
            "skipped": len(plan.skipped),
            "skipped_items": plan.skipped,
            "reverse_free": reverse_free,
            "already_complete": plan.already_complete,
            "estimated_cost": plan.estimated_cost,
            "actual_cost": plan.actual_cost,
            "duration": duration,
            "jobs": jobs,
        }
        return self._reply(summary, status=202)

    async def _canvas_status(self, request: Request, caller: _Caller) -> Response:
        _, canvas = self._canvas(request, caller)
        return self._reply(canvases.canvas_status(canvas, self._job_status))

    async def _get_canvas(self, request: Request, caller: _Caller) -> Response:
        _, canvas = self._canvas(request, caller)
        return self._reply(canvases.canvas_json(canvas, self._job_status, self._iso))

    async def _canvas_export(self, request: Request, caller: _Caller) -> Response:
        _, canvas = self._canvas(request, caller)

        def thumbnail(node: canvases.CanvasNode) -> str | None:
            return self._asset_url(node.transparent_asset_id) if node.transparent_asset_id else None

        def videos(edge: canvases.CanvasEdge) -> dict[str, str]:
            job = self.jobs.get(edge.job_id or "")
            return {k: self._asset_url(job.asset_ids[k]) for k in ("webm", "hevc") if job and k in job.asset_ids}

        return self._reply(canvases.export_config(canvas, thumbnail, videos))

    def _apply_template(
        self, caller: _Caller, collection: MaskoCollection, canvas: canvases.Canvas, template: canvases.Template
    ) -> dict[str, Any]:
        mapping = canvases.apply_template(canvas, template, _new_id)
        jobs = [self._node_image(caller, collection, node) for node in canvas.nodes]
        canvas.updated = self.now()
        return {"jobs": jobs, "node_mapping": mapping, "total_cost": canvases.IMAGE_COST * len(jobs)}

    def _node_image(self, caller: _Caller, collection: MaskoCollection, node: canvases.CanvasNode) -> dict[str, Any]:
        job, _ = self._commit(caller, collection, self._plan(caller, collection, canvases.image_request(node)))
        node.item_id, node.job_id = job.item_id, job.id
        node.image_asset_id, node.transparent_asset_id = job.asset_ids["image"], job.asset_ids["transparent_image"]
        return self._submitted(job)

    def _template(self, template_id: str) -> canvases.Template:
        template = canvases.TEMPLATES.get(template_id)
        if template is None:
            raise _ApiError(404, f"Template {template_id!r} not found")
        return template

    def _canvas(self, request: Request, caller: _Caller) -> tuple[MaskoCollection, canvases.Canvas]:
        collection = self._collection(request, caller)
        canvas = self.canvases.get(request.path_params["canvas_id"])
        if canvas is None or canvas.collection_id != collection.id:
            raise _ApiError(404, "Canvas not found")
        return collection, canvas

    def _job_status(self, job_id: str | None) -> str | None:
        job = self.jobs.get(job_id) if job_id else None
        return job.status_at(self.now()) if job else None

    # --- CDN ------------------------------------------------------------------------------------

    async def _cdn(self, request: Request) -> Response:
        asset = self.assets.get(self._cdn_paths.get(request.path_params["path"], ""))
        if asset is None or asset.path is None:
            return Response("Not Found", status_code=404, media_type="text/plain")
        job = self.jobs.get(asset.job_id or "")
        item = self.items.get(asset.item_id or "")
        name = item.name if item else "Reference"
        if job is not None and job.status_at(self.now()) != "completed":
            # The real CDN serves a branded "generating" image at the final URL until the file replaces it.
            image = placeholder_png(f"{name}: generating...", width=256, height=256, label="MASKO PLACEHOLDER")
            return Response(image, media_type="image/png", headers={"Cache-Control": "no-store"})
        extension = asset.path.rsplit(".", 1)[1]
        if asset.id not in self._files:
            self._files[asset.id] = _draw(asset.type, extension, job.prompt if job else name, name)
        return Response(self._files[asset.id], media_type=CONTENT_TYPES[extension])

    def _asset_url(self, asset_id: str) -> str:
        return f"{self.public_url.rstrip('/')}/cdn/{self.assets[asset_id].path}"

    def _urls(self, job: MaskoJob) -> dict[str, str]:
        collection = self.collections[job.collection_id]
        # Without the CDN there are no placeholders: URLs appear once the files exist.
        if not collection.cdn_enabled and job.status_at(self.now()) != "completed":
            return {}
        return {key: self._asset_url(asset_id) for key, asset_id in {**job.asset_ids, **job.variant_ids}.items()}

    # --- shared steps ---------------------------------------------------------------------------

    def _api(self, handler: _Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            self._settle()
            headers: dict[str, str] = {}
            try:
                caller = self._authenticate(request)
                headers = self._count_request(caller.key)
                response = await handler(request, caller)
            except _ApiError as exc:
                response = self._error_response(exc)
            response.headers.update(headers)
            return response

        return endpoint

    def _authenticate(self, request: Request) -> _Caller:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise _ApiError(401, "Missing or malformed Authorization header (expected: Bearer masko_...)")
        account = self.accounts.get(key)
        if account is None:
            raise _ApiError(401, "Invalid API key")
        return _Caller(key, account)

    def _count_request(self, key: str) -> dict[str, str]:
        if self.rate_limit is None:
            return {"X-RateLimit-Remaining": str(DOCUMENTED_RATE_LIMIT), "X-RateLimit-Reset": str(int(RATE_WINDOW))}
        now = self.now()
        start, count = self._windows.get(key, (now, 0))
        if now >= start + RATE_WINDOW:
            start, count = now, 0
        reset = str(max(1, math.ceil(start + RATE_WINDOW - now)))
        if count >= self.rate_limit:
            headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset, "Retry-After": reset}
            raise _ApiError(429, f"Rate limit exceeded; retry in {reset} s", headers=headers, retry_after=int(reset))
        self._windows[key] = (start, count + 1)
        return {"X-RateLimit-Remaining": str(self.rate_limit - count - 1), "X-RateLimit-Reset": reset}

    def _settle(self) -> None:
        # Credits come back when a job fails, whether or not anyone polls it.
        now = self.now()
        for job in self.jobs.values():
            if not job.refunded and job.status_at(now) == "failed":
                job.refunded = True
                account = self.accounts.get(job.key)
                if account is not None:
                    account.subscription_credits += job.charged[0]
                    account.topup_credits += job.charged[1]

    def _check_funds(self, account: MaskoAccount, cost: int) -> None:
        if cost <= account.total:
            return
        if self.envelope:
            message = f"Not enough credits. Required: {cost}, balance: {account.total}."
            raise _ApiError(402, message, required=cost, balance=account.total)
        raise _ApiError(402, "Insufficient credits", required=cost, available=account.total)

    def _owned(self, table: dict[str, _O], ident: str, caller: _Caller, what: str) -> _O:
        found = table.get(ident)
        if found is None:
            raise _ApiError(404, f"{what} not found")
        if found.key != caller.key:
            raise _ApiError(403, f"Access denied: you do not own this {what.lower()}")
        return found

    def _collection(self, request: Request, caller: _Caller) -> MaskoCollection:
        return self._owned(self.collections, request.path_params["collection_id"], caller, "Collection")

    def _collection_items(self, collection: MaskoCollection) -> list[MaskoItem]:
        return [item for item in self.items.values() if item.collection_id == collection.id]

    def _collection_item(self, collection: MaskoCollection, item_id: str | None) -> MaskoItem | None:
        if item_id is None:
            return None
        item = self.items.get(item_id)
        if item is None or item.collection_id != collection.id:
            raise _ApiError(404, "Item not found in this collection")
        return item

    def _item_image(self, item: MaskoItem) -> MaskoAsset:
        for asset_id in reversed(item.asset_ids):
            if self.assets[asset_id].type == "image":
                return self.assets[asset_id]
        raise _ApiError(400, f"Item {item.name!r} has no image to use as the source")

    def _image_asset(self, caller: _Caller, asset_id: str | None, name: str) -> MaskoAsset | None:
        if asset_id is None:
            return None
        asset = self._owned(self.assets, asset_id, caller, "Asset")
        if asset.type not in IMAGE_ASSETS:
            raise _ApiError(400, f"{name} must refer to an image asset, not {asset.type}")
        return asset

    def _style(self, style: str | None) -> str | None:
        if style is None:
            return None
        style = STYLE_ALIASES.get(style.lower(), style.lower())
        if style not in {sid for sid, _ in STYLES}:
            raise _ApiError(400, f"Unknown style {style!r}; see GET /v1/styles")
        return style

    def _unique_slug(self, name: str) -> str:
        base = _slug(name, "mascot")[:44]
        taken = {collection.slug for collection in self.collections.values()}
        slug, n = base, 2
        while slug in taken:
            slug, n = f"{base}-{n}", n + 1
        return slug

    def _iso(self, t: float) -> str:
        return datetime.fromtimestamp(self._epoch + t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    def _reply(
        self, data: Any, bare: Any = None, *, status: int = 200, top: dict[str, Any] | None = None
    ) -> JSONResponse:
        """`{data, …top}` in envelope mode, else the bare body (`data` itself unless a distinct one is given)."""
        body = {"data": data, **(top or {})} if self.envelope else (data if bare is None else bare)
        return JSONResponse(body, status)

    def _list(
        self,
        request: Request,
        rows: list[_T],
        new: Callable[[_T], dict[str, Any]],
        old: Callable[[_T], dict[str, Any]],
        old_key: str,
    ) -> JSONResponse:
        limit = int(_number(request.query_params.get("limit", str(PAGE_LIMIT)), "limit"))
        offset = int(_number(request.query_params.get("offset", "0"), "offset"))
        if not (1 <= limit <= MAX_PAGE_LIMIT and offset >= 0):
            raise _ApiError(400, f"limit must be 1-{MAX_PAGE_LIMIT} and offset at least 0")
        page = rows[offset : offset + limit]
        if not self.envelope:
            return JSONResponse({old_key: [old(row) for row in page]})
        pagination = {"total": len(rows), "limit": limit, "offset": offset, "has_more": offset + len(page) < len(rows)}
        return JSONResponse({"data": [new(row) for row in page], "meta": {"pagination": pagination}})

    def _error_response(self, exc: _ApiError) -> JSONResponse:
        return JSONResponse(self.error_body(exc.status, exc.message, **exc.extra), exc.status, headers=exc.headers)

    async def _http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        status = exc.status_code if exc.status_code in ERROR_CODES else 400
        return self._error_response(_ApiError(status, exc.detail, headers=dict(exc.headers or {})))

    # --- JSON shapes ----------------------------------------------------------------------------

    def _project_new(self, project: MaskoProject) -> dict[str, Any]:
        created = self._iso(project.created)
        return {
            "id": project.id,
            "name": project.name,
            "organization_id": None,
            "created_at": created,
            "updated_at": created,
        }

    def _project_old(self, project: MaskoProject) -> dict[str, Any]:
        return {"id": project.id, "name": project.name, "created_at": self._iso(project.created)}

    def _collection_new(self, collection: MaskoCollection) -> dict[str, Any]:
        return {
            "id": collection.id,
            "project_id": collection.project_id,
            "name": collection.name,
            "type": "mascot",
            "slug": collection.slug,
            "user_prefix": collection.user_prefix,
            "is_published": False,
            "public_slug": None,
            "cdn_enabled": collection.cdn_enabled,
            "created_at": self._iso(collection.created),
            "updated_at": self._iso(collection.updated),
            "config": {
                "prompt": collection.prompt,
                "style": collection.style,
                "reference_asset_ids": list(collection.reference_asset_ids),
                "reference_image_urls": list(collection.reference_image_urls),
                "style_card": collection.style_card,
                "caution_list": list(collection.caution_list),
                "animation_sizes": list(collection.animation_sizes),
            },
        }

    def _collection_old(self, collection: MaskoCollection) -> dict[str, Any]:
        return {
            "id": collection.id,
            "project_id": collection.project_id,
            "name": collection.name,
            "description": collection.prompt,
            "config": {
                "style_card": collection.style_card,
                "reference_asset_ids": list(collection.reference_asset_ids),
                "caution_list": list(collection.caution_list),
            },
            "created_at": self._iso(collection.created),
            "updated_at": self._iso(collection.updated),
        }

    def _collection_list_old(self, collection: MaskoCollection) -> dict[str, Any]:
        items = self._collection_items(collection)
        return {
            "id": collection.id,
            "project_id": collection.project_id,
            "name": collection.name,
            "description": collection.prompt,
            "created_at": self._iso(collection.created),
            "item_count": len(items),
            "asset_count": sum(len(item.asset_ids) for item in items),
        }

    def _item_json(self, item: MaskoItem) -> dict[str, Any]:
        assets = []
        for asset_id in item.asset_ids:
            asset = self.assets[asset_id]
            status = self._job_status(asset.job_id) or "completed"
            url = self._asset_url(asset.id)
            assets.append(
                {
                    "id": asset.id,
                    "type": asset.type,
                    "size": asset.size,
                    "url": url,
                    "status": status,
                    "job_id": asset.job_id,
                }
            )
        return {
            "id": item.id,
            "collection_id": item.collection_id,
            "name": item.name,
            "type": item.type,
            "prompt": item.prompt,
            "created_at": self._iso(item.created),
            "assets": assets,
        }


# --- request parsing and drawing ----------------------------------------------------------------


def _new_id() -> str:
    return str(uuid.uuid4())


async def _json_object(request: Request, *, optional: bool = False) -> dict[str, Any]:
    raw = await request.body()
    if optional and not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
        raise _ApiError(400, "Request body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise _ApiError(400, "Request body must be a JSON object")
    return body


def _opt_str(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _ApiError(400, f"{name} must be a string")
    return value.strip() or None


def _req_str(body: dict[str, Any], name: str) -> str:
    value = _opt_str(body, name)
    if value is None:
        raise _ApiError(400, f"{name} is required")
    return value


def _opt_bool(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _ApiError(400, f"{name} must be true or false")
    return value


def _opt_int(body: dict[str, Any], name: str, default: int) -> int:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise _ApiError(400, f"{name} must be an integer")
    return value


def _duration(body: dict[str, Any]) -> int:
    duration = _opt_int(body, "duration", DEFAULT_DURATION)
    if not MIN_DURATION <= duration <= MAX_DURATION:
        raise _ApiError(400, f"duration must be between {MIN_DURATION} and {MAX_DURATION} seconds, got {duration}")
    return duration


def _number(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise _ApiError(400, f"{name} must be a number") from exc
    if not (math.isfinite(value) and value >= 0):
        raise _ApiError(400, f"{name} must be a non-negative number")
    return value


def _sizes(value: Any, name: str, default: list[int]) -> list[int]:
    if value is None:
        return default
    allowed = ", ".join(map(str, ANIMATION_SIZES))
    if not isinstance(value, list) or not all(type(s) is int and s in ANIMATION_SIZES for s in value):
        raise _ApiError(400, f"{name} must be a list of sizes from {allowed}")
    return list(dict.fromkeys(value))


def _str_list(body: dict[str, Any], name: str) -> list[str]:
    value = body.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _ApiError(400, f"{name} must be an array of strings")
    return list(value)


def _http_host(url: str, name: str) -> str:
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as exc:
        raise _ApiError(400, f"{name} must be an http(s) URL") from exc
    if parts.scheme not in ("http", "https") or not host:
        raise _ApiError(400, f"{name} must be an http(s) URL")
    return host


async def _multipart_image(request: Request) -> bytes:
    try:
        async with request.form(max_files=1, max_fields=16) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise _ApiError(400, "Multipart upload needs a `file` field")
            data = await upload.read(MAX_UPLOAD_BYTES + 1)
    except HTTPException as exc:  # raised by Starlette's multipart parser
        raise _ApiError(400, f"Invalid multipart body: {exc.detail}") from exc
    if len(data) > MAX_UPLOAD_BYTES:
        raise _ApiError(400, "File exceeds 10 MB")
    png, jpeg = data.startswith(b"\x89PNG\r\n\x1a\n"), data.startswith(b"\xff\xd8\xff")
    webp, gif = data[:4] == b"RIFF" and data[8:12] == b"WEBP", data[:6] in (b"GIF87a", b"GIF89a")
    if not (png or jpeg or webp or gif):
        raise _ApiError(400, "File must be a PNG, JPEG, WebP or GIF image")
    return data


def _title(text: str) -> str:
    words = re.findall(r"[A-Za-z0-9']+", text)[:4]
    return " ".join(word.capitalize() for word in words) or "Untitled"


def _slug(text: str, fallback: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or fallback


def _reverse_name(name: str) -> str:
    source, separator, target = name.partition(" to ")
    return f"{target} to {source}" if separator and target else f"{name} (reverse)"


def _charge(account: MaskoAccount, cost: int) -> tuple[int, int]:
    """Spend subscription credits first, then top-ups; return how many came from each."""
    from_subscription = min(cost, account.subscription_credits)
    account.subscription_credits -= from_subscription
    account.topup_credits -= cost - from_subscription
    return from_subscription, cost - from_subscription


def _draw(asset_type: str, extension: str, prompt: str, name: str) -> bytes:
    if extension == "png":
        png = placeholder_png(prompt, width=512, height=512, label=f"SANDBOX masko {asset_type}: {name}")
        if asset_type != "transparent_image":
            return png
        rgb = Image.open(io.BytesIO(png)).convert("RGB")
        colour = rgb.getpixel((0, 0))
        assert isinstance(colour, tuple)
        # Whatever differs from the background colour (the text) stays opaque; the background becomes transparent.
        mask = ImageChops.difference(rgb, Image.new("RGB", rgb.size, colour)).convert("L").point([0] + [255] * 255)
        image = rgb.convert("RGBA")
        image.putalpha(mask)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", optimize=True)
        return buffer.getvalue()
    note = f"masko sandbox {asset_type}: {prompt}".encode()[:200]
    if extension == "webm":
        return b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm" + note
    brand = b"qt  " if extension == "mov" else b"isom"
    ftyp = struct.pack(">I", 20) + b"ftyp" + brand + b"\x00\x00\x00\x00" + brand
    return ftyp + struct.pack(">I", 8 + len(note)) + b"free" + note
