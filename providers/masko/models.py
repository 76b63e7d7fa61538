"""Masko's tool inputs and its response shapes (every documented variant of each).

The sources disagree on envelopes (`{data: …, meta?}` in the newest docs and OpenAPI, bare objects in the older
pages and the quickstart), on the job shape (an `assets` list; `asset_ids` + `urls`; the enveloped newer object), on
the credits shape (`{credits}`; `{subscription_credits, topup_credits, total}`; `{data: {subscription, topup,
total}}`) and on error bodies (`{error: {code, message, required, balance}}` vs `{error: "…", required, available}`).
Every response model here accepts all of them: `unwrap` takes `{data: X}` or `X`.
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from providers.base import OperationInput

__all__ = [
    "AnalyzeUrlInput",
    "ApplyTemplateInput",
    "CanvasInput",
    "CreateCanvasInput",
    "CreateMascotInput",
    "CreateProjectInput",
    "GenerateBatchInput",
    "GenerateCanvasInput",
    "GenerateInput",
    "GenerateRequest",
    "ListJobsInput",
    "ListMascotsInput",
    "ListTemplatesInput",
    "MascotInput",
    "NoInput",
    "PageInput",
    "PreviewInput",
    "UploadInput",
    "unwrap",
]

# --- inputs -------------------------------------------------------------------------------------------------------

Id = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")]
Name = Annotated[str, Field(min_length=1, max_length=100)]
Prompt = Annotated[str, Field(min_length=1, max_length=2000)]
Size = Literal[720, 480, 360, 240]
Url = Annotated[str, Field(min_length=8, max_length=2048, pattern=r"^https?://")]
MascotId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="The mascot (Masko collection) id, from masko_list_mascots or masko_create_mascot.",
    ),
]
CanvasId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")]
JobType = Literal[
    "image",
    "animation",
    "edit",
    "logo",
    "item_generation",
    "image_generation",
    "reverse",
    "size_variant",
    "size_variant_batch",
    "export_animation",
    "scene_generation",
]

MIN_DURATION, MAX_DURATION, DEFAULT_DURATION = 3, 10, 4
MAX_BATCH = 10
MAX_REFERENCES = 6
COST = {"image": 1, "edit": 1, "logo": 5}
COST_PER_SECOND = 5

_ONLY_FOR = {
    "animation": (
        "duration",
        "loop",
        "auto_reverse",
        "reverse_name",
        "sizes",
        "end_image_asset_id",
        "animation_prompt",
    ),
    "edit": ("edit_instructions",),
    "logo": ("logo_description", "logo_style_name", "logo_style_instruction"),
}


class NoInput(OperationInput):
    """No arguments."""


class PageInput(OperationInput):
    """A page of a list."""

    limit: int = Field(default=50, ge=1, le=100, description="Rows per page (1–100, default 50).")
    offset: int = Field(default=0, ge=0, le=100_000, description="Rows to skip.")


class CreateProjectInput(OperationInput):
    """Arguments of masko_create_project."""

    name: Name = Field(description="Project name, e.g. 'My App'.")


class CreateMascotInput(OperationInput):
    """Arguments of masko_create_mascot."""

    project_id: Id = Field(description="The project to put the mascot in (masko_list_projects / create_project).")
    name: Name | None = Field(default=None, description="Mascot name; detected from the references when omitted.")
    prompt: Prompt | None = Field(
        default=None, description="Character description, e.g. 'a friendly orange fox wearing a blue scarf'."
    )
    style: Annotated[str, Field(pattern=r"^[a-z0-9-]{1,40}$")] | None = Field(
        default=None, description="Art style id from masko_list_styles (e.g. '3d-render', 'pixel-art', 'flat-vector')."
    )
    reference_image_urls: list[Url] | None = Field(
        default=None, max_length=MAX_REFERENCES, description="Public image URLs of the character (Masko fetches them)."
    )
    reference_asset_ids: list[Id] | None = Field(
        default=None, max_length=MAX_REFERENCES, description="Asset ids from masko_upload (or masko_preview picks)."
    )
    animation_sizes: list[Size] | None = Field(
        default=None, max_length=4, description="Extra sizes (px) to render every animation at: 720, 480, 360, 240."
    )
    cdn_enabled: bool | None = Field(default=None, description="Publish to the CDN (default true).")

    @model_validator(mode="after")
    def _prompt_or_references(self) -> CreateMascotInput:
        references = len(self.reference_image_urls or []) + len(self.reference_asset_ids or [])
        if not references and not self.prompt:
            raise ValueError("give a `prompt` (Masko draws a reference image, 1 credit) or reference images")
        if references > MAX_REFERENCES:
            raise ValueError(f"a mascot holds at most {MAX_REFERENCES} reference images in all")
        return self

    @property
    def direct(self) -> bool:
        """Created from text alone: Masko draws (and charges for) one reference image."""
        return not (self.reference_image_urls or self.reference_asset_ids)


class ListMascotsInput(PageInput):
    """Arguments of masko_list_mascots."""

    project_id: Id | None = Field(default=None, description="Only this project's mascots.")


class MascotInput(OperationInput):
    """A mascot by id."""

    mascot_id: MascotId


class GenerateRequest(OperationInput):
    """One generation: an image, an animation, a transition, an edit or a logo."""

    type: Literal["image", "animation", "edit", "logo"] = Field(
        description="image (a pose), animation (from scratch, from an image, or a transition), edit, or logo."
    )
    name: Name | None = Field(default=None, description="Name of the new pose/item, e.g. 'Waving hello'.")
    item_id: Id | None = Field(
        default=None, description="An existing item: regenerate it (image), animate or edit its latest image."
    )
    prompt: Prompt | None = Field(default=None, description="Shorthand: sets both the pose and the motion.")
    image_prompt: Prompt | None = Field(default=None, description="The pose (image; animation from scratch).")
    animation_prompt: Prompt | None = Field(default=None, description="The motion (animation).")
    source_image_asset_id: Id | None = Field(
        default=None, description="Image asset to animate or edit; the start frame of a transition."
    )
    end_image_asset_id: Id | None = Field(
        default=None, description="Transition end frame (animation only): makes an A→B transition that plays once."
    )
    duration: int | None = Field(
        default=None, ge=MIN_DURATION, le=MAX_DURATION, description="Animation seconds, 3–10 (default 4)."
    )
    loop: bool | None = Field(default=None, description="Animation loops (default true; transitions never loop).")
    auto_reverse: bool | None = Field(default=None, description="Transition only: also make B→A, free.")
    reverse_name: Name | None = Field(default=None, description="Name of the reverse transition (with auto_reverse).")
    sizes: list[Size] | None = Field(
        default=None,
        min_length=1,
        max_length=4,
        description="Animation only: also return CDN URLs for these sizes (720, 480, 360, 240) if the mascot has them.",
    )
    edit_instructions: Prompt | None = Field(default=None, description="Edit only: what to change.")
    logo_description: Prompt | None = Field(default=None, description="Logo only: what the logo shows.")
    logo_style_name: Name | None = Field(default=None, description="Logo only: style name, e.g. 'Flat'.")
    logo_style_instruction: Prompt | None = Field(default=None, description="Logo only: style instructions.")

    @model_validator(mode="after")
    def _fits_its_type(self) -> GenerateRequest:
        for kind, fields in _ONLY_FOR.items():
            if self.type != kind:
                for name in fields:
                    if getattr(self, name) is not None:
                        raise ValueError(f"`{name}` only applies to type '{kind}'")
        if self.type != "image" and self.type != "animation" and self.image_prompt is not None:
            raise ValueError("`image_prompt` only applies to types 'image' and 'animation'")
        if self.type in ("image", "logo") and self.source_image_asset_id is not None:
            raise ValueError("`source_image_asset_id` only applies to types 'animation' and 'edit'")
        if self.type == "image" and not (self.image_prompt or self.prompt):
            raise ValueError("an image needs `image_prompt` (or `prompt`) describing the pose")
        if self.type == "logo" and not self.logo_description:
            raise ValueError("a logo needs `logo_description`")
        if self.type == "edit":
            if not self.has_source:
                raise ValueError("an edit needs a source: `source_image_asset_id` or `item_id`")
            if not self.edit_instructions:
                raise ValueError("an edit needs `edit_instructions`")
        if self.type == "animation":
            self._animation_rules()
        return self

    def _animation_rules(self) -> None:
        if self.end_image_asset_id is not None:
            if not self.has_source:
                raise ValueError("a transition needs a start: `source_image_asset_id` or `item_id`")
            if self.loop:
                raise ValueError("a transition plays once: leave `loop` out (or false)")
        if self.auto_reverse and self.end_image_asset_id is None:
            raise ValueError("`auto_reverse` needs `end_image_asset_id`: it reverses a transition")
        if self.reverse_name is not None and not self.auto_reverse:
            raise ValueError("`reverse_name` needs `auto_reverse: true`")
        if not self.has_source and not (self.image_prompt or self.prompt):
            raise ValueError(
                "an animation from scratch needs `image_prompt` (the pose) or `prompt`; to animate an existing "
                "image give `source_image_asset_id` or `item_id`"
            )

    @property
    def has_source(self) -> bool:
        """An existing image is given (so no image is generated)."""
        return self.source_image_asset_id is not None or self.item_id is not None

    @property
    def estimated_cost(self) -> int:
        """Credits Masko charges for this request (the free reverse included)."""
        if self.type != "animation":
            return COST[self.type]
        return COST_PER_SECOND * (self.duration or DEFAULT_DURATION) + (0 if self.has_source else COST["image"])

    def body(self) -> dict[str, Any]:
        """The request as Masko takes it."""
        return self.model_dump(mode="json", exclude_none=True)


class GenerateInput(GenerateRequest, MascotInput):
    """Arguments of masko_generate (`mascot_id` first in the schema)."""


class GenerateBatchInput(OperationInput):
    """Arguments of masko_generate_batch."""

    mascot_id: MascotId
    requests: list[GenerateRequest] = Field(
        min_length=1, max_length=MAX_BATCH, description="1–10 generate requests, each shaped like masko_generate's."
    )


class ListJobsInput(PageInput):
    """Arguments of masko_list_jobs."""

    status: Literal["pending", "processing", "completed", "failed"] | None = None
    mascot_id: Id | None = Field(default=None, description="Only this mascot's jobs.")
    type: JobType | None = Field(default=None, description="Only jobs of this type.")


class UploadInput(OperationInput):
    """Arguments of masko_upload."""

    image: str = Field(
        min_length=1,
        max_length=30_000_000,
        description="An https:// image URL (Masko fetches it), a data:image/...;base64 URL, raw base64, an "
        "artifact:// reference, or an allowed local path. PNG, JPEG, WebP or GIF, at most 10 MB.",
    )


class AnalyzeUrlInput(OperationInput):
    """Arguments of masko_analyze_url."""

    url: Url = Field(description="The website to analyse, e.g. 'https://example.com'.")


class PreviewInput(OperationInput):
    """Arguments of masko_preview."""

    prompt: Prompt = Field(description="The character (or, with mascot_id, the pose) to preview.")
    style: Annotated[str, Field(pattern=r"^[a-z0-9-]{1,40}$")] | None = Field(
        default=None, description="Art style id from masko_list_styles (not with mascot_id)."
    )
    count: int | None = Field(default=None, ge=1, le=4, description="Variations, 1–4 (default 4; not with mascot_id).")
    mascot_id: Id | None = Field(default=None, description="Preview a pose of this existing mascot instead (free).")

    @model_validator(mode="after")
    def _variant(self) -> PreviewInput:
        if self.mascot_id is not None and (self.style is not None or self.count is not None):
            raise ValueError("`style` and `count` apply to new-character previews, not with `mascot_id`")
        return self


class CreateCanvasInput(OperationInput):
    """Arguments of masko_create_canvas."""

    mascot_id: MascotId
    name: Name = Field(description="Canvas name, e.g. 'Main canvas'.")


class CanvasInput(OperationInput):
    """A canvas of a mascot."""

    mascot_id: MascotId
    canvas_id: CanvasId = Field(description="The canvas id, from masko_create_canvas.")


class ApplyTemplateInput(CanvasInput):
    """Arguments of masko_apply_canvas_template."""

    template_id: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")] = Field(
        description="Template id from masko_list_canvas_templates, e.g. 'claude-code-4state'."
    )


class GenerateCanvasInput(CanvasInput):
    """Arguments of masko_generate_canvas."""

    targets: Literal["all", "animations", "images"] | None = Field(
        default=None, description="What to generate (default all: missing pose images, then every animation)."
    )
    skip_completed: bool | None = Field(default=None, description="Skip finished or running work (default true).")
    duration: int | None = Field(
        default=None, ge=MIN_DURATION, le=MAX_DURATION, description="Seconds per animation, 3–10 (default 4)."
    )


class ListTemplatesInput(OperationInput):
    """Arguments of masko_list_canvas_templates."""

    source: Literal["builtin", "mine"] = Field(default="builtin", description="Built-in templates or your own.")


# --- responses ----------------------------------------------------------------------------------------------------

HttpUrl = Annotated[str, Field(pattern=r"^https?://")]
RowT = TypeVar("RowT", bound=BaseModel)


def unwrap(body: Any) -> Any:
    """`{data: X, …}` → X (top-level siblings such as `poll` kept when X is an object); anything else as it is."""
    if isinstance(body, dict) and "data" in body:
        data = body["data"]
        if isinstance(data, dict):
            return {**{k: v for k, v in body.items() if k not in ("data", "meta")}, **data}
        return data
    return body


class _Body(BaseModel):
    """A top-level response object, enveloped or bare."""

    @model_validator(mode="before")
    @classmethod
    def _envelope(cls, value: Any) -> Any:
        return unwrap(value)


class Page(BaseModel, Generic[RowT]):
    """A list: `{data: [...], meta: {pagination}}` (new) or `{<things>: [...]}` (old)."""

    rows: list[RowT]
    total: int | None = None
    has_more: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _rows(cls, value: Any) -> Any:
        if isinstance(value, list):
            return {"rows": value}
        if not isinstance(value, dict):
            return value
        data = value.get("data")
        rows = data if isinstance(data, list) else next((v for v in value.values() if isinstance(v, list)), None)
        meta = value.get("meta")
        pagination = meta.get("pagination") if isinstance(meta, dict) else None
        pagination = pagination if isinstance(pagination, dict) else {}
        return {"rows": rows, "total": pagination.get("total"), "has_more": pagination.get("has_more")}


class ErrorObject(BaseModel):
    """The newer error object."""

    code: str | None = None
    message: str = ""
    required: float | None = None
    balance: float | None = None


class ErrorBody(BaseModel):
    """`{error: {code, message, required, balance}}` (new) or `{error: "…", required, available}` (seed)."""

    error: ErrorObject | str
    required: float | None = None
    available: float | None = None
    balance: float | None = None

    @property
    def message(self) -> str:
        """The provider's words."""
        return self.error if isinstance(self.error, str) else self.error.message

    @property
    def code(self) -> str | None:
        """The provider's code, when the body has one."""
        return None if isinstance(self.error, str) else self.error.code

    @property
    def needed(self) -> float | None:
        """Credits the request needs (402)."""
        inner = None if isinstance(self.error, str) else self.error.required
        return inner if inner is not None else self.required

    @property
    def have(self) -> float | None:
        """Credits the account has (402)."""
        inner = None if isinstance(self.error, str) else self.error.balance
        for value in (inner, self.balance, self.available):
            if value is not None:
                return value
        return None


class Project(BaseModel):
    """A project."""

    id: str
    name: str = ""
    organization_id: str | None = None
    created_at: str | None = None


class ProjectBody(Project, _Body):
    """A created project."""


class CollectionConfig(BaseModel):
    """A collection's generation settings."""

    prompt: str | None = None
    style: str | None = None
    reference_asset_ids: list[str] = Field(default_factory=list)
    reference_image_urls: list[str] = Field(default_factory=list)
    style_card: dict[str, Any] | None = None
    caution_list: list[str] = Field(default_factory=list)
    animation_sizes: list[int] = Field(default_factory=list)


class Collection(BaseModel):
    """A mascot, as listed (new: type/slug/user_prefix; old: description/item_count/asset_count)."""

    id: str
    name: str = ""
    project_id: str | None = None
    type: str | None = None
    slug: str | None = None
    description: str | None = None
    prompt: str | None = None
    cdn_enabled: bool | None = None
    created_at: str | None = None
    item_count: int | None = None
    asset_count: int | None = None
    config: CollectionConfig | None = None


class CollectionBody(Collection, _Body):
    """A created or fetched mascot: new `{data: {…}}`; old bare object; from-text `{collection: {…}}`."""

    reference_job_id: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _collection_key(cls, value: Any) -> Any:
        value = unwrap(value)
        if isinstance(value, dict) and isinstance(value.get("collection"), dict):
            return {**value["collection"], **{k: v for k, v in value.items() if k != "collection"}}
        return value


class ItemAsset(BaseModel):
    """One file of an item."""

    id: str
    type: str
    size: int | None = None
    url: HttpUrl | None = None
    status: str | None = None
    job_id: str | None = None


class Item(BaseModel):
    """A pose/action of a mascot."""

    id: str
    name: str = ""
    type: str | None = None
    prompt: str | None = None
    assets: list[ItemAsset] = Field(default_factory=list)


class UrlItem(BaseModel):
    """One item of `/urls`."""

    name: str = ""
    image: HttpUrl | None = None
    transparent_image: HttpUrl | None = None
    animations: list[dict[str, HttpUrl]] = Field(default_factory=list)


class UrlsBody(_Body):
    """`GET /collections/:id/urls`."""

    collection: str | None = None
    items: list[UrlItem] = Field(default_factory=list)


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


class GenerateBody(SubmittedJob, _Body):
    """`POST /collections/:id/generate`: `{data: {…}, poll}` or the bare object (with `poll`)."""


class BatchBody(_Body):
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


class Job(_Body):
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


class CreditsBody(_Body):
    """`GET /credits`: `{credits}`, `{subscription_credits, topup_credits, total}` or `{data: {subscription, …}}`."""

    credits: float | None = None
    total: float | None = None
    subscription_credits: float | None = None
    topup_credits: float | None = None
    subscription: float | None = None
    topup: float | None = None

    @model_validator(mode="after")
    def _some_balance(self) -> CreditsBody:
        if self.remaining is None:
            raise ValueError("no balance field (credits, total, or subscription + topup)")
        return self

    @property
    def remaining(self) -> float | None:
        """The spendable total."""
        if self.total is not None:
            return self.total
        if self.credits is not None:
            return self.credits
        subscription, topup = self.split
        return None if subscription is None or topup is None else subscription + topup

    @property
    def split(self) -> tuple[float | None, float | None]:
        """(subscription, top-up) credits, when the shape says."""
        subscription = self.subscription if self.subscription is not None else self.subscription_credits
        topup = self.topup if self.topup is not None else self.topup_credits
        return subscription, topup


class UploadBody(_Body):
    """`POST /upload`."""

    asset_id: Id


class Style(BaseModel):
    """An art style."""

    id: str
    name: str = ""
    preview_url: HttpUrl | None = None


class StylesBody(_Body):
    """`GET /styles`."""

    styles: list[Style]


class SuggestionsBody(_Body):
    """`POST /collections/:id/suggest-actions`."""

    suggestions: list[str]


class Brand(BaseModel):
    """What analyze-url found about a brand."""

    name: str | None = None
    colors: list[str] = Field(default_factory=list)
    industry: str | None = None


class MascotIdea(BaseModel):
    """A suggested mascot."""

    name: str = ""
    prompt: str = ""
    style: str | None = None


class AnalysisBody(_Body):
    """`POST /analyze-url`."""

    brand: Brand | None = None
    suggestions: list[MascotIdea] = Field(default_factory=list)


class PreviewImage(BaseModel):
    """A temporary preview."""

    url: HttpUrl


class PreviewBody(_Body):
    """`POST /generate/preview`."""

    images: list[PreviewImage] = Field(min_length=1)
    cost: float | None = None


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


class CanvasBody(_Body):
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


class CanvasStatusBody(CanvasProgress, _Body):
    """The older `GET …/canvases/:id/status`."""


class TemplateAppliedBody(_Body):
    """`POST …/from-template`."""

    canvas_id: str | None = None
    nodes: list[CanvasNode] = Field(default_factory=list)
    edges: list[dict[str, Any]] = Field(default_factory=list)
    jobs: list[SubmittedJob] = Field(default_factory=list)
    node_mapping: dict[str, str] = Field(default_factory=dict)
    total_cost: float | None = None


class GenerateAllBody(_Body):
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


class ExportBody(_Body):
    """A `MaskoAnimationConfig` (checked for its core fields; kept whole)."""

    model_config = ConfigDict(extra="allow")

    version: str | float | None = None
    name: str | None = None
    initialNode: str | None = None
    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]
