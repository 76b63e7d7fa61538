"""Masko canvas operations: an interactive state machine of a mascot's poses (nodes) and animated transitions
(edges), filled from a template, generated, followed and exported for the Masko player."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from providers.base import Completed, OperationContext, Submitted, compact, operation
from providers.masko.api import INSTANT, listing, rate_details
from providers.masko.inputs import (
    ApplyTemplateInput,
    CanvasInput,
    CreateCanvasInput,
    GenerateCanvasInput,
    ListTemplatesInput,
)
from providers.masko.jobs import MaskoJobs
from providers.masko.pricing import (
    APPLY_TEMPLATE_COST,
    FREE,
    GENERATE_CANVAS_COST,
    apply_template_estimate,
    generate_canvas_estimate,
)
from providers.masko.wire import Page, unwrap
from providers.masko.wire_canvas import (
    CanvasBody,
    CanvasProgress,
    CanvasStatusBody,
    ExportBody,
    GenerateAllBody,
    Template,
    TemplateAppliedBody,
)

__all__ = ["MaskoCanvas"]


def _counts(progress: CanvasProgress) -> dict[str, Any]:
    """How many of a canvas's jobs are done, pending and failed."""
    return {
        "total_jobs": progress.total_jobs,
        "completed": progress.completed,
        "pending": progress.pending,
        "failed": progress.failed,
        "percent": progress.percent if progress.percent is not None else round(100 * progress.progress),
        "done": progress.total_jobs > 0 and progress.completed == progress.total_jobs,
    }


def _parts_and_names(progress: CanvasProgress, canvas: CanvasBody | None) -> dict[str, Any]:
    """Each part's status, and the canvas's name and template when the detail was read."""
    found: dict[str, Any] = {}
    if progress.assets:
        found["parts"] = [
            compact({k: part.get(k) for k in ("kind", "name", "status", "job_id")}) for part in progress.assets
        ]
    if canvas is not None:
        found |= compact({"name": canvas.name, "template_id": canvas.template_id})
    return found


def _progress_text(progress: CanvasProgress, details: dict[str, Any]) -> str:
    text = (
        f"{progress.completed} of {progress.total_jobs} jobs done ({details['percent']:g}%), {progress.failed} failed."
    )
    if details["done"]:
        return text + " Export it with masko_export_canvas."
    if progress.failed:
        return text + " Run masko_generate_canvas again to redo failed work."
    return text


class MaskoCanvas(MaskoJobs):
    """Canvas templates, canvases, their generation, progress and export."""

    @operation(
        ListTemplatesInput,
        name="list_canvas_templates",
        title="List canvas templates",
        summary="List canvas templates (ready-made state machines: poses, transitions, inputs), e.g. "
        "'claude-code-4state', with their states and estimated full cost.",
        kind="read",
        cost=FREE,
        duration=INSTANT,
        returns="details.templates = [{template_id, name, description, states, estimated_cost}].",
    )
    async def list_canvas_templates(self, args: ListTemplatesInput, context: OperationContext) -> Completed:
        response = await self._send("GET", "canvas-templates", params={"source": args.source})
        templates = self.client.parse(response, Page[Template]).rows
        rows = [
            compact(
                {
                    "template_id": t.id,
                    "name": t.name,
                    "description": t.description,
                    "states": t.states or None,
                    "node_count": t.node_count,
                    "edge_count": t.edge_count,
                    "estimated_cost": t.estimated_cost,
                }
            )
            for t in templates
        ]
        lines = (f"{t.id} — {t.name}: {', '.join(t.states)} (≈{t.estimated_cost or '?'} credits)" for t in templates)
        return Completed(details={"templates": rows, **rate_details(response)}, text=listing("Canvas templates", lines))

    @operation(
        CreateCanvasInput,
        name="create_canvas",
        title="Create a canvas",
        summary="Create an empty canvas (an interactive state machine of a mascot's poses and transitions). "
        "Fill it with masko_apply_canvas_template, then masko_generate_canvas.",
        kind="write",
        cost=FREE,
        duration=INSTANT,
        returns="details.canvas_id.",
    )
    async def create_canvas(self, args: CreateCanvasInput, context: OperationContext) -> Completed:
        response = await self._send(
            "POST", f"collections/{args.mascot_id}/canvases", json={"name": args.name}, what="mascot"
        )
        canvas = self.client.parse(response, CanvasBody)
        return Completed(
            details={"canvas_id": canvas.id, "name": canvas.name or args.name, "mascot_id": args.mascot_id}
            | rate_details(response),
            text=f"Canvas '{canvas.name or args.name}' created: canvas_id {canvas.id}.",
        )

    @operation(
        ApplyTemplateInput,
        name="apply_canvas_template",
        title="Apply a canvas template",
        summary="Fill an empty canvas from a template (nodes = poses, edges = transitions, inputs) and start "
        "drawing every pose image.",
        kind="spend",
        cost=APPLY_TEMPLATE_COST,
        duration="seconds (the pose images)",
        returns="details: nodes [{node_id, name}], node_mapping, total_cost; the image jobs (first as `job`, "
        "the rest under `related`) with pending links.",
        estimate=apply_template_estimate,
    )
    async def apply_canvas_template(self, args: ApplyTemplateInput, context: OperationContext) -> Completed | Submitted:
        response = await self._send(
            "POST",
            f"collections/{args.mascot_id}/canvases/{args.canvas_id}/from-template",
            json={"template_id": args.template_id},
            spend=True,
            what="mascot, canvas or template",
        )
        applied = self.client.parse(response, TemplateAppliedBody, accepted=True)
        details = compact(
            {
                "canvas_id": applied.canvas_id or args.canvas_id,
                "template_id": args.template_id,
                "nodes": [compact({"node_id": n.id, "name": n.name or n.itemName}) for n in applied.nodes] or None,
                "node_mapping": applied.node_mapping or None,
                "edge_count": len(applied.edges),
                "total_cost": applied.total_cost,
            }
        )
        return self._one_charge(applied.jobs, args.mascot_id, applied.total_cost, details, response)

    @operation(
        GenerateCanvasInput,
        name="generate_canvas",
        title="Generate a canvas's animations",
        summary="Generate everything a canvas still needs: missing pose images, then one animation per loop "
        "and forward transition (reverse transitions come free with auto-reverse; any-state edges need no "
        "video). Completed or running work is skipped unless skip_completed is false. Check the template's "
        "estimated_cost first.",
        kind="spend",
        cost=GENERATE_CANVAS_COST,
        duration="minutes (many animations in parallel)",
        returns="details: generated, skipped, reverse_free, estimated_cost, actual_cost; the jobs (first as "
        "`job`, the rest under `related`) with pending links. Follow with masko_canvas_status.",
        estimate=generate_canvas_estimate,
    )
    async def generate_canvas(self, args: GenerateCanvasInput, context: OperationContext) -> Completed | Submitted:
        response = await self._send(
            "POST",
            f"collections/{args.mascot_id}/canvases/{args.canvas_id}/generate-all",
            json=args.payload(exclude={"mascot_id", "canvas_id"}),
            spend=True,
            what="mascot or canvas",
        )
        summary = self.client.parse(response, GenerateAllBody, accepted=True)
        details = compact(
            {
                "generated": summary.generated,
                "skipped": summary.skipped,
                "skipped_items": summary.skipped_items or None,
                "reverse_free": summary.reverse_free,
                "already_complete": summary.already_complete,
                "estimated_cost": summary.estimated_cost,
                "actual_cost": summary.actual_cost,
                "duration": summary.duration,
                "canvas_id": args.canvas_id,
            }
        )
        total = summary.actual_cost if summary.actual_cost is not None else summary.estimated_cost
        outcome = self._one_charge(summary.jobs, args.mascot_id, total, details, response)
        if isinstance(outcome, Completed) and summary.generated:
            return dataclasses.replace(
                outcome, text=f"Masko started {summary.generated} generations; follow them with masko_canvas_status."
            )
        return outcome

    @operation(
        CanvasInput,
        name="canvas_status",
        title="Canvas progress",
        summary="How far a canvas's generation is: jobs completed, pending and failed, and each pose's and "
        "transition's status.",
        kind="read",
        cost=FREE,
        duration=INSTANT,
        returns="details: total_jobs, completed, pending, failed, percent, done, parts [{kind, name, status}].",
    )
    async def canvas_status(self, args: CanvasInput, context: OperationContext) -> Completed:
        base = f"collections/{args.mascot_id}/canvases/{args.canvas_id}"
        # The newer docs put progress in the canvas detail; the seed has a `/status` sub-resource: read either.
        response = await self.client.request("GET", base)
        canvas: CanvasBody | None = None
        if response.is_success:
            canvas = self.client.parse(response, CanvasBody)
        elif response.status_code not in (404, 405):
            raise self._error(response, what="canvas")
        progress: CanvasProgress | None = canvas.status if canvas is not None else None
        if progress is None:
            response = await self._send("GET", f"{base}/status", what="mascot or canvas")
            progress = self.client.parse(response, CanvasStatusBody)
        details = {"canvas_id": args.canvas_id, **_counts(progress), **rate_details(response)}
        details |= _parts_and_names(progress, canvas)
        return Completed(details=details, text=_progress_text(progress, details))

    @operation(
        CanvasInput,
        name="export_canvas",
        title="Export a canvas",
        summary="Export a canvas as a MaskoAnimationConfig JSON for the Masko embed player (nodes with "
        "thumbnails, edges with webm/hevc video URLs and conditions, inputs).",
        kind="read",
        cost=FREE,
        duration=INSTANT,
        returns="the config as a JSON file (asset) and in details.config; details.edges_without_video counts "
        "transitions not generated yet.",
    )
    async def export_canvas(self, args: CanvasInput, context: OperationContext) -> Completed:
        response = await self._send(
            "GET", f"collections/{args.mascot_id}/canvases/{args.canvas_id}/export", what="mascot or canvas"
        )
        self.client.parse(response, ExportBody)
        config = unwrap(response.json())
        edges = [edge for edge in config.get("edges", []) if isinstance(edge, dict)]
        missing = sum(1 for edge in edges if edge.get("source") != "*" and not edge.get("videos"))
        files = await context.files.keep(
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
            **rate_details(response),
        }
        return Completed(assets=files, details=details)
