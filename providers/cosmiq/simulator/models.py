"""What the Cosmiq simulator keeps: accounts, boards with their prompt nodes and images, and the tool argument
models (the nested objects its tools take)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, Field

__all__ = [
    "DEFAULT_IMAGE_MODEL",
    "FAILED_MESSAGE",
    "FORMATS",
    "IMAGE_CREDITS",
    "VIDEO_CREDITS",
    "VIDEO_MODELS",
    "Board",
    "BoardImage",
    "BoardShape",
    "Concept",
    "CosmiqAccount",
    "Format",
    "PromptNode",
    "PromptUpdate",
    "Resolution",
    "Slide",
    "VideoModel",
]

IMAGE_CREDITS = 2
VIDEO_CREDITS = 10
DEFAULT_IMAGE_MODEL = "cosmiq-image-1"
FAILED_MESSAGE = "Generation failed"

Format = Literal["9:16", "4:5", "1:1", "16:9", "3:4", "2:3"]
VideoModel = Literal[
    "seedance-2", "veo-3.1", "kling-3.0-pro", "sora-2", "sora-2-pro", "hailuo-2.3-std", "wan-2.7", "luma-ray2"
]
Resolution = Literal["480p", "720p", "1080p"]
FORMATS: tuple[str, ...] = get_args(Format)
VIDEO_MODELS: tuple[str, ...] = get_args(VideoModel)

BoardShape = Literal["object", "array", "prompts", "structured"]
"""How `cosmiq_get_board` answers; the documentation says only "its prompt nodes (id + text) and the board's images
as viewable content", so each is a reading a real server could choose (image blocks follow in every shape):

- "object": a JSON text block `{"board", "nodes": [{"node_id", "text"}], "images": [url, …]}` (the default);
- "array": a JSON text block holding only the nodes, `[{"node_id", "text"}, …]`;
- "prompts": a JSON text block `{"board", "prompts": [{"id", "text", "label", "role"}], "images": [{"url", …}]}`;
- "structured": the "object" answer as structured content, with a plain-language text block.
"""


@dataclass
class CosmiqAccount:
    """One API key's account; a suspended one is refused with HTTP 403 (its key is known, its API access is off)."""

    credits: int = 500
    suspended: bool = False


@dataclass
class PromptNode:
    """A prompt node on a board; `role` is "prompt", "style" (a carousel's shared style) or "edit"."""

    id: str
    text: str
    label: str | None = None
    role: str = "prompt"
    reference_image_urls: list[str] = field(default_factory=list)


@dataclass
class BoardImage:
    """An image on a board: generated from `prompt`, or re-hosted from `source_url` (cosmiq_add_image)."""

    id: str
    prompt: str
    width: int
    height: int
    node_id: str | None = None
    source_url: str | None = None


@dataclass
class Board:
    """One board, as the simulator keeps it."""

    id: str
    owner: str
    kind: str
    title: str
    format: str
    space: str | None = None
    image_model: str | None = None
    nodes: list[PromptNode] = field(default_factory=list)
    images: list[BoardImage] = field(default_factory=list)
    reference_image_urls: list[str] = field(default_factory=list)
    video: dict[str, Any] | None = None
    credits_spent: int = 0

    def node(self, node_id: str) -> PromptNode | None:
        """The node with this id, if the board has it."""
        return next((node for node in self.nodes if node.id == node_id), None)


class Concept(BaseModel):
    """One campaign concept."""

    label: str | None = None
    prompt: Annotated[str, Field(min_length=1)]
    reference_image_urls: Annotated[list[str] | None, Field(max_length=4)] = None


class Slide(BaseModel):
    """One carousel slide."""

    label: str | None = None
    prompt: Annotated[str, Field(min_length=1)]


class PromptUpdate(BaseModel):
    """A new text for one prompt node."""

    node_id: Annotated[str, Field(min_length=1)]
    text: str
