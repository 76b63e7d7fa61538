"""The simulator's app: the Univers Studio "Mystery Mosaic" API (https://mosaic-api.fly.dev) as Starlette routes,
with inspectable state (accounts, request log, faults) and an injectable delay."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anyio
import anyio.to_thread
from PIL import Image
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from providers._sandbox.faults import Faults, RequestLog, SimulatorMiddleware
from providers._sandbox.images import placeholder_png
from providers.univers.simulator.accounts import (
    AI_IMAGE_COSTS,
    FREE_LIMIT,
    UPGRADE_URL,
    Billing,
    KeyMode,
    UniversAccount,
    insufficient,
)
from providers.univers.simulator.forms import (
    MAX_BULK,
    ApiError,
    Fields,
    api_error_response,
    file_response,
    http_exception_response,
    parse_form,
    read_upload,
    stem,
    unique,
)
from providers.univers.simulator.images import UnreadableImage, open_image
from providers.univers.simulator.jobs import PRESETS, render_job, resolve_job
from providers.univers.simulator.lineart import render_ai_coloring
from providers.univers.simulator.packaging import File, output_file, png_bytes, result_zip

__all__ = ["UniversSimulator"]

AI_STYLES = frozenset({"coloring", "cartoon", "realistic", "pixel-art", "watercolor", "sticker"})
AI_SIZES = {"1024x1024": (1024, 1024), "1024x1536": (1024, 1536), "1536x1024": (1536, 1024), "auto": (1024, 1024)}
AI_SCALE = 4
UPSTREAM_FAIL = "[upstream-fail]"
UPSTREAM_ERROR = (
    '{"error": {"message": "The server had an error while processing your request.", "type": "server_error"}}'
)


@dataclass
class _Upload:
    """A bulk upload that passed the checks, under the name its folder in the ZIP gets."""

    name: str
    data: bytes


class UniversSimulator(Billing):
    """A Starlette app that behaves like the Univers Studio Mystery Mosaic API, with inspectable state."""

    def __init__(
        self,
        *,
        accounts: dict[str, UniversAccount] | None = None,
        delay_seconds: float = 0.0,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        cbn_cost: int = 1,
        invalid_key_mode: KeyMode = "401",
        public_url: str = "http://127.0.0.1",
    ) -> None:
        """Create the simulator; accounts default to {"us_live_sandbox": UniversAccount()}."""
        super().__init__(
            accounts=accounts if accounts is not None else {"us_live_sandbox": UniversAccount()},
            cbn_cost=cbn_cost,
            invalid_key_mode=invalid_key_mode,
        )
        self.delay_seconds = delay_seconds
        self.sleep = sleep
        self.public_url = public_url
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
            exception_handlers={ApiError: api_error_response, HTTPException: http_exception_response},
        )

    # --- handlers -------------------------------------------------------------------------------

    async def _generate(self, request: Request) -> Response:
        caller = self._caller(request)
        self._require_api_plan(caller)
        form = await parse_form(request)
        try:
            fields = Fields(form)
            upload = fields.file("image")
            preset = fields.text("preset", "")
            colors, cell_size = fields.integer("colors", 12), fields.integer("cell_size", 25)
            page, output, mode = fields.text("page", "letter"), fields.text("output", "zip"), fields.text("mode", "hex")
            density, detail = fields.text("density", "standard"), fields.text("detail", "standard")
            thickness, hint = fields.integer("thickness", 2), fields.text("hint", "")
            cbn_style = fields.text("cbn_style", "kids")
            fields.raise_errors()
            assert upload is not None
            job = resolve_job(preset, mode, colors, cell_size, page, density, detail, thickness, cbn_style)
            cost = self._cost(job.mode)
            self._check_free_quota(caller, 1, error="Free limit reached")
            data = await read_upload(upload)
            name = stem(upload.filename) or "mosaic"
        finally:
            await form.close()
        if caller.account is None and job.mode in ("cbn", "ai"):
            feature = "AI coloring" if job.mode == "ai" else "Color by Number"
            raise ApiError(403, f"{feature} requires an account. Sign up free at univers.studio!")
        self._check_balance(caller, cost)
        image = await self._decode(data, upload.content_type)
        await self._wait()
        if UPSTREAM_FAIL in hint:
            raise ApiError(502, f"Image API error: {UPSTREAM_ERROR}")
        if job.mode == "ai":
            coloring = await anyio.to_thread.run_sync(
                lambda: render_ai_coloring(image, style=cbn_style), limiter=self._render_limiter
            )
            self._charge(caller, cost, units=1)
            return file_response(File(png_bytes(coloring, 300 / AI_SCALE), "image/png", f"{name}-coloring.png"))
        result = await anyio.to_thread.run_sync(lambda: render_job(job, image), limiter=self._render_limiter)
        self._charge(caller, cost, units=1)
        file = await anyio.to_thread.run_sync(
            lambda: output_file(result, output, name, full_pack=caller.account is not None)
        )
        return file_response(file)

    async def _bulk(self, request: Request) -> Response:
        caller = self._caller(request)
        self._require_api_plan(caller)
        form = await parse_form(request)
        try:
            fields = Fields(form)
            files = fields.files("images")
            preset = fields.text("preset", "")
            colors, cell_size = fields.integer("colors", 12), fields.integer("cell_size", 25)
            page, mode = fields.text("page", "letter"), fields.text("mode", "hex")
            density, detail = fields.text("density", "standard"), fields.text("detail", "standard")
            thickness = fields.integer("thickness", 2)
            fields.raise_errors()
            if len(files) > MAX_BULK:
                raise ApiError(400, f"Too many images (max {MAX_BULK})")
            if not files:
                raise ApiError(400, "No images provided")
            # Bulk has no AI step: the engine treats ai and pbn like any other unknown mode there.
            bulk_mode = mode if mode in ("hex", "voronoi", "cbn", "lineart") else "hex"
            job = resolve_job(preset, bulk_mode, colors, cell_size, page, density, detail, thickness, "kids")
            if caller.account is not None and caller.account.balance < len(files):
                detail_body = insufficient(caller.account.balance, cost=len(files)) | {"requested": len(files)}
                raise ApiError(402, detail_body)
            if caller.account is None:
                remaining = self._free_remaining(caller)
                if remaining < len(files):
                    message = f"You have {remaining} free generation(s) left but requested {len(files)}. Upgrade!"
                    raise ApiError(
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
                    data = await read_upload(file)
                except ApiError:
                    continue
                uploads.append(_Upload(stem(file.filename) or f"image-{len(uploads) + 1}", data))
        finally:
            await form.close()
        images: list[tuple[str, Image.Image]] = []
        names: set[str] = set()
        for upload in uploads:
            try:
                image = await anyio.to_thread.run_sync(open_image, upload.data)
            except UnreadableImage:
                continue
            images.append((unique(upload.name, names), image))
        if not images:
            raise ApiError(400, "No valid images processed")
        await self._wait()
        results = await anyio.to_thread.run_sync(
            lambda: [(name, render_job(job, image)) for name, image in images], limiter=self._render_limiter
        )
        self._charge(caller, len(results), units=len(results))
        content = await anyio.to_thread.run_sync(lambda: result_zip(results, full_pack=caller.account is not None))
        return file_response(File(content, "application/zip", "mystery-mosaics-bulk.zip"))

    async def _ai_image(self, request: Request) -> Response:
        caller = self._caller(request)
        self._require_api_plan(caller)
        form = await parse_form(request)
        try:
            fields = Fields(form)
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
            raise ApiError(402, insufficient(0, cost=cost) | {"message": message})
        self._check_free_quota(caller, 1, error="Free quota exceeded")
        prompt = prompt.strip()
        if len(prompt) < 3:
            raise ApiError(400, "Prompt must be at least 3 characters")
        if len(prompt) > 1000:
            raise ApiError(400, "Prompt must be under 1000 characters")
        if caller.account is not None and caller.account.balance < cost:
            balance = caller.account.balance
            message = f"This quality requires {cost} credits but you have {balance}. Choose a lower quality or upgrade!"
            raise ApiError(402, insufficient(balance, cost=cost) | {"message": message})
        width, height = AI_SIZES.get(size, AI_SIZES["1024x1024"])
        await self._wait()
        if UPSTREAM_FAIL in prompt:
            raise ApiError(502, f"Image API error: {UPSTREAM_ERROR}")
        label = f"SANDBOX univers ai-image {style if style in AI_STYLES else 'raw'} {quality}"
        content = await anyio.to_thread.run_sync(
            lambda: placeholder_png(prompt, width=width // AI_SCALE, height=height // AI_SCALE, label=label)
        )
        # Like the real server, anonymous callers use up as many free generations as the quality costs.
        self._charge(caller, cost, units=cost)
        return file_response(File(content, "image/png", "ai-image.png"))

    async def _balance(self, request: Request) -> Response:
        caller = self._caller(request)
        if caller.account is None:
            raise ApiError(401, "Not authenticated")
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

    async def _decode(self, data: bytes, content_type: str | None) -> Image.Image:
        try:
            return await anyio.to_thread.run_sync(open_image, data)
        except UnreadableImage as exc:
            raise ApiError(400, f"Unsupported image type: {content_type} ({exc})") from exc

    async def _wait(self) -> None:
        if self.delay_seconds > 0:
            await self.sleep(self.delay_seconds)
