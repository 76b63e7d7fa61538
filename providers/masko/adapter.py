"""Masko: mascots — poses, animations, transitions, edits, logos — and interactive canvases of them.

API: REST under `https://api.masko.ai/v1`, Bearer `masko_…` key. A generation answers at once with a job id and the
CDN URLs its files will have (they serve a placeholder until the job finishes); `GET /jobs/:id?wait=true` holds the
request server-side until the job finishes or the wait runs out, so genmcp asks once with a timeout inside its own
budget instead of polling. Credits are charged when a job starts and refunded automatically when it fails;
`GET /credits` gives the balance. Every response shape the sources document is read (`providers.masko.models`);
genmcp sends `prompt` (not `description`) for a mascot's character, `requests` (not `items`) for a batch, and
`timeout=<seconds>` with `wait=true` (the CLI's `--timeout`; a server that ignores it is cut off by the read timeout).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote

import httpx2
from pydantic import ValidationError

from providers.base import Balance, Completed, JobUpdate, Operation, OperationContext, Provider, Simulator, Submitted
from providers.masko.models import (
    AnalysisBody,
    AnalyzeUrlInput,
    ApplyTemplateInput,
    BatchBody,
    CanvasBody,
    CanvasInput,
    CanvasStatusBody,
    Collection,
    CollectionBody,
    CreateCanvasInput,
    CreateMascotInput,
    CreateProjectInput,
    CreditsBody,
    ErrorBody,
    ExportBody,
    GenerateAllBody,
    GenerateBatchInput,
    GenerateBody,
    GenerateCanvasInput,
    GenerateInput,
    Item,
    Job,
    ListJobsInput,
    ListMascotsInput,
    ListTemplatesInput,
    MascotInput,
    NoInput,
    Page,
    PageInput,
    PreviewBody,
    PreviewInput,
    Project,
    ProjectBody,
    StylesBody,
    SubmittedJob,
    SuggestionsBody,
    Template,
    TemplateAppliedBody,
    UploadBody,
    UploadInput,
    UrlsBody,
    unwrap,
)
from server.artifacts import artifact_id_from
from server.errors import (
    AuthError,
    ForbiddenError,
    GenmcpError,
    InsufficientCredits,
    InvalidInput,
    JobFailed,
    NotFoundError,
    RateLimited,
)
from server.results import Asset, AssetKind, CreditsInfo
from server.upstream import retry_after_seconds

__all__ = ["Masko"]

_MAX_HOLD = 120
"""Longest server-side wait asked for (the CLI's documented ceiling)."""
_HOLD_GRACE = 5.0
_LOW_RATE = 10
"""Below this many requests left in the window, results say so."""
_MAX_ASSETS = 100
_MAX_UPLOAD = 10 * 1024 * 1024
_KEY = re.compile(r"^(?P<base>[a-z_]+?)(?:_(?P<size>\d+))?$")
_FORMATS: dict[str, tuple[AssetKind, str, str, str]] = {
    "image": ("image", "image/png", "png", "PNG with background"),
    "transparent_image": ("image", "image/png", "png", "transparent PNG (background removed)"),
    "video": ("video", "video/mp4", "mp4", "MP4 (H.264), opaque background"),
    "webm": ("video", "video/webm", "webm", "transparent WebM (VP9 + alpha) for Chrome, Firefox, Edge"),
    "hevc": ("video", "video/quicktime", "mov", "transparent MOV (HEVC + alpha) for Safari and iOS"),
    "stacked_video": ("video", "video/mp4", "mp4", "MP4 with colour and alpha stacked, for Android"),
}
_URL_KEYS = {"transparent_video_webm": "webm", "transparent_video_mov": "hevc"}

_PRICES = (
    "Image 1 credit, edit 1, logo 5, animation 5 credits per second (+1 when its pose image is generated in the same "
    "request: 4 s from scratch = 21, from an existing image = 20); the auto-reverse of a transition is free"
)
_CHARGING = "Charged when the job starts, refunded automatically if it fails. Size variants are free."
_PENDING = (
    "CDN links come back at once, marked pending: they serve a placeholder until the job finishes and then the real "
    "file at the same URL, so they can be embedded right away."
)
_FILES = (
    "links per file (image and transparent_image PNGs; video MP4; webm and hevc with alpha; sized variants such as "
    "webm_480)"
)
_JOB_DETAILS = "details: item_id, item_name, asset_ids (an image asset id feeds later animations, edits, transitions)"


def _slug(text: str | None) -> str:
    return re.sub(r"[^a-z0-9]+", "-", (text or "").lower()).strip("-")[:60]


def _asset(key: str, url: str, label: str, *, pending: bool) -> Asset:
    key = _URL_KEYS.get(key, key)
    match = _KEY.match(key)
    base, size = (match["base"], match["size"]) if match else (key, None)
    kind, mime, ext, what = _FORMATS.get(base, ("file", "application/octet-stream", "bin", base.replace("_", " ")))
    if size:
        what += f", {size} px"
    if pending:
        what += "; serves a placeholder until the job finishes"
    return Asset(url=url, kind=kind, mime_type=mime, name=f"{label}-{key}.{ext}", pending=pending, description=what)


def _assets(urls: Iterable[tuple[str, str | None]], label: str, *, pending: bool) -> list[Asset]:
    return [_asset(key, url, label, pending=pending) for key, url in urls if url]


def _compact(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None and value != {} and value != []}


def _rate(response: httpx2.Response) -> dict[str, Any]:
    """The remaining rate allowance, when it is low enough to matter."""
    try:
        left = int(response.headers.get("x-ratelimit-remaining", ""))
    except ValueError:
        return {}
    if left > _LOW_RATE:
        return {}
    reset = response.headers.get("x-ratelimit-reset", "")
    return {"rate_limit": _compact({"remaining": left, "reset": int(reset) if reset.isdigit() else None})}


def _listing(title: str, rows: Iterable[str]) -> str:
    lines = list(rows)
    return f"{title}:\n" + "\n".join(f"- {line}" for line in lines) if lines else f"{title}: none."


def _page_details(page: Page[Any], args: PageInput) -> dict[str, Any]:
    return _compact({"total": page.total, "has_more": page.has_more, "offset": args.offset or None})


class Masko(Provider):
    """The Masko adapter."""

    name = "masko"
    title = "Masko"
    default_base_url = "https://api.masko.ai/v1"
    poll_interval = 2.0
    sandbox_key = "masko_sandbox"
    holds_polls = True

    def operations(self) -> list[Operation]:
        return [*self._setup_operations(), *self._generation_operations(), *self._canvas_operations()]

    def _setup_operations(self) -> list[Operation]:
        free, instant = "Free.", "a second or two"
        return [
            Operation(
                name="create_project",
                title="Create a project",
                summary="Create a Masko project (a folder for mascots). Needed once before masko_create_mascot.",
                input_model=CreateProjectInput,
                kind="write",
                handler=self._create_project,
                cost=free,
                duration=instant,
                returns="details.project_id.",
            ),
            Operation(
                name="list_projects",
                title="List projects",
                summary="List Masko projects (id and name).",
                input_model=PageInput,
                kind="read",
                handler=self._list_projects,
                cost=free,
                duration=instant,
                returns="details.projects = [{project_id, name, created_at}].",
            ),
            Operation(
                name="create_mascot",
                title="Create a mascot",
                summary="Create a mascot (a Masko collection: one character) in a project, from a character "
                "`prompt` (+ optional `style` from masko_list_styles), or from up to 6 reference images "
                "(`reference_image_urls` public URLs, or `reference_asset_ids` from masko_upload). With only a "
                "prompt Masko draws the reference image itself and the result waits for it.",
                input_model=CreateMascotInput,
                kind="spend",
                handler=self._create_mascot,
                cost="1 credit when created from a prompt alone (Masko draws the reference image); free with "
                "reference images.",
                duration="a second with references; seconds more while the reference image is drawn",
                returns="details.mascot_id (use it in every other masko_ tool), and the reference image link once "
                "drawn.",
            ),
            Operation(
                name="list_mascots",
                title="List mascots",
                summary="List mascots (id, name, project), optionally of one project.",
                input_model=ListMascotsInput,
                kind="read",
                handler=self._list_mascots,
                cost=free,
                duration=instant,
                returns="details.mascots = [{mascot_id, name, project_id, …}].",
            ),
            Operation(
                name="get_mascot",
                title="Get a mascot",
                summary="Everything about one mascot: its character prompt, style, references, every item (pose, "
                "animation, logo) with its asset ids and statuses, and every file URL.",
                input_model=MascotInput,
                kind="read",
                handler=self._get_mascot,
                cost=free,
                duration="a few seconds (three reads)",
                returns=f"a link per file (at most {_MAX_ASSETS}; pending ones still serve a placeholder); "
                "details.mascot and details.items = [{item_id, name, type, assets: [{asset_id, type, status, url}]}].",
            ),
            Operation(
                name="upload",
                title="Upload an image",
                summary="Upload an image to Masko and get an asset id, for reference_asset_ids of "
                "masko_create_mascot or as source_image_asset_id / end_image_asset_id of masko_generate. An https "
                "URL is fetched by Masko itself; data URLs, base64, artifact:// references and allowed local paths "
                "are sent as the file.",
                input_model=UploadInput,
                kind="write",
                handler=self._upload,
                cost=free,
                duration="a few seconds",
                returns="details.asset_id.",
            ),
            Operation(
                name="list_styles",
                title="List art styles",
                summary="List Masko's art styles (id, name, preview image URL) for masko_create_mascot's `style`.",
                input_model=NoInput,
                kind="read",
                handler=self._list_styles,
                cost=free,
                duration=instant,
                returns="details.styles = [{id, name, preview_url}].",
            ),
            Operation(
                name="analyze_url",
                title="Mascot ideas from a website",
                summary="Analyse a website (Masko screenshots it, reads its brand colours and industry) and suggest "
                "mascots that fit the brand, each with a name, prompt and style ready for masko_create_mascot.",
                input_model=AnalyzeUrlInput,
                kind="read",
                handler=self._analyze_url,
                cost=free,
                duration="several seconds",
                returns="details.brand {name, colors, industry} and details.suggestions [{name, prompt, style}].",
            ),
            Operation(
                name="preview",
                title="Preview a character",
                summary="Draw quick preview images before committing: for a new character give `prompt` (+ `style`, "
                "`count` 1–4) and pass the URL you like to masko_create_mascot's reference_image_urls; with "
                "`mascot_id`, test a pose prompt on an existing mascot.",
                input_model=PreviewInput,
                kind="spend",
                handler=self._preview,
                cost="1 credit for new-character previews (up to 4 images); free with mascot_id.",
                duration="several seconds",
                returns="temporary preview image links (they expire: use them soon).",
            ),
        ]

    def _generation_operations(self) -> list[Operation]:
        free = "Free."
        return [
            Operation(
                name="generate",
                title="Generate a pose, animation, edit or logo",
                summary="Generate one thing for a mascot, chosen by `type`:\n"
                "- image: a new pose — `name` + `image_prompt` (or `prompt`); with `item_id` it redraws that pose.\n"
                "- animation from scratch: `image_prompt` (pose) + `animation_prompt` (motion); `duration` 3–10 s "
                "(default 4), `loop` (default true), `sizes` for extra sizes.\n"
                "- animation of an existing image: `source_image_asset_id` or `item_id` + `animation_prompt`.\n"
                "- transition A→B: `source_image_asset_id` (or `item_id`) + `end_image_asset_id`; plays once; "
                "`auto_reverse: true` also makes B→A for free (`reverse_name`).\n"
                "- edit: `source_image_asset_id` or `item_id` + `edit_instructions`.\n"
                "- logo: `logo_description` (+ `logo_style_name`, `logo_style_instruction`); needs a Pro plan.\n"
                + _PENDING,
                input_model=GenerateInput,
                kind="spend",
                handler=self._generate,
                cost=f"{_PRICES}. {_CHARGING}",
                duration="images and edits: seconds; animations take longer (often minutes) — the wait is held by "
                "Masko, so waiting costs nothing",
                returns=f"pending {_FILES}, final once done; {_JOB_DETAILS}, estimated_cost. An auto-reversed "
                "transition lists the reverse job under `related` (one poll finishes both).",
            ),
            Operation(
                name="generate_batch",
                title="Generate up to 10 at once",
                summary="Start up to 10 generations for one mascot in one call (all run in parallel), e.g. a full "
                "set of poses. Each entry of `requests` is shaped like masko_generate's arguments (without "
                "mascot_id). " + _PENDING,
                input_model=GenerateBatchInput,
                kind="spend",
                handler=self._generate_batch,
                cost=f"The sum of each request's price. {_PRICES}. {_CHARGING}",
                duration="like the slowest request in the batch",
                returns=f"the first job as `job` and the others under `related` (one poll finishes all); pending "
                f"{_FILES}; details.total_cost.",
            ),
            Operation(
                name="list_jobs",
                title="List Masko jobs",
                summary="List recent Masko generation jobs on the account (also ones started outside genmcp), "
                "filtered by status, mascot or type. Each has a handle for `poll`.",
                input_model=ListJobsInput,
                kind="read",
                handler=self._list_jobs,
                cost=free,
                duration="a second or two",
                returns="details.jobs = [{job (handle for poll), status, type, mascot_id, item_name, cost}].",
            ),
            Operation(
                name="suggest_actions",
                title="Suggest poses",
                summary="Ask Masko for 6–8 pose/action names that suit a mascot (existing items excluded), usable "
                "as `name` values in masko_generate_batch.",
                input_model=MascotInput,
                kind="read",
                handler=self._suggest_actions,
                cost=free,
                duration="several seconds",
                returns="details.suggestions = [names].",
            ),
        ]

    def _canvas_operations(self) -> list[Operation]:
        free, instant = "Free.", "a second or two"
        return [
            Operation(
                name="list_canvas_templates",
                title="List canvas templates",
                summary="List canvas templates (ready-made state machines: poses, transitions, inputs), e.g. "
                "'claude-code-4state', with their states and estimated full cost.",
                input_model=ListTemplatesInput,
                kind="read",
                handler=self._list_templates,
                cost=free,
                duration=instant,
                returns="details.templates = [{template_id, name, description, states, estimated_cost}].",
            ),
            Operation(
                name="create_canvas",
                title="Create a canvas",
                summary="Create an empty canvas (an interactive state machine of a mascot's poses and transitions). "
                "Fill it with masko_apply_canvas_template, then masko_generate_canvas.",
                input_model=CreateCanvasInput,
                kind="write",
                handler=self._create_canvas,
                cost=free,
                duration=instant,
                returns="details.canvas_id.",
            ),
            Operation(
                name="apply_canvas_template",
                title="Apply a canvas template",
                summary="Fill an empty canvas from a template (nodes = poses, edges = transitions, inputs) and start "
                "drawing every pose image.",
                input_model=ApplyTemplateInput,
                kind="spend",
                handler=self._apply_template,
                cost="1 credit per pose image (4 for a 4-state template). Animations are made later by "
                "masko_generate_canvas.",
                duration="seconds (the pose images)",
                returns="details: nodes [{node_id, name}], node_mapping, total_cost; the image jobs (first as `job`, "
                "the rest under `related`) with pending links.",
            ),
            Operation(
                name="generate_canvas",
                title="Generate a canvas's animations",
                summary="Generate everything a canvas still needs: missing pose images, then one animation per loop "
                "and forward transition (reverse transitions come free with auto-reverse; any-state edges need no "
                "video). Completed or running work is skipped unless skip_completed is false. Check the template's "
                "estimated_cost first.",
                input_model=GenerateCanvasInput,
                kind="spend",
                handler=self._generate_canvas,
                cost="1 credit per missing pose image + 5 credits per second per paid animation (4 s each by "
                "default): a 4-state template is about 160 credits at 4 s. Reverses are free. " + _CHARGING,
                duration="minutes (many animations in parallel)",
                returns="details: generated, skipped, reverse_free, estimated_cost, actual_cost; the jobs (first as "
                "`job`, the rest under `related`) with pending links. Follow with masko_canvas_status.",
            ),
            Operation(
                name="canvas_status",
                title="Canvas progress",
                summary="How far a canvas's generation is: jobs completed, pending and failed, and each pose's and "
                "transition's status.",
                input_model=CanvasInput,
                kind="read",
                handler=self._canvas_status,
                cost=free,
                duration=instant,
                returns="details: total_jobs, completed, pending, failed, percent, done, parts [{kind, name, status}].",
            ),
            Operation(
                name="export_canvas",
                title="Export a canvas",
                summary="Export a canvas as a MaskoAnimationConfig JSON for the Masko embed player (nodes with "
                "thumbnails, edges with webm/hevc video URLs and conditions, inputs).",
                input_model=CanvasInput,
                kind="read",
                handler=self._export_canvas,
                cost=free,
                duration=instant,
                returns="the config as a JSON file (asset) and in details.config; details.edges_without_video counts "
                "transitions not generated yet.",
            ),
        ]

    # --- projects, mascots, uploads, helpers --------------------------------------------------------------------

    async def _create_project(self, args: CreateProjectInput, context: OperationContext) -> Completed:
        response = await self._send("POST", "projects", json={"name": args.name})
        project = self.client.parse(response, ProjectBody)
        return Completed(
            details={"project_id": project.id, "name": project.name, **_rate(response)},
            text=f"Project '{project.name}' created: project_id {project.id}.",
        )

    async def _list_projects(self, args: PageInput, context: OperationContext) -> Completed:
        response = await self._send("GET", "projects", params={"limit": args.limit, "offset": args.offset})
        page = self.client.parse(response, Page[Project])
        rows = [_compact({"project_id": p.id, "name": p.name, "created_at": p.created_at}) for p in page.rows]
        return Completed(
            details={"projects": rows, **_page_details(page, args), **_rate(response)},
            text=_listing("Projects", (f"{p.name} — project_id {p.id}" for p in page.rows)),
        )

    async def _create_mascot(self, args: CreateMascotInput, context: OperationContext) -> Completed | Submitted:
        body = args.model_dump(mode="json", exclude_none=True)
        if args.reference_image_urls:
            body["reference_image_urls"] = [
                context.inputs.reference(url, field=f"reference_image_urls[{i}]", data_urls=False)
                for i, url in enumerate(args.reference_image_urls)
            ]
        response = await self._send("POST", "collections", json=body, spend=True, what="project")
        mascot = self.client.parse(response, CollectionBody, accepted=True)
        charged = 1 if args.direct else 0
        details = _compact(
            {"mascot_id": mascot.id, "name": mascot.name, "project_id": mascot.project_id or args.project_id}
        )
        details |= {"estimated_cost": charged, **_rate(response)}
        if mascot.reference_job_id:
            return Submitted(
                upstream_id=mascot.reference_job_id,
                poll_interval=self.poll_interval,
                credits=CreditsInfo(charged=charged),
                details=details,
                poll_state={"mascot_id": mascot.id, "item_name": f"{mascot.name} reference"},
            )
        return Completed(
            credits=CreditsInfo(charged=charged),
            details=details,
            text=f"Mascot '{mascot.name}' created: mascot_id {mascot.id}.",
        )

    async def _list_mascots(self, args: ListMascotsInput, context: OperationContext) -> Completed:
        params = _compact({"project_id": args.project_id, "limit": args.limit, "offset": args.offset})
        response = await self._send("GET", "collections", params=params, what="project")
        page = self.client.parse(response, Page[Collection])
        rows = [self._mascot_row(c) for c in page.rows]
        return Completed(
            details={"mascots": rows, **_page_details(page, args), **_rate(response)},
            text=_listing("Mascots", (f"{c.name} — mascot_id {c.id}" for c in page.rows)),
        )

    @staticmethod
    def _mascot_row(mascot: Collection) -> dict[str, Any]:
        config = mascot.config
        return _compact(
            {
                "mascot_id": mascot.id,
                "name": mascot.name,
                "project_id": mascot.project_id,
                "prompt": (config.prompt if config else None) or mascot.prompt or mascot.description,
                "style": config.style if config else None,
                "reference_asset_ids": config.reference_asset_ids if config else None,
                "style_card": config.style_card if config else None,
                "animation_sizes": config.animation_sizes if config else None,
                "item_count": mascot.item_count,
                "created_at": mascot.created_at,
            }
        )

    async def _get_mascot(self, args: MascotInput, context: OperationContext) -> Completed:
        base = f"collections/{args.mascot_id}"
        mascot = self.client.parse(await self._send("GET", base, what="mascot"), CollectionBody)
        items = self.client.parse(
            await self._send("GET", f"{base}/items", params={"limit": 100}, what="mascot"), Page[Item]
        )
        response = await self._send("GET", f"{base}/urls", what="mascot")
        urls = self.client.parse(response, UrlsBody)
        unfinished = {a.url for item in items.rows for a in item.assets if a.status in ("pending", "processing")}
        assets: list[Asset] = []
        for entry in urls.items:
            label = _slug(entry.name) or "item"
            found = [(label, "image", entry.image), (label, "transparent_image", entry.transparent_image)]
            for n, animation in enumerate(entry.animations):
                found += [(f"{label}-{n + 1}" if n else label, key, url) for key, url in animation.items()]
            assets += [_asset(key, url, name, pending=url in unfinished) for name, key, url in found if url]
        item_rows = [
            _compact(
                {
                    "item_id": item.id,
                    "name": item.name,
                    "type": item.type,
                    "assets": [
                        _compact({"asset_id": a.id, "type": a.type, "size": a.size, "status": a.status, "url": a.url})
                        for a in item.assets
                    ],
                }
            )
            for item in items.rows
        ]
        details = {"mascot": self._mascot_row(mascot), "items": item_rows, **_rate(response)}
        if len(assets) > _MAX_ASSETS:
            details["assets_shown"] = f"{_MAX_ASSETS} of {len(assets)}"
        lines = (f"{item.name} ({item.type or 'item'}) — item_id {item.id}" for item in items.rows)
        return Completed(
            assets=assets[:_MAX_ASSETS],
            details=details,
            text=_listing(f"Mascot '{mascot.name}' (mascot_id {mascot.id}), items", lines),
        )

    async def _upload(self, args: UploadInput, context: OperationContext) -> Completed:
        text = args.image.strip()
        if artifact_id_from(text) is None and text.lower().startswith(("http://", "https://")):
            url = context.inputs.reference(text, field="image", data_urls=False)
            response = await self._send("POST", "upload", json={"url": url}, what="image")
        else:
            image = await context.inputs.load(text, field="image")
            if len(image.data) > _MAX_UPLOAD:
                raise InvalidInput("image: Masko takes uploads of at most 10 MB.")
            files = {"file": (image.filename, image.data, image.mime_type)}
            response = await self._send("POST", "upload", files=files, what="image")
        uploaded = self.client.parse(response, UploadBody)
        return Completed(
            details={"asset_id": uploaded.asset_id, **_rate(response)},
            text=f"Uploaded: asset_id {uploaded.asset_id}.",
        )

    async def _list_styles(self, args: NoInput, context: OperationContext) -> Completed:
        response = await self._send("GET", "styles")
        styles = self.client.parse(response, StylesBody).styles
        return Completed(
            details={"styles": [s.model_dump(exclude_none=True) for s in styles], **_rate(response)},
            text=_listing("Styles", (f"{s.id} — {s.name}" for s in styles)),
        )

    async def _analyze_url(self, args: AnalyzeUrlInput, context: OperationContext) -> Completed:
        response = await self._send("POST", "analyze-url", json={"url": args.url}, what="website")
        analysis = self.client.parse(response, AnalysisBody)
        ideas = [s.model_dump(exclude_none=True) for s in analysis.suggestions]
        brand = analysis.brand.model_dump(exclude_none=True) if analysis.brand else None
        return Completed(
            details=_compact({"brand": brand, "suggestions": ideas}) | _rate(response),
            text=_listing(
                "Mascot ideas", (f"{s.name} ({s.style or 'any style'}): {s.prompt}" for s in analysis.suggestions)
            ),
        )

    async def _preview(self, args: PreviewInput, context: OperationContext) -> Completed:
        if args.mascot_id is not None:
            body: dict[str, Any] = {"collection_id": args.mascot_id, "prompt": args.prompt}
        else:
            body = _compact({"prompt": args.prompt, "preset_id": args.style, "count": args.count})
        response = await self._send("POST", "generate/preview", json=body, spend=True, what="mascot")
        preview = self.client.parse(response, PreviewBody, accepted=True)
        charged = preview.cost if preview.cost is not None else (0 if args.mascot_id else 1)
        assets = [
            Asset(
                url=image.url,
                kind="image",
                mime_type="image/png",
                name=f"masko-preview-{n + 1}.png",
                description="temporary preview: pass its URL to masko_create_mascot's reference_image_urls soon",
            )
            for n, image in enumerate(preview.images)
        ]
        return Completed(assets=assets, credits=CreditsInfo(charged=charged), details=_rate(response))

    # --- generation ---------------------------------------------------------------------------------------------

    async def _generate(self, args: GenerateInput, context: OperationContext) -> Submitted:
        body = args.body()
        del body["mascot_id"]
        response = await self._send(
            "POST",
            f"collections/{args.mascot_id}/generate",
            json=body,
            spend=True,
            what="mascot, item or asset",
            logo=args.type == "logo",
        )
        job = self.client.parse(response, GenerateBody, accepted=True)
        cost = job.estimated_cost if job.estimated_cost is not None else args.estimated_cost
        first, *rest = self._started(job, args.mascot_id, charged=cost)
        return dataclasses.replace(first, details={**first.details, **_rate(response)}, related=tuple(rest))

    async def _generate_batch(self, args: GenerateBatchInput, context: OperationContext) -> Submitted:
        response = await self._send(
            "POST",
            f"collections/{args.mascot_id}/generate-batch",
            json={"requests": [request.body() for request in args.requests]},
            spend=True,
            what="mascot, item or asset",
            logo=any(request.type == "logo" for request in args.requests),
        )
        batch = self.client.parse(response, BatchBody, accepted=True)
        total = batch.total_cost
        if total is None:
            total = sum(request.estimated_cost for request in args.requests)
        outcome = self._one_charge(batch.jobs, args.mascot_id, total, {"total_cost": total}, response)
        assert isinstance(outcome, Submitted), "a batch lists at least one job"
        return outcome

    def _started(self, job: SubmittedJob, mascot_id: str, *, charged: float | None) -> list[Submitted]:
        """A started job (and its free reverse, if any) as genmcp jobs with pending assets."""
        details = _compact(
            {
                "mascot_id": mascot_id,
                "item_id": job.item_id,
                "item_name": job.item_name,
                "type": job.type,
                "asset_ids": job.asset_ids,
                "estimated_cost": job.estimated_cost,
                "reverse_job": f"{self.name}:{job.reverse_job.job_id}" if job.reverse_job else None,
            }
        )
        label = _slug(job.item_name) or f"masko-{job.job_id[:8]}"
        started = [
            Submitted(
                upstream_id=job.job_id,
                poll_interval=self.poll_interval,
                credits=CreditsInfo(charged=charged) if charged is not None else None,
                details=details,
                poll_state=_compact({"mascot_id": mascot_id, "item_name": job.item_name}),
                assets=_assets(job.urls.items(), label, pending=True),
            )
        ]
        reverse = job.reverse_job
        if reverse is not None:
            name = reverse.item_name or f"{job.item_name or 'transition'} reversed"
            started.append(
                Submitted(
                    upstream_id=reverse.job_id,
                    poll_interval=self.poll_interval,
                    credits=CreditsInfo(charged=reverse.cost if reverse.cost is not None else 0),
                    details=_compact(
                        {
                            "mascot_id": mascot_id,
                            "item_id": reverse.item_id,
                            "item_name": name,
                            "asset_ids": reverse.asset_ids,
                            "estimated_cost": 0,
                            "reverse_of": f"{self.name}:{job.job_id}",
                        }
                    ),
                    poll_state={"mascot_id": mascot_id, "item_name": name},
                    assets=_assets(reverse.urls.items(), _slug(name), pending=True),
                )
            )
        return started

    def _one_charge(
        self,
        jobs: list[SubmittedJob],
        mascot_id: str,
        total: float | None,
        details: dict[str, Any],
        response: httpx2.Response,
    ) -> Completed | Submitted:
        """Several jobs paid for by one request: the first carries the whole charge, the others are related."""
        started = [part for job in jobs for part in self._started(job, mascot_id, charged=None)]
        credits = CreditsInfo(charged=total)
        if not started:
            return Completed(credits=credits, details={**details, **_rate(response)})
        first = started[0]
        return dataclasses.replace(
            first,
            credits=credits,
            details={**first.details, **details, "jobs": len(started), **_rate(response)},
            poll_state={**first.poll_state, "shared_charge": True},
            related=tuple(started[1:]),
        )

    async def _list_jobs(self, args: ListJobsInput, context: OperationContext) -> Completed:
        params = _compact(
            {
                "status": args.status,
                "collection_id": args.mascot_id,
                "type": args.type,
                "limit": args.limit,
                "offset": args.offset,
            }
        )
        response = await self._send("GET", "jobs", params=params)
        page = self.client.parse(response, Page[Job])
        rows = [
            _compact(
                {
                    "job": f"{self.name}:{job.id}",
                    "status": job.status,
                    "type": job.type,
                    "mascot_id": job.collection_id,
                    "item_name": job.item_name,
                    "cost": job.cost_credits,
                    "created_at": job.created_at,
                }
            )
            for job in page.rows
        ]
        return Completed(
            details={"jobs": rows, **_page_details(page, args), **_rate(response)},
            text=_listing("Jobs", (f"{r['job']} {r['status']} {r.get('item_name') or ''}".rstrip() for r in rows)),
        )

    async def _suggest_actions(self, args: MascotInput, context: OperationContext) -> Completed:
        response = await self._send("POST", f"collections/{args.mascot_id}/suggest-actions", json={}, what="mascot")
        suggestions = self.client.parse(response, SuggestionsBody).suggestions
        return Completed(
            details={"suggestions": suggestions, **_rate(response)}, text=_listing("Suggested poses", suggestions)
        )

    # --- canvases -----------------------------------------------------------------------------------------------

    async def _list_templates(self, args: ListTemplatesInput, context: OperationContext) -> Completed:
        response = await self._send("GET", "canvas-templates", params={"source": args.source})
        templates = self.client.parse(response, Page[Template]).rows
        rows = [
            _compact(
                {
                    "template_id": t.id,
                    "name": t.name,
                    "description": t.description,
                    "states": t.states,
                    "node_count": t.node_count,
                    "edge_count": t.edge_count,
                    "estimated_cost": t.estimated_cost,
                }
            )
            for t in templates
        ]
        lines = (f"{t.id} — {t.name}: {', '.join(t.states)} (≈{t.estimated_cost or '?'} credits)" for t in templates)
        return Completed(details={"templates": rows, **_rate(response)}, text=_listing("Canvas templates", lines))

    async def _create_canvas(self, args: CreateCanvasInput, context: OperationContext) -> Completed:
        response = await self._send(
            "POST", f"collections/{args.mascot_id}/canvases", json={"name": args.name}, what="mascot"
        )
        canvas = self.client.parse(response, CanvasBody)
        return Completed(
            details={"canvas_id": canvas.id, "name": canvas.name or args.name, "mascot_id": args.mascot_id}
            | _rate(response),
            text=f"Canvas '{canvas.name or args.name}' created: canvas_id {canvas.id}.",
        )

    async def _apply_template(self, args: ApplyTemplateInput, context: OperationContext) -> Completed | Submitted:
        response = await self._send(
            "POST",
            f"collections/{args.mascot_id}/canvases/{args.canvas_id}/from-template",
            json={"template_id": args.template_id},
            spend=True,
            what="mascot, canvas or template",
        )
        applied = self.client.parse(response, TemplateAppliedBody, accepted=True)
        details = _compact(
            {
                "canvas_id": applied.canvas_id or args.canvas_id,
                "template_id": args.template_id,
                "nodes": [_compact({"node_id": n.id, "name": n.name or n.itemName}) for n in applied.nodes],
                "node_mapping": applied.node_mapping,
                "edge_count": len(applied.edges),
                "total_cost": applied.total_cost,
            }
        )
        return self._one_charge(applied.jobs, args.mascot_id, applied.total_cost, details, response)

    async def _generate_canvas(self, args: GenerateCanvasInput, context: OperationContext) -> Completed | Submitted:
        body = args.model_dump(mode="json", exclude={"mascot_id", "canvas_id"}, exclude_none=True)
        response = await self._send(
            "POST",
            f"collections/{args.mascot_id}/canvases/{args.canvas_id}/generate-all",
            json=body,
            spend=True,
            what="mascot or canvas",
        )
        summary = self.client.parse(response, GenerateAllBody, accepted=True)
        details = _compact(summary.model_dump(exclude={"jobs"})) | {"canvas_id": args.canvas_id}
        total = summary.actual_cost if summary.actual_cost is not None else summary.estimated_cost
        outcome = self._one_charge(summary.jobs, args.mascot_id, total, details, response)
        if isinstance(outcome, Completed) and summary.generated:
            return dataclasses.replace(
                outcome, text=f"Masko started {summary.generated} generations; follow them with masko_canvas_status."
            )
        return outcome

    async def _canvas_status(self, args: CanvasInput, context: OperationContext) -> Completed:
        base = f"collections/{args.mascot_id}/canvases/{args.canvas_id}"
        # The newer docs put progress in the canvas detail; the seed has a `/status` sub-resource: read either.
        response = await self.client.request("GET", base)
        canvas: CanvasBody | None = None
        if response.is_success:
            canvas = self.client.parse(response, CanvasBody)
        elif response.status_code not in (404, 405):
            raise self._error(response, what="canvas")
        progress = canvas.status if canvas is not None else None
        if progress is None:
            response = await self._send("GET", f"{base}/status", what="mascot or canvas")
            progress = self.client.parse(response, CanvasStatusBody)
        done = progress.total_jobs > 0 and progress.completed == progress.total_jobs
        percent = progress.percent if progress.percent is not None else round(100 * progress.progress)
        details = {
            "canvas_id": args.canvas_id,
            "total_jobs": progress.total_jobs,
            "completed": progress.completed,
            "pending": progress.pending,
            "failed": progress.failed,
            "percent": percent,
            "done": done,
            **_rate(response),
        }
        if progress.assets:
            details["parts"] = [
                _compact({k: part.get(k) for k in ("kind", "name", "status", "job_id")}) for part in progress.assets
            ]
        if canvas is not None:
            details |= _compact({"name": canvas.name, "template_id": canvas.template_id})
        text = f"{progress.completed} of {progress.total_jobs} jobs done ({percent:g}%), {progress.failed} failed."
        if done:
            text += " Export it with masko_export_canvas."
        elif progress.failed:
            text += " Run masko_generate_canvas again to redo failed work."
        return Completed(details=details, text=text)

    async def _export_canvas(self, args: CanvasInput, context: OperationContext) -> Completed:
        response = await self._send(
            "GET", f"collections/{args.mascot_id}/canvases/{args.canvas_id}/export", what="mascot or canvas"
        )
        self.client.parse(response, ExportBody)
        config = unwrap(response.json())
        edges = [edge for edge in config.get("edges", []) if isinstance(edge, dict)]
        missing = sum(1 for edge in edges if edge.get("source") != "*" and not edge.get("videos"))
        assets = context.files.keep(
            json.dumps(config, indent=2).encode(),
            mime_type="application/json",
            filename=f"masko-canvas-{args.canvas_id}.json",
        )
        details = {
            "canvas_id": args.canvas_id,
            "node_count": len(config.get("nodes", [])),
            "edge_count": len(edges),
            "edges_without_video": missing,
            "config": config,
            **_rate(response),
        }
        return Completed(assets=assets, details=details)

    # --- jobs, balance, errors ----------------------------------------------------------------------------------

    async def status(self, upstream_id: str, poll_state: Mapping[str, Any], *, hold: float) -> JobUpdate:
        params: dict[str, Any] | None = None
        read_timeout: float | None = None
        if hold >= 1:
            wait = int(min(hold, _MAX_HOLD))
            params, read_timeout = {"wait": "true", "timeout": wait}, wait + _HOLD_GRACE
        response = await self.client.request(
            "GET", f"jobs/{quote(upstream_id, safe='')}", params=params, read_timeout=read_timeout
        )
        if not response.is_success:
            raise self._error(response, what=f"job {upstream_id}")
        job = self.client.parse(response, Job)
        label = _slug(job.item_name or poll_state.get("item_name")) or f"masko-{upstream_id[:8]}"
        details = (
            _compact({"size_variants": job.size_variants})
            if poll_state
            else _compact(
                {
                    "mascot_id": job.collection_id,
                    "item_id": job.item_id or (job.output_data or {}).get("item_id"),
                    "item_name": job.item_name,
                    "type": job.type,
                    "asset_ids": job.asset_ids,
                    "cost": job.cost_credits,
                }
            )
        )
        urls = job.all_urls.items()
        if job.status in ("pending", "processing"):
            return JobUpdate(
                state="running",
                upstream_status=job.status,
                assets=_assets(urls, label, pending=True),
                details=details,
            )
        if job.status == "completed":
            return JobUpdate(
                state="completed",
                upstream_status="completed",
                assets=_assets(urls, label, pending=False),
                details=details,
            )
        free = job.cost_credits == 0
        said = self.client.redact(job.error_message) or "no reason given"
        return JobUpdate(
            state="failed",
            upstream_status="failed",
            error=JobFailed(
                f"Masko could not finish the job: {said}" + ("" if free else " Its credits were refunded."),
                retryable=True,
                charged=not free,
                refunded=None if free else True,
                upstream_code=job.error_code,
            ),
            credits=None if free or poll_state.get("shared_charge") else CreditsInfo(refunded=True),
            details=details,
        )

    async def balance(self, last_seen: Balance | None) -> Balance:
        response = await self._send("GET", "credits", what="account")
        credits = self.client.parse(response, CreditsBody)
        remaining = credits.remaining
        assert remaining is not None, "CreditsBody requires a balance"
        subscription, topup = credits.split
        return Balance(
            remaining=remaining,
            live=True,
            as_of=self.client.clock.wall(),
            details=_compact({"subscription": subscription, "topup": topup}),
        )

    async def check(self) -> str:
        balance = await self.balance(None)
        return f"key accepted; {balance.remaining:g} credits"

    async def _send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        files: Any = None,
        spend: bool = False,
        what: str = "resource",
        logo: bool = False,
    ) -> httpx2.Response:
        response = await self.client.request(method, path, json=json, params=params, files=files)
        if not response.is_success:
            raise self._error(response, spend=spend, what=what, logo=logo)
        return response

    def _error(
        self, response: httpx2.Response, *, spend: bool = False, what: str = "resource", logo: bool = False
    ) -> GenmcpError:
        try:
            body = ErrorBody.model_validate_json(response.content)
        except ValidationError:
            return self.client.error_for_status(response, spend=spend)
        status, code, said = response.status_code, body.code, self.client.redact(body.message)
        if status in (400, 409, 422):
            return InvalidInput(f"Masko refused the request: {said}", upstream_code=code)
        if status == 401:
            return AuthError(
                f"Masko refused the API key ({said}). Check {self.key_env()} (or providers.masko.api_key): keys look "
                "like masko_ followed by 64 hex characters and are shown once when created.",
                upstream_code=code,
            )
        if status == 402:
            return self._insufficient(body, said)
        if status == 403:
            if logo or "logo" in said.lower():
                return ForbiddenError(
                    "Logo generation needs a Masko Pro plan or higher; this account's plan (Free or Starter) cannot "
                    "make logos. Upgrade at masko.ai, or generate an `image` instead.",
                    upstream_code=code,
                )
            return ForbiddenError(
                f"Masko denied access ({said}): the {what} belongs to another workspace or key.", upstream_code=code
            )
        if status == 404:
            return NotFoundError(f"Masko has no such {what} for this key ({said}).", upstream_code=code)
        if status == 429:
            return RateLimited(
                f"Masko's rate limit was reached ({said}).",
                retry_after=retry_after_seconds(response),
                upstream_code=code,
            )
        return self.client.error_for_status(response, detail=said, spend=spend)

    @staticmethod
    def _insufficient(body: ErrorBody, said: str) -> InsufficientCredits:
        needed, have = body.needed, body.have
        if needed is not None and have is not None:
            message = f"Not enough Masko credits: this needs {needed:g}, the account has {have:g}."
        else:
            message = f"Masko reports too few credits ({said})."
        return InsufficientCredits(
            message + " Top up at masko.ai (top-ups never expire), or pick something cheaper: a shorter animation "
            "(5 credits per second), or animate an existing image (saves 1 credit).",
            upstream_code=body.code,
        )

    @classmethod
    def simulator(cls, *, now: Callable[[], float], job_seconds: float) -> Simulator:
        from providers.masko.simulator import MaskoSimulator

        return MaskoSimulator(now=now, job_seconds=job_seconds)
