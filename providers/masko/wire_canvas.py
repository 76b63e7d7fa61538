"""Masko's canvas shapes: a canvas and its progress (in the detail or the older `/status`), a template, what
applying a template and generate-all answer, and the exported `MaskoAnimationConfig`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from providers.masko.wire import Body, unwrap
from providers.masko.wire_jobs import SubmittedJob

__all__ = [
    "CanvasBody",
    "CanvasProgress",
    "CanvasStatusBody",
    "ExportBody",
    "GenerateAllBody",
    "Template",
    "TemplateAppliedBody",
]


class CanvasNode(BaseModel):
    """A pose on a canvas."""

    id: str
    name: str | None = None
    itemName: str | None = None
    item_id: str | None = None
    image_asset_id: str | None = None
    job_id: str | None = None


class CanvasProgress(BaseModel):
    """Progress counts (`/status`, or the `status` block of the canvas detail)."""

    canvas_id: str | None = None
    total_jobs: int
    completed: int
    pending: int = 0
    failed: int = 0
    progress: float = Field(ge=0, le=1)
    percent: float | None = None
    assets: list[dict[str, Any]] = Field(default_factory=list)


class CanvasBody(Body):
    """A canvas (created, or its detail)."""

    id: str
    name: str | None = None
    collection_id: str | None = None
    template_id: str | None = None
    nodes: list[CanvasNode] = Field(default_factory=list)
    edges: list[dict[str, Any]] = Field(default_factory=list)
    inputs: list[dict[str, Any]] = Field(default_factory=list)
    status: CanvasProgress | None = None

    @model_validator(mode="before")
    @classmethod
    def _canvas_key(cls, value: Any) -> Any:
        value = unwrap(value)
        if isinstance(value, dict) and isinstance(value.get("canvas"), dict):
            return value["canvas"]
        return value


class CanvasStatusBody(CanvasProgress, Body):
    """The older `GET …/canvases/:id/status`."""


class TemplateAppliedBody(Body):
    """`POST …/from-template`."""

    canvas_id: str | None = None
    nodes: list[CanvasNode] = Field(default_factory=list)
    edges: list[dict[str, Any]] = Field(default_factory=list)
    jobs: list[SubmittedJob] = Field(default_factory=list)
    node_mapping: dict[str, str] = Field(default_factory=dict)
    total_cost: float | None = None


class GenerateAllBody(Body):
    """`POST …/generate-all`: a summary, and the started jobs when listed."""

    generated: int | None = None
    skipped: int | None = None
    skipped_items: list[dict[str, Any]] = Field(default_factory=list)
    reverse_free: int | None = None
    already_complete: int | None = None
    estimated_cost: float | None = None
    actual_cost: float | None = None
    duration: int | None = None
    jobs: list[SubmittedJob] = Field(default_factory=list)


class Template(BaseModel):
    """A canvas template."""

    id: str
    name: str = ""
    description: str | None = None
    source: str | None = None
    node_count: int | None = None
    edge_count: int | None = None
    states: list[str] = Field(default_factory=list)
    estimated_cost: float | None = None


class ExportBody(Body):
    """A `MaskoAnimationConfig` (checked for its core fields; kept whole)."""

    model_config = ConfigDict(extra="allow")

    version: str | float | None = None
    name: str | None = None
    initialNode: str | None = None
    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]
