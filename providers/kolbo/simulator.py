"""Local simulator of the Kolbo Developer API (https://api.kolbo.ai/api/v1).

Where the sources disagree (PROVIDERS.md §4.7) the simulator chooses as follows: chat is the session + poll form;
INSUFFICIENT_CREDITS uses `insufficient_status` (400 or 402); the rate limit is one `rate_limit` per key over all
generation endpoints; Visual DNA accepts both snake_case and camelCase field names; `vocal_gender` accepts m/f and
male/female; `moodboard_ids` apply per scene (scene n uses the n-th id, later scenes fall back to `moodboard_id`);
`enhance_prompt` defaults to true; every generation reports `pending` for its first tenth, then `processing`;
generation starts answer 200.
"""

from __future__ import annotations

import collections
import math
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from providers._sandbox.faults import Faults, RequestLog, SimulatorMiddleware
from providers._sandbox.images import dimensions_for, placeholder_png
from providers._sandbox.media import placeholder_mp3, placeholder_mp4, silent_wav
from providers.kolbo.simulator_resources import (
    RESOLUTION_MULTIPLIERS,
    JsonBody,
    KolboError,
    KolboModel,
    Moodboard,
    VisualDna,
    error_response,
    find_model,
    http_error_response,
    invalid,
    list_moodboards,
    list_visual_dnas,
    media_url,
    missing_field,
    models_matching,
    read_json_body,
    read_visual_dna_form,
    seed_moodboards,
    seed_visual_dnas,
    smart_select,
)

__all__ = ["Charge", "ChatMessage", "ChatSession", "Generation", "KolboAccount", "KolboSimulator", "Scene"]

DEFAULT_KEY = "kolbo_live_sandbox"
POLL_HINTS = {
    "image": 3,
    "image_edit": 3,
    "speech": 3,
    "sound": 5,
    "creative_director": 5,
    "music": 8,
    "video": 8,
    "chat": 2,
}
# Multiples of job_seconds, so the relative speeds follow the documented typical times.
TIME_FACTORS = {"chat": 0.25, "image": 1.0, "image_edit": 1.0, "speech": 0.5, "sound": 0.75, "music": 1.5, "video": 2.0}
PENDING_FRACTION = 0.1
RATE_WINDOW = 60.0
RATE_LIMIT_MESSAGE = "Too many requests, please try again later"
ASPECT_RATIOS = frozenset({"1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3", "4:5", "5:4", "21:9"})
VOCAL_GENDERS = {"m": "male", "male": "male", "f": "female", "female": "female"}
MAX_VISUAL_DNA = 3
MAX_SCENES = 8
MAX_SOURCE_IMAGES = 10
MAX_MEDIA_URLS = 10
DEFAULT_MUSIC_SECONDS = 60.0
MIN_MUSIC_SECONDS = 5.0
MAX_MUSIC_SECONDS = 300.0
DEFAULT_VIDEO_SECONDS = 5.0
MAX_VIDEO_SECONDS = 60.0
DEFAULT_SOUND_SECONDS = 5.0
MAX_SOUND_SECONDS = 30.0
VIDEO_SHORT_SIDE = {"480p": 480, "720p": 720, "1080p": 1080, "2160p": 2160}
SCENE_TITLES = (
    "Hero Shot",
    "Detail Close-up",
    "Lifestyle Context",
    "Brand Statement",
    "Wide Establishing Shot",
    "Behind the Scenes",
    "Call to Action",
    "Closing Frame",
)
FLAGGED_MESSAGE = "Your prompt was flagged as sensitive content. Credits have been refunded."
_MEDIA_NAME = re.compile(r"(?P<index>[0-9]+)\.(?P<ext>[a-z0-9]+)")
_CONTENT_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "webp": "image/webp",
    "gif": "image/gif",
    "mp4": "video/mp4",
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
}


@dataclass
class KolboAccount:
    """One API key's credit buckets; charges use plan credits first, then the credit pack, then redemption."""

    plan_credits: float = 1000
    credit_pack: float = 0
    redemption: float = 0

    @property
    def total(self) -> float:
        """All spendable credits."""
        return round(self.plan_credits + self.credit_pack + self.redemption, 2)


@dataclass
class Charge:
    """Credits taken from each bucket for one billed unit (a generation, or one Creative Director scene)."""

    plan: float
    pack: float
    redemption: float
    refunded: bool = False

    @property
    def amount(self) -> float:
        """The credits charged."""
        return round(self.plan + self.pack + self.redemption, 2)


@dataclass
class Scene:
    """One Creative Director scene; scenes run one after another."""

    number: int
    title: str
    prompt: str
    starts_at: float
    ready_at: float
    moodboard_id: str | None = None


@dataclass
class Generation:
    """One started generation (chat messages and Creative Director batches included)."""

    id: str
    key: str
    type: str
    model: str
    resolved: KolboModel
    prompt: str
    prompt_used: str
    created: float
    created_at: str
    processing_at: float
    ready_at: float
    fails: bool
    charges: list[Charge]
    outputs: int = 1
    aspect_ratio: str | None = None
    duration: float | None = None
    resolution: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    scenes: list[Scene] = field(default_factory=list)
    session_id: str | None = None
    cancelled_at: float | None = None

    def _effective(self, now: float) -> float:
        return now if self.cancelled_at is None else min(now, self.cancelled_at)

    def state_at(self, now: float) -> str:
        """pending, processing, completed, failed or cancelled."""
        if self.cancelled_at is not None:
            return "cancelled"
        if now < self.processing_at:
            return "pending"
        if now < self.ready_at:
            return "processing"
        return "failed" if self.fails else "completed"

    def progress_at(self, now: float) -> int:
        """Progress 0–100; a cancelled generation keeps the progress it had."""
        at = self._effective(now)
        if self.scenes:
            done = sum(1 for scene in self.scenes if at >= scene.ready_at)
            return 100 * done // len(self.scenes)
        if at >= self.ready_at:
            return 100
        if at < self.processing_at:
            return 0
        return min(99, max(1, int(100 * (at - self.created) / (self.ready_at - self.created))))

    def scene_status_at(self, scene: Scene, now: float) -> tuple[str, int]:
        """A scene's status and progress."""
        at = self._effective(now)
        if at >= scene.ready_at:
            return ("failed" if self.fails else "completed"), 100
        if self.cancelled_at is not None:
            return "cancelled", 0
        if at < scene.starts_at:
            return "pending", 0
        return "processing", min(99, max(1, int(100 * (at - scene.starts_at) / (scene.ready_at - scene.starts_at))))

    @property
    def credits_charged(self) -> float:
        """Credits taken when the generation started."""
        return round(sum(charge.amount for charge in self.charges), 2)

    @property
    def credits_used(self) -> float:
        """Credits charged and not refunded."""
        return round(sum(charge.amount for charge in self.charges if not charge.refunded), 2)


@dataclass
class ChatMessage:
    """One message of a chat session."""

    message_id: str
    role: str
    content: str


@dataclass
class ChatSession:
    """A chat conversation; every message sent with its session_id sees the earlier ones."""

    id: str
    key: str
    system_prompt: str | None
    created_at: str
    messages: list[ChatMessage] = field(default_factory=list)


@dataclass
class _Start:
    type: str
    model: str
    resolved: KolboModel
    prompt: str
    prompt_used: str
    units: list[float]
    checked_text: str
    outputs: int = 1
    aspect_ratio: str | None = None
    duration: float | None = None
    resolution: str | None = None
    params: dict[str, Any] = field(default_factory=dict)


class KolboSimulator:
    """A Starlette app that behaves like the Kolbo Developer API, with inspectable state."""

    def __init__(
        self,
        *,
        accounts: dict[str, KolboAccount] | None = None,
        job_seconds: float = 8.0,
        now: Callable[[], float] = time.monotonic,
        public_url: str = "http://127.0.0.1",
        insufficient_status: int = 402,
        rate_limit: int | None = None,
    ) -> None:
        """Create the simulator; accounts default to {"kolbo_live_sandbox": KolboAccount()}."""
        if insufficient_status not in (400, 402):
            raise ValueError(f"insufficient_status must be 400 or 402, got {insufficient_status}")
        self.accounts = accounts if accounts is not None else {DEFAULT_KEY: KolboAccount()}
        self.job_seconds = job_seconds
        self.now = now
        self.public_url = public_url
        self.insufficient_status = insufficient_status
        self.rate_limit = rate_limit
        self.generations: dict[str, Generation] = {}
        self.chat_sessions: dict[str, ChatSession] = {}
        self.visual_dnas: dict[str, VisualDna] = seed_visual_dnas()
        self.moodboards: dict[str, Moodboard] = seed_moodboards()
        self.requests = RequestLog()
        self.faults = Faults()
        self._epoch = time.time() - now()
        self._calls: dict[str, collections.deque[float]] = collections.defaultdict(collections.deque)
        self._files: dict[str, bytes] = {}
        generate = "/api/v1/generate"
        self.app = Starlette(
            routes=[
                Route(f"{generate}/image", self._image, methods=["POST"]),
                Route(f"{generate}/image-edit", self._image_edit, methods=["POST"]),
                Route(f"{generate}/video", self._video, methods=["POST"]),
                Route(f"{generate}/video/from-image", self._video_from_image, methods=["POST"]),
                Route(f"{generate}/music", self._music, methods=["POST"]),
                Route(f"{generate}/speech", self._speech, methods=["POST"]),
                Route(f"{generate}/sound", self._sound, methods=["POST"]),
                Route(f"{generate}/creative-director", self._creative_director, methods=["POST"]),
                Route(f"{generate}/creative-director/{{id}}/status", self._cd_status, methods=["GET"]),
                Route(f"{generate}/{{id}}/status", self._status, methods=["GET"]),
                Route(f"{generate}/{{id}}/cancel", self._cancel, methods=["POST"]),
                Route("/api/v1/chat", self._chat, methods=["POST"]),
                Route("/api/v1/models", self._models, methods=["GET"]),
                Route("/api/v1/account/credits", self._credits, methods=["GET"]),
                Route("/api/v1/visual-dna", self._create_dna, methods=["POST"]),
                Route("/api/v1/visual-dna", self._list_dnas, methods=["GET"]),
                Route("/api/v1/visual-dna/{id}", self._get_dna, methods=["GET"]),
                Route("/api/v1/visual-dna/{id}", self._delete_dna, methods=["DELETE"]),
                Route("/api/v1/moodboards", self._list_moodboards, methods=["GET"]),
                Route("/api/v1/moodboards/{id}", self._get_moodboard, methods=["GET"]),
                Route("/media/{id}/{name}", self._media, methods=["GET"]),
            ],
            middleware=[Middleware(SimulatorMiddleware, log=self.requests, faults=self.faults)],
            exception_handlers={KolboError: error_response, HTTPException: http_error_response},
        )

    # --- generation endpoints -------------------------------------------------------------------

    async def _image(self, request: Request) -> Response:
        key, account, body = await self._generation_request(request)
        prompt = body.required_text("prompt")
        label, model = _resolve_model(body, "image")
        num_images = body.integer("num_images", 1, 1, 4)
        start = self._visual_start("image", label, model, body, prompt, "1:1")
        start.units, start.outputs = [model.credit * num_images], num_images
        return self._start(key, account, start)

    async def _image_edit(self, request: Request) -> Response:
        key, account, body = await self._generation_request(request)
        prompt = body.required_text("prompt")
        sources = body.urls("source_images", MAX_SOURCE_IMAGES)
        if not sources:
            raise missing_field("source_images")
        label, model = _resolve_model(body, "image_edit")
        num_images = body.integer("num_images", 1, 1, 4)
        start = self._visual_start("image_edit", label, model, body, prompt, "1:1")
        start.units, start.outputs = [model.credit * num_images], num_images
        start.params["source_images"] = sources
        return self._start(key, account, start)

    async def _video(self, request: Request) -> Response:
        key, account, body = await self._generation_request(request)
        prompt = body.required_text("prompt")
        return self._start(key, account, self._video_start(body, "video", prompt))

    async def _video_from_image(self, request: Request) -> Response:
        key, account, body = await self._generation_request(request)
        image_url = body.url("image_url")
        # The docs make the prompt optional here (the official MCP always sends one).
        start = self._video_start(body, "video_from_image", body.text("prompt") or "")
        start.params["image_url"] = image_url
        return self._start(key, account, start)

    async def _music(self, request: Request) -> Response:
        key, account, body = await self._generation_request(request)
        prompt = body.required_text("prompt")
        label, model = _resolve_model(body, "music", default="chirp-v4")
        instrumental = body.flag("instrumental", False)
        lyrics = body.text("lyrics")
        gender = body.text("vocal_gender")
        if gender is not None and gender.lower() not in VOCAL_GENDERS:
            raise invalid("vocal_gender must be one of m, f, male, female")
        seconds = body.number("duration_seconds", 0, MAX_MUSIC_SECONDS) or DEFAULT_MUSIC_SECONDS
        if seconds < MIN_MUSIC_SECONDS:
            raise invalid(f"duration_seconds must be from {MIN_MUSIC_SECONDS:g} to {MAX_MUSIC_SECONDS:g}")
        title = body.text("title") or " ".join(prompt.split()[:5]).title()
        if instrumental:
            lyrics = ""
        elif not lyrics:
            lyrics = f"[Verse]\n{prompt}\n[Chorus]\nSing it back, sandbox song\n"
        params = {
            "title": title,
            "lyrics": lyrics,
            "style": body.text("style"),
            "instrumental": instrumental,
            "vocal_gender": VOCAL_GENDERS[gender.lower()] if gender else None,
        }
        prompt_used = _enhanced(prompt, body.flag("enhance_prompt", True))
        start = _Start("music", label, model, prompt, prompt_used, [model.credit], prompt, params=params)
        start.outputs, start.duration = model.outputs, seconds
        return self._start(key, account, start)

    async def _speech(self, request: Request) -> Response:
        key, account, body = await self._generation_request(request)
        text = body.required_text("text")
        label, model = _resolve_model(body, "speech", default="eleven_v3")
        # Unknown voice ids are silently mapped to another voice by the real service, so any voice is accepted.
        voice = body.text("voice") or "Rachel"
        params = {"voice": voice, "language": body.text("language") or "en-US"}
        units = [float(math.ceil(len(text) / 100) * model.credit)]
        start = _Start("speech", label, model, text, text, units, text, params=params)
        start.duration = max(1.0, round(len(text.split()) / 2.5, 1))
        return self._start(key, account, start)

    async def _sound(self, request: Request) -> Response:
        key, account, body = await self._generation_request(request)
        prompt = body.required_text("prompt")
        label, model = _resolve_model(body, "sound")
        seconds = body.number("duration", 0, MAX_SOUND_SECONDS)
        start = _Start("sound", label, model, prompt, prompt, [model.credit], prompt)
        start.duration = DEFAULT_SOUND_SECONDS if seconds is None else seconds
        return self._start(key, account, start)

    async def _creative_director(self, request: Request) -> Response:
        key, account, body = await self._generation_request(request)
        prompt = body.required_text("prompt")
        scene_count = body.integer("scene_count", 4, 1, MAX_SCENES)
        workflow = body.text("workflow_type") or "image"
        if workflow not in ("image", "video"):
            raise invalid('workflow_type must be "image" or "video"')
        if workflow == "video":
            start = self._video_start(body, "video", prompt, default_ratio="1:1")
        else:
            label, model = _resolve_model(body, "image")
            start = self._visual_start("image", label, model, body, prompt, "1:1")
            start.units = [model.credit]
        moodboard_id = body.text("moodboard_id")
        moodboard_ids = body.strings("moodboard_ids", MAX_SCENES)
        for board_id in [moodboard_id, *moodboard_ids] if moodboard_id else moodboard_ids:
            self._moodboard_for(key, board_id)
        start.type, start.units = "creative_director", start.units * scene_count
        start.params.update(
            workflow_type=workflow, scene_count=scene_count, moodboard_id=moodboard_id, moodboard_ids=moodboard_ids
        )
        return self._start(key, account, start)

    async def _chat(self, request: Request) -> Response:
        key, account, body = await self._generation_request(request)
        message = body.required_text("message")
        label, model = _resolve_model(body, "chat", not_found="INVALID_MODEL")
        media_urls = body.urls("media_urls", MAX_MEDIA_URLS)
        web_search, deep_think = body.flag("web_search", False), body.flag("deep_think", False)
        session_id = body.text("session_id")
        if session_id:
            session = self.chat_sessions.get(session_id)
            if session is None or session.key != key:
                raise KolboError(404, "NOT_FOUND", "Chat session not found")
        else:
            system_prompt = body.text("system_prompt")  # only read for new sessions
            created_at = self._timestamp(self.now())
            session = ChatSession(secrets.token_hex(12), key, system_prompt or None, created_at)
        previous = [m.content for m in session.messages if m.role == "user"]
        count = len(session.messages) + 1
        lines = [f'(sandbox reply from {model.identifier}) You said: "{message}".']
        lines.append(f"This is message {count} of this session ({len(previous) + 1} from you).")
        lines.append(f'Your previous message was: "{previous[-1]}".' if previous else "This is a new conversation.")
        if session.system_prompt:
            lines.append(f'I am following the system prompt: "{session.system_prompt}".')
        if media_urls:
            lines.append(f"I looked at {len(media_urls)} attached file(s).")
        if web_search:
            lines.append("Web search was on (the sandbox has no web results).")
        content = " ".join(lines)
        # Chat is billed per token; the whole history is sent as input (about four characters a token).
        history = sum(len(m.content) for m in session.messages) + len(message)
        cost = math.ceil(history / 4) * _rate(model.input_token_rate) + math.ceil(len(content) / 4) * _rate(
            model.output_token_rate
        )
        params = {
            "content": content,
            "reasoning_content": f"Thinking step by step about: {message}" if deep_think else "",
            "web_search": web_search,
            "media_urls": media_urls,
        }
        units = [float(max(1, math.ceil(cost / 1000)))]
        start = _Start("chat", label, model, message, message, units, message, params=params)
        response = self._start(key, account, start, session=session)
        self.chat_sessions[session.id] = session
        return response

    # --- polling and cancelling -----------------------------------------------------------------

    async def _status(self, request: Request) -> Response:
        key, _ = self._authenticate(request)
        generation = self._generation_for(key, request.path_params["id"])
        # The generic status endpoint cannot read a Creative Director batch.
        if generation.type == "creative_director":
            raise KolboError(404, "NOT_FOUND", "Generation not found")
        return JSONResponse(self._status_body(generation))

    async def _cd_status(self, request: Request) -> Response:
        key, _ = self._authenticate(request)
        generation = self._generation_for(key, request.path_params["id"])
        if generation.type != "creative_director":
            raise KolboError(404, "NOT_FOUND", "Creative Director generation not found")
        now = self.now()
        scenes = []
        for scene in generation.scenes:
            status, progress = generation.scene_status_at(scene, now)
            item: dict[str, Any] = {"scene_number": scene.number, "status": status, "title": scene.title}
            if status == "processing":
                item["progress"] = progress
            if status == "completed":
                item["image_urls"] = [self._url(generation.id, scene.number, "png")]
                if generation.params["workflow_type"] == "video":
                    item["video_urls"] = [self._url(generation.id, scene.number, "mp4")]
            scenes.append(item)
        body = self._status_head(generation)
        body.update(scene_count=len(scenes), scenes=scenes)
        return JSONResponse(body)

    async def _cancel(self, request: Request) -> Response:
        key, account = self._authenticate(request)
        generation = self._generation_for(key, request.path_params["id"])
        now = self.now()
        state = generation.state_at(now)
        if state in ("completed", "failed", "cancelled"):
            raise KolboError(409, "ALREADY_TERMINAL", f"Generation is already {state}")
        generation.cancelled_at = now
        refunded = 0.0
        for index, charge in enumerate(generation.charges):
            finished = bool(generation.scenes) and now >= generation.scenes[index].ready_at
            if not charge.refunded and not finished:
                refunded += self._refund(account, charge)
        if generation.session_id is not None:
            session = self.chat_sessions[generation.session_id]
            session.messages = [m for m in session.messages if m.message_id != generation.id or m.role == "user"]
        body = {"success": True, "generation_id": generation.id, "state": "cancelled"}
        return JSONResponse({**body, "credits_refunded": _num(refunded), "message": "Generation cancelled"})

    # --- account, models and resources ----------------------------------------------------------

    async def _models(self, request: Request) -> Response:
        self._authenticate(request)
        query = request.query_params
        models = [model.to_json() for model in models_matching(query.get("type"), query.get("provider"))]
        return JSONResponse({"success": True, "models": models, "count": len(models)})

    async def _credits(self, request: Request) -> Response:
        _, account = self._authenticate(request)
        credits = {
            "total": _num(account.total),
            "plan_credits": _num(account.plan_credits),
            "credit_pack": _num(account.credit_pack),
            "redemption": _num(account.redemption),
        }
        return JSONResponse({"success": True, "credits": credits})

    async def _create_dna(self, request: Request) -> Response:
        key, _ = self._authenticate(request)
        upload = await read_visual_dna_form(request)
        name, dna_type, helper = upload.name, upload.dna_type, upload.prompt_helper
        description = f"Sandbox analysis of {len(upload.images)} reference image(s) of the {dna_type} {name!r}."
        dna = VisualDna(
            id=secrets.token_hex(12),
            name=name,
            dna_type=dna_type,
            owner=key,
            images=upload.images,
            created_at=self._timestamp(self.now()),
            prompt_helper=helper,
            description=f"{description} {helper}".strip(),
            system_prompt=f"Keep the {dna_type} {name!r} consistent with its reference images. {helper}".strip(),
        )
        self.visual_dnas[dna.id] = dna
        return JSONResponse({"success": True, "visual_dna": dna.to_json(self.public_url)})

    async def _list_dnas(self, request: Request) -> Response:
        key, _ = self._authenticate(request)
        return JSONResponse(list_visual_dnas(self.visual_dnas.values(), key, request.query_params, self.public_url))

    async def _get_dna(self, request: Request) -> Response:
        key, _ = self._authenticate(request)
        dna = self._dna_for(key, request.path_params["id"])
        return JSONResponse({"success": True, "visual_dna": dna.to_json(self.public_url, detail=True)})

    async def _delete_dna(self, request: Request) -> Response:
        key, _ = self._authenticate(request)
        dna = self._dna_for(key, request.path_params["id"])
        if dna.is_global:
            raise KolboError(403, "FORBIDDEN", "Global Visual DNAs cannot be deleted")
        del self.visual_dnas[dna.id]
        return JSONResponse({"success": True, "message": "Visual DNA deleted successfully"})

    async def _list_moodboards(self, request: Request) -> Response:
        key, _ = self._authenticate(request)
        scope = request.query_params.get("scope")
        return JSONResponse(list_moodboards(self.moodboards.values(), key, scope, self.public_url))

    async def _get_moodboard(self, request: Request) -> Response:
        key, _ = self._authenticate(request)
        board = self.moodboards.get(request.path_params["id"])
        if board is None or not board.visible_to(key):
            raise KolboError(404, "NOT_FOUND", "Moodboard not found")
        return JSONResponse({"success": True, "moodboard": board.to_json(self.public_url, detail=True)})

    async def _media(self, request: Request) -> Response:
        item_id: str = request.path_params["id"]
        match = _MEDIA_NAME.fullmatch(request.path_params["name"])
        content = self._media_bytes(item_id, int(match["index"]), match["ext"]) if match else None
        if match is None or content is None:
            return Response("Not Found", status_code=404, media_type="text/plain")
        return Response(content, media_type=_CONTENT_TYPES[match["ext"]])

    # --- shared steps ---------------------------------------------------------------------------

    def _authenticate(self, request: Request) -> tuple[str, KolboAccount]:
        self._settle()
        key = request.headers.get("x-api-key", "").strip()
        if not key:
            raise KolboError(401, "INVALID_API_KEY", "API key is required (X-API-Key header)")
        account = self.accounts.get(key)
        if account is None:
            raise KolboError(401, "INVALID_API_KEY", "Invalid, expired or revoked API key")
        return key, account

    async def _generation_request(self, request: Request) -> tuple[str, KolboAccount, JsonBody]:
        key, account = self._authenticate(request)
        self._check_rate(key)
        return key, account, await read_json_body(request, key)

    def _check_rate(self, key: str) -> None:
        # Rejected before the handler runs: nothing is charged and the request does not count.
        if self.rate_limit is None:
            return
        now = self.now()
        calls = self._calls[key]
        while calls and calls[0] <= now - RATE_WINDOW:
            calls.popleft()
        if len(calls) >= self.rate_limit:
            retry_after = str(max(1, math.ceil(calls[0] + RATE_WINDOW - now))) if calls else str(int(RATE_WINDOW))
            error = KolboError(429, "RATE_LIMITED", RATE_LIMIT_MESSAGE, headers={"Retry-After": retry_after})
            error.body = {"status": False, "message": RATE_LIMIT_MESSAGE}
            raise error
        calls.append(now)

    def _settle(self) -> None:
        # Failed generations are refunded whether or not anyone polls them; each CD scene separately.
        now = self.now()
        for generation in self.generations.values():
            if not generation.fails or generation.cancelled_at is not None or generation.key not in self.accounts:
                continue
            for index, charge in enumerate(generation.charges):
                ready_at = generation.scenes[index].ready_at if generation.scenes else generation.ready_at
                if not charge.refunded and now >= ready_at:
                    self._refund(self.accounts[generation.key], charge)

    def _visual_start(
        self, kind: str, label: str, model: KolboModel, body: JsonBody, prompt: str, ratio: str
    ) -> _Start:
        """The parts image, image-edit and Creative Director requests share."""
        key = body.key
        aspect_ratio = _aspect_ratio(body, model, label, ratio)
        references = body.urls("reference_images", model.max_reference_images or 0)
        dnas = [self._dna_for(key, dna_id, status=400) for dna_id in body.strings("visual_dna_ids", MAX_VISUAL_DNA)]
        if len(dnas) > (model.max_visual_dna or 0):
            raise invalid(f"{model.identifier} accepts at most {model.max_visual_dna or 0} Visual DNAs")
        moodboard_id = body.text("moodboard_id")
        moodboard = self._moodboard_for(key, moodboard_id) if moodboard_id else None
        extras = [moodboard.master_prompt] if moodboard else []
        extras += [f"featuring {dna.name} ({dna.dna_type})" for dna in dnas]
        prompt_used = _enhanced(", ".join([prompt, *extras]), body.flag("enhance_prompt", True))
        params = {"reference_images": references, "visual_dna_ids": [d.id for d in dnas], "moodboard_id": moodboard_id}
        return _Start(kind, label, model, prompt, prompt_used, [], prompt, aspect_ratio=aspect_ratio, params=params)

    def _video_start(self, body: JsonBody, sdk_type: str, prompt: str, *, default_ratio: str = "16:9") -> _Start:
        label, model = _resolve_model(body, sdk_type)
        explicit = label != "auto"
        aspect_ratio = _aspect_ratio(body, model, label, default_ratio)
        duration = body.number("duration", 0, MAX_VIDEO_SECONDS) or DEFAULT_VIDEO_SECONDS
        if explicit and model.supported_durations and duration not in model.supported_durations:
            allowed = ", ".join(str(d) for d in model.supported_durations)
            raise invalid(f"{model.identifier} supports durations of {allowed} seconds")
        resolution = (body.text("resolution") or "720p").lower()
        resolution = "2160p" if resolution == "4k" else resolution
        allowed_resolutions = model.supported_resolutions if explicit else tuple(RESOLUTION_MULTIPLIERS)
        if resolution not in (allowed_resolutions or ()):
            raise invalid(f"resolution must be one of {', '.join(allowed_resolutions or ())}")
        dna_ids = body.strings("visual_dna_ids", MAX_VISUAL_DNA)
        for dna_id in dna_ids:
            self._dna_for(body.key, dna_id, status=400)
        references = body.urls("reference_images", model.max_reference_images or 0)
        cost = model.credit * duration * RESOLUTION_MULTIPLIERS[resolution]
        prompt_used = _enhanced(prompt, body.flag("enhance_prompt", True)) if prompt else ""
        params = {
            "visual_dna_ids": dna_ids,
            "reference_images": references,
            "sound_enabled": body.flag("sound_enabled", False),
        }
        start = _Start("video", label, model, prompt, prompt_used, [cost], prompt, params=params)
        start.aspect_ratio, start.duration, start.resolution = aspect_ratio, duration, resolution
        return start

    def _start(self, key: str, account: KolboAccount, start: _Start, *, session: ChatSession | None = None) -> Response:
        units = [round(unit, 2) for unit in start.units]
        needed = round(sum(units), 2)
        if account.total < needed:
            message = f"Insufficient credits: this generation needs {_num(needed)}, you have {_num(account.total)}"
            raise KolboError(self.insufficient_status, "INSUFFICIENT_CREDITS", message)
        if "[error]" in start.checked_text:
            raise KolboError(500, "GENERATION_ERROR", "The generation failed to start")
        now = self.now()
        scenes = self._scenes(start, now) if start.type == "creative_director" else []
        if scenes:
            processing_at, ready_at = scenes[0].starts_at, scenes[-1].ready_at
        else:
            seconds = self.job_seconds * TIME_FACTORS[start.type]
            processing_at, ready_at = now + PENDING_FRACTION * seconds, now + seconds
        generation = Generation(
            id=secrets.token_hex(12),
            key=key,
            type=start.type,
            model=start.model,
            resolved=start.resolved,
            prompt=start.prompt,
            prompt_used=start.prompt_used,
            created=now,
            created_at=self._timestamp(now),
            processing_at=processing_at,
            ready_at=ready_at,
            fails="[fail]" in start.checked_text,
            charges=[self._charge(account, unit) for unit in units],
            outputs=start.outputs,
            aspect_ratio=start.aspect_ratio,
            duration=start.duration,
            resolution=start.resolution,
            params=start.params,
            scenes=scenes,
            session_id=session.id if session else None,
        )
        self.generations[generation.id] = generation
        hint = POLL_HINTS[start.type]
        if session is not None:
            session.messages.append(ChatMessage(generation.id, "user", start.prompt))
            if not generation.fails:
                session.messages.append(ChatMessage(generation.id, "assistant", start.params["content"]))
            return JSONResponse(
                {
                    "success": True,
                    "message_id": generation.id,
                    "session_id": session.id,
                    "type": "chat",
                    "model": start.model,
                    "poll_url": f"/api/v1/generate/{generation.id}/status",
                    "poll_interval_hint": hint,
                }
            )
        body: dict[str, Any] = {"success": True, "generation_id": generation.id, "type": start.type}
        if scenes:
            body["scene_count"] = len(scenes)
            poll_url = f"/api/v1/generate/creative-director/{generation.id}/status"
        else:
            poll_url = f"/api/v1/generate/{generation.id}/status"
        body.update(
            model=start.model,
            credits_charged=_num(generation.credits_charged),
            poll_url=poll_url,
            poll_interval_hint=hint,
        )
        return JSONResponse(body)

    def _scenes(self, start: _Start, now: float) -> list[Scene]:
        """Creative Director scenes, run one after another after a short pending phase."""
        seconds = self.job_seconds * TIME_FACTORS["video" if start.params["workflow_type"] == "video" else "image"]
        first = now + PENDING_FRACTION * seconds
        moodboard_ids: list[str] = start.params["moodboard_ids"]
        scenes = []
        for index in range(start.params["scene_count"]):
            title = SCENE_TITLES[index % len(SCENE_TITLES)]
            moodboard_id = moodboard_ids[index] if index < len(moodboard_ids) else start.params["moodboard_id"]
            board = self.moodboards.get(moodboard_id) if moodboard_id else None
            prompt = f"{title}: {start.prompt}" + (f", {board.master_prompt}" if board else "")
            begins = first + index * seconds
            scenes.append(Scene(index + 1, title, prompt, begins, begins + seconds, moodboard_id))
        return scenes

    def _charge(self, account: KolboAccount, amount: float) -> Charge:
        plan = min(account.plan_credits, amount)
        pack = min(account.credit_pack, round(amount - plan, 2))
        redemption = round(amount - plan - pack, 2)
        account.plan_credits = round(account.plan_credits - plan, 2)
        account.credit_pack = round(account.credit_pack - pack, 2)
        account.redemption = round(account.redemption - redemption, 2)
        return Charge(plan, pack, redemption)

    def _refund(self, account: KolboAccount, charge: Charge) -> float:
        account.plan_credits = round(account.plan_credits + charge.plan, 2)
        account.credit_pack = round(account.credit_pack + charge.pack, 2)
        account.redemption = round(account.redemption + charge.redemption, 2)
        charge.refunded = True
        return charge.amount

    def _status_head(self, generation: Generation) -> dict[str, Any]:
        now = self.now()
        state = generation.state_at(now)
        body: dict[str, Any] = {
            "success": True,
            "generation_id": generation.id,
            "type": generation.type,
            "state": state,
            "progress": generation.progress_at(now),
        }
        if state in ("completed", "failed", "cancelled"):
            body["credits_used"] = _num(generation.credits_used)
        if state == "failed":
            body["error"] = FLAGGED_MESSAGE
            body["failure"] = {
                "message": FLAGGED_MESSAGE,
                "category": "content_policy",
                "code": "CONTENT_FLAGGED_SENSITIVE",
                "retryable": False,
                "severity": "error",
                "provider": _failure_provider(generation.resolved),
            }
        elif state == "cancelled":
            body["error"] = "Generation was cancelled"
        return body

    def _status_body(self, generation: Generation) -> dict[str, Any]:
        body = self._status_head(generation)
        if generation.type == "chat":
            body.update(message_id=generation.id, session_id=generation.session_id)
        if body["state"] == "completed":
            body["result"] = self._result(generation)
        return body

    def _result(self, generation: Generation) -> dict[str, Any]:
        model, params = generation.resolved.identifier, generation.params
        result: dict[str, Any] = {"model": model, "created_at": generation.created_at}
        kind = generation.type
        if kind == "chat":
            result.update(content=params["content"], reasoning_content=params["reasoning_content"])
            return result
        if kind in ("image", "image_edit"):
            urls = [self._url(generation.id, n, "png") for n in range(generation.outputs)]
            result.update(urls=urls, prompt_used=generation.prompt_used, aspect_ratio=generation.aspect_ratio)
        elif kind == "video":
            result.update(
                urls=[self._url(generation.id, 0, "mp4")],
                thumbnail_url=self._url(generation.id, 0, "png"),
                duration=generation.duration,
                aspect_ratio=generation.aspect_ratio,
                resolution=generation.resolution,
                prompt_used=generation.prompt_used,
            )
        elif kind == "music":
            urls = [self._url(generation.id, n, "mp3") for n in range(generation.outputs)]
            result.update(urls=urls, title=params["title"], duration=generation.duration, lyrics=params["lyrics"])
            result["prompt_used"] = generation.prompt_used
        elif kind == "speech":
            result.update(
                urls=[self._url(generation.id, 0, "mp3")], voice=params["voice"], duration=generation.duration
            )
        elif kind == "sound":
            result.update(urls=[self._url(generation.id, 0, "wav")], duration=generation.duration)
            result["prompt_used"] = generation.prompt_used
        return result

    def _media_bytes(self, item_id: str, index: int, ext: str) -> bytes | None:
        cache_key = f"{item_id}/{index}.{ext}"
        if cache_key in self._files:
            return self._files[cache_key]
        dna, board = self.visual_dnas.get(item_id), self.moodboards.get(item_id)
        if dna is not None:
            ok = index < len(dna.images) and dna.image_extension(index) == ext
            return dna.images[index][0] if ok else None
        if board is not None:
            return board.image(index) if index < board.image_count and ext == "png" else None
        generation = self.generations.get(item_id)
        if generation is None:
            return None
        content = self._render(generation, index, ext)
        if content is not None:
            self._files[cache_key] = content
        return content

    def _render(self, generation: Generation, index: int, ext: str) -> bytes | None:
        now = self.now()
        label = f"SANDBOX kolbo {generation.resolved.identifier}"
        if generation.scenes:
            if not 1 <= index <= len(generation.scenes):
                return None
            scene = generation.scenes[index - 1]
            if generation.scene_status_at(scene, now)[0] != "completed":
                return None
            is_video = generation.params["workflow_type"] == "video"
            return self._visual(scene.prompt, generation, ext, label, allow_video=is_video)
        if generation.state_at(now) != "completed":
            return None
        kind, seconds = generation.type, generation.duration or 0.0
        if kind in ("image", "image_edit") and ext == "png" and index < generation.outputs:
            return self._visual(generation.prompt_used, generation, ext, label, allow_video=False)
        if kind == "video" and index == 0:
            return self._visual(generation.prompt_used or "video", generation, ext, label, allow_video=True)
        if kind == "music" and ext == "mp3" and index < generation.outputs:
            return placeholder_mp3(seconds, title=generation.params["title"])
        if kind == "speech" and ext == "mp3" and index == 0:
            return placeholder_mp3(seconds, title=generation.prompt[:60])
        if kind == "sound" and ext == "wav" and index == 0:
            return silent_wav(seconds)
        return None

    def _visual(self, text: str, generation: Generation, ext: str, label: str, *, allow_video: bool) -> bytes | None:
        ratio = generation.aspect_ratio or "1:1"
        if ext == "png":
            width, height = dimensions_for(ratio)
            return placeholder_png(text, width=width, height=height, label=label)
        if ext == "mp4" and allow_video:
            short = VIDEO_SHORT_SIDE[generation.resolution or "720p"]
            width, height = dimensions_for(ratio, long_side=10_000)
            scale = short / min(width, height)
            return placeholder_mp4(
                round(width * scale / 2) * 2, round(height * scale / 2) * 2, generation.duration or 0
            )
        return None

    def _generation_for(self, key: str, generation_id: str) -> Generation:
        generation = self.generations.get(generation_id)
        if generation is None or generation.key != key:
            raise KolboError(404, "NOT_FOUND", "Generation not found")
        return generation

    def _dna_for(self, key: str, dna_id: str, *, status: int = 404) -> VisualDna:
        dna = self.visual_dnas.get(dna_id)
        if dna is None or not dna.visible_to(key):
            code = "NOT_FOUND" if status == 404 else "VALIDATION_ERROR"
            raise KolboError(status, code, f"Visual DNA not found: {dna_id}")
        return dna

    def _moodboard_for(self, key: str, moodboard_id: str) -> Moodboard:
        board = self.moodboards.get(moodboard_id)
        if board is None or not board.visible_to(key):
            raise invalid(f"Moodboard not found: {moodboard_id}")
        return board

    def _url(self, item_id: str, index: int, ext: str) -> str:
        return media_url(self.public_url, item_id, index, ext)

    def _timestamp(self, monotonic: float) -> str:
        moment = datetime.fromtimestamp(self._epoch + monotonic, tz=UTC)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- helpers -----------------------------------------------------------------------------------


def _resolve_model(
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


def _aspect_ratio(body: JsonBody, model: KolboModel, label: str, default: str) -> str:
    ratio = body.text("aspect_ratio") or default
    # Smart Select would pick a model that supports the ratio, so "auto" accepts every common ratio.
    allowed = model.supported_aspect_ratios if label != "auto" and model.supported_aspect_ratios else ASPECT_RATIOS
    if ratio not in allowed:
        raise invalid(f"aspect_ratio must be one of {', '.join(sorted(allowed))}")
    return ratio


def _enhanced(prompt: str, enhance: bool) -> str:
    return f"{prompt}, richly detailed, balanced composition, professional lighting" if enhance else prompt


def _failure_provider(model: KolboModel) -> str:
    """The upstream the failure came from, in the "kie-nano-banana" form of the documented example."""
    if model.identifier.startswith(model.provider):
        return model.identifier
    return f"{model.provider}-{model.identifier}"


def _rate(rate: float | None) -> float:
    return 1.0 if rate is None else rate


def _num(value: float) -> float | int:
    """Credits as JSON numbers: whole amounts without a fraction."""
    return int(value) if float(value).is_integer() else round(value, 2)
