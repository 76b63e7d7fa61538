"""The arguments of the Cosmiq operations, as genmcp's tools take them (checked before anything is sent)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, model_validator

from providers.base import OperationInput

__all__ = [
    "AddImageInput",
    "CampaignInput",
    "CarouselInput",
    "Concept",
    "CreateInput",
    "GetBoardInput",
    "ImageEditInput",
    "PromptUpdate",
    "Slide",
    "UpdatePromptsInput",
]

Format = Literal["9:16", "4:5", "1:1", "16:9", "3:4", "2:3"]
VideoModel = Literal[
    "seedance-2", "veo-3.1", "kling-3.0-pro", "sora-2", "sora-2-pro", "hailuo-2.3-std", "wan-2.7", "luma-ray2"
]
Text = Annotated[str, Field(min_length=1, max_length=4000)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
BoardRef = Annotated[str, Field(min_length=1, max_length=500, description="Board URL or id.")]
ImageUrl = Annotated[
    str,
    Field(min_length=1, max_length=4096, description="A public https:// image URL (Cosmiq fetches it itself)."),
]
_FORMAT_HELP = "Aspect ratio: 9:16, 4:5, 1:1, 16:9, 3:4 or 2:3."


class _Input(OperationInput):
    # Cosmiq spells one parameter in camelCase (withVideo): it is the alias, and the Python name works too.
    model_config = ConfigDict(populate_by_name=True)


class CreateInput(_Input):
    """Arguments of cosmiq_create."""

    prompt: Text
    space: Name | None = Field(default=None, description="Workspace name (created if missing).")
    format: Format | None = Field(default=None, description=_FORMAT_HELP + " Default 9:16.")
    image_model: Name | None = None
    with_video: bool = Field(default=False, alias="withVideo", description="Also animate the image into a video.")
    video_model: VideoModel | None = Field(default=None, description="Default seedance-2.")
    duration: float | None = Field(default=None, gt=0, le=60, description="Video seconds (default 5).")
    resolution: Literal["480p", "720p", "1080p"] | None = None
    audio: bool | None = Field(default=None, description="Video with sound (only some models honour it).")


class Concept(_Input):
    """One campaign concept."""

    label: Name | None = None
    prompt: Text
    reference_image_urls: list[ImageUrl] | None = Field(default=None, max_length=4)


class CampaignInput(_Input):
    """Arguments of cosmiq_campaign."""

    brand: Name = Field(description="Board title and workspace name.")
    concepts: list[Concept] = Field(min_length=1, max_length=12)
    reference_image_urls: list[ImageUrl] | None = Field(
        default=None, max_length=4, description="Shared references for concepts without their own (≤ 4)."
    )
    generate: bool = Field(default=False, description="True renders now (spends credits); false builds the board.")
    format: Format | None = None
    image_model: Name | None = None


class Slide(_Input):
    """One carousel slide."""

    label: Name | None = None
    prompt: Text


class CarouselInput(_Input):
    """Arguments of cosmiq_carousel."""

    style_prompt: Text = Field(description="The shared look: background, layout, slide numbers, fonts, palette.")
    slides: list[Slide] = Field(min_length=2, max_length=15)
    brand: Name | None = None
    board_name: Name | None = None
    format: Format = Field(default="4:5", description=_FORMAT_HELP + " Default 4:5.")
    generate: bool = False
    image_model: Name | None = None


class AddImageInput(_Input):
    """Arguments of cosmiq_add_image."""

    image_urls: list[ImageUrl] = Field(min_length=1, max_length=20)
    space: Name | None = None
    board_name: Name | None = Field(default=None, description='Default "Images".')


class ImageEditInput(_Input):
    """Arguments of cosmiq_image_edit."""

    edit_prompt: Text
    reference_image_urls: list[ImageUrl] | None = Field(default=None, max_length=8)
    space: Name | None = None
    board_name: Name | None = None
    generate: bool = False
    image_model: Name | None = None

    @model_validator(mode="after")
    def _generating_needs_a_reference(self) -> ImageEditInput:
        if self.generate and not self.reference_image_urls:
            raise ValueError("generate=true needs at least one reference image URL")
        return self


class GetBoardInput(_Input):
    """Arguments of cosmiq_get_board."""

    board: BoardRef


class PromptUpdate(_Input):
    """A new text for one prompt node."""

    node_id: Name
    text: Text


class UpdatePromptsInput(_Input):
    """Arguments of cosmiq_update_prompts."""

    board: BoardRef
    updates: list[PromptUpdate] = Field(min_length=1, max_length=30)
