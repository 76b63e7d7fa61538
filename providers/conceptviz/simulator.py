"""Local simulator of the ConceptViz REST API (https://conceptviz.app/api/v1)."""

from __future__ import annotations

import base64
import binascii
import collections
import math
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from providers._sandbox.faults import Faults, RequestLog, SimulatorMiddleware
from providers._sandbox.images import dimensions_for, placeholder_png

__all__ = ["ConceptVizAccount", "ConceptVizSimulator", "Task"]

ASPECT_RATIOS = frozenset(
    {"1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3", "4:5", "5:4", "21:9", "a4-portrait", "a4-landscape"}
)
DEFAULT_ASPECT_RATIO = "16:9"
MAX_ITEMS = 4
MAX_IMAGE_BYTES = 20 * 1024 * 1024
PRICES = {("cv-2", "2k"): 2, ("cv-1", "2k"): 1, ("cv-1", "4k"): 2}
FAILED_MESSAGE = "Image generation failed. Please try again later."
MODERATION_WINDOW = 60.0
_DATA_URL = re.compile(r"data:image/(png|jpeg|jpg|webp);base64,(.*)", re.DOTALL)
_FILE_NAME = re.compile(r"(?P<task>[A-Za-z0-9_-]+)-(?P<index>[0-9]+)\.png")


@dataclass
class ConceptVizAccount:
    """One API key's account: plan, credits and plan limits."""

    plan: str = "pro"
    credits: int = 1000
    max_batch: int = 4
    allow_4k: bool = True
    credit_consumption_fails: bool = False


@dataclass
class Task:
    """One submitted generate or edit task."""

    id: str
    key: str
    kind: str
    model: str
    quality: str
    aspect_ratio: str
    prompts: list[str]
    credits_used: int
    created: float
    processing_at: float
    ready_at: float
    fails: bool
    refunded: bool = False
    input_images: int = 0

    def status_at(self, now: float) -> str:
        """The task's status at time now: pending, processing, completed or failed."""
        if now < self.processing_at:
            return "pending"
        if now < self.ready_at:
            return "processing"
        return "failed" if self.fails else "completed"


class _ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra
        self.headers = headers or {}


@dataclass
class _Submission:
    prompts: list[str]
    model: str
    quality: str
    aspect_ratio: str
    images: int = 0
    kind: str = "generate"


class ConceptVizSimulator:
    """A Starlette app that behaves like the ConceptViz API, with inspectable state."""

    def __init__(
        self,
        *,
        accounts: dict[str, ConceptVizAccount] | None = None,
        job_seconds: float = 8.0,
        now: Callable[[], float] = time.monotonic,
        public_url: str = "http://127.0.0.1",
        echo_key_in_errors: bool = False,
        moderation_limit: int | None = None,
    ) -> None:
        """Create the simulator; accounts default to {"cvk_sandbox": ConceptVizAccount()}."""
        self.accounts = accounts if accounts is not None else {"cvk_sandbox": ConceptVizAccount()}
        self.job_seconds = job_seconds
        self.now = now
        self.public_url = public_url
        self.echo_key_in_errors = echo_key_in_errors
        self.moderation_limit = moderation_limit
        self.tasks: dict[str, Task] = {}
        self.requests = RequestLog()
        self.faults = Faults()
        self._moderation_calls: dict[str, collections.deque[float]] = collections.defaultdict(collections.deque)
        self._files: dict[str, bytes] = {}
        self.app = Starlette(
            routes=[
                Route("/api/v1/generate", self._generate, methods=["POST"]),
                Route("/api/v1/edit", self._edit, methods=["POST"]),
                Route("/api/v1/task/{task_id}", self._task, methods=["GET"]),
                Route("/files/{name}", self._file, methods=["GET"]),
            ],
            middleware=[Middleware(SimulatorMiddleware, log=self.requests, faults=self.faults)],
            exception_handlers={_ApiError: _error_response},
        )

    # --- handlers -------------------------------------------------------------------------------

    async def _generate(self, request: Request) -> Response:
        key, account = self._authenticate(request)
        body = await _json_object(request)
        prompts = _prompts(body)
        model, quality = _model_and_quality(body)
        submission = _Submission(prompts, model, quality, _aspect_ratio(body))
        if len(prompts) > account.max_batch:
            raise _ApiError(403, "PLAN_LIMIT_EXCEEDED", f"Batch size exceeds your plan limit of {account.max_batch}")
        return self._submit(key, account, submission)

    async def _edit(self, request: Request) -> Response:
        key, account = self._authenticate(request)
        if request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
            submission = await _multipart_edit(request)
        else:
            body = await _json_object(request)
            prompt, images = body.get("prompt"), body.get("images") or []
            if prompt is not None and not isinstance(prompt, str):
                raise _ApiError(400, "INVALID_BODY", "prompt must be a string")
            if not (isinstance(images, list) and all(isinstance(image, str) for image in images)):
                raise _ApiError(400, "INVALID_BODY", "images must be an array of strings")
            prompt = _require_prompt(prompt)
            model, quality = _model_and_quality(body)
            aspect_ratio = _aspect_ratio(body)
            _check_image_count(len(images))
            for image in images:
                _check_image_reference(image)
            submission = _Submission([prompt], model, quality, aspect_ratio, len(images))
        submission.kind = "edit"
        return self._submit(key, account, submission)

    async def _task(self, request: Request) -> Response:
        key, _ = self._authenticate(request)
        task = self.tasks.get(request.path_params["task_id"])
        if task is None or task.key != key:
            raise _ApiError(404, "TASK_NOT_FOUND", "Task not found")
        status = task.status_at(self.now())
        if status == "completed":
            base = self.public_url.rstrip("/")
            images = [{"url": f"{base}/files/{task.id}-{n}.png", "prompt": p} for n, p in enumerate(task.prompts)]
            return JSONResponse({"status": status, "images": images})
        if status == "failed":
            body = {"status": status, "error": FAILED_MESSAGE, "code": "GENERATION_FAILED", "credits_refunded": True}
            return JSONResponse(body)
        return JSONResponse({"status": status})

    async def _file(self, request: Request) -> Response:
        name: str = request.path_params["name"]
        match = _FILE_NAME.fullmatch(name)
        task = self.tasks.get(match["task"]) if match else None
        if match is None or task is None or task.status_at(self.now()) != "completed":
            return Response("Not Found", status_code=404, media_type="text/plain")
        index = int(match["index"])
        if index >= len(task.prompts):
            return Response("Not Found", status_code=404, media_type="text/plain")
        if name not in self._files:
            width, height = dimensions_for(task.aspect_ratio)
            label = f"SANDBOX conceptviz {task.model} {task.quality}"
            self._files[name] = placeholder_png(task.prompts[index], width=width, height=height, label=label)
        return Response(self._files[name], media_type="image/png")

    # --- shared steps ---------------------------------------------------------------------------

    def _authenticate(self, request: Request) -> tuple[str, ConceptVizAccount]:
        self._settle()
        header = request.headers.get("authorization")
        scheme, _, key = (header or "").partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key or " " in key:
            detail = f" (got {header!r})" if self.echo_key_in_errors and header else ""
            raise _ApiError(401, "UNAUTHORIZED", f"Missing or invalid Authorization header{detail}")
        account = self.accounts.get(key)
        if account is None:
            detail = f" {key!r}" if self.echo_key_in_errors else ""
            raise _ApiError(401, "INVALID_API_KEY", f"API key{detail} is invalid or disabled")
        if account.plan == "free":
            raise _ApiError(403, "PLAN_REQUIRED", "API access requires a Pro plan or higher")
        return key, account

    def _settle(self) -> None:
        # The real service refunds when a task fails, whether or not anyone polls it.
        now = self.now()
        for task in self.tasks.values():
            if not task.refunded and task.status_at(now) == "failed":
                task.refunded = True
                if task.key in self.accounts:
                    self.accounts[task.key].credits += task.credits_used

    def _check_moderation_rate(self, key: str) -> None:
        if self.moderation_limit is None:
            return
        now = self.now()
        calls = self._moderation_calls[key]
        while calls and calls[0] <= now - MODERATION_WINDOW:
            calls.popleft()
        if len(calls) >= self.moderation_limit:
            retry_after = str(max(1, math.ceil(calls[0] + MODERATION_WINDOW - now))) if calls else "60"
            message = "Too many moderation requests in a short period"
            raise _ApiError(429, "MODERATION_RATE_LIMITED", message, headers={"Retry-After": retry_after})
        calls.append(now)

    def _submit(self, key: str, account: ConceptVizAccount, submission: _Submission) -> Response:
        if submission.model == "cv-1" and submission.quality == "4k" and not account.allow_4k:
            raise _ApiError(403, "QUALITY_NOT_ALLOWED", "Requested quality is not available for your plan")
        self._check_moderation_rate(key)
        if any("[blocked]" in prompt for prompt in submission.prompts):
            raise _ApiError(400, "INPUT_MODERATION_BLOCKED", "Prompt or input image was blocked by safety checks")
        cost = PRICES[(submission.model, submission.quality)] * len(submission.prompts)
        if account.credits < cost:
            raise _ApiError(402, "INSUFFICIENT_CREDITS", "Not enough credits", credits_remaining=account.credits)
        if account.credit_consumption_fails:
            raise _ApiError(500, "CREDIT_CONSUMPTION_FAILED", "Credits could not be consumed")
        account.credits -= cost
        now = self.now()
        task = Task(
            id=secrets.token_urlsafe(15),
            key=key,
            kind=submission.kind,
            model=submission.model,
            quality=submission.quality,
            aspect_ratio=submission.aspect_ratio,
            prompts=submission.prompts,
            credits_used=cost,
            created=now,
            processing_at=now + 0.1 * self.job_seconds,
            ready_at=now + self.job_seconds,
            fails=any("[fail]" in prompt for prompt in submission.prompts),
            input_images=submission.images,
        )
        self.tasks[task.id] = task
        return JSONResponse(
            {
                "taskId": task.id,
                "status": "pending",
                "model": task.model,
                "quality": task.quality,
                "aspect_ratio": task.aspect_ratio,
                "credits_used": cost,
                "credits_remaining": account.credits,
                "poll_url": f"/api/v1/task/{task.id}",
            }
        )


# --- request parsing ----------------------------------------------------------------------------


async def _error_response(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, _ApiError)
    return JSONResponse({"error": exc.message, "code": exc.code, **exc.extra}, exc.status, headers=exc.headers)


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
        raise _ApiError(400, "INVALID_BODY", "Request body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise _ApiError(400, "INVALID_BODY", "Request body must be a JSON object")
    return body


def _require_prompt(prompt: str | None) -> str:
    if prompt is None or not prompt.strip():
        raise _ApiError(400, "PROMPT_REQUIRED", "No prompt or prompts provided")
    return prompt


def _prompts(body: dict[str, Any]) -> list[str]:
    prompts, prompt = body.get("prompts"), body.get("prompt")
    if prompts is not None and not (isinstance(prompts, list) and all(isinstance(p, str) for p in prompts)):
        raise _ApiError(400, "INVALID_BODY", "prompts must be an array of strings")
    if prompt is not None and not isinstance(prompt, str):
        raise _ApiError(400, "INVALID_BODY", "prompt must be a string")
    if not prompts:
        return [_require_prompt(prompt)]
    if len(prompts) > MAX_ITEMS:
        raise _ApiError(400, "TOO_MANY_PROMPTS", f"More than {MAX_ITEMS} prompts in one request")
    return [_require_prompt(p) for p in prompts]


def _model_and_quality(body: dict[str, Any]) -> tuple[str, str]:
    model, quality = body.get("model", "cv-2"), body.get("quality", "2k")
    model, quality = "cv-2" if model is None else model, "2k" if quality is None else quality
    if not isinstance(model, str) or not isinstance(quality, str):
        raise _ApiError(400, "INVALID_BODY", "model and quality must be strings")
    if model not in ("cv-1", "cv-2"):
        raise _ApiError(400, "UNSUPPORTED_MODEL", "Model must be cv-2 or cv-1")
    if quality not in ("2k", "4k"):
        raise _ApiError(400, "INVALID_BODY", 'quality must be "2k" or "4k"')
    return model, "2k" if model == "cv-2" else quality


def _aspect_ratio(body: dict[str, Any]) -> str:
    ratio = body.get("aspectRatio")
    ratio = DEFAULT_ASPECT_RATIO if ratio is None else ratio
    if not isinstance(ratio, str) or ratio not in ASPECT_RATIOS:
        raise _ApiError(400, "INVALID_BODY", f"aspectRatio must be one of {', '.join(sorted(ASPECT_RATIOS))}")
    return ratio


def _check_image_count(count: int) -> None:
    if count == 0:
        raise _ApiError(400, "IMAGE_REQUIRED", "Edit request did not include an input image")
    if count > MAX_ITEMS:
        raise _ApiError(400, "TOO_MANY_IMAGES", f"More than {MAX_ITEMS} images in one edit request")


def _check_image_reference(image: str) -> None:
    try:
        url = urlsplit(image)
    except ValueError as exc:
        raise _ApiError(400, "INVALID_IMAGE", "Image URL is invalid") from exc
    if url.scheme in ("http", "https") and url.hostname:
        return
    match = _DATA_URL.fullmatch(image)
    if match is None:
        raise _ApiError(400, "INVALID_IMAGE", "Images must be http(s) URLs or data:image/(png|jpeg|webp) URLs")
    encoded = match[2]
    if len(encoded) > 4 * math.ceil(MAX_IMAGE_BYTES / 3):
        raise _ApiError(400, "INVALID_IMAGE", "Image exceeds 20MB")
    try:
        data = base64.b64decode(encoded, validate=True)
    except binascii.Error as exc:
        raise _ApiError(400, "INVALID_IMAGE", "Image data is not valid base64") from exc
    _check_image_bytes(data)


def _check_image_bytes(data: bytes) -> None:
    if len(data) > MAX_IMAGE_BYTES:
        raise _ApiError(400, "INVALID_IMAGE", "Image exceeds 20MB")
    is_png = data.startswith(b"\x89PNG\r\n\x1a\n")
    is_jpeg = data.startswith(b"\xff\xd8\xff")
    is_webp = data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    if not (is_png or is_jpeg or is_webp):
        raise _ApiError(400, "INVALID_IMAGE", "Image must be a PNG, JPEG or WebP file")


async def _multipart_edit(request: Request) -> _Submission:
    try:
        async with request.form(max_files=16, max_fields=64) as form:
            fields: dict[str, Any] = {name: value for name, value in form.multi_items() if isinstance(value, str)}
            prompt = _require_prompt(fields.get("prompt"))
            model, quality = _model_and_quality(fields)
            aspect_ratio = _aspect_ratio(fields)
            uploads = form.getlist("image")
            _check_image_count(len(uploads))
            for upload in uploads:
                if not isinstance(upload, UploadFile):
                    raise _ApiError(400, "INVALID_IMAGE", "image fields must be file uploads")
                _check_image_bytes(await upload.read(MAX_IMAGE_BYTES + 1))
            return _Submission([prompt], model, quality, aspect_ratio, len(uploads))
    except HTTPException as exc:  # raised by Starlette's multipart parser
        raise _ApiError(400, "INVALID_BODY", f"Invalid multipart body: {exc.detail}") from exc
