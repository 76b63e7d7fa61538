"""Local simulator of the Univers Studio "Mystery Mosaic" API (https://mosaic-api.fly.dev)."""

from __future__ import annotations

import collections
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Literal

import anyio
import anyio.to_thread
from PIL import Image
from starlette.applications import Starlette
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from providers._sandbox.faults import Faults, RequestLog, SimulatorMiddleware
from providers._sandbox.images import placeholder_png
from providers.univers import simulator_render as render

__all__ = ["PRESETS", "Preset", "UniversAccount", "UniversSimulator"]

ALLOWED_TYPES = frozenset({"image/png", "image/jpeg", "image/webp"})
MAX_IMAGE_BYTES = 10_000_000
MAX_BULK = 50
FREE_LIMIT = 3
API_PLANS = frozenset({"commercial", "studio"})
AI_MODE_COST = 10
AI_IMAGE_COSTS = {"low": 1, "medium": 3, "high": 10}
AI_STYLES = frozenset({"coloring", "cartoon", "realistic", "pixel-art", "watercolor", "sticker"})
AI_SIZES = {"1024x1024": (1024, 1024), "1024x1536": (1024, 1536), "1536x1024": (1536, 1024), "auto": (1024, 1024)}
AI_SCALE = 4
VORONOI_DENSITIES = {"easy": 200, "standard": 500, "detailed": 900, "expert": 1400}
UPGRADE_URL = "https://univers.studio/pricing/"
UPSTREAM_FAIL = "[upstream-fail]"
UPSTREAM_ERROR = (
    '{"error": {"message": "The server had an error while processing your request.", "type": "server_error"}}'
)
_UNSAFE_NAME = re.compile(r'[^\x20-\x7e]|["\\/]')


@dataclass
class UniversAccount:
    """The account behind one API key: plan and credits."""

    plan_name: str = "commercial"
    balance: int = 800
    monthly_quota: int = 800


@dataclass(frozen=True)
class Preset:
    """A named set of generation parameters (from the engine's preset table)."""

    label: str
    page: str
    cell_size: int
    colors: int
    mode: str = "hex"
    blur: int = 0
    voronoi_density: str = "standard"
    min_zone_pixels: int = 500
    lineart_detail: str = "standard"
    lineart_thickness: int = 2
    landscape: bool = False

    def public(self) -> dict[str, Any]:
        """The preset as GET /api/presets lists it (mode-specific fields are null for other modes)."""
        return {
            "label": self.label,
            "page": self.page,
            "cell_size": self.cell_size,
            "colors": self.colors,
            "landscape": self.landscape,
            "mode": self.mode,
            "voronoi_density": self.voronoi_density if self.mode == "voronoi" else None,
            "min_zone_pixels": self.min_zone_pixels if self.mode == "cbn" else None,
            "lineart_detail": self.lineart_detail if self.mode == "lineart" else None,
            "lineart_thickness": self.lineart_thickness if self.mode == "lineart" else None,
        }


PRESETS: dict[str, Preset] = {
    "kdp-letter": Preset("KDP 8.5×11 no bleed", "letter", 25, 12),
    "kdp-a4": Preset("A4 print-ready", "a4", 25, 12),
    "kids-easy": Preset("Kids 4-6 yrs (easy)", "letter", 35, 8),
    "kids-detail": Preset("Kids 7-10 yrs", "letter", 25, 12),
    "adult-fine": Preset("Adult detailed", "letter", 18, 16),
    "voronoi-easy": Preset("Organic Mosaic (easy)", "letter", 0, 10, mode="voronoi", voronoi_density="easy"),
    "voronoi-standard": Preset("Organic Mosaic (standard)", "letter", 0, 12, mode="voronoi"),
    "voronoi-detailed": Preset(
        "Organic Mosaic (detailed)", "letter", 0, 16, mode="voronoi", voronoi_density="detailed"
    ),
    "voronoi-expert": Preset("Organic Mosaic (expert)", "letter", 0, 20, mode="voronoi", voronoi_density="expert"),
    "cbn-kids": Preset("CBN Kids (easy)", "letter", 0, 6, mode="cbn", blur=3, min_zone_pixels=1000),
    "cbn-standard": Preset("CBN Standard", "letter", 0, 10, mode="cbn", blur=2, min_zone_pixels=500),
    "cbn-detailed": Preset("CBN Detailed", "letter", 0, 14, mode="cbn", blur=1, min_zone_pixels=300),
    "cbn-a4": Preset("CBN A4 Print-ready", "a4", 0, 10, mode="cbn", blur=2, min_zone_pixels=500),
    "lineart-simple": Preset(
        "Line Art Simple (Kids 3-6)", "letter", 0, 0, mode="lineart", lineart_detail="simple", lineart_thickness=3
    ),
    "lineart-standard": Preset("Line Art Standard", "letter", 0, 0, mode="lineart"),
    "lineart-detailed": Preset("Line Art Detailed", "letter", 0, 0, mode="lineart", lineart_detail="detailed"),
    "lineart-expert": Preset(
        "Line Art Expert", "letter", 0, 0, mode="lineart", lineart_detail="expert", lineart_thickness=1
    ),
}


class _ApiError(Exception):
    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


@dataclass
class _Caller:
    key: str | None
    account: UniversAccount | None
    ip: str


@dataclass(frozen=True)
class _Job:
    """What to render, after presets and clamping."""

    mode: Literal["hex", "voronoi", "cbn", "lineart", "ai"]
    colors: int = 12
    cell_size: int = 25
    page: str = "letter"
    density: str = "standard"
    detail: str = "standard"
    thickness: int = 2
    min_zone_pixels: int = 500
    blur: int = 2
    cbn_style: str = "kids"


@dataclass
class _Upload:
    name: str
    data: bytes


class UniversSimulator:
    """A Starlette app that behaves like the Univers Studio Mystery Mosaic API, with inspectable state."""

    def __init__(
        self,
        *,
        accounts: dict[str, UniversAccount] | None = None,
        delay_seconds: float = 0.0,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        cbn_cost: int = 1,
        invalid_key_mode: Literal["401", "anonymous"] = "401",
        public_url: str = "http://127.0.0.1",
    ) -> None:
        """Create the simulator; accounts default to {"us_live_sandbox": UniversAccount()}."""
        self.accounts = accounts if accounts is not None else {"us_live_sandbox": UniversAccount()}
        self.delay_seconds = delay_seconds
        self.sleep = sleep
        self.cbn_cost = cbn_cost
        self.invalid_key_mode: Literal["401", "anonymous"] = invalid_key_mode
        self.public_url = public_url
        # Anonymous callers' free generations used, by client address.
        self.anonymous_usage: collections.Counter[str] = collections.Counter()
        # Uploads are large, so keep fewer recorded bodies than the default.
        self.requests = RequestLog(max_entries=100)
        self.faults = Faults()
        # The real server renders one image at a time (a global semaphore).
        self._render_limiter = anyio.CapacityLimiter(1)
        self.app = Starlette(
            routes=[
                Route("/api/generate", self._generate, methods=["POST"]),
                Route("/api/bulk", self._bulk, methods=["POST"]),
                Route("/api/ai-image", self._ai_image, methods=["POST"]),
                Route("/api/credits/balance", self._balance, methods=["GET"]),
                Route("/api/presets", self._presets, methods=["GET"]),
                Route("/api/quota", self._quota, methods=["GET"]),
            ],
            middleware=[Middleware(SimulatorMiddleware, log=self.requests, faults=self.faults)],
            exception_handlers={_ApiError: _error_response, HTTPException: _http_exception_response},
        )

    # --- handlers -------------------------------------------------------------------------------

    async def _generate(self, request: Request) -> Response:
        caller = self._caller(request)
        self._require_api_plan(caller)
        form = await _parse_form(request)
        try:
            fields = _Fields(form)
            upload = fields.file("image")
            preset = fields.text("preset", "")
            colors, cell_size = fields.integer("colors", 12), fields.integer("cell_size", 25)
            page, output, mode = fields.text("page", "letter"), fields.text("output", "zip"), fields.text("mode", "hex")
            density, detail = fields.text("density", "standard"), fields.text("detail", "standard")
            thickness, hint = fields.integer("thickness", 2), fields.text("hint", "")
            cbn_style = fields.text("cbn_style", "kids")
            fields.raise_errors()
            assert upload is not None
            job = _job(preset, mode, colors, cell_size, page, density, detail, thickness, cbn_style)
            cost = self._cost(job.mode)
            self._check_free_quota(caller, 1, error="Free limit reached")
            data = await _read_upload(upload)
            name = _stem(upload.filename) or "mosaic"
        finally:
            await form.close()
        if caller.account is None and job.mode in ("cbn", "ai"):
            feature = "AI coloring" if job.mode == "ai" else "Color by Number"
            raise _ApiError(403, f"{feature} requires an account. Sign up free at univers.studio!")
        self._check_balance(caller, cost)
        image = await self._decode(data, upload.content_type)
        await self._wait()
        if UPSTREAM_FAIL in hint:
            raise _ApiError(502, f"Image API error: {UPSTREAM_ERROR}")
        if job.mode == "ai":
            coloring = await anyio.to_thread.run_sync(
                lambda: render.render_ai_coloring(image, style=cbn_style), limiter=self._render_limiter
            )
            self._charge(caller, cost, units=1)
            return _file(render.png_bytes(coloring, 300 / AI_SCALE), "image/png", f"{name}-coloring.png")
        result = await anyio.to_thread.run_sync(lambda: _render(job, image), limiter=self._render_limiter)
        self._charge(caller, cost, units=1)
        return await anyio.to_thread.run_sync(
            lambda: _output(result, output, name, full_pack=caller.account is not None)
        )

    async def _bulk(self, request: Request) -> Response:
        caller = self._caller(request)
        self._require_api_plan(caller)
        form = await _parse_form(request)
        try:
            fields = _Fields(form)
            files = fields.files("images")
            preset = fields.text("preset", "")
            colors, cell_size = fields.integer("colors", 12), fields.integer("cell_size", 25)
            page, mode = fields.text("page", "letter"), fields.text("mode", "hex")
            density, detail = fields.text("density", "standard"), fields.text("detail", "standard")
            thickness = fields.integer("thickness", 2)
            fields.raise_errors()
            if len(files) > MAX_BULK:
                raise _ApiError(400, f"Too many images (max {MAX_BULK})")
            if not files:
                raise _ApiError(400, "No images provided")
            # Bulk has no AI step: the engine treats ai and pbn like any other unknown mode there.
            bulk_mode = mode if mode in ("hex", "voronoi", "cbn", "lineart") else "hex"
            job = _job(preset, bulk_mode, colors, cell_size, page, density, detail, thickness, "kids")
            if caller.account is not None and caller.account.balance < len(files):
                detail_body = _insufficient(caller.account.balance, cost=len(files)) | {"requested": len(files)}
                raise _ApiError(402, detail_body)
            if caller.account is None:
                remaining = self._free_remaining(caller)
                if remaining < len(files):
                    message = f"You have {remaining} free generation(s) left but requested {len(files)}. Upgrade!"
                    raise _ApiError(
                        429,
                        {
                            "error": "Not enough free credits",
                            "remaining": remaining,
                            "requested": len(files),
                            "message": message,
                            "upgrade_url": UPGRADE_URL,
                        },
                    )
            uploads: list[_Upload] = []
            for file in files:
                if not isinstance(file, UploadFile):
                    continue
                try:
                    data = await _read_upload(file)
                except _ApiError:
                    continue
                uploads.append(_Upload(_stem(file.filename) or f"image-{len(uploads) + 1}", data))
        finally:
            await form.close()
        images: list[tuple[str, Image.Image]] = []
        names: set[str] = set()
        for upload in uploads:
            try:
                image = await anyio.to_thread.run_sync(render.open_image, upload.data)
            except render.UnreadableImage:
                continue
            images.append((_unique(upload.name, names), image))
        if not images:
            raise _ApiError(400, "No valid images processed")
        await self._wait()
        results = await anyio.to_thread.run_sync(
            lambda: [(name, _render(job, image)) for name, image in images], limiter=self._render_limiter
        )
        self._charge(caller, len(results), units=len(results))
        content = await anyio.to_thread.run_sync(
            lambda: render.result_zip(results, full_pack=caller.account is not None)
        )
        return _file(content, "application/zip", "mystery-mosaics-bulk.zip")

    async def _ai_image(self, request: Request) -> Response:
        caller = self._caller(request)
        self._require_api_plan(caller)
        form = await _parse_form(request)
        try:
            fields = _Fields(form)
            prompt = fields.required_text("prompt")
            style, size = fields.text("style", "coloring"), fields.text("size", "1024x1024")
            quality = fields.text("quality", "low")
            fields.raise_errors()
        finally:
            await form.close()
        quality = quality if quality in AI_IMAGE_COSTS else "low"
        cost = AI_IMAGE_COSTS[quality]
        # Like the real server: an empty balance is refused before the prompt is looked at.
        if caller.account is not None and caller.account.balance <= 0:
            message = "You've used all your credits. Upgrade for more!"
            raise _ApiError(402, _insufficient(0, cost=cost) | {"message": message})
        self._check_free_quota(caller, 1, error="Free quota exceeded")
        prompt = prompt.strip()
        if len(prompt) < 3:
            raise _ApiError(400, "Prompt must be at least 3 characters")
        if len(prompt) > 1000:
            raise _ApiError(400, "Prompt must be under 1000 characters")
        if caller.account is not None and caller.account.balance < cost:
            balance = caller.account.balance
            message = f"This quality requires {cost} credits but you have {balance}. Choose a lower quality or upgrade!"
            raise _ApiError(402, _insufficient(balance, cost=cost) | {"message": message})
        width, height = AI_SIZES.get(size, AI_SIZES["1024x1024"])
        await self._wait()
        if UPSTREAM_FAIL in prompt:
            raise _ApiError(502, f"Image API error: {UPSTREAM_ERROR}")
        label = f"SANDBOX univers ai-image {style if style in AI_STYLES else 'raw'} {quality}"
        content = await anyio.to_thread.run_sync(
            lambda: placeholder_png(prompt, width=width // AI_SCALE, height=height // AI_SCALE, label=label)
        )
        # Like the real server, anonymous callers use up as many free generations as the quality costs.
        self._charge(caller, cost, units=cost)
        return _file(content, "image/png", "ai-image.png")

    async def _balance(self, request: Request) -> Response:
        caller = self._caller(request)
        if caller.account is None:
            raise _ApiError(401, "Not authenticated")
        account = caller.account
        return JSONResponse(
            {
                "balance": account.balance,
                "monthly_quota": account.monthly_quota,
                "plan_name": account.plan_name,
                "sub_status": "active",
            }
        )

    async def _presets(self, request: Request) -> Response:
        return JSONResponse({name: preset.public() for name, preset in PRESETS.items()})

    async def _quota(self, request: Request) -> Response:
        caller = self._caller(request)
        if caller.account is not None:
            account = caller.account
            body = {
                "remaining": account.balance,
                "limit": account.monthly_quota,
                "plan": account.plan_name,
                "authenticated": True,
            }
            return JSONResponse(body)
        return JSONResponse({"remaining": self._free_remaining(caller), "limit": FREE_LIMIT, "authenticated": False})

    # --- shared steps ---------------------------------------------------------------------------

    def _caller(self, request: Request) -> _Caller:
        forwarded = request.headers.get("x-forwarded-for")
        ip = forwarded.split(",")[0].strip() if forwarded else (request.client.host if request.client else "unknown")
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip()
        account = self.accounts.get(token) if scheme.lower() == "bearer" and token else None
        if account is not None:
            return _Caller(token, account, ip)
        if self.invalid_key_mode == "401":
            raise _ApiError(401, "Not authenticated")
        return _Caller(None, None, ip)

    def _require_api_plan(self, caller: _Caller) -> None:
        if caller.account is not None and caller.account.plan_name.lower() not in API_PLANS:
            raise _ApiError(403, "API access is only available on the Commercial plan")

    def _cost(self, mode: str) -> int:
        if mode == "ai":
            return AI_MODE_COST
        return self.cbn_cost if mode == "cbn" else 1

    def _free_remaining(self, caller: _Caller) -> int:
        return max(0, FREE_LIMIT - self.anonymous_usage[caller.ip])

    def _check_free_quota(self, caller: _Caller, needed: int, *, error: str) -> None:
        if caller.account is None and self._free_remaining(caller) < needed:
            message = f"You've used all {FREE_LIMIT} free generations. Upgrade for unlimited access!"
            body = {"error": error, "remaining": 0, "message": message, "upgrade_url": UPGRADE_URL}
            raise _ApiError(429, body)

    def _check_balance(self, caller: _Caller, cost: int) -> None:
        if caller.account is not None and caller.account.balance < cost:
            raise _ApiError(402, _insufficient(caller.account.balance, cost=cost))

    def _charge(self, caller: _Caller, cost: int, *, units: int) -> None:
        """Take the credits (or free generations) for a finished generation."""
        if caller.account is None:
            self.anonymous_usage[caller.ip] += units
            return
        # The balance may have dropped while this request waited; the charge must still fit.
        self._check_balance(caller, cost)
        caller.account.balance -= cost

    async def _decode(self, data: bytes, content_type: str | None) -> Image.Image:
        try:
            return await anyio.to_thread.run_sync(render.open_image, data)
        except render.UnreadableImage as exc:
            raise _ApiError(400, f"Unsupported image type: {content_type} ({exc})") from exc

    async def _wait(self) -> None:
        if self.delay_seconds > 0:
            await self.sleep(self.delay_seconds)


# --- request parsing ----------------------------------------------------------------------------


class _Fields:
    """Reads form fields the way FastAPI does, collecting its 422 validation errors."""

    def __init__(self, form: FormData) -> None:
        self.form = form
        self.errors: list[dict[str, Any]] = []

    def _value(self, name: str) -> str | UploadFile | None:
        value = self.form.get(name)
        # FastAPI treats an empty form value as absent.
        return None if value == "" else value

    def text(self, name: str, default: str) -> str:
        value = self._value(name)
        return value if isinstance(value, str) else default

    def required_text(self, name: str) -> str:
        value = self._value(name)
        if isinstance(value, str):
            return value
        self._missing(name)
        return ""

    def integer(self, name: str, default: int) -> int:
        value = self._value(name)
        if not isinstance(value, str):
            return default
        try:
            return int(value.strip())
        except ValueError:
            self.errors.append(
                {
                    "type": "int_parsing",
                    "loc": ["body", name],
                    "msg": "Input should be a valid integer, unable to parse string as an integer",
                    "input": value,
                }
            )
            return default

    def file(self, name: str) -> UploadFile | None:
        value = self._value(name)
        if isinstance(value, UploadFile):
            return value
        if value is None:
            self._missing(name)
        else:
            self.errors.append(
                {
                    "type": "value_error",
                    "loc": ["body", name],
                    "msg": f"Value error, Expected UploadFile, received: {type(value)}",
                    "input": value,
                    "ctx": {"error": {}},
                }
            )
        return None

    def files(self, name: str) -> list[UploadFile | str]:
        values = self.form.getlist(name)
        if not values:
            self._missing(name)
        return values

    def raise_errors(self) -> None:
        if self.errors:
            raise _ApiError(422, self.errors)

    def _missing(self, name: str) -> None:
        self.errors.append({"type": "missing", "loc": ["body", name], "msg": "Field required", "input": None})


async def _parse_form(request: Request) -> FormData:
    try:
        return await request.form(max_files=MAX_BULK * 20, max_fields=1000)
    except HTTPException as exc:  # raised by Starlette's multipart parser
        raise _ApiError(400, "There was an error parsing the body") from exc


async def _read_upload(upload: UploadFile) -> bytes:
    """The upload's bytes, checked like the real server (declared type, size) and also by magic bytes."""
    if upload.content_type not in ALLOWED_TYPES:
        raise _ApiError(400, f"Unsupported image type: {upload.content_type}")
    data = await upload.read(MAX_IMAGE_BYTES + 1)
    if len(data) > MAX_IMAGE_BYTES:
        raise _ApiError(400, "Image too large (max 10 MB)")
    if render.sniff_image_type(data) is None:
        detail = "file content is not a PNG, JPEG or WebP image"
        raise _ApiError(400, f"Unsupported image type: {upload.content_type} ({detail})")
    return data


def _job(
    preset_name: str,
    mode: str,
    colors: int,
    cell_size: int,
    page: str,
    density: str,
    detail: str,
    thickness: int,
    cbn_style: str,
) -> _Job:
    """Resolve presets, aliases and clamps into what to render."""
    preset = PRESETS.get(preset_name)
    if preset is not None:
        return _Job(
            mode=_mode(preset.mode),
            colors=preset.colors,
            cell_size=preset.cell_size,
            page=preset.page,
            density=preset.voronoi_density,
            detail=preset.lineart_detail,
            thickness=preset.lineart_thickness,
            min_zone_pixels=preset.min_zone_pixels,
            blur=preset.blur,
            cbn_style=cbn_style,
        )
    return _Job(
        mode=_mode(mode),
        colors=max(4, min(20, colors)),
        cell_size=max(12, min(50, cell_size)),
        page=page if page in render.PAGE_SIZES else "letter",
        density=density if density in VORONOI_DENSITIES else "standard",
        detail=detail if detail in render.LINEART_DETAILS else "standard",
        thickness=max(1, min(4, thickness)),
        cbn_style=cbn_style,
    )


def _mode(mode: str) -> Literal["hex", "voronoi", "cbn", "lineart", "ai"]:
    if mode in ("cbn", "pbn"):
        return "cbn"
    if mode == "voronoi":
        return "voronoi"
    if mode == "lineart":
        return "lineart"
    return "ai" if mode == "ai" else "hex"


def _render(job: _Job, image: Image.Image) -> render.Rendered:
    if job.mode == "lineart":
        return render.render_line_art(image, page=job.page, detail=job.detail, thickness=job.thickness)
    if job.mode == "cbn":
        return render.render_color_by_number(
            image, colors=job.colors, page=job.page, min_zone_pixels=job.min_zone_pixels, blur=job.blur
        )
    if job.mode == "voronoi":
        return render.render_voronoi(image, colors=job.colors, cells=VORONOI_DENSITIES[job.density], page=job.page)
    return render.render_hex(image, colors=job.colors, cell_size=job.cell_size, page=job.page)


def _output(result: render.Rendered, output: str, name: str, *, full_pack: bool) -> Response:
    """The requested file of a result, mapped per result kind as the real server does; ZIP otherwise."""
    png = "image/png"
    svg = "image/svg+xml"
    if isinstance(result, render.LineArtResult):
        label = "lineart"
        if output in ("mystery", "png"):
            return _file(render.png_bytes(result.line_art_png, result.dpi), png, f"{name}-lineart.png")
        if output in ("svg", "answer"):
            return _file(result.line_art_svg.encode(), svg, f"{name}-lineart.svg")
        if output in ("beauty", "preview"):
            return _file(render.png_bytes(result.preview_png, result.dpi), png, f"{name}-preview.png")
    elif isinstance(result, render.ColorByNumberResult):
        label = "cbn"
        if output == "beauty":
            return _file(render.png_bytes(result.mystery_full_png, result.dpi), png, f"{name}-preview.png")
        if output in ("mystery", "svg"):
            return _file(result.mystery_svg.encode(), svg, f"{name}-mystery.svg")
        if output == "answer":
            return _file(result.answer_svg.encode(), svg, f"{name}-answer.svg")
        if output == "legend":
            return _file(render.png_bytes(result.legend_png, result.dpi), png, f"{name}-legend.png")
        if output == "full":
            return _file(render.png_bytes(result.mystery_full_png, result.dpi), png, f"{name}-mystery-full.png")
    else:
        label = "mosaic"
        images = {
            "mystery": (result.mystery, "mystery"),
            "answer": (result.answer, "answer"),
            "beauty": (result.beauty, "beauty"),
            "legend": (result.legend, "legend"),
            "full": (result.mystery_full, "mystery-full"),
        }
        if output in images:
            image, suffix = images[output]
            return _file(render.png_bytes(image, result.dpi), png, f"{name}-{suffix}.png")
    content = render.result_zip([(name, result)], full_pack=full_pack)
    return _file(content, "application/zip", f"{name}-{label}.zip")


def _file(content: bytes, media_type: str, filename: str) -> Response:
    return Response(
        content, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


def _stem(filename: str | None) -> str:
    """The upload's file name without directory and extension, made safe for a header and a ZIP path."""
    if not filename:
        return ""
    return _UNSAFE_NAME.sub("_", PurePosixPath(filename).stem)


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}-{n}"
    taken.add(candidate)
    return candidate


def _insufficient(remaining: int, *, cost: int) -> dict[str, Any]:
    return {"error": "Insufficient credits", "remaining": remaining, "cost": cost, "upgrade_url": UPGRADE_URL}


async def _error_response(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, _ApiError)
    return JSONResponse({"detail": exc.detail}, exc.status)


async def _http_exception_response(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)
