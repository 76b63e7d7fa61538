"""The Masko simulator's canvas routes: templates, creating a canvas (optionally from a template), applying a
template, generate-all, progress (the detail and the older `/status`) and the export."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from providers.masko.simulator import canvas as canvases
from providers.masko.simulator.generation import GenerationRoutes
from providers.masko.simulator.parsing import ApiError, json_object, opt_bool, opt_str, read_duration, req_str
from providers.masko.simulator.state import Caller, MaskoCollection, new_id
from providers.masko.simulator.templates import TEMPLATES, Template, apply_template, template_json

__all__ = ["CanvasRoutes"]


class CanvasRoutes(GenerationRoutes):
    """`/canvas-templates` and `/collections/:id/canvases/…`."""

    async def _list_templates(self, request: Request, caller: Caller) -> Response:
        source = request.query_params.get("source", "builtin")
        if source not in ("builtin", "mine"):
            raise ApiError(400, "source must be builtin or mine")
        rows = list(TEMPLATES.values()) if source == "builtin" else []
        return self._list(request, rows, template_json, template_json, "templates")

    async def _create_canvas(self, request: Request, caller: Caller) -> Response:
        collection = self._collection(request, caller)
        body = await json_object(request)
        template_id = opt_str(body, "template_id")
        template = self._template(template_id) if template_id else None
        if template is not None:
            self._check_funds(caller.account, canvases.IMAGE_COST * len(template.nodes))
        now = self.now()
        canvas = canvases.Canvas(new_id(), caller.key, collection.id, opt_str(body, "name") or "Canvas", now, now)
        self.canvases[canvas.id] = canvas
        extra = self._apply_template(caller, collection, canvas, template) if template else {}
        data = {**canvases.canvas_json(canvas, self._job_status, self._iso), **extra}
        return self._reply(data, status=201)

    async def _canvas_from_template(self, request: Request, caller: Caller) -> Response:
        collection, canvas = self._canvas(request, caller)
        template = self._template(req_str(await json_object(request), "template_id"))
        if canvas.nodes:
            raise ApiError(400, "Canvas already has nodes; create a new canvas to apply a template")
        self._check_funds(caller.account, canvases.IMAGE_COST * len(template.nodes))
        data = self._apply_template(caller, collection, canvas, template)
        detail = canvases.canvas_json(canvas, self._job_status, self._iso)
        return self._reply(
            {"canvas_id": canvas.id, "nodes": detail["nodes"], "edges": detail["edges"], **data}, status=202
        )

    async def _canvas_generate_all(self, request: Request, caller: Caller) -> Response:
        collection, canvas = self._canvas(request, caller)
        body = await json_object(request, optional=True)
        targets, duration = opt_str(body, "targets") or "all", read_duration(body)
        skip_completed = opt_bool(body, "skip_completed", True)
        try:
            plan = canvases.plan_generate_all(
                canvas, targets=targets, skip_completed=skip_completed, duration=duration, status=self._job_status
            )
        except ValueError as exc:
            raise ApiError(400, str(exc)) from exc
        self._check_funds(caller.account, plan.actual_cost)
        jobs = [self._node_image(caller, collection, node) for node in plan.images]
        reverse_free = 0
        for edge, reverse in plan.animations:
            generate = canvases.animation_request(canvas, edge, reverse, duration)
            job, reverse_job = self._commit(caller, collection, self._plan(caller, collection, generate))
            edge.job_id, edge.duration = job.id, duration
            if reverse is not None and reverse_job is not None:
                reverse.job_id, reverse.duration = reverse_job.id, duration
                reverse_free += 1
            jobs.append(self._submitted(job, reverse_job))
        canvas.updated = self.now()
        summary = {
            "canvas_id": canvas.id,
            "generated": len(plan.images) + len(plan.animations) + reverse_free,
            "skipped": len(plan.skipped),
            "skipped_items": plan.skipped,
            "reverse_free": reverse_free,
            "already_complete": plan.already_complete,
            "estimated_cost": plan.estimated_cost,
            "actual_cost": plan.actual_cost,
            "duration": duration,
            "jobs": jobs,
        }
        return self._reply(summary, status=202)

    async def _canvas_status(self, request: Request, caller: Caller) -> Response:
        _, canvas = self._canvas(request, caller)
        return self._reply(canvases.canvas_status(canvas, self._job_status))

    async def _get_canvas(self, request: Request, caller: Caller) -> Response:
        _, canvas = self._canvas(request, caller)
        return self._reply(canvases.canvas_json(canvas, self._job_status, self._iso))

    async def _canvas_export(self, request: Request, caller: Caller) -> Response:
        _, canvas = self._canvas(request, caller)

        def thumbnail(node: canvases.CanvasNode) -> str | None:
            return self._asset_url(node.transparent_asset_id) if node.transparent_asset_id else None

        def videos(edge: canvases.CanvasEdge) -> dict[str, str]:
            job = self.jobs.get(edge.job_id or "")
            return {k: self._asset_url(job.asset_ids[k]) for k in ("webm", "hevc") if job and k in job.asset_ids}

        return self._reply(canvases.export_config(canvas, thumbnail, videos))

    def _apply_template(
        self, caller: Caller, collection: MaskoCollection, canvas: canvases.Canvas, template: Template
    ) -> dict[str, Any]:
        mapping = apply_template(canvas, template, new_id)
        jobs = [self._node_image(caller, collection, node) for node in canvas.nodes]
        canvas.updated = self.now()
        return {"jobs": jobs, "node_mapping": mapping, "total_cost": canvases.IMAGE_COST * len(jobs)}

    def _node_image(self, caller: Caller, collection: MaskoCollection, node: canvases.CanvasNode) -> dict[str, Any]:
        job, _ = self._commit(caller, collection, self._plan(caller, collection, canvases.image_request(node)))
        node.item_id, node.job_id = job.item_id, job.id
        node.image_asset_id, node.transparent_asset_id = job.asset_ids["image"], job.asset_ids["transparent_image"]
        return self._submitted(job)

    def _template(self, template_id: str) -> Template:
        template = TEMPLATES.get(template_id)
        if template is None:
            raise ApiError(404, f"Template {template_id!r} not found")
        return template

    def _canvas(self, request: Request, caller: Caller) -> tuple[MaskoCollection, canvases.Canvas]:
        collection = self._collection(request, caller)
        canvas = self.canvases.get(request.path_params["canvas_id"])
        if canvas is None or canvas.collection_id != collection.id:
            raise ApiError(404, "Canvas not found")
        return collection, canvas
