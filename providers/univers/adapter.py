"""Univers Studio (the Mystery Mosaic API): coloring pages, color-by-number and mystery mosaics from an uploaded
image, bulk ZIPs, and AI images.

Every endpoint is synchronous and answers with the file itself (ZIP, PNG or SVG), sometimes after minutes, so the
operations are `blocking`: genmcp runs them in the background, keeps the file as an artifact (a ZIP also member by
member), and answers `running` with a handle when the call outlives the wait budget. Auth: Bearer `us_live_…`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import httpx2
from pydantic import ValidationError

from providers.base import (
    Balance,
    Completed,
    JobUpdate,
    OperationContext,
    OperationInput,
    Provider,
    Simulator,
    operation,
)
from providers.univers.inputs import AiImageInput, BulkInput, GenerateInput, PresetsInput
from providers.univers.pricing import (
    AI_IMAGE,
    AI_IMAGE_COST,
    BULK_COST,
    FREE,
    GENERATE_COST,
    ai_image_estimate,
    bulk_estimate,
    generate_estimate,
    page_charge,
)
from providers.univers.wire import BalanceBody, ErrorBody, PresetTable
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

_UPLOAD_TYPES = {"image/png", "image/jpeg", "image/webp"}
_MAX_UPLOAD_BYTES = 10_000_000
_FILENAME = re.compile(r'filename\*?=(?:UTF-8\'\')?"?([^";]+)"?', re.I)
_EXTENSIONS = {"application/zip": "zip", "image/png": "png", "image/svg+xml": "svg"}
_READ_TIMEOUT = 540

_FILES = "the file as an artifact link (a ZIP also member by member, so each page opens on its own) with a "
_PREVIEW = "small preview of the first image"


def _form(args: OperationInput, *, exclude: frozenset[str] = frozenset()) -> dict[str, str]:
    """The arguments as multipart form fields (every value a string)."""
    return {key: str(value) for key, value in args.payload(exclude=exclude).items()}


class Univers(Provider):
    """The Univers Studio adapter."""

    name = "univers"
    title = "Univers Studio"
    default_base_url = "https://mosaic-api.fly.dev"
    poll_interval = 5.0
    sandbox_key = "us_live_sandbox"

    @operation(
        GenerateInput,
        name="generate",
        title="Coloring page / mosaic",
        summary="Turn a picture into a printable activity page: a coloring page (lineart), a color-by-number "
        "page (cbn), a hexagon or organic mystery mosaic (hex, voronoi), or an AI-drawn coloring page (ai).",
        kind="spend",
        cost=GENERATE_COST,
        duration="seconds for mosaics and line art; AI modes up to 3 minutes (the service queues requests)",
        returns=_FILES + _PREVIEW + ".",
        blocking=True,
        estimate=generate_estimate,
    )
    async def generate(self, args: GenerateInput, context: OperationContext) -> Completed:
        upload = await self._upload(context, args.image, "image")
        response = await self.client.request(
            "POST",
            "api/generate",
            data=_form(args, exclude=frozenset({"image"})),
            files=[("image", upload)],
            read_timeout=_READ_TIMEOUT,
            on_send=context.sending,
        )
        return await self._file(response, context, page_charge(args), {"mode": args.mode, "output": args.output})

    @operation(
        BulkInput,
        name="bulk",
        title="Bulk mosaics",
        summary="Turn 1–50 pictures into pages in one ZIP (one folder per picture; pictures that are not "
        "PNG/JPEG/WebP or are over 10 MB are skipped). No AI mode.",
        kind="spend",
        cost=BULK_COST,
        duration="seconds to minutes, depending on the count",
        returns=_FILES + _PREVIEW + ".",
        blocking=True,
        estimate=bulk_estimate,
    )
    async def bulk(self, args: BulkInput, context: OperationContext) -> Completed:
        uploads = [await self._upload(context, image, f"images[{i}]") for i, image in enumerate(args.images)]
        response = await self.client.request(
            "POST",
            "api/bulk",
            data=_form(args, exclude=frozenset({"images"})),
            files=[("images", upload) for upload in uploads],
            read_timeout=_READ_TIMEOUT,
            on_send=context.sending,
        )
        # The charge depends on how many pictures the service could read, which its answer does not say.
        return await self._file(response, context, None, {"mode": args.mode, "images": len(uploads)})

    @operation(
        AiImageInput,
        name="ai_image",
        title="AI image",
        summary="Draw an image from a text prompt (3–1000 characters) in a style: coloring page, cartoon, "
        "realistic, pixel art, watercolor or sticker.",
        kind="spend",
        cost=AI_IMAGE_COST,
        duration="30 s to 3 minutes",
        returns="the PNG as an artifact link, with a " + _PREVIEW + ".",
        blocking=True,
        estimate=ai_image_estimate,
    )
    async def ai_image(self, args: AiImageInput, context: OperationContext) -> Completed:
        response = await self.client.request(
            "POST", "api/ai-image", data=_form(args), read_timeout=_READ_TIMEOUT, on_send=context.sending
        )
        details = {"style": args.style, "size": args.size, "quality": args.quality}
        return await self._file(response, context, AI_IMAGE[args.quality], details)

    @operation(
        PresetsInput,
        name="presets",
        title="Presets",
        summary="List the page presets (KDP letter/A4, kids, adult, organic mosaics, color by number, line "
        "art) and what each sets.",
        kind="read",
        cost=FREE,
        duration="a second",
        returns="details.presets: {name: {label, mode, page, colors, …}}.",
    )
    async def presets(self, args: PresetsInput, context: OperationContext) -> Completed:
        response = await self.client.request("GET", "api/presets")
        if response.status_code != 200:
            raise self._error(response)
        try:
            presets = PresetTable.model_validate_json(response.content).root
        except ValidationError as exc:
            raise UpstreamError("Univers answered a presets list genmcp cannot read.") from exc
        table = {name: preset.model_dump(exclude_none=True) for name, preset in presets.items()}
        return Completed(details={"presets": table}, text=", ".join(sorted(table)))

    async def _upload(self, context: OperationContext, value: str, field: str) -> tuple[str, bytes, str]:
        """An image argument loaded and checked against what Univers takes, as a multipart file."""
        image = await context.inputs.load(value, field=field)
        if image.mime_type not in _UPLOAD_TYPES:
            raise InvalidInput(f"{field}: Univers takes PNG, JPEG or WebP, not {image.mime_type}.")
        if len(image.data) > _MAX_UPLOAD_BYTES:
            raise InvalidInput(f"{field}: Univers takes images up to 10 MB.")
        return image.filename, image.data, image.mime_type

    async def _file(
        self, response: httpx2.Response, context: OperationContext, charged: float | None, details: dict[str, Any]
    ) -> Completed:
        """The file a generation answered, kept as artifacts (a ZIP also member by member)."""
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
        assets = await context.files.keep(response.content, mime_type=mime_type, filename=filename)
        return Completed(
            assets=assets,
            credits=CreditsInfo(charged=charged),
            details=details | {"file": filename, "bytes": len(response.content)},
        )

    def _error(self, response: httpx2.Response, *, spend: bool = False) -> GenmcpError:
        try:
            detail = ErrorBody.model_validate_json(response.content).detail
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

    async def balance(self) -> Balance:
        return await self._live_balance()

    async def check(self) -> str:
        balance = await self._live_balance()
        return f"key accepted; {balance.remaining:g} credits ({balance.details.get('plan')} plan)"

    async def _live_balance(self) -> Balance:
        response = await self.client.request("GET", "api/credits/balance")
        if response.status_code != 200:
            raise self._error(response)
        balance = self.client.parse(response, BalanceBody)
        return Balance(
            remaining=balance.balance,
            as_of=self.client.clock.wall(),
            details={"plan": balance.plan_name, "monthly_quota": balance.monthly_quota},
        )

    @classmethod
    def simulator(cls, *, now: Callable[[], float], job_seconds: float) -> Simulator:
        from providers.univers.simulator import UniversSimulator

        return UniversSimulator(delay_seconds=job_seconds)
