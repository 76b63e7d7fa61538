"""What each `kolbo_*` tool accepts, checked locally so a bad call costs nothing and never reaches Kolbo.

Limits come from PROVIDERS.md §4.3–4.4: 1–4 images per request, at most 3 Visual DNAs, 1–8 Creative Director
scenes, at most 10 chat attachments, 1–4 Visual DNA reference images. Per-model limits (aspect ratios, durations,
reference-image caps) vary by model and are left to Kolbo, which answers them as `invalid_input`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from providers.base import OperationInput

__all__ = [
    "ID",
    "JOB_ID",
    "ChatInput",
    "CreativeDirectorInput",
    "EditImageInput",
    "GenerateImageInput",
    "GenerateMusicInput",
    "GenerateSoundInput",
    "GenerateSpeechInput",
    "GenerateVideoInput",
    "ListModelsInput",
    "MoodboardsInput",
    "VideoFromImageInput",
    "VisualDnaCreateInput",
    "VisualDnaGetInput",
    "VisualDnaListInput",
]

ID = r"[A-Za-z0-9_-]{1,128}"
"""What Kolbo ids look like (they go into URL paths, so nothing else is accepted)."""
JOB_ID = rf"^{ID}$"
Prompt = Annotated[str, Field(min_length=1, max_length=4000)]
ModelId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._/:-]*$",
        description="Model identifier from kolbo_list_models; omit to let Kolbo pick one (Smart Select).",
    ),
]
AspectRatio = Annotated[
    str,
    Field(
        pattern=r"^[1-9][0-9]?:[1-9][0-9]?$",
        description="Aspect ratio such as '1:1', '16:9', '9:16', '4:3'; it must be one of the model's "
        "supported_aspect_ratios (kolbo_list_models).",
    ),
]
ResourceId = Annotated[str, Field(pattern=JOB_ID)]
ImageArg = Annotated[
    str,
    Field(
        min_length=1,
        max_length=4096,
        description="A public https:// image URL (Kolbo fetches it itself), or a genmcp artifact reference when "
        "genmcp has a public URL.",
    ),
]
ImageFileArg = Annotated[
    str,
    Field(
        min_length=1,
        max_length=30_000_000,
        description="An https:// URL, a data:image/...;base64 URL, raw base64, a genmcp artifact, or an allowed "
        "local path (genmcp uploads the file).",
    ),
]
VideoResolution = Annotated[
    str,
    Field(
        pattern=r"^([0-9]{3,4}[pP]|4[kK])$",
        description="e.g. '480p', '720p' (default), '1080p', '2160p'; see the model's supported_resolutions.",
    ),
]
VisualDnaIds = Annotated[
    list[ResourceId],
    Field(
        min_length=1,
        max_length=3,
        description="Up to 3 Visual DNA ids (kolbo_visual_dna_list / kolbo_visual_dna_create) that keep a character, "
        "product or style consistent.",
    ),
]
MoodboardId = Annotated[ResourceId, Field(description="A moodboard id (kolbo_moodboards) whose style to apply.")]
NumImages = Annotated[int, Field(ge=1, le=4, description="How many images (1–4, default 1); each one is billed.")]
EnhancePrompt = Annotated[bool, Field(description="Let Kolbo expand the prompt (Kolbo's default: true).")]


class GenerateImageInput(OperationInput):
    """Arguments of kolbo_generate_image."""

    prompt: Prompt = Field(description="What the image shows.")
    model: ModelId | None = None
    aspect_ratio: AspectRatio | None = Field(default=None, description="Default '1:1'.")
    num_images: NumImages | None = None
    reference_images: list[ImageArg] | None = Field(
        default=None,
        min_length=1,
        max_length=10,
        description="Style/composition inspiration (not copied pixels); at most the model's max_reference_images.",
    )
    visual_dna_ids: VisualDnaIds | None = None
    moodboard_id: MoodboardId | None = None
    enhance_prompt: EnhancePrompt | None = None


class EditImageInput(OperationInput):
    """Arguments of kolbo_edit_image."""

    prompt: Prompt = Field(description="The edit, e.g. 'remove the background', 'make the car red'.")
    source_images: list[ImageArg] = Field(
        min_length=1,
        max_length=10,
        description="1–10 images to edit or composite (refer to them in the prompt as 'first image', ...).",
    )
    model: ModelId | None = None
    aspect_ratio: AspectRatio | None = Field(default=None, description="Default '1:1'.")
    num_images: NumImages | None = None
    visual_dna_ids: VisualDnaIds | None = None
    moodboard_id: MoodboardId | None = None
    enhance_prompt: EnhancePrompt | None = None


class GenerateVideoInput(OperationInput):
    """Arguments of kolbo_generate_video."""

    prompt: Prompt = Field(description="What happens in the video.")
    model: ModelId | None = None
    aspect_ratio: AspectRatio | None = Field(default=None, description="Default '16:9'.")
    duration: float | None = Field(
        default=None, gt=0, le=60, description="Seconds (default 5); one of the model's supported_durations."
    )
    resolution: VideoResolution | None = None
    reference_images: list[ImageArg] | None = Field(default=None, min_length=1, max_length=10)
    visual_dna_ids: VisualDnaIds | None = None
    enhance_prompt: EnhancePrompt | None = None


class VideoFromImageInput(OperationInput):
    """Arguments of kolbo_video_from_image."""

    image: ImageArg = Field(description="The start frame: a public https:// image URL.")
    prompt: Prompt | None = Field(default=None, description="How the image should move (recommended).")
    model: ModelId | None = None
    aspect_ratio: AspectRatio | None = Field(default=None, description="Default '16:9'.")
    duration: float | None = Field(
        default=None, gt=0, le=60, description="Seconds (default 5); one of the model's supported_durations."
    )
    resolution: VideoResolution | None = None
    enhance_prompt: EnhancePrompt | None = None


class GenerateMusicInput(OperationInput):
    """Arguments of kolbo_generate_music."""

    prompt: Prompt = Field(description="What the song is about and how it sounds.")
    model: ModelId | None = None
    style: str | None = Field(default=None, min_length=1, max_length=1000, description="Genre/style tags.")
    instrumental: bool | None = Field(default=None, description="No vocals (default false).")
    lyrics: str | None = Field(default=None, min_length=1, max_length=5000, description="Your own lyrics.")
    vocal_gender: Literal["male", "female"] | None = None

    @model_validator(mode="after")
    def _no_lyrics_for_instrumentals(self) -> GenerateMusicInput:
        if self.instrumental and (self.lyrics or self.vocal_gender):
            raise ValueError("an instrumental has no vocals: drop `lyrics` and `vocal_gender`, or instrumental=false")
        return self


class GenerateSpeechInput(OperationInput):
    """Arguments of kolbo_generate_speech."""

    text: str = Field(min_length=1, max_length=5000, description="What to say (billed per started 100 characters).")
    voice: str | None = Field(
        default=None, min_length=1, max_length=100, description="Voice id or name (default 'Rachel')."
    )
    model: ModelId | None = Field(default=None, description="Default 'eleven_v3'.")
    language: str | None = Field(
        default=None, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$", description="e.g. 'en-US' (default)."
    )


class GenerateSoundInput(OperationInput):
    """Arguments of kolbo_generate_sound."""

    prompt: Prompt = Field(description="The sound effect, e.g. 'a heavy wooden door creaking open'.")
    duration: float | None = Field(default=None, gt=0, le=30, description="Seconds; omit to let Kolbo decide.")


class CreativeDirectorInput(OperationInput):
    """Arguments of kolbo_creative_director."""

    prompt: Prompt = Field(description="The creative brief for the whole set of scenes.")
    scene_count: int | None = Field(default=None, ge=1, le=8, description="Scenes to make (1–8, default 4).")
    workflow_type: Literal["image", "video"] | None = Field(
        default=None, description="'image' (default): one image per scene; 'video': one clip per scene."
    )
    model: ModelId | None = None
    aspect_ratio: AspectRatio | None = Field(default=None, description="Default '1:1'.")
    duration: float | None = Field(default=None, gt=0, le=60, description="Seconds per scene (video workflow only).")
    reference_images: list[ImageArg] | None = Field(default=None, min_length=1, max_length=10)
    visual_dna_ids: VisualDnaIds | None = None
    moodboard_id: MoodboardId | None = None
    moodboard_ids: list[ResourceId] | None = Field(
        default=None,
        min_length=1,
        max_length=8,
        description="Moodboards per scene, in order (scene 1 uses the first); later scenes use moodboard_id.",
    )
    enhance_prompt: EnhancePrompt | None = None

    @model_validator(mode="after")
    def _duration_is_for_video(self) -> CreativeDirectorInput:
        if self.duration is not None and self.workflow_type != "video":
            raise ValueError("duration applies to workflow_type 'video' only")
        return self


class ChatInput(OperationInput):
    """Arguments of kolbo_chat."""

    message: str = Field(min_length=1, max_length=32_000, description="Your message (must not be empty).")
    session_id: ResourceId | None = Field(
        default=None, description="Continue this conversation (details.session_id of an earlier kolbo_chat answer)."
    )
    model: ModelId | None = Field(default=None, description="Chat model; omit for Kolbo's automatic choice.")
    system_prompt: str | None = Field(
        default=None, min_length=1, max_length=4000, description="Instructions for a new conversation only."
    )
    media_urls: list[ImageArg] | None = Field(
        default=None, min_length=1, max_length=10, description="Up to 10 public file URLs for the model to look at."
    )
    web_search: bool | None = Field(default=None, description="Let the model search the web (default false).")
    deep_think: bool | None = Field(default=None, description="Extended reasoning (default false).")

    @model_validator(mode="after")
    def _system_prompt_starts_a_session(self) -> ChatInput:
        if self.system_prompt is not None and self.session_id is not None:
            raise ValueError("system_prompt only applies to a new conversation: drop it or drop session_id")
        return self


ModelType = Literal[
    "image",
    "image_edit",
    "video",
    "video_from_image",
    "music",
    "speech",
    "sound",
    "chat",
    "text_to_img",
    "image_editing",
    "text_to_video",
    "img_to_video",
    "video_to_video",
    "elements",
    "firstlastgenerations",
    "lipsync-image",
    "lipsync-video",
    "music_gen",
    "text_to_speech",
    "text_to_sound",
    "stt",
    "text",
]


class ListModelsInput(OperationInput):
    """Arguments of kolbo_list_models."""

    type: ModelType | None = Field(default=None, description="Only models of this type (e.g. 'image', 'video').")
    provider: str | None = Field(
        default=None, min_length=1, max_length=50, pattern=r"^[A-Za-z0-9_.-]+$", description="e.g. 'fal', 'openai'."
    )


class VisualDnaCreateInput(OperationInput):
    """Arguments of kolbo_visual_dna_create."""

    name: str = Field(min_length=1, max_length=100, description="Short single-token name, e.g. 'maya' or 'brand_red'.")
    images: list[ImageFileArg] = Field(min_length=1, max_length=4, description="1–4 images of the same subject.")
    dna_type: Literal["character", "product", "style", "environment", "scene"] | None = Field(
        default=None, description="Default 'character'."
    )
    prompt_helper: str | None = Field(
        default=None, min_length=1, max_length=2000, description="Notes that guide the analysis."
    )


class VisualDnaListInput(OperationInput):
    """Arguments of kolbo_visual_dna_list."""

    scope: Literal["personal", "global", "organization"] | None = Field(
        default=None, description="'personal' (yours), 'global' (Kolbo's presets), 'organization'; default all."
    )
    search: str | None = Field(default=None, min_length=1, max_length=200, description="Match names.")
    page: int | None = Field(default=None, ge=1, le=100_000)
    limit: int | None = Field(default=None, ge=1, le=100, description="Per page (default 50).")


class VisualDnaGetInput(OperationInput):
    """Arguments of kolbo_visual_dna_get and kolbo_visual_dna_delete."""

    visual_dna_id: ResourceId


class MoodboardsInput(OperationInput):
    """Arguments of kolbo_moodboards."""

    moodboard_id: ResourceId | None = Field(default=None, description="Show this moodboard in full; omit to list.")
    scope: Literal["personal", "preset", "global", "organization"] | None = Field(
        default=None, description="When listing: only this scope (default all)."
    )

    @model_validator(mode="after")
    def _scope_is_for_listing(self) -> MoodboardsInput:
        if self.moodboard_id is not None and self.scope is not None:
            raise ValueError("scope filters the list; drop it when asking for one moodboard_id")
        return self
