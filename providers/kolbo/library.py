"""Kolbo's free operations: the model catalogue, Visual DNAs (reusable identities) and moodboards (style templates).

All are plain reads or writes answered within the call; creating a Visual DNA is a synchronous upload that takes
10–30 s while Kolbo analyses the images, so genmcp runs it in the background (`blocking`).
"""

from __future__ import annotations

from typing import Any

from providers.base import Completed, OperationContext, compact, operation
from providers.kolbo.api import KolboApi
from providers.kolbo.assets import asset, http_urls
from providers.kolbo.inputs import (
    ListModelsInput,
    MoodboardsInput,
    VisualDnaCreateInput,
    VisualDnaGetInput,
    VisualDnaListInput,
)
from providers.kolbo.pricing import FREE, describe_price
from providers.kolbo.wire import (
    DeletedBody,
    ModelInfo,
    ModelsBody,
    MoodboardBody,
    MoodboardListBody,
    VisualDna,
    VisualDnaBody,
    VisualDnaListBody,
)

__all__ = ["KolboLibrary"]

_QUICK = "a second or two."


def _model_row(model: ModelInfo) -> dict[str, Any]:
    return compact(
        {
            "identifier": model.identifier,
            "name": model.name,
            "provider": model.provider,
            "types": model.types,
            "credit": model.credit,
            "cost": describe_price(model),
            "supported_aspect_ratios": model.supported_aspect_ratios,
            "supported_durations": model.supported_durations,
            "supported_resolutions": model.supported_resolutions,
            "max_reference_images": model.max_reference_images,
            "max_visual_dna": model.max_visual_dna,
            "recommended": model.recommended or None,
            "summary": model.summary or None,
        }
    )


def _model_line(model: ModelInfo) -> str:
    durations = model.supported_durations
    extras = [
        f"ratios {', '.join(model.supported_aspect_ratios)}" if model.supported_aspect_ratios else "",
        f"durations {', '.join(f'{d:g}' for d in durations)} s" if durations else "",
        f"≤{model.max_reference_images} reference images" if model.max_reference_images else "",
    ]
    said = "; ".join(part for part in [describe_price(model) or "cost not listed", *extras] if part)
    return f"- {model.identifier} — {model.name or model.identifier} ({model.provider or '?'}): {said}"


def _dna_result(dna: VisualDna, note: str | None = None) -> Completed:
    assets = [
        asset(url, "image", f"visual-dna-{dna.id}-{i + 1}", dna.name) for i, url in enumerate(http_urls(dna.images))
    ]
    return Completed(assets=assets, details={"visual_dna": dna.model_dump(exclude_none=True), **compact({"use": note})})


class KolboLibrary(KolboApi):
    """The catalogue, Visual DNA and moodboard operations of the Kolbo adapter."""

    @operation(
        ListModelsInput,
        name="list_models",
        title="List models",
        summary="List Kolbo's models, optionally of one type ('image', 'image_edit', 'video', "
        "'video_from_image', 'music', 'speech', 'sound', 'chat') or provider: identifier, what it costs, "
        "supported aspect ratios, durations, resolutions and input limits.",
        kind="read",
        cost="Free.",
        duration=_QUICK,
        returns="details.models (identifier, name, provider, types, credit, cost, supported_aspect_ratios, "
        "supported_durations, supported_resolutions, max_reference_images, max_visual_dna) and one line per "
        "model in text.",
    )
    async def list_models(self, args: ListModelsInput, context: OperationContext) -> Completed:
        models = (await self._get("v1/models", ModelsBody, params=args.payload())).models
        rows = [_model_row(model) for model in models]
        text = "\n".join(_model_line(model) for model in models)
        return Completed(details={"models": rows, "count": len(rows)}, text=text or "No models match.")

    @operation(
        VisualDnaCreateInput,
        name="visual_dna_create",
        title="Create a Visual DNA",
        summary="Create a reusable visual identity (a character, product, style, environment or scene) from "
        "1–4 images of the same subject; pass its id in visual_dna_ids to keep it consistent across "
        "generations. Images may be URLs, data URLs, base64, genmcp artifacts or allowed local paths.",
        kind="write",
        cost=FREE,
        duration="typically 10–30 s (Kolbo analyses the images).",
        returns="details.visual_dna (id, name, dna_type, description) and its images (assets).",
        blocking=True,
        max_seconds=300.0,
    )
    async def visual_dna_create(self, args: VisualDnaCreateInput, context: OperationContext) -> Completed:
        images = [await context.inputs.load(v, field=f"images[{i}]") for i, v in enumerate(args.images)]
        # The docs name the fields dna_type/prompt_helper, the official MCP dnaType/promptHelper: send both.
        data = compact(
            {
                "name": args.name,
                "dna_type": args.dna_type,
                "dnaType": args.dna_type,
                "prompt_helper": args.prompt_helper,
                "promptHelper": args.prompt_helper,
            }
        )
        files = [("images", (image.filename, image.data, image.mime_type)) for image in images]
        response = await self.client.request("POST", "v1/visual-dna", data=data, files=files, on_send=context.sending)
        if response.status_code not in (200, 201):
            raise self._error(response)
        dna = self.client.parse(response, VisualDnaBody).visual_dna
        return _dna_result(dna, note=f"Pass visual_dna_ids=['{dna.id}'] to Kolbo generation tools to use it.")

    @operation(
        VisualDnaListInput,
        name="visual_dna_list",
        title="List Visual DNAs",
        summary="List Visual DNAs: your own and Kolbo's global presets (filter with scope, search, page, limit).",
        kind="read",
        cost="Free.",
        duration=_QUICK,
        returns="details.visual_dnas (id, name, dna_type, is_global, thumbnail_url, description).",
    )
    async def visual_dna_list(self, args: VisualDnaListInput, context: OperationContext) -> Completed:
        listed = await self._get("v1/visual-dna", VisualDnaListBody, params=args.payload())
        rows = [
            compact(
                {
                    "id": dna.id,
                    "name": dna.name,
                    "dna_type": dna.dna_type,
                    "is_global": dna.is_global,
                    "thumbnail_url": dna.thumbnail_url,
                    "description": (dna.description or "")[:300] or None,
                }
            )
            for dna in listed.visual_dnas
        ]
        text = "\n".join(f"- {dna.id}: {dna.name} ({dna.dna_type or '?'})" for dna in listed.visual_dnas)
        details = {
            "visual_dnas": rows,
            "count": len(rows),
            **compact({"total": listed.total, "has_more": listed.has_more}),
        }
        return Completed(details=details, text=text or "No Visual DNAs match.")

    @operation(
        VisualDnaGetInput,
        name="visual_dna_get",
        title="Show a Visual DNA",
        summary="Show one Visual DNA in full: description, system prompt and reference images.",
        kind="read",
        cost="Free.",
        duration=_QUICK,
        returns="details.visual_dna and its reference images (assets).",
    )
    async def visual_dna_get(self, args: VisualDnaGetInput, context: OperationContext) -> Completed:
        path = f"v1/visual-dna/{args.visual_dna_id}"
        dna = (await self._get(path, VisualDnaBody, missing=f"Visual DNA '{args.visual_dna_id}'")).visual_dna
        return _dna_result(dna)

    @operation(
        VisualDnaGetInput,
        name="visual_dna_delete",
        title="Delete a Visual DNA",
        summary="Delete one of your Visual DNAs (Kolbo's global presets cannot be deleted).",
        kind="write",
        cost="Free.",
        duration=_QUICK,
        returns="details.deleted (the id).",
    )
    async def visual_dna_delete(self, args: VisualDnaGetInput, context: OperationContext) -> Completed:
        response = await self.client.request("DELETE", f"v1/visual-dna/{args.visual_dna_id}")
        if response.status_code != 200:
            raise self._error(response, missing=f"Visual DNA '{args.visual_dna_id}'")
        deleted = self.client.parse(response, DeletedBody)
        return Completed(details={"deleted": args.visual_dna_id, **compact({"message": deleted.message})})

    @operation(
        MoodboardsInput,
        name="moodboards",
        title="Moodboards",
        summary="List moodboards (style templates: yours and Kolbo's presets), or show one in full with "
        "moodboard_id. Pass a moodboard's id as moodboard_id to image, edit or Creative Director tools.",
        kind="read",
        cost="Free.",
        duration=_QUICK,
        returns="details.moodboards (id, name, master_prompt) or details.moodboard with its images (assets).",
    )
    async def moodboards(self, args: MoodboardsInput, context: OperationContext) -> Completed:
        if args.moodboard_id is not None:
            path = f"v1/moodboards/{args.moodboard_id}"
            board = (await self._get(path, MoodboardBody, missing=f"moodboard '{args.moodboard_id}'")).moodboard
            assets = [
                asset(url, "image", f"moodboard-{board.id}-{i + 1}", board.name)
                for i, url in enumerate(http_urls(board.images))
            ]
            return Completed(assets=assets, details={"moodboard": board.model_dump(exclude_none=True)})
        boards = (await self._get("v1/moodboards", MoodboardListBody, params=args.payload())).moodboards
        rows = [
            compact(
                {
                    "id": board.id,
                    "name": board.name,
                    "scope": board.scope,
                    "master_prompt": board.master_prompt,
                    "thumbnail_url": board.thumbnail_url,
                }
            )
            for board in boards
        ]
        text = "\n".join(f"- {b.id}: {b.name} — {b.master_prompt or ''}".rstrip(" —") for b in boards)
        return Completed(details={"moodboards": rows, "count": len(rows)}, text=text or "No moodboards.")
