"""The Masko simulator's canvases: poses (nodes) and animated transitions (edges) of one collection, what
generate-all creates for a canvas, its progress, its detail and its export as a `MaskoAnimationConfig` (no HTTP
here; the routes are in `canvas_routes`, the built-in templates in `templates`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from providers.masko.simulator.state import COST_IMAGE, COST_PER_SECOND

__all__ = [
    "ANY_STATE",
    "IMAGE_COST",
    "Canvas",
    "CanvasEdge",
    "CanvasNode",
    "GenerateAllPlan",
    "JobStatus",
    "animation_cost",
    "animation_request",
    "canvas_json",
    "canvas_status",
    "edge_name",
    "export_config",
    "image_request",
    "plan_generate_all",
]

ANY_STATE = "*"
IMAGE_COST = COST_IMAGE
TARGETS = ("all", "animations", "images")
# The docs name condition operators eq/neq/…; the desktop player that reads exports expects ==/!=/….
EXPORT_OPS = {"eq": "==", "neq": "!=", "gt": ">", "lt": "<", "gte": ">=", "lte": "<="}
_UNFINISHED = ("pending", "processing")

JobStatus = Callable[[str | None], str | None]
"""Status of a job id (None when there is no job)."""


@dataclass
class CanvasNode:
    """A pose on a canvas, backed by an item whose image is generated from the template's prompt."""

    id: str
    name: str
    image_prompt: str
    x: float
    y: float
    item_id: str | None = None
    image_asset_id: str | None = None
    transparent_asset_id: str | None = None
    job_id: str | None = None


@dataclass
class CanvasEdge:
    """A transition between two nodes (a loop when source == target; source "*" = any state)."""

    id: str
    source: str
    target: str
    description: str
    conditions: list[dict[str, Any]]
    priority: int = 0
    speed: float = 1.0
    duration: int = 4
    reverse: str | None = None
    job_id: str | None = None

    @property
    def kind(self) -> str:
        """loop, forward, reverse (reuses another edge's video, free) or any_state (no video)."""
        if self.source == ANY_STATE:
            return "any_state"
        if self.reverse is not None:
            return "reverse"
        return "loop" if self.source == self.target else "forward"


@dataclass
class Canvas:
    """A state machine of poses (nodes) and animated transitions (edges) for one collection."""

    id: str
    key: str
    collection_id: str
    name: str
    created: float
    updated: float
    template_id: str | None = None
    nodes: list[CanvasNode] = field(default_factory=list)
    edges: list[CanvasEdge] = field(default_factory=list)
    inputs: list[dict[str, Any]] = field(default_factory=list)

    def node(self, node_id: str) -> CanvasNode | None:
        """The node with this id, if any."""
        return next((node for node in self.nodes if node.id == node_id), None)


@dataclass
class GenerateAllPlan:
    """What generate-all will create: node images, paid animations (with their free reverses) and skips."""

    images: list[CanvasNode] = field(default_factory=list)
    animations: list[tuple[CanvasEdge, CanvasEdge | None]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    already_complete: int = 0
    estimated_cost: int = 0
    """Cost of everything in scope, as if nothing were skipped."""
    actual_cost: int = 0
    """Cost of what is generated now."""


def animation_cost(duration: int) -> int:
    """Credits for one paid canvas animation (loop or forward transition)."""
    return COST_PER_SECOND * duration


def plan_generate_all(
    canvas: Canvas, *, targets: str, skip_completed: bool, duration: int, status: JobStatus
) -> GenerateAllPlan:
    """Decide which node images and edge animations generate-all creates; raises ValueError on bad input."""
    if targets not in TARGETS:
        raise ValueError(f"targets must be one of {', '.join(TARGETS)}")
    if not canvas.nodes:
        raise ValueError("Canvas has no nodes; apply a template first")
    plan = GenerateAllPlan()

    def keep(job_id: str | None) -> bool:
        # With skip_completed, anything completed or still running is left alone; failed work is redone.
        return skip_completed and status(job_id) in ("completed", *_UNFINISHED)

    if targets in ("all", "images"):
        _plan_images(canvas, plan, keep, status)
    if targets in ("all", "animations"):
        _plan_animations(canvas, plan, duration, keep, status)
    with_image = {node.id for node in canvas.nodes if node.image_asset_id is not None}
    with_image |= {node.id for node in plan.images}
    if any(node_id not in with_image for edge, _ in plan.animations for node_id in (edge.source, edge.target)):
        raise ValueError("Every pose needs an image before its animations; generate the images first")
    plan.actual_cost = IMAGE_COST * len(plan.images) + animation_cost(duration) * len(plan.animations)
    return plan


def _plan_images(canvas: Canvas, plan: GenerateAllPlan, keep: Callable[[str | None], bool], status: JobStatus) -> None:
    plan.estimated_cost += IMAGE_COST * len(canvas.nodes)
    for node in canvas.nodes:
        if keep(node.job_id):
            plan.skipped.append({"id": node.id, "name": node.name, "reason": "image exists"})
            plan.already_complete += status(node.job_id) == "completed"
        else:
            plan.images.append(node)


def _plan_animations(
    canvas: Canvas, plan: GenerateAllPlan, duration: int, keep: Callable[[str | None], bool], status: JobStatus
) -> None:
    reverses = {edge.reverse: edge for edge in canvas.edges if edge.reverse is not None}
    for edge in canvas.edges:
        if edge.kind == "any_state":
            plan.skipped.append({"id": edge.id, "name": edge_name(canvas, edge), "reason": "any-state edge"})
        elif edge.kind in ("loop", "forward"):
            plan.estimated_cost += animation_cost(duration)
            reverse = reverses.get(edge.id)
            if keep(edge.job_id) and (reverse is None or keep(reverse.job_id)):
                plan.skipped.append({"id": edge.id, "name": edge_name(canvas, edge), "reason": "already complete"})
                plan.already_complete += status(edge.job_id) == "completed"
            else:
                plan.animations.append((edge, reverse))


def image_request(node: CanvasNode) -> dict[str, Any]:
    """The generate request that draws a node's pose (on its existing item, if any)."""
    return {"type": "image", "name": node.name, "image_prompt": node.image_prompt, "item_id": node.item_id}


def animation_request(canvas: Canvas, edge: CanvasEdge, reverse: CanvasEdge | None, duration: int) -> dict[str, Any]:
    """The generate request for a loop or forward edge; a forward edge with a reverse edge gets auto_reverse."""
    source, target = canvas.node(edge.source), canvas.node(edge.target)
    assert source is not None
    assert target is not None
    body: dict[str, Any] = {
        "type": "animation",
        "name": edge_name(canvas, edge),
        "source_image_asset_id": source.image_asset_id,
        "animation_prompt": edge.description or edge_name(canvas, edge),
        "duration": duration,
        "loop": edge.kind == "loop",
    }
    if edge.kind == "forward":
        body["end_image_asset_id"] = target.image_asset_id
        if reverse is not None:
            body |= {"auto_reverse": True, "reverse_name": edge_name(canvas, reverse)}
    return body


def canvas_status(canvas: Canvas, status: JobStatus) -> dict[str, Any]:
    """Counts over the latest job of every node and edge (the older /status shape)."""
    states = [status(job) for job in _job_ids(canvas)]
    total = len(states)
    completed = states.count("completed")
    failed = states.count("failed")
    return {
        "canvas_id": canvas.id,
        "total_jobs": total,
        "completed": completed,
        "pending": total - completed - failed,
        "failed": failed,
        "progress": round(completed / total, 2) if total else 0.0,
    }


def canvas_json(canvas: Canvas, status: JobStatus, iso: Callable[[float], str]) -> dict[str, Any]:
    """The canvas detail, with a `status` block (percentages and per-asset statuses)."""
    summary = canvas_status(canvas, status)
    assets = [
        {"kind": "node", "id": node.id, "name": node.name, "job_id": node.job_id, "status": status(node.job_id)}
        for node in canvas.nodes
    ]
    for edge in canvas.edges:
        if edge.kind != "any_state":
            name = edge_name(canvas, edge)
            assets.append(
                {"kind": "edge", "id": edge.id, "name": name, "job_id": edge.job_id, "status": status(edge.job_id)}
            )
    video_edges = [edge for edge in canvas.edges if edge.kind != "any_state"]
    return {
        "id": canvas.id,
        "collection_id": canvas.collection_id,
        "name": canvas.name,
        "template_id": canvas.template_id,
        "node_count": len(canvas.nodes),
        "edge_count": len(canvas.edges),
        "completed_edge_count": sum(status(edge.job_id) == "completed" for edge in video_edges),
        "created_at": iso(canvas.created),
        "updated_at": iso(canvas.updated),
        "nodes": [
            {
                "id": node.id,
                "name": node.name,
                "itemName": node.name,
                "item_id": node.item_id,
                "image_asset_id": node.image_asset_id,
                "position": {"x": node.x, "y": node.y},
                "job_id": node.job_id,
            }
            for node in canvas.nodes
        ],
        "edges": [
            {
                "id": edge.id,
                "source": edge.source,
                "target": edge.target,
                "kind": edge.kind,
                "loop": edge.kind == "loop",
                "conditions": edge.conditions,
                "priority": edge.priority,
                "speed": edge.speed,
                "duration": edge.duration,
                "description": edge.description,
                "reverse": edge.reverse,
                "job_id": edge.job_id,
            }
            for edge in canvas.edges
        ],
        "inputs": canvas.inputs,
        "status": {**summary, "percent": round(100 * summary["progress"]), "assets": assets},
    }


def export_config(
    canvas: Canvas,
    thumbnail: Callable[[CanvasNode], str | None],
    videos: Callable[[CanvasEdge], dict[str, str]],
) -> dict[str, Any]:
    """The canvas as a `MaskoAnimationConfig` (the shape the Masko player and desktop app decode)."""
    nodes: list[dict[str, Any]] = []
    for node in canvas.nodes:
        entry: dict[str, Any] = {"id": node.id, "name": node.name}
        url = thumbnail(node)
        if url is not None:
            entry["transparentThumbnailUrl"] = url
        nodes.append(entry)
    edges: list[dict[str, Any]] = []
    for edge in canvas.edges:
        entry = {
            "id": edge.id,
            "source": edge.source,
            "target": edge.target,
            "isLoop": edge.kind == "loop",
            "duration": float(edge.duration),
            "videos": videos(edge),
            "priority": edge.priority,
            "speed": edge.speed,
        }
        if edge.conditions:
            entry["conditions"] = [
                {"input": c["input"], "op": EXPORT_OPS.get(c["op"], c["op"]), "value": c["value"]}
                for c in edge.conditions
            ]
        edges.append(entry)
    return {
        "version": "1.0",
        "name": canvas.name,
        "initialNode": canvas.nodes[0].id if canvas.nodes else "",
        "autoPlay": True,
        "nodes": nodes,
        "edges": edges,
        "inputs": [dict(item) for item in canvas.inputs],
    }


def edge_name(canvas: Canvas, edge: CanvasEdge) -> str:
    """A readable name for an edge, used as the item name of its animation."""
    source = canvas.node(edge.source)
    target = canvas.node(edge.target)
    target_name = target.name if target else edge.target
    if source is None:
        return f"Any to {target_name}"
    return f"{source.name} loop" if edge.kind == "loop" else f"{source.name} to {target_name}"


def _job_ids(canvas: Canvas) -> list[str]:
    ids = [node.job_id for node in canvas.nodes] + [edge.job_id for edge in canvas.edges]
    return [job_id for job_id in ids if job_id is not None]
