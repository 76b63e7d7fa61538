"""Univers Studio (the Mystery Mosaic API): coloring pages, color-by-number and mystery mosaics from an uploaded
image, bulk ZIPs, and AI images.

Every endpoint is synchronous and answers with the file itself (ZIP, PNG or SVG), sometimes after minutes, so the
operations are `blocking`: genmcp runs them in the background, keeps the file as an artifact (a ZIP also member by
member), and answers `running` with a handle when the call outlives the wait budget. Auth: Bearer `us_live_…`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal

import httpx2
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from providers.base import (
    Balance,
    Completed,
    JobUpdate,
    Operation,
    OperationContext,
    OperationInput,
    Provider,
    Simulator,
)
from server.errors import (
    AuthError,
    ForbiddenError,
    GenmcpError,
    InsufficientCredits,
    InvalidInput,
    NotFoundError,
    RateLimited,
    UpstreamError,
)
from server.results import CreditsInfo
from server.upstream import retry_after_seconds

__all__ = ["Univers"]

Mode = Literal["hex", "voronoi", "cbn", "lineart", "ai"]
Output = Literal["zip", "mystery", "answer", "legend", "full", "beauty", "svg"]
Level = Literal["simple", "standard", "detailed", "expert"]
Density = Literal["easy", "standard", "detailed", "expert"]
Image = Annotated[
    str,
    Field(
        min_length=1,
        max_length=30_000_000,
        description="The picture: an https:// URL, a data:image URL, base64, an artifact:// reference, or an "
        "allowed local path. PNG, JPEG or WebP, at most 10 MB.",
    ),
]
_UPLOAD_TYPES = {"image/png", "image/jpeg", "image/webp"}
_FILENAME = re.compile(r'filename\*?=(?:UTF-8\'\')?"?([^";]+)"?', re.I)
_EXTENSIONS = {"application/zip": "zip", "image/png": "png", "image/svg+xml": "svg"}
_AI_COST = {"low": 1, "medium": 3, "high": 10}
_PAGE_COST = {"hex": 1, "voronoi": 1, "lineart": 1, "ai": 10}


class _PageOptions(OperationInput):
    mode: Mode = Field(
        default="hex",
        description="hex = hexagon mystery mosaic, voronoi = organic mosaic, cbn = color by number, lineart = coloring "
        "page, ai = AI-drawn coloring page.",
    )
    preset: str | None = Field(
        default=None, max_length=40, description="A preset name from univers_presets (overrides the other options)."
    )
    colors: int | None = Field(default=None, ge=4, le=20, description="Palette size, 4–20 (default 12).")
    page: Literal["letter", "a4"] | None = Field(default=None, description="Default letter.")
    detail: Level | None = Field(default=None, description="Line art detail.")
    density: Density | None = Field(default=None, description="Voronoi cell density.")
    cell_size: int | None = Field(default=None, ge=12, le=50, description="Hexagon size in page pixels (hex).")
    thickness: int | None = Field(default=None, ge=1, le=4, description="Line thickness (line art).")


class GenerateInput(_PageOptions):
    """Arguments of univers_generate."""

    image: Image
    output: Output = Field(
        default="zip",
        description="zip = everything (kept whole and page by page); mystery/answer/legend/full/beauty = one PNG; "
        "svg = vector (line art, color by number). AI mode always answers one PNG.",
    )
    hint: str | None = Field(default=None, max_length=200, description="What the picture shows (AI mode).")
    cbn_style: Literal["kids", "zen"] | None = Field(default=None, description="Line style for AI and color by number.")


class BulkInput(_PageOptions):
    """Arguments of univers_bulk."""

    images: list[Image] = Field(min_length=1, max_length=50, description="1–50 pictures.")
    mode: Literal["hex", "voronoi", "cbn", "lineart"] = "hex"


class AiImageInput(OperationInput):
    """Arguments of univers_ai_image."""

    prompt: str = Field(min_length=3, max_length=1000)
    style: Literal["coloring", "cartoon", "realistic", "pixel-art", "watercolor", "sticker"] = "coloring"
    size: Literal["1024x1024", "1024x1536", "1536x1024"] = "1024x1024"
    quality: Literal["low", "medium", "high"] = Field(default="low", description="low 1, medium 3, high 10 credits.")


class PresetsInput(OperationInput):
    """univers_presets takes no arguments."""


class _Detail(BaseModel):
    model_config = ConfigDict(extra="allow")
    detail: Any = None


class _Balance(BaseModel):
    balance: float
    monthly_quota: float | None = None
    plan_name: str | None = None
    sub_status: str | None = None


class _Preset(BaseModel):
    model_config = ConfigDict(extra="allow")
    label: str | None = None
    mode: str | None = None
    page: str | None = None
    colors: int | None = None


class Univers(Provider):
    """The Univers Studio adapter."""

    name = "univers"
    title = "Univers Studio"
    default_base_url = "https://mosaic-api.fly.dev"
    poll_interval = 5.0
    sandbox_key = "us_live_sandbox"

    def operations(self) -> list[Operation]:
        files = "the file as an artifact link (a ZIP also member by member, so each page opens on its own) with a "
        preview = "small preview of the first image"
        return [
            Operation(
                name="generate",
                title="Coloring page / mosaic",
                summary="Turn a picture into a printable activity page: a coloring page (lineart), a color-by-number "
                "page (cbn), a hexagon or organic mystery mosaic (hex, voronoi), or an AI-drawn coloring page (ai).",
                input_model=GenerateInput,
                kind="spend",
                handler=self._generate,
                cost="1 credit per page for lineart, hex and voronoi; AI coloring 10. Color by number: 1 credit per "
                "the docs, but the service's own code charges 10 — expect up to 10.",
                duration="seconds for mosaics and line art; AI modes up to 3 minutes (the service queues requests)",
                returns=files + preview + ".",
                blocking=True,
            ),
            Operation(
                name="bulk",
                title="Bulk mosaics",
                summary="Turn 1–50 pictures into pages in one ZIP (one folder per picture; pictures that are not "
                "PNG/JPEG/WebP or are over 10 MB are skipped). No AI mode.",
                input_model=BulkInput,
                kind="spend",
                handler=self._bulk,
                cost="1 credit per processed picture (the balance must cover all of them).",
                duration="seconds to minutes, depending on the count",
                returns=files + preview + ".",
                blocking=True,
            ),
            Operation(
                name="ai_image",
                title="AI image",
                summary="Draw an image from a text prompt (3–1000 characters) in a style: coloring page, cartoon, "
                "realistic, pixel art, watercolor or sticker.",
                input_model=AiImageInput,
                kind="spend",
                handler=self._ai_image,
                cost="quality low 1 credit, medium 3, high 10.",
                duration="30 s to 3 minutes",
                returns="the PNG as an artifact link, with a " + preview + ".",
                blocking=True,
            ),
            Operation(
                name="presets",
                title="Presets",
                summary="List the page presets (KDP letter/A4, kids, adult, organic mosaics, color by number, line "
                "art) and what each sets.",
                input_model=PresetsInput,
                kind="read",
                handler=self._presets,
                cost="Free.",
                duration="a second",
                returns="details.presets: {name: {label, mode, page, colors, …}}.",
            ),
        ]

    @staticmethod
    def _form(args: BaseModel, exclude: set[str]) -> dict[str, str]:
        values = args.model_dump(exclude=exclude, exclude_none=True)
        return {key: str(value) for key, value in values.items()}

    async def _upload(self, context: OperationContext, value: str, field: str) -> tuple[str, bytes, str]:
        image = await context.inputs.load(value, field=field)
        if image.mime_type not in _UPLOAD_TYPES:
            raise InvalidInput(f"{field}: Univers takes PNG, JPEG or WebP, not {image.mime_type}.")
        if len(image.data) > 10_000_000:
            raise InvalidInput(f"{field}: Univers takes images up to 10 MB.")
        return image.filename, image.data, image.mime_type

    async def _generate(self, args: GenerateInput, context: OperationContext) -> Completed:
        upload = await self._upload(context, args.image, "image")
        expected = _PAGE_COST.get(args.mode) if not args.preset else None
        response = await self.client.request(
            "POST",
            "api/generate",
            data=self._form(args, {"image"}),
            files=[("image", upload)],
            read_timeout=540,
            on_send=context.sending,
        )
        return self._file(response, context, expected, {"mode": args.mode, "output": args.output})

    async def _bulk(self, args: BulkInput, context: OperationContext) -> Completed:
        uploads = [await self._upload(context, image, f"images[{i}]") for i, image in enumerate(args.images)]
        response = await self.client.request(
            "POST",
            "api/bulk",
            data=self._form(args, {"images"}),
            files=[("images", upload) for upload in uploads],
            read_timeout=540,
            on_send=context.sending,
        )
        return self._file(response, context, None, {"mode": args.mode, "images": len(uploads)})

    async def _ai_image(self, args: AiImageInput, context: OperationContext) -> Completed:
        response = await self.client.request(
            "POST", "api/ai-image", data=self._form(args, set()), read_timeout=540, on_send=context.sending
        )
        details = {"style": args.style, "size": args.size, "quality": args.quality}
        return self._file(response, context, _AI_COST[args.quality], details)

    def _file(
        self, response: httpx2.Response, context: OperationContext, charged: float | None, details: dict[str, Any]
    ) -> Completed:
        if response.status_code != 200:
            raise self._error(response, spend=True)
        mime_type = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if mime_type not in _EXTENSIONS:
            raise UpstreamError(
                f"Univers answered a {mime_type or 'untyped'} body instead of a file; it may have been charged.",
                charged=None,
            )
        found = _FILENAME.search(response.headers.get("content-disposition", ""))
        filename = found.group(1) if found else f"univers.{_EXTENSIONS[mime_type]}"
        assets = context.files.keep(response.content, mime_type=mime_type, filename=filename)
        return Completed(
            assets=assets,
            credits=CreditsInfo(charged=charged),
            details=details | {"file": filename, "bytes": len(response.content)},
        )

    async def _presets(self, args: PresetsInput, context: OperationContext) -> Completed:
        response = await self.client.request("GET", "api/presets")
        if response.status_code != 200:
            raise self._error(response)
        try:
            presets = {name: _Preset.model_validate(value) for name, value in response.json().items()}
        except (ValueError, AttributeError, ValidationError) as exc:
            raise UpstreamError("Univers answered a presets list genmcp cannot read.") from exc
        table = {name: preset.model_dump(exclude_none=True) for name, preset in presets.items()}
        return Completed(details={"presets": table}, text=", ".join(sorted(table)))

    def _error(self, response: httpx2.Response, *, spend: bool = False) -> GenmcpError:
        try:
            detail = _Detail.model_validate_json(response.content).detail
        except ValidationError:
            return self.client.error_for_status(response, spend=spend)
        facts = detail if isinstance(detail, dict) else {}
        said = self.client.redact(str(facts.get("error") or facts.get("message") or detail))[:300]
        status = response.status_code
        if status in (400, 422):
            return InvalidInput(f"Univers refused the request: {said}")
        if status == 401:
            return AuthError(f"Univers refused the API key ({said}). Check {self.key_env()}.")
        if status == 402:
            left, cost = facts.get("remaining"), facts.get("cost") or facts.get("required")
            return InsufficientCredits(f"Not enough Univers credits: {left} left, this needs {cost}.")
        if status == 403:
            return ForbiddenError(f"Univers does not allow this on the account's plan: {said}")
        if status == 429:
            return RateLimited(f"Univers is limiting requests: {said}", retry_after=retry_after_seconds(response))
        if status == 502:
            return UpstreamError(f"Univers' image service failed: {said}", charged=False)
        return self.client.error_for_status(response, detail=said, spend=spend)

    async def status(self, upstream_id: str, poll_state: Mapping[str, Any], *, hold: float) -> JobUpdate:
        # Univers has no jobs: genmcp runs each call itself.
        raise NotFoundError("Univers has no job ids; only handles genmcp gave out can be polled.")

    async def balance(self, last_seen: Balance | None) -> Balance | None:
        response = await self.client.request("GET", "api/credits/balance")
        if response.status_code != 200:
            raise self._error(response)
        balance = self.client.parse(response, _Balance)
        return Balance(
            remaining=balance.balance,
            live=True,
            as_of=self.client.clock.wall(),
            details={"plan": balance.plan_name, "monthly_quota": balance.monthly_quota},
        )

    async def check(self) -> str:
        balance = await self.balance(None)
        assert balance is not None
        return f"key accepted; {balance.remaining:g} credits ({balance.details.get('plan')} plan)"

    @classmethod
    def simulator(cls, *, now: Callable[[], float], job_seconds: float) -> Simulator:
        from providers.univers.simulator import UniversSimulator

        return UniversSimulator(delay_seconds=job_seconds)
