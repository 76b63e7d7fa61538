"""Masko's job shapes: a job as a generate, batch or canvas answer lists it when started, and as `GET /jobs/:id`
answers in each documented shape (the quickstart's `assets` list; the older `asset_ids` + `urls`; the newer
enveloped object)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from providers.masko.inputs import Id
from providers.masko.wire import Body, HttpUrl

__all__ = ["BatchBody", "GenerateBody", "Job", "ReverseJob", "SubmittedJob"]


class ReverseJob(BaseModel):
    """The free B→A job of an auto-reversed transition."""

    job_id: Id
    item_id: str | None = None
    item_name: str | None = None
    status: str | None = None
    cost: float | None = None
    asset_ids: dict[str, str] = Field(default_factory=dict)
    urls: dict[str, HttpUrl | None] = Field(default_factory=dict)


class SubmittedJob(BaseModel):
    """One started job as a generate, batch or canvas answer lists it."""

    job_id: Id
    status: str | None = None
    type: str | None = None
    item_id: str | None = None
    item_name: str | None = None
    estimated_cost: float | None = None
    asset_ids: dict[str, str] = Field(default_factory=dict)
    urls: dict[str, HttpUrl | None] = Field(default_factory=dict)
    reverse_job: ReverseJob | None = None


class GenerateBody(SubmittedJob, Body):
    """`POST /collections/:id/generate`: `{data: {…}, poll}` or the bare object (with `poll`)."""


class BatchBody(Body):
    """`POST /collections/:id/generate-batch`."""

    jobs: list[SubmittedJob] = Field(min_length=1)
    total_cost: float | None = None


class JobError(BaseModel):
    """The newer failed-job error object."""

    code: str | None = None
    message: str = ""


class JobAsset(BaseModel):
    """An entry of the quickstart's `assets` list."""

    type: str
    url: HttpUrl


class Job(Body):
    """`GET /jobs/:id` in all three documented shapes (quickstart `assets[]`; old `asset_ids`+`urls`; new `{data}`)."""

    id: str
    status: Literal["pending", "processing", "completed", "failed"]
    type: str | None = None
    collection_id: str | None = None
    item_id: str | None = None
    item_name: str | None = None
    cost_credits: float | None = None
    created_at: str | None = None
    asset_ids: dict[str, str] = Field(default_factory=dict)
    urls: dict[str, HttpUrl | None] = Field(default_factory=dict)
    assets: list[JobAsset] = Field(default_factory=list)
    error: JobError | str | None = None
    credits_refunded: float | bool | None = None
    output_data: dict[str, Any] | None = None
    size_variants: dict[str, Any] | None = None
    reverse_job_id: str | None = None

    @property
    def all_urls(self) -> dict[str, str]:
        """Every file URL by asset type, whichever shape named it."""
        found = {asset.type: asset.url for asset in self.assets}
        found |= {key: url for key, url in self.urls.items() if url}
        return found

    @property
    def error_message(self) -> str:
        """What went wrong, in the provider's words."""
        if isinstance(self.error, JobError):
            return self.error.message
        return self.error or ""

    @property
    def error_code(self) -> str | None:
        """The failure code, when the shape has one."""
        return self.error.code if isinstance(self.error, JobError) else None
