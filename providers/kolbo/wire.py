"""What Kolbo answers, parsed at the edge with these models so that drift fails loudly with a clear error rather than
a KeyError three calls later."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from providers.kolbo.inputs import JOB_ID

__all__ = [
    "CancelledBody",
    "Credits",
    "CreditsBody",
    "DeletedBody",
    "ErrorBody",
    "FailureBody",
    "ModelInfo",
    "ModelsBody",
    "Moodboard",
    "MoodboardBody",
    "MoodboardListBody",
    "ResultBody",
    "SceneBody",
    "StartedBody",
    "StatusBody",
    "VisualDna",
    "VisualDnaBody",
    "VisualDnaListBody",
]


class ErrorBody(BaseModel):
    """An error: `{success: false, error, code}`, or the 429 shape `{status: false, message}`."""

    error: str = ""
    code: str = ""
    message: str = ""  # the 429 body: {status: false, message}


class StartedBody(BaseModel):
    """A generation's start: its id (`message_id` for chat), the charge and where to poll."""

    generation_id: str | None = Field(default=None, pattern=JOB_ID)
    message_id: str | None = Field(default=None, pattern=JOB_ID)
    session_id: str | None = None
    type: str | None = None
    model: str | None = None
    credits_charged: float | None = None
    poll_url: str | None = None
    poll_interval_hint: float | None = Field(default=None, gt=0, le=600)
    scene_count: int | None = None

    @model_validator(mode="after")
    def _names_its_job(self) -> StartedBody:
        if self.generation_id is None and self.message_id is None:
            raise ValueError("neither generation_id nor message_id")
        return self

    def job_id(self, *, chat: bool) -> str:
        """The id to poll: chat answers `message_id`, every other generation `generation_id` (else the other one)."""
        first, second = (self.message_id, self.generation_id) if chat else (self.generation_id, self.message_id)
        found = first or second
        assert found is not None, "the validator requires an id"
        return found


class ResultBody(BaseModel):
    """A finished generation's output (chat: `content`)."""

    urls: list[str] = Field(default_factory=list)
    model: str | None = None
    prompt_used: str | None = None
    thumbnail_url: str | None = None
    duration: float | None = None
    aspect_ratio: str | None = None
    resolution: str | None = None
    title: str | None = None
    lyrics: str | None = None
    voice: str | None = None
    content: str | None = None
    reasoning_content: str | None = None
    image_urls: list[str] = Field(default_factory=list)
    video_urls: list[str] = Field(default_factory=list)
    audio_urls: list[str] = Field(default_factory=list)


class FailureBody(BaseModel):
    """Why a generation failed."""

    message: str | None = None
    category: str | None = None
    code: str | None = None
    retryable: bool = False


class SceneBody(BaseModel):
    """One Creative Director scene."""

    scene_number: int
    status: str
    title: str | None = None
    image_urls: list[str] = Field(default_factory=list)
    video_urls: list[str] = Field(default_factory=list)


class StatusBody(BaseModel):
    """One look at a generation (a Creative Director batch adds `scenes`)."""

    type: str | None = None
    session_id: str | None = None
    state: Literal["pending", "processing", "completed", "failed", "cancelled"]
    progress: float | None = Field(default=None, ge=0, le=100)
    result: ResultBody | None = None
    credits_used: float | None = None
    error: str | None = None
    failure: FailureBody | None = None
    scenes: list[SceneBody] | None = None


class CancelledBody(BaseModel):
    """The answer to a cancel."""

    state: str = "cancelled"
    credits_refunded: float | None = None


class Credits(BaseModel):
    """The account's credit buckets."""

    total: float
    plan_credits: float | None = None
    credit_pack: float | None = None
    redemption: float | None = None


class CreditsBody(BaseModel):
    """`GET /v1/account/credits`."""

    credits: Credits


class ModelInfo(BaseModel):
    """One entry of the model catalogue."""

    identifier: str
    name: str | None = None
    provider: str | None = None
    types: list[str] = Field(default_factory=list)
    credit: float | None = None
    summary: str | None = None
    supported_aspect_ratios: list[str] | None = None
    supported_durations: list[float] | None = None
    supported_resolutions: list[str] | None = None
    max_reference_images: int | None = None
    max_visual_dna: int | None = None
    recommended: bool | None = None
    input_token_rate: float | None = None
    output_token_rate: float | None = None


class ModelsBody(BaseModel):
    """`GET /v1/models`."""

    models: list[ModelInfo]


class VisualDna(BaseModel):
    """A Visual DNA profile."""

    id: str = Field(pattern=JOB_ID)
    name: str
    dna_type: str | None = None
    description: str | None = None
    thumbnail_url: str | None = None
    images: list[str] = Field(default_factory=list)
    is_global: bool | None = None
    created_at: str | None = None
    system_prompt: str | None = None


class VisualDnaBody(BaseModel):
    """One Visual DNA (create, get)."""

    visual_dna: VisualDna


class VisualDnaListBody(BaseModel):
    """`GET /v1/visual-dna`."""

    visual_dnas: list[VisualDna]
    total: int | None = None
    has_more: bool | None = None


class Moodboard(BaseModel):
    """A moodboard (style template)."""

    id: str = Field(pattern=JOB_ID)
    name: str
    master_prompt: str | None = None
    style_guide: str | None = None
    thumbnail_url: str | None = None
    images: list[str] = Field(default_factory=list)
    scope: str | None = None


class MoodboardBody(BaseModel):
    """`GET /v1/moodboards/:id`."""

    moodboard: Moodboard


class MoodboardListBody(BaseModel):
    """`GET /v1/moodboards`."""

    moodboards: list[Moodboard]


class DeletedBody(BaseModel):
    """`DELETE /v1/visual-dna/:id`."""

    success: bool
    message: str | None = None
