"""Kolbo: images, video, music, speech, sound effects, Creative Director storyboards, chat, Visual DNA, moodboards.

API: JSON under `https://api.kolbo.ai/api`, routes `/v1/…`, key in `X-API-Key`. Every generation (chat included)
answers at once with an id, `credits_charged` and a `poll_url`, and is polled until `completed`, `failed` or
`cancelled`; a failure is refunded automatically. Quirks handled here (PROVIDERS.md §4):

- `poll_url` is host-relative and already holds `/api`: it is joined to the host root, which is the configured base
  URL without its `/api` suffix (`https://api.kolbo.ai`; in the sandbox `http://127.0.0.1:PORT/kolbo`). A base URL
  that does not end in `/api` (a proxy) falls back to its scheme and host.
- Chat answers `message_id`, not `generation_id`.
- Creative Director batches have their own status path and stay `processing` until every scene is done; the scenes
  finished so far are returned while it runs.
- The 429 body is `{status: false, message}` with `Retry-After`; insufficient credits come as 400 or 402.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import httpx2
from pydantic import BaseModel, ValidationError

from providers.base import (
    Balance,
    Completed,
    JobUpdate,
    Operation,
    OperationContext,
    OperationInput,
    Provider,
    Simulator,
    Submitted,
)
from providers.kolbo.models import (
    ID,
    CancelledBody,
    ChatInput,
    CreativeDirectorInput,
    CreditsBody,
    DeletedBody,
    EditImageInput,
    ErrorBody,
    GenerateImageInput,
    GenerateMusicInput,
    GenerateSoundInput,
    GenerateSpeechInput,
    GenerateVideoInput,
    ListModelsInput,
    ModelInfo,
    ModelsBody,
    MoodboardBody,
    MoodboardListBody,
    MoodboardsInput,
    ResultBody,
    StartedBody,
    StatusBody,
    VideoFromImageInput,
    VisualDna,
    VisualDnaBody,
    VisualDnaCreateInput,
    VisualDnaGetInput,
    VisualDnaListBody,
    VisualDnaListInput,
)
from server.errors import (
    AuthError,
    ForbiddenError,
    GenmcpError,
    InsufficientCredits,
    InvalidInput,
    JobFailed,
    JobFinished,
    NotFoundError,
    RateLimited,
    UpstreamError,
)
from server.results import Asset, AssetKind, CreditsInfo
from server.upstream import retry_after_seconds

if TYPE_CHECKING:
    pass

__all__ = ["Kolbo"]

_POLL_URL = re.compile(rf"^/api/v1/generate/(?:creative-director/)?(?P<id>{ID})/status$")
_POLL_HINTS = {"image": 3, "image_edit": 3, "speech": 3, "sound": 5, "creative_director": 5, "music": 8, "video": 8}
_KINDS: dict[str, AssetKind] = {"music": "audio", "speech": "audio", "sound": "audio", "video": "video"}
_MIME = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "gif": "image/gif",
    "mp4": "video/mp4",
    "webm": "video/webm",
    "mov": "video/quicktime",
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "m4a": "audio/mp4",
    "aac": "audio/aac",
    "ogg": "audio/ogg",
    "flac": "audio/flac",
}
_VIDEO_TYPES = {"text_to_video", "img_to_video", "video_to_video", "elements", "firstlastgenerations"}
_VIDEO_TYPES |= {"lipsync-image", "lipsync-video"}
ModelT = TypeVar("ModelT", bound=BaseModel)


# --- helpers ---------------------------------------------------------------------------------------


def _asset(url: str, default: AssetKind, name: str, description: str | None = None) -> Asset:
    """An output file, its kind and MIME type read from the URL's extension (else the generation's kind)."""
    path = urlsplit(url).path
    extension = path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
    mime = _MIME.get(extension)
    kind: AssetKind = default
    if mime is not None:
        kind = "image" if mime.startswith("image/") else "video" if mime.startswith("video/") else "audio"
    suffix = f".{extension}" if mime else ""
    return Asset(url=url, kind=kind, mime_type=mime, name=name + suffix, description=description)


def _http_urls(urls: Sequence[str]) -> list[str]:
    return [url for url in urls if url.startswith(("https://", "http://"))]


def _cost(model: ModelInfo) -> str | None:
    if model.input_token_rate is not None or model.output_token_rate is not None:
        return f"{model.input_token_rate or 0:g} in / {model.output_token_rate or 0:g} out credits per 1K tokens"
    if model.credit is None:
        return None
    types = set(model.types)
    if types & _VIDEO_TYPES:
        return f"{model.credit:g} credits per second of video (× resolution multiplier)"
    if "text_to_speech" in types:
        return f"{model.credit:g} credits per started 100 characters"
    if types & {"text_to_img", "image_editing"}:
        return f"{model.credit:g} credits per image"
    return f"{model.credit:g} credits per generation"


def _some(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


class Kolbo(Provider):
    """The Kolbo adapter."""

    name = "kolbo"
    title = "Kolbo"
    default_base_url = "https://api.kolbo.ai/api"
    poll_interval = 5.0
    sandbox_key = "kolbo_live_sandbox"
    can_cancel = True

    @classmethod
    def auth_headers(cls, key: str) -> Mapping[str, str]:
        return {"X-API-Key": key}

    def operations(self) -> list[Operation]:
        return _operations(self)

    # --- generations ---------------------------------------------------------------------------

    @staticmethod
    def _body(args: OperationInput, *, exclude: set[str] | None = None) -> dict[str, Any]:
        return args.model_dump(mode="json", exclude_none=True, exclude=exclude)

    @staticmethod
    def _references(context: OperationContext, values: Sequence[str] | None, field: str) -> list[str] | None:
        if values is None:
            return None
        # Kolbo fetches inputs itself and documents URLs only: data URLs are not sent.
        return [context.inputs.reference(v, field=f"{field}[{i}]", data_urls=False) for i, v in enumerate(values)]

    async def generate_image(self, args: GenerateImageInput, context: OperationContext) -> Submitted:
        body = self._body(args, exclude={"reference_images"})
        body.update(_some(reference_images=self._references(context, args.reference_images, "reference_images")))
        return await self._submit("v1/generate/image", body, "image")

    async def edit_image(self, args: EditImageInput, context: OperationContext) -> Submitted:
        body = self._body(args, exclude={"source_images"})
        body["source_images"] = self._references(context, args.source_images, "source_images")
        return await self._submit("v1/generate/image-edit", body, "image_edit")

    async def generate_video(self, args: GenerateVideoInput, context: OperationContext) -> Submitted:
        body = self._body(args, exclude={"reference_images"})
        body.update(_some(reference_images=self._references(context, args.reference_images, "reference_images")))
        return await self._submit("v1/generate/video", body, "video")

    async def video_from_image(self, args: VideoFromImageInput, context: OperationContext) -> Submitted:
        body = self._body(args, exclude={"image"})
        body["image_url"] = context.inputs.reference(args.image, field="image", data_urls=False)
        return await self._submit("v1/generate/video/from-image", body, "video")

    async def generate_music(self, args: GenerateMusicInput, context: OperationContext) -> Submitted:
        return await self._submit("v1/generate/music", self._body(args), "music")

    async def generate_speech(self, args: GenerateSpeechInput, context: OperationContext) -> Submitted:
        return await self._submit("v1/generate/speech", self._body(args), "speech")

    async def generate_sound(self, args: GenerateSoundInput, context: OperationContext) -> Submitted:
        return await self._submit("v1/generate/sound", self._body(args), "sound")

    async def creative_director(self, args: CreativeDirectorInput, context: OperationContext) -> Submitted:
        body = self._body(args, exclude={"reference_images"})
        body.update(_some(reference_images=self._references(context, args.reference_images, "reference_images")))
        return await self._submit("v1/generate/creative-director", body, "creative_director")

    async def chat(self, args: ChatInput, context: OperationContext) -> Submitted:
        body = self._body(args, exclude={"media_urls"})
        body.update(_some(media_urls=self._references(context, args.media_urls, "media_urls")))
        return await self._submit("v1/chat", body, "chat")

    async def _submit(self, path: str, body: dict[str, Any], kind: str) -> Submitted:
        response = await self.client.request("POST", path, json=body)
        if response.status_code not in (200, 201, 202):
            raise self._error(response, spend=True)
        started = self.client.parse(response, StartedBody, accepted=True)
        # Chat answers `message_id`; every other generation `generation_id`.
        upstream_id = started.message_id if kind == "chat" else started.generation_id
        upstream_id = upstream_id or started.generation_id or started.message_id
        assert upstream_id is not None, "StartedBody requires an id"
        poll_state: dict[str, Any] = {"type": kind, "creative_director": kind == "creative_director"}
        match = _POLL_URL.fullmatch(started.poll_url or "")
        if match is not None and match["id"] == upstream_id:
            poll_state["poll_url"] = started.poll_url
        details = _some(
            type=started.type or kind,
            model=started.model or body.get("model"),
            scene_count=started.scene_count,
            session_id=started.session_id,
        )
        return Submitted(
            upstream_id=upstream_id,
            poll_interval=started.poll_interval_hint or _POLL_HINTS.get(kind, 2),
            credits=CreditsInfo(charged=started.credits_charged) if started.credits_charged is not None else None,
            details=details,
            poll_state=poll_state,
        )

    # --- polling and cancelling ----------------------------------------------------------------

    def host_root(self) -> str:
        """Where Kolbo's host-relative `poll_url`s start: the base URL without `/api` (else scheme and host)."""
        base = str(self.client.http.base_url).rstrip("/")
        if base.endswith("/api"):
            return base[: -len("/api")]
        parts = urlsplit(base)
        return f"{parts.scheme}://{parts.netloc}"

    async def status(self, upstream_id: str, poll_state: Mapping[str, Any], *, hold: float) -> JobUpdate:
        batch = bool(poll_state.get("creative_director"))
        learned = False
        poll_url = poll_state.get("poll_url")
        if isinstance(poll_url, str) and _POLL_URL.fullmatch(poll_url):
            response = await self.client.request("GET", self.host_root() + poll_url)
        else:
            response = await self.client.request("GET", self._status_path(upstream_id, batch))
            if response.status_code == 404 and not poll_state and not batch:
                # A handle from elsewhere: the generic path cannot read a Creative Director batch, its own path can.
                other = await self.client.request("GET", self._status_path(upstream_id, True))
                if other.status_code == 200:
                    response, batch, learned = other, True, True
        if response.status_code != 200:
            raise self._error(response, missing=f"generation '{upstream_id}'")
        body = self.client.parse(response, StatusBody)
        kind = str(poll_state.get("type") or body.type or "")
        if batch or body.scenes is not None:
            update = self._batch_update(upstream_id, body)
            # Stored with the job, so later polls (even after a restart) go straight to the batch path.
            return replace(update, poll_state={"creative_director": True}) if learned else update
        return self._update(upstream_id, body, kind)

    @staticmethod
    def _status_path(upstream_id: str, batch: bool) -> str:
        return f"v1/generate/{'creative-director/' if batch else ''}{upstream_id}/status"

    def _update(self, upstream_id: str, body: StatusBody, kind: str) -> JobUpdate:
        if body.state in ("pending", "processing"):
            return JobUpdate(state="running", progress=body.progress, upstream_status=body.state)
        if body.state != "completed":
            return self._ended(body, [])
        result = body.result or ResultBody()
        credits = CreditsInfo(charged=body.credits_used) if body.credits_used is not None else None
        name = f"kolbo-{upstream_id}"
        if kind == "chat" or result.content is not None:
            files = [*result.image_urls, *result.video_urls, *result.audio_urls]
            return JobUpdate(
                state="completed",
                upstream_status="completed",
                text=result.content or "",
                assets=[_asset(url, "file", f"{name}-{i + 1}") for i, url in enumerate(_http_urls(files))],
                credits=credits,
                details=_some(
                    model=result.model, session_id=body.session_id, reasoning=result.reasoning_content or None
                ),
            )
        urls = _http_urls(result.urls)
        if not urls:
            raise UpstreamError(f"Kolbo reported generation '{upstream_id}' completed but listed no files.")
        default = _KINDS.get(kind, "image")
        return JobUpdate(
            state="completed",
            upstream_status="completed",
            assets=[_asset(url, default, f"{name}-{i + 1}") for i, url in enumerate(urls)],
            credits=credits,
            details=_some(
                model=result.model,
                prompt_used=result.prompt_used,
                duration=result.duration,
                aspect_ratio=result.aspect_ratio,
                resolution=result.resolution,
                title=result.title,
                lyrics=result.lyrics,
                voice=result.voice,
                thumbnail_url=result.thumbnail_url,
            ),
        )

    def _batch_update(self, upstream_id: str, body: StatusBody) -> JobUpdate:
        scenes = sorted(body.scenes or [], key=lambda scene: scene.scene_number)
        done = [scene for scene in scenes if scene.status == "completed"]
        failed = sum(1 for scene in scenes if scene.status == "failed")
        words = f"{len(done)} of {len(scenes)} scenes done" + (f", {failed} failed" if failed else "")
        assets = []
        for scene in done:
            label = f"Scene {scene.scene_number}" + (f": {scene.title}" if scene.title else "")
            for kind, urls in (("image", scene.image_urls), ("video", scene.video_urls)):
                for i, url in enumerate(_http_urls(urls)):
                    name = f"kolbo-{upstream_id}-scene{scene.scene_number}-{kind}{i + 1}"
                    assets.append(_asset(url, "image" if kind == "image" else "video", name, label))
        details = {
            "scenes": [_some(scene=s.scene_number, title=s.title, status=s.status) for s in scenes],
            "scenes_done": len(done),
        }
        if body.state in ("pending", "processing"):
            return JobUpdate(
                state="running", progress=body.progress, assets=assets, upstream_status=words, details=details
            )
        if body.state != "completed":
            ended = self._ended(body, assets)
            return JobUpdate(
                state=ended.state,
                error=ended.error,
                credits=ended.credits,
                assets=assets,
                upstream_status=f"{body.state}: {words}",
                details={**details, **ended.details},
            )
        if not assets:
            raise UpstreamError(f"Kolbo reported Creative Director batch '{upstream_id}' completed with no scenes.")
        credits = CreditsInfo(charged=body.credits_used) if body.credits_used is not None else None
        return JobUpdate(state="completed", upstream_status=words, assets=assets, credits=credits, details=details)

    def _ended(self, body: StatusBody, assets: list[Asset]) -> JobUpdate:
        """A failed or cancelled generation (Kolbo refunds both automatically)."""
        details = _some(credits_used=body.credits_used)
        if body.state == "cancelled":
            return JobUpdate(
                state="cancelled", upstream_status="cancelled", credits=CreditsInfo(refunded=True), details=details
            )
        failure = body.failure
        said = self.client.redact((failure.message if failure else None) or body.error or "no reason given")
        if failure is not None and failure.code:
            reason = f"{failure.category or 'uncategorised'} failure {failure.code}"
            hint = " Change the prompt or inputs before trying again." if not failure.retryable else ""
        else:
            reason, hint = "failure", ""
        error = JobFailed(
            f"Kolbo could not finish the generation ({reason}): {said}{hint} Kolbo refunds failed generations.",
            retryable=failure.retryable if failure is not None else True,
            charged=True,
            refunded=True,
            upstream_code=failure.code if failure is not None else None,
        )
        return JobUpdate(
            state="failed",
            upstream_status="failed",
            error=error,
            assets=assets,
            credits=CreditsInfo(refunded=True),
            details={**details, **_some(failure_category=failure.category if failure else None)},
        )

    async def cancel(self, upstream_id: str, poll_state: Mapping[str, Any]) -> JobUpdate:
        response = await self.client.request("POST", f"v1/generate/{upstream_id}/cancel", json={}, idempotent=True)
        if response.status_code == 409:
            raise JobFinished(f"Kolbo says generation '{upstream_id}' had already finished; nothing was cancelled.")
        if response.status_code != 200:
            raise self._error(response, missing=f"generation '{upstream_id}'")
        cancelled = self.client.parse(response, CancelledBody)
        refunded = cancelled.credits_refunded
        return JobUpdate(
            state="cancelled",
            upstream_status="cancelled",
            credits=CreditsInfo(refunded=bool(refunded)),
            details=_some(credits_refunded=refunded),
        )

    # --- reads and writes ------------------------------------------------------------------------

    async def list_models(self, args: ListModelsInput, context: OperationContext) -> Completed:
        params = _some(type=args.type, provider=args.provider)
        models = (await self._get("v1/models", ModelsBody, params=params)).models
        rows = [
            _some(
                identifier=m.identifier,
                name=m.name,
                provider=m.provider,
                types=m.types,
                credit=m.credit,
                cost=_cost(m),
                supported_aspect_ratios=m.supported_aspect_ratios,
                supported_durations=m.supported_durations,
                supported_resolutions=m.supported_resolutions,
                max_reference_images=m.max_reference_images,
                max_visual_dna=m.max_visual_dna,
                recommended=m.recommended or None,
                summary=m.summary or None,
            )
            for m in models
        ]
        lines = []
        for m in models:
            extras = [
                f"ratios {', '.join(m.supported_aspect_ratios)}" if m.supported_aspect_ratios else "",
                f"durations {', '.join(f'{d:g}' for d in m.supported_durations)} s" if m.supported_durations else "",
                f"≤{m.max_reference_images} reference images" if m.max_reference_images else "",
            ]
            said = "; ".join(part for part in [_cost(m) or "cost not listed", *extras] if part)
            lines.append(f"- {m.identifier} — {m.name or m.identifier} ({m.provider or '?'}): {said}")
        return Completed(details={"models": rows, "count": len(rows)}, text="\n".join(lines) or "No models match.")

    async def visual_dna_create(self, args: VisualDnaCreateInput, context: OperationContext) -> Completed:
        images = [await context.inputs.load(v, field=f"images[{i}]") for i, v in enumerate(args.images)]
        data = {"name": args.name}
        # The docs name the fields dna_type/prompt_helper, the official MCP dnaType/promptHelper: send both.
        if args.dna_type is not None:
            data.update(dna_type=args.dna_type, dnaType=args.dna_type)
        if args.prompt_helper is not None:
            data.update(prompt_helper=args.prompt_helper, promptHelper=args.prompt_helper)
        files = [("images", (image.filename, image.data, image.mime_type)) for image in images]
        response = await self.client.request("POST", "v1/visual-dna", data=data, files=files)
        if response.status_code not in (200, 201):
            raise self._error(response)
        dna = self.client.parse(response, VisualDnaBody).visual_dna
        return self._dna_result(dna, note=f"Pass visual_dna_ids=['{dna.id}'] to Kolbo generation tools to use it.")

    async def visual_dna_list(self, args: VisualDnaListInput, context: OperationContext) -> Completed:
        listed = await self._get("v1/visual-dna", VisualDnaListBody, params=self._body(args))
        rows = [
            _some(
                id=d.id,
                name=d.name,
                dna_type=d.dna_type,
                is_global=d.is_global,
                thumbnail_url=d.thumbnail_url,
                description=(d.description or "")[:300] or None,
            )
            for d in listed.visual_dnas
        ]
        text = "\n".join(f"- {d.id}: {d.name} ({d.dna_type or '?'})" for d in listed.visual_dnas)
        details = {"visual_dnas": rows, "count": len(rows), **_some(total=listed.total, has_more=listed.has_more)}
        return Completed(details=details, text=text or "No Visual DNAs match.")

    async def visual_dna_get(self, args: VisualDnaGetInput, context: OperationContext) -> Completed:
        path = f"v1/visual-dna/{args.visual_dna_id}"
        dna = (await self._get(path, VisualDnaBody, missing=f"Visual DNA '{args.visual_dna_id}'")).visual_dna
        return self._dna_result(dna)

    async def visual_dna_delete(self, args: VisualDnaGetInput, context: OperationContext) -> Completed:
        response = await self.client.request("DELETE", f"v1/visual-dna/{args.visual_dna_id}")
        if response.status_code != 200:
            raise self._error(response, missing=f"Visual DNA '{args.visual_dna_id}'")
        deleted = self.client.parse(response, DeletedBody)
        return Completed(details={"deleted": args.visual_dna_id, **_some(message=deleted.message)})

    def _dna_result(self, dna: VisualDna, note: str | None = None) -> Completed:
        assets = [
            _asset(url, "image", f"visual-dna-{dna.id}-{i + 1}", dna.name)
            for i, url in enumerate(_http_urls(dna.images))
        ]
        return Completed(assets=assets, details={"visual_dna": dna.model_dump(exclude_none=True), **_some(use=note)})

    async def moodboards(self, args: MoodboardsInput, context: OperationContext) -> Completed:
        if args.moodboard_id is not None:
            path = f"v1/moodboards/{args.moodboard_id}"
            board = (await self._get(path, MoodboardBody, missing=f"moodboard '{args.moodboard_id}'")).moodboard
            assets = [
                _asset(url, "image", f"moodboard-{board.id}-{i + 1}", board.name)
                for i, url in enumerate(_http_urls(board.images))
            ]
            return Completed(assets=assets, details={"moodboard": board.model_dump(exclude_none=True)})
        boards = (await self._get("v1/moodboards", MoodboardListBody, params=_some(scope=args.scope))).moodboards
        rows = [
            _some(id=b.id, name=b.name, scope=b.scope, master_prompt=b.master_prompt, thumbnail_url=b.thumbnail_url)
            for b in boards
        ]
        text = "\n".join(f"- {b.id}: {b.name} — {b.master_prompt or ''}".rstrip(" —") for b in boards)
        return Completed(details={"moodboards": rows, "count": len(rows)}, text=text or "No moodboards.")

    async def _get(
        self,
        path: str,
        model: type[ModelT],
        *,
        params: Mapping[str, Any] | None = None,
        missing: str | None = None,
    ) -> ModelT:
        response = await self.client.request("GET", path, params=params)
        if response.status_code != 200:
            raise self._error(response, missing=missing)
        return self.client.parse(response, model)

    # --- account ----------------------------------------------------------------------------------

    async def balance(self, last_seen: Balance | None) -> Balance | None:
        credits = (await self._get("v1/account/credits", CreditsBody)).credits
        return Balance(
            remaining=credits.total,
            live=True,
            as_of=self.client.clock.wall(),
            details=_some(
                plan_credits=credits.plan_credits, credit_pack=credits.credit_pack, redemption=credits.redemption
            ),
        )

    async def check(self) -> str:
        balance = await self.balance(None)
        return f"key accepted; {balance.remaining:g} credits" if balance is not None else "key accepted"

    # --- errors -----------------------------------------------------------------------------------

    def _error(self, response: httpx2.Response, *, spend: bool = False, missing: str | None = None) -> GenmcpError:
        status = response.status_code
        try:
            body = ErrorBody.model_validate_json(response.content)
        except ValidationError:
            return self.client.error_for_status(response, spend=spend)
        said = self.client.redact(body.error or body.message)
        code = body.code
        if status == 429 or code == "RATE_LIMITED":
            return RateLimited(
                f"Kolbo is rate-limiting this key: {said or 'too many requests'}. The request was refused before it "
                "ran, so nothing was charged.",
                retry_after=retry_after_seconds(response),
                upstream_code=code or "RATE_LIMITED",
            )
        if code == "INSUFFICIENT_CREDITS" or status == 402:
            return InsufficientCredits(
                f"Not enough Kolbo credits: {said} Top up, or pick a cheaper model (kolbo_list_models shows costs).",
                upstream_code=code or None,
            )
        if code == "INVALID_API_KEY" or status == 401:
            return AuthError(
                f"Kolbo refused the API key ({code or status}). Check {self.key_env()} (or providers.kolbo.api_key) "
                "and that the key is active.",
                upstream_code=code or None,
            )
        if code in {"MODEL_NOT_FOUND", "INVALID_MODEL"}:
            return InvalidInput(
                f"Kolbo refused the model ({code}): {said}. Call kolbo_list_models for valid identifiers.",
                upstream_code=code,
            )
        if status in (400, 422):
            return InvalidInput(f"Kolbo refused the request ({code or status}): {said}", upstream_code=code or None)
        if status == 403:
            return ForbiddenError(f"Kolbo does not allow this ({code or status}): {said}", upstream_code=code or None)
        if status == 404:
            what = missing or "such resource"
            return NotFoundError(
                f"Kolbo has no {what} for this key (it may belong to another account).", upstream_code=code or None
            )
        if code == "GENERATION_ERROR":
            return UpstreamError(
                f"Kolbo could not start the generation ({code}): {said}. Kolbo refunds failed generations; check "
                "`credits` before trying again.",
                charged=None if spend else False,
                upstream_code=code,
            )
        return self.client.error_for_status(response, detail=f"{code}: {said}" if code else said, spend=spend)

    @classmethod
    def simulator(cls, *, now: Callable[[], float], job_seconds: float) -> Simulator:
        from providers.kolbo.simulator import KolboSimulator

        return KolboSimulator(now=now, job_seconds=job_seconds)


_PER_MODEL = "Exact per-model prices: kolbo_list_models (1 credit = $0.01)."
_REFUND = "Charged when submitted; refunded automatically if the generation fails or is cancelled."
_FREE = "Free (no credit cost is documented)."


def _operations(kolbo: Kolbo) -> list[Operation]:
    """Kolbo's operations, with descriptions written for the model that calls them (PROVIDERS.md §4.2, §4.6)."""
    image_cost = (
        "A flat price per image set by the model (typically 2–10 credits) × num_images, times the model's "
        f"resolution/quality multipliers. {_PER_MODEL} {_REFUND}"
    )
    video_cost = (
        "The model's credit per second × duration (e.g. 5 credits/s × 5 s = 25), times the resolution multiplier "
        f"relative to 720p (480p ×0.44, 1080p ×2.25, 4k ×4.95). {_PER_MODEL} {_REFUND}"
    )
    video_time = "typically 1–5 min: expect a 'running' answer with a job handle, then finish it with poll."
    video_returns = "the MP4 link (assets, kind video), credits, and model/duration/thumbnail_url in details."
    spend = [
        Operation(
            name="generate_image",
            title="Generate images",
            summary="Generate 1–4 images from a text prompt with one of Kolbo's 100+ models (omit `model` for Smart "
            "Select). Keep a character, product or style consistent with visual_dna_ids, apply a style template "
            "with moodboard_id (kolbo_moodboards), or guide the look with reference_images (inspiration, not "
            "copied pixels; to edit an image use kolbo_edit_image).",
            input_model=GenerateImageInput,
            kind="spend",
            handler=kolbo.generate_image,
            cost=image_cost,
            duration="typically 10–30 s.",
            returns="image links (assets), credits charged (the final credits_used once done), model and "
            "prompt_used in details.",
        ),
        Operation(
            name="edit_image",
            title="Edit images",
            summary="Edit or combine existing images following `prompt` (e.g. 'remove the background', 'put the "
            "logo from the second image on the mug in the first'). source_images are public image URLs.",
            input_model=EditImageInput,
            kind="spend",
            handler=kolbo.edit_image,
            cost=image_cost,
            duration="typically 10–30 s.",
            returns="the edited image links (assets), credits, model and prompt_used in details.",
        ),
        Operation(
            name="generate_video",
            title="Generate a video",
            summary="Generate a video clip from a text prompt (duration and resolution per model; see "
            "kolbo_list_models type 'video'). Visual DNA and reference images keep subjects consistent.",
            input_model=GenerateVideoInput,
            kind="spend",
            handler=kolbo.generate_video,
            cost=video_cost,
            duration=video_time,
            returns=video_returns,
        ),
        Operation(
            name="video_from_image",
            title="Animate an image",
            summary="Turn a still image (a public URL, used as the first frame) into a video clip, moving as "
            "`prompt` describes.",
            input_model=VideoFromImageInput,
            kind="spend",
            handler=kolbo.video_from_image,
            cost=video_cost,
            duration=video_time,
            returns=video_returns,
        ),
        Operation(
            name="generate_music",
            title="Generate music",
            summary="Generate a song or instrumental from a description, optionally with your own lyrics, a style "
            "and a vocal gender. Suno models return two variations.",
            input_model=GenerateMusicInput,
            kind="spend",
            handler=kolbo.generate_music,
            cost=f"A flat price per generation set by the model (e.g. 10 credits for chirp-v4). {_PER_MODEL} {_REFUND}",
            duration="typically 30 s–2 min.",
            returns="audio links (assets, kind audio: MP3), with title, duration and lyrics in details.",
        ),
        Operation(
            name="generate_speech",
            title="Text to speech",
            summary="Read `text` aloud in a chosen voice (default 'Rachel') and language (default en-US).",
            input_model=GenerateSpeechInput,
            kind="spend",
            handler=kolbo.generate_speech,
            cost="ceil(characters / 100) × the model's credit (e.g. 250 characters with eleven_v3 at 2 credits = 6). "
            f"{_PER_MODEL} {_REFUND}",
            duration="typically 5–30 s.",
            returns="the audio link (assets, kind audio: MP3), with voice and duration in details.",
        ),
        Operation(
            name="generate_sound",
            title="Sound effect",
            summary="Generate a sound effect from a description, optionally of a given length.",
            input_model=GenerateSoundInput,
            kind="spend",
            handler=kolbo.generate_sound,
            cost=f"A flat price per generation (e.g. 5 credits). {_PER_MODEL} {_REFUND}",
            duration="typically 5–30 s.",
            returns="the audio link (assets, kind audio), with duration in details.",
        ),
        Operation(
            name="creative_director",
            title="Creative Director",
            summary="Turn one creative brief into a coherent set of 1–8 scenes (storyboard, ad campaign, product "
            "shots): images by default, or video clips with workflow_type 'video'. Visual DNA and moodboards keep "
            "every scene consistent. While it runs, the answer already lists the scenes finished so far.",
            input_model=CreativeDirectorInput,
            kind="spend",
            handler=kolbo.creative_director,
            cost="Each scene is billed as its own generation: scene_count (default 4) × the image price, or in video "
            f"mode × the video price (credit per second × duration). {_PER_MODEL} {_REFUND}",
            duration="typically 30 s–3 min (video mode longer); progress is reported per scene.",
            returns="one link per finished scene (assets: image, plus video in video mode) and details.scenes "
            "with each scene's title and status.",
        ),
        Operation(
            name="chat",
            title="Chat",
            summary="Send a message to one of Kolbo's 20+ chat models (omit `model` for automatic choice). Pass "
            "the session_id of an earlier answer to continue that conversation; media_urls lets the model look "
            "at files; web_search and deep_think switch on search and extended reasoning.",
            input_model=ChatInput,
            kind="spend",
            handler=kolbo.chat,
            cost="Per token, at the model's input_token_rate and output_token_rate per 1K tokens (kolbo_list_models "
            "type 'chat'); the conversation's history counts as input. Settled when the answer is ready.",
            duration="typically 2–30 s.",
            returns="the answer in `text`, session_id (to continue) and model in details, credits used.",
        ),
    ]
    other = [
        Operation(
            name="list_models",
            title="List models",
            summary="List Kolbo's models, optionally of one type ('image', 'image_edit', 'video', "
            "'video_from_image', 'music', 'speech', 'sound', 'chat') or provider: identifier, what it costs, "
            "supported aspect ratios, durations, resolutions and input limits.",
            input_model=ListModelsInput,
            kind="read",
            handler=kolbo.list_models,
            cost="Free.",
            duration="a second or two.",
            returns="details.models (identifier, name, provider, types, credit, cost, supported_aspect_ratios, "
            "supported_durations, supported_resolutions, max_reference_images, max_visual_dna) and one line per "
            "model in text.",
        ),
        Operation(
            name="visual_dna_create",
            title="Create a Visual DNA",
            summary="Create a reusable visual identity (a character, product, style, environment or scene) from "
            "1–4 images of the same subject; pass its id in visual_dna_ids to keep it consistent across "
            "generations. Images may be URLs, data URLs, base64, genmcp artifacts or allowed local paths.",
            input_model=VisualDnaCreateInput,
            kind="write",
            handler=kolbo.visual_dna_create,
            cost=_FREE,
            duration="typically 10–30 s (Kolbo analyses the images).",
            returns="details.visual_dna (id, name, dna_type, description) and its images (assets).",
            blocking=True,
            max_seconds=300.0,
        ),
        Operation(
            name="visual_dna_list",
            title="List Visual DNAs",
            summary="List Visual DNAs: your own and Kolbo's global presets (filter with scope, search, page, limit).",
            input_model=VisualDnaListInput,
            kind="read",
            handler=kolbo.visual_dna_list,
            cost="Free.",
            duration="a second or two.",
            returns="details.visual_dnas (id, name, dna_type, is_global, thumbnail_url, description).",
        ),
        Operation(
            name="visual_dna_get",
            title="Show a Visual DNA",
            summary="Show one Visual DNA in full: description, system prompt and reference images.",
            input_model=VisualDnaGetInput,
            kind="read",
            handler=kolbo.visual_dna_get,
            cost="Free.",
            duration="a second or two.",
            returns="details.visual_dna and its reference images (assets).",
        ),
        Operation(
            name="visual_dna_delete",
            title="Delete a Visual DNA",
            summary="Delete one of your Visual DNAs (Kolbo's global presets cannot be deleted).",
            input_model=VisualDnaGetInput,
            kind="write",
            handler=kolbo.visual_dna_delete,
            cost="Free.",
            duration="a second or two.",
            returns="details.deleted (the id).",
        ),
        Operation(
            name="moodboards",
            title="Moodboards",
            summary="List moodboards (style templates: yours and Kolbo's presets), or show one in full with "
            "moodboard_id. Pass a moodboard's id as moodboard_id to image, edit or Creative Director tools.",
            input_model=MoodboardsInput,
            kind="read",
            handler=kolbo.moodboards,
            cost="Free.",
            duration="a second or two.",
            returns="details.moodboards (id, name, master_prompt) or details.moodboard with its images (assets).",
        ),
    ]
    return spend + other
