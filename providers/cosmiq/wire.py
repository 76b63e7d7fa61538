"""What Cosmiq's MCP tools answer, read into pydantic models at the edge, and its tool errors translated.

The building tools answer the documented JSON `{"board", "space"?, "video"?}`. `cosmiq_get_board` is documented
only as returning "its prompt nodes (id + text) and the board's images as viewable content", so every reasonable
reading of that is accepted: the nodes as a bare JSON array or as an object's `nodes`/`prompts` list, each node's id
as `id` or `node_id` (other fields ignored), in a text block or as structured content; image links when listed, and
image blocks. Anything else fails loudly, quoting what came back.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from mcp_types import CallToolResult
from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from server.errors import GenmcpError, InsufficientCredits, InvalidInput, JobFailed, NotFoundError, UpstreamError

__all__ = ["BoardAnswer", "BoardContents", "ImageBlock", "Node", "image_blocks", "read", "read_board", "tool_error"]

ModelT = TypeVar("ModelT", bound=BaseModel)
Redact = Callable[[str], str]
HttpUrl = Annotated[str, Field(pattern=r"^https?://")]


class BoardAnswer(BaseModel):
    """What the building tools answer: the board's link, its workspace when one was named, the video when made."""

    board: HttpUrl
    space: str | None = None
    video: HttpUrl | None = None


class Node(BaseModel):
    """A prompt node: its id (`node_id` or `id`) and its text; any other field is ignored."""

    model_config = ConfigDict(coerce_numbers_to_str=True)

    node_id: str = Field(min_length=1, validation_alias=AliasChoices("node_id", "id"))
    text: str


def _link(value: Any) -> Any:
    """An image listed as a link, or as an object holding its link in `url`."""
    return value.get("url") if isinstance(value, dict) else value


class BoardContents(BaseModel):
    """A board as `cosmiq_get_board` describes it (a bare list of nodes is read as `{"nodes": [...]}`)."""

    board: str | None = None
    nodes: list[Node] = Field(validation_alias=AliasChoices("nodes", "prompts"))
    images: list[Annotated[HttpUrl, BeforeValidator(_link)]] = Field(default_factory=list)


@dataclass(frozen=True)
class ImageBlock:
    """An image a tool answered with as content."""

    data: bytes
    mime_type: str


def _documents(result: CallToolResult) -> Iterator[Any]:
    """Every JSON document the answer may hold: its structured content, then its text blocks (together, then one by
    one)."""
    if result.structured_content is not None:
        yield result.structured_content
    texts = [block.text for block in result.content if block.type == "text"]
    for text in ["\n".join(texts)] + (texts if len(texts) > 1 else []):
        try:
            yield json.loads(text)
        except ValueError:
            continue


def _shown(result: CallToolResult) -> str:
    if result.structured_content is not None:
        return json.dumps(result.structured_content)
    return "\n".join(block.text for block in result.content if block.type == "text")


def read(
    result: CallToolResult, model: type[ModelT], *, redact: Redact, charged: bool | None, list_as: str | None = None
) -> ModelT:
    """The answer as `model`; with `list_as`, a bare JSON array is read as the object `{list_as: [...]}`.

    Raises:
        UpstreamError: no document in the answer fits, quoting what came back; `charged` says whether the call may
            have spent credits.
    """
    for document in _documents(result):
        candidate = {list_as: document} if list_as is not None and isinstance(document, list) else document
        try:
            return model.model_validate(candidate)
        except ValidationError:
            continue
    raise UpstreamError(
        f"Cosmiq answered something genmcp cannot read: {redact(_shown(result))[:200]!r}", charged=charged
    )


def read_board(result: CallToolResult, *, redact: Redact) -> BoardContents:
    """The prompt nodes and image links of a `cosmiq_get_board` answer (a read: a failure spent nothing)."""
    return read(result, BoardContents, redact=redact, charged=False, list_as="nodes")


def image_blocks(result: CallToolResult) -> list[ImageBlock]:
    """The image blocks of an answer that decode (as base64) to an image type."""
    images = []
    for block in result.content:
        if block.type != "image" or not block.mime_type.startswith("image/"):
            continue
        try:
            images.append(ImageBlock(base64.b64decode(block.data, validate=True), block.mime_type))
        except (binascii.Error, ValueError):
            continue
    return images


def tool_error(said: str, *, redact: Redact, spending: bool) -> GenmcpError:
    """The error for a tool result Cosmiq marked `isError`, quoting it (its error texts are not documented, so the
    words decide). Unless the call was `spending` (it may generate), it spent nothing whatever it says."""
    quoted = f"Cosmiq answered: «{redact(said)[:300]}»"
    charged = None if spending else False
    lower = said.lower()
    if "insufficient credits" in lower:
        return InsufficientCredits(quoted + ". Top up, or build the board with generate=false (free).")
    if "generation failed" in lower:
        return JobFailed(quoted, retryable=True, charged=charged)
    if "not found" in lower or "unknown node" in lower:
        return NotFoundError(quoted)
    if "validation error" in lower or "must be" in lower or "needs" in lower:
        return InvalidInput(quoted)
    return UpstreamError(quoted, retryable=False, charged=charged)
