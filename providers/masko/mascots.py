"""Masko operations on projects and mascots: creating and listing them, reading one whole, uploading images, and
the helpers for picking a character (art styles, ideas from a website, quick previews)."""

from __future__ import annotations

from typing import Any

from providers.base import Completed, OperationContext, Submitted, compact, operation
from providers.masko.api import INSTANT, MaskoApi, listing, page_details, rate_details
from providers.masko.assets import asset, slug
from providers.masko.inputs import (
    AnalyzeUrlInput,
    CreateMascotInput,
    CreateProjectInput,
    ListMascotsInput,
    MascotInput,
    NoInput,
    PageInput,
    PreviewInput,
    UploadInput,
)
from providers.masko.pricing import (
    CREATE_MASCOT_COST,
    FREE,
    PREVIEW_COST,
    create_mascot_estimate,
    preview_estimate,
)
from providers.masko.wire import (
    AnalysisBody,
    Collection,
    CollectionBody,
    Item,
    Page,
    PreviewBody,
    Project,
    ProjectBody,
    StylesBody,
    UploadBody,
    UrlsBody,
)
from server.artifacts import artifact_id_from
from server.errors import InvalidInput
from server.results import Asset, CreditsInfo

__all__ = ["MaskoMascots"]

_MAX_ASSETS = 100
_MAX_UPLOAD = 10 * 1024 * 1024


def _mascot_row(mascot: Collection) -> dict[str, Any]:
    config = mascot.config
    return compact(
        {
            "mascot_id": mascot.id,
            "name": mascot.name,
            "project_id": mascot.project_id,
            "prompt": (config.prompt if config else None) or mascot.prompt or mascot.description,
            "style": config.style if config else None,
            "reference_asset_ids": (config.reference_asset_ids or None) if config else None,
            "style_card": (config.style_card or None) if config else None,
            "animation_sizes": (config.animation_sizes or None) if config else None,
            "item_count": mascot.item_count,
            "created_at": mascot.created_at,
        }
    )


def _item_row(item: Item) -> dict[str, Any]:
    files = [
        compact({"asset_id": a.id, "type": a.type, "size": a.size, "status": a.status, "url": a.url})
        for a in item.assets
    ]
    return compact({"item_id": item.id, "name": item.name, "type": item.type, "assets": files or None})


def _files(urls: UrlsBody, items: Page[Item]) -> list[Asset]:
    """Every file `/urls` lists, pending where its item's asset is not finished yet."""
    unfinished = {a.url for item in items.rows for a in item.assets if a.status in ("pending", "processing")}
    found: list[Asset] = []
    for entry in urls.items:
        label = slug(entry.name) or "item"
        named = [(label, "image", entry.image), (label, "transparent_image", entry.transparent_image)]
        for n, animation in enumerate(entry.animations):
            named += [(f"{label}-{n + 1}" if n else label, key, url) for key, url in animation.items()]
        found += [asset(key, url, name, pending=url in unfinished) for name, key, url in named if url]
    return found


class MaskoMascots(MaskoApi):
    """Projects, mascots, uploads, styles, website ideas and previews."""

    @operation(
        CreateProjectInput,
        name="create_project",
        title="Create a project",
        summary="Create a Masko project (a folder for mascots). Needed once before masko_create_mascot.",
        kind="write",
        cost=FREE,
        duration=INSTANT,
        returns="details.project_id.",
    )
    async def create_project(self, args: CreateProjectInput, context: OperationContext) -> Completed:
        response = await self._send("POST", "projects", json={"name": args.name})
        project = self.client.parse(response, ProjectBody)
        return Completed(
            details={"project_id": project.id, "name": project.name, **rate_details(response)},
            text=f"Project '{project.name}' created: project_id {project.id}.",
        )

    @operation(
        PageInput,
        name="list_projects",
        title="List projects",
        summary="List Masko projects (id and name).",
        kind="read",
        cost=FREE,
        duration=INSTANT,
        returns="details.projects = [{project_id, name, created_at}].",
    )
    async def list_projects(self, args: PageInput, context: OperationContext) -> Completed:
        response = await self._send("GET", "projects", params={"limit": args.limit, "offset": args.offset})
        page = self.client.parse(response, Page[Project])
        rows = [compact({"project_id": p.id, "name": p.name, "created_at": p.created_at}) for p in page.rows]
        return Completed(
            details={"projects": rows, **page_details(page, args), **rate_details(response)},
            text=listing("Projects", (f"{p.name} — project_id {p.id}" for p in page.rows)),
        )

    @operation(
        CreateMascotInput,
        name="create_mascot",
        title="Create a mascot",
        summary="Create a mascot (a Masko collection: one character) in a project, from a character "
        "`prompt` (+ optional `style` from masko_list_styles), or from up to 6 reference images "
        "(`reference_image_urls` public URLs, or `reference_asset_ids` from masko_upload). With only a "
        "prompt Masko draws the reference image itself and the result waits for it.",
        kind="spend",
        cost=CREATE_MASCOT_COST,
        duration="a second with references; seconds more while the reference image is drawn",
        returns="details.mascot_id (use it in every other masko_ tool), and the reference image link once drawn.",
        estimate=create_mascot_estimate,
    )
    async def create_mascot(self, args: CreateMascotInput, context: OperationContext) -> Completed | Submitted:
        body = args.payload()
        if args.reference_image_urls:
            body["reference_image_urls"] = [
                await context.inputs.reference(url, field=f"reference_image_urls[{i}]", data_urls=False)
                for i, url in enumerate(args.reference_image_urls)
            ]
        response = await self._send("POST", "collections", json=body, spend=True, what="project")
        mascot = self.client.parse(response, CollectionBody, accepted=True)
        charged = create_mascot_estimate(args)
        details = compact(
            {"mascot_id": mascot.id, "name": mascot.name, "project_id": mascot.project_id or args.project_id}
        )
        details |= {"estimated_cost": charged, **rate_details(response)}
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

    @operation(
        ListMascotsInput,
        name="list_mascots",
        title="List mascots",
        summary="List mascots (id, name, project), optionally of one project.",
        kind="read",
        cost=FREE,
        duration=INSTANT,
        returns="details.mascots = [{mascot_id, name, project_id, …}].",
    )
    async def list_mascots(self, args: ListMascotsInput, context: OperationContext) -> Completed:
        params = compact({"project_id": args.project_id, "limit": args.limit, "offset": args.offset})
        response = await self._send("GET", "collections", params=params, what="project")
        page = self.client.parse(response, Page[Collection])
        return Completed(
            details={
                "mascots": [_mascot_row(c) for c in page.rows],
                **page_details(page, args),
                **rate_details(response),
            },
            text=listing("Mascots", (f"{c.name} — mascot_id {c.id}" for c in page.rows)),
        )

    @operation(
        MascotInput,
        name="get_mascot",
        title="Get a mascot",
        summary="Everything about one mascot: its character prompt, style, references, every item (pose, "
        "animation, logo) with its asset ids and statuses, and every file URL.",
        kind="read",
        cost=FREE,
        duration="a few seconds (three reads)",
        returns=f"a link per file (at most {_MAX_ASSETS}; pending ones still serve a placeholder); "
        "details.mascot and details.items = [{item_id, name, type, assets: [{asset_id, type, status, url}]}].",
    )
    async def get_mascot(self, args: MascotInput, context: OperationContext) -> Completed:
        base = f"collections/{args.mascot_id}"
        mascot = self.client.parse(await self._send("GET", base, what="mascot"), CollectionBody)
        items = self.client.parse(
            await self._send("GET", f"{base}/items", params={"limit": 100}, what="mascot"), Page[Item]
        )
        response = await self._send("GET", f"{base}/urls", what="mascot")
        files = _files(self.client.parse(response, UrlsBody), items)
        details = {
            "mascot": _mascot_row(mascot),
            "items": [_item_row(item) for item in items.rows],
            **rate_details(response),
        }
        if len(files) > _MAX_ASSETS:
            details["assets_shown"] = f"{_MAX_ASSETS} of {len(files)}"
        lines = (f"{item.name} ({item.type or 'item'}) — item_id {item.id}" for item in items.rows)
        return Completed(
            assets=files[:_MAX_ASSETS],
            details=details,
            text=listing(f"Mascot '{mascot.name}' (mascot_id {mascot.id}), items", lines),
        )

    @operation(
        UploadInput,
        name="upload",
        title="Upload an image",
        summary="Upload an image to Masko and get an asset id, for reference_asset_ids of "
        "masko_create_mascot or as source_image_asset_id / end_image_asset_id of masko_generate. An https "
        "URL is fetched by Masko itself; data URLs, base64, artifact:// references and allowed local paths "
        "are sent as the file.",
        kind="write",
        cost=FREE,
        duration="a few seconds",
        returns="details.asset_id.",
    )
    async def upload(self, args: UploadInput, context: OperationContext) -> Completed:
        text = args.image.strip()
        if artifact_id_from(text) is None and text.lower().startswith(("http://", "https://")):
            url = await context.inputs.reference(text, field="image", data_urls=False)
            response = await self._send("POST", "upload", json={"url": url}, what="image")
        else:
            image = await context.inputs.load(text, field="image")
            if len(image.data) > _MAX_UPLOAD:
                raise InvalidInput("image: Masko takes uploads of at most 10 MB.")
            files = {"file": (image.filename, image.data, image.mime_type)}
            response = await self._send("POST", "upload", files=files, what="image")
        uploaded = self.client.parse(response, UploadBody)
        return Completed(
            details={"asset_id": uploaded.asset_id, **rate_details(response)},
            text=f"Uploaded: asset_id {uploaded.asset_id}.",
        )

    @operation(
        NoInput,
        name="list_styles",
        title="List art styles",
        summary="List Masko's art styles (id, name, preview image URL) for masko_create_mascot's `style`.",
        kind="read",
        cost=FREE,
        duration=INSTANT,
        returns="details.styles = [{id, name, preview_url}].",
    )
    async def list_styles(self, args: NoInput, context: OperationContext) -> Completed:
        response = await self._send("GET", "styles")
        styles = self.client.parse(response, StylesBody).styles
        return Completed(
            details={"styles": [s.model_dump(exclude_none=True) for s in styles], **rate_details(response)},
            text=listing("Styles", (f"{s.id} — {s.name}" for s in styles)),
        )

    @operation(
        AnalyzeUrlInput,
        name="analyze_url",
        title="Mascot ideas from a website",
        summary="Analyse a website (Masko screenshots it, reads its brand colours and industry) and suggest "
        "mascots that fit the brand, each with a name, prompt and style ready for masko_create_mascot.",
        kind="read",
        cost=FREE,
        duration="several seconds",
        returns="details.brand {name, colors, industry} and details.suggestions [{name, prompt, style}].",
    )
    async def analyze_url(self, args: AnalyzeUrlInput, context: OperationContext) -> Completed:
        response = await self._send("POST", "analyze-url", json={"url": args.url}, what="website")
        analysis = self.client.parse(response, AnalysisBody)
        ideas = [s.model_dump(exclude_none=True) for s in analysis.suggestions]
        brand = analysis.brand.model_dump(exclude_none=True) if analysis.brand else None
        return Completed(
            details=compact({"brand": brand, "suggestions": ideas or None}) | rate_details(response),
            text=listing(
                "Mascot ideas", (f"{s.name} ({s.style or 'any style'}): {s.prompt}" for s in analysis.suggestions)
            ),
        )

    @operation(
        PreviewInput,
        name="preview",
        title="Preview a character",
        summary="Draw quick preview images before committing: for a new character give `prompt` (+ `style`, "
        "`count` 1–4) and pass the URL you like to masko_create_mascot's reference_image_urls; with "
        "`mascot_id`, test a pose prompt on an existing mascot.",
        kind="spend",
        cost=PREVIEW_COST,
        duration="several seconds",
        returns="temporary preview image links (they expire: use them soon).",
        estimate=preview_estimate,
    )
    async def preview(self, args: PreviewInput, context: OperationContext) -> Completed:
        if args.mascot_id is not None:
            body: dict[str, Any] = {"collection_id": args.mascot_id, "prompt": args.prompt}
        else:
            body = compact({"prompt": args.prompt, "preset_id": args.style, "count": args.count})
        response = await self._send("POST", "generate/preview", json=body, spend=True, what="mascot")
        preview = self.client.parse(response, PreviewBody, accepted=True)
        charged = preview.cost if preview.cost is not None else preview_estimate(args)
        images = [
            Asset(
                url=image.url,
                kind="image",
                mime_type="image/png",
                name=f"masko-preview-{n + 1}.png",
                description="temporary preview: pass its URL to masko_create_mascot's reference_image_urls soon",
            )
            for n, image in enumerate(preview.images)
        ]
        return Completed(assets=images, credits=CreditsInfo(charged=charged), details=rate_details(response))
