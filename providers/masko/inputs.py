"""The arguments of every Masko tool: one `OperationInput` model per operation, checked before anything is sent.

A generate request's rules (which fields belong to which `type`, what a transition needs) live on `GenerateRequest`,
shared by masko_generate and each entry of masko_generate_batch.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from providers.base import OperationInput

__all__ = [
    "DEFAULT_DURATION",
    "MAX_PREVIEWS",
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
    "Id",
    "ListJobsInput",
    "ListMascotsInput",
    "ListTemplatesInput",
    "MascotInput",
    "NoInput",
    "PageInput",
    "PreviewInput",
    "UploadInput",
]

Id = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")]
Name = Annotated[str, Field(min_length=1, max_length=100)]
Prompt = Annotated[str, Field(min_length=1, max_length=2000)]
Size = Literal[720, 480, 360, 240]
Url = Annotated[str, Field(min_length=8, max_length=2048, pattern=r"^https?://")]
StyleId = Annotated[str, Field(pattern=r"^[a-z0-9-]{1,40}$")]
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
MAX_PREVIEWS = 4

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
    style: StyleId | None = Field(
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
        self._only_fields_of_its_type()
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

    def _only_fields_of_its_type(self) -> None:
        for kind, fields in _ONLY_FOR.items():
            if self.type != kind:
                for name in fields:
                    if getattr(self, name) is not None:
                        raise ValueError(f"`{name}` only applies to type '{kind}'")
        if self.type not in ("image", "animation") and self.image_prompt is not None:
            raise ValueError("`image_prompt` only applies to types 'image' and 'animation'")
        if self.type in ("image", "logo") and self.source_image_asset_id is not None:
            raise ValueError("`source_image_asset_id` only applies to types 'animation' and 'edit'")

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
    style: StyleId | None = Field(default=None, description="Art style id from masko_list_styles (not with mascot_id).")
    count: int | None = Field(
        default=None, ge=1, le=MAX_PREVIEWS, description="Variations, 1–4 (default 4; not with mascot_id)."
    )
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
