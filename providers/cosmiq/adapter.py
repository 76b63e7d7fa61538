"""Cosmiq: boards of images and videos (create, campaigns, carousels, edits), served only as a remote MCP server.

genmcp's adapter is therefore an MCP client (`server.mcp_upstream`): one session to
`https://www.cosmiq.studio/api/mcp` with a Bearer `csk_…` key, reused across calls. Every call is synchronous
upstream; generating calls can take minutes, so they run as genmcp-owned jobs that `poll` finishes.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal

from anyio.abc import TaskGroup
from mcp_types import CallToolResult
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from providers.base import (
    Balance,
    Completed,
    JobUpdate,
    Operation,
    OperationContext,
    OperationInput,
    Provider,
    Simulator,
)
from server.config import ProviderSettings
from server.errors import (
    GenmcpError,
    InsufficientCredits,
    InvalidInput,
    JobFailed,
    NotFoundError,
    UpstreamError,
)
from server.mcp_upstream import McpUpstream, ToolSpec
from server.results import Asset
from server.upstream import UpstreamClient

__all__ = ["Cosmiq"]

Format = Literal["9:16", "4:5", "1:1", "16:9", "3:4", "2:3"]
VideoModel = Literal[
    "seedance-2", "veo-3.1", "kling-3.0-pro", "sora-2", "sora-2-pro", "hailuo-2.3-std", "wan-2.7", "luma-ray2"
]
Text = Annotated[str, Field(min_length=1, max_length=4000)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
ImageUrl = Annotated[
    str,
    Field(min_length=1, max_length=4096, description="A public https:// image URL (Cosmiq fetches it itself)."),
]
_FORMAT_HELP = "Aspect ratio: 9:16, 4:5, 1:1, 16:9, 3:4 or 2:3."


class _Input(OperationInput):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True, populate_by_name=True)


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

    board: Annotated[str, Field(min_length=1, max_length=500, description="Board URL or id.")]


class PromptUpdate(_Input):
    """A new text for one prompt node."""

    node_id: Name
    text: Text


class UpdatePromptsInput(_Input):
    """Arguments of cosmiq_update_prompts."""

    board: Annotated[str, Field(min_length=1, max_length=500, description="Board URL or id.")]
    updates: list[PromptUpdate] = Field(min_length=1, max_length=30)


class _BoardAnswer(BaseModel):
    board: str = Field(pattern=r"^https?://")
    space: str | None = None
    video: str | None = Field(default=None, pattern=r"^https?://")


class _Node(BaseModel):
    node_id: str
    text: str


class _BoardContents(BaseModel):
    board: str = Field(pattern=r"^https?://")
    nodes: list[_Node] = Field(default_factory=list)
    images: list[str] = Field(default_factory=list)


_SPECS = {
    "create": ToolSpec("cosmiq_create", frozenset({"prompt"})),
    "campaign": ToolSpec("cosmiq_campaign", frozenset({"brand", "concepts"})),
    "carousel": ToolSpec("cosmiq_carousel", frozenset({"style_prompt", "slides"})),
    "add_image": ToolSpec("cosmiq_add_image", frozenset({"image_urls"})),
    "image_edit": ToolSpec("cosmiq_image_edit", frozenset({"edit_prompt"})),
    "get_board": ToolSpec("cosmiq_get_board", frozenset({"board"})),
    "update_prompts": ToolSpec("cosmiq_update_prompts", frozenset({"board", "updates"})),
}
_CREDITS = "Spends Cosmiq credits like the app when it generates (per-image and per-video prices are not published)."
_FREE = "Free (builds the board without generating)."


class Cosmiq(Provider):
    """The Cosmiq adapter (an MCP client)."""

    name = "cosmiq"
    title = "Cosmiq"
    default_base_url = "https://www.cosmiq.studio/api/mcp"
    poll_interval = 5.0
    sandbox_key = "csk_sandbox"
    accepts_client_keys = False  # one MCP session, opened with the configured key, serves every call

    def __init__(self, settings: ProviderSettings, client: UpstreamClient) -> None:
        super().__init__(settings, client)
        self.upstream = McpUpstream(
            provider=self.title,
            url=str(client.http.base_url).rstrip("/"),
            http=client.http,
            redactor=client.redact,
            connect_timeout=client.settings.connect_timeout,
        )

    def attach(self, task_group: TaskGroup | None) -> None:
        self.upstream.attach(task_group)

    def operations(self) -> list[Operation]:
        board = "the board link (assets, kind 'page') and its workspace (details)"
        return [
            Operation(
                name="create",
                title="Create an image (and video)",
                summary="Generate one image from a prompt on a new Cosmiq board, optionally animated into a video "
                "(withVideo, video_model, duration, resolution, audio).",
                input_model=CreateInput,
                kind="spend",
                handler=self._create,
                cost=_CREDITS,
                duration="about 20 s for an image; a video takes minutes",
                returns=board + ", and the video link when one was made.",
                blocking=True,
            ),
            Operation(
                name="campaign",
                title="Campaign board",
                summary="Build a campaign board: 1–12 concepts (prompt, optional label and ≤ 4 reference URLs each) "
                "under one brand. With generate=true each concept is rendered.",
                input_model=CampaignInput,
                kind="spend",
                handler=self._campaign,
                cost=_CREDITS + " " + _FREE.replace("Free", "generate=false is free"),
                duration="seconds to build; minutes to generate",
                returns=board + ".",
                blocking=True,
            ),
            Operation(
                name="carousel",
                title="Carousel board",
                summary="Build a carousel: 2–15 slides sharing one style prompt (background, layout, fonts, palette "
                "wired into every slide). Default format 4:5. generate=true renders the slides.",
                input_model=CarouselInput,
                kind="spend",
                handler=self._carousel,
                cost=_CREDITS + " generate=false is free.",
                duration="seconds to build; minutes to generate",
                returns=board + ".",
                blocking=True,
            ),
            Operation(
                name="add_image",
                title="Add images to a board",
                summary="Put 1–20 public image URLs on a board (default board 'Images'); no generation.",
                input_model=AddImageInput,
                kind="write",
                handler=self._add_image,
                cost=_FREE,
                duration="a few seconds",
                returns=board + ".",
            ),
            Operation(
                name="image_edit",
                title="Edit chain",
                summary="Wire up to 8 reference images into an edit chain driven by edit_prompt. generate=true runs "
                "the edit now and needs at least one reference.",
                input_model=ImageEditInput,
                kind="spend",
                handler=self._image_edit,
                cost=_CREDITS + " generate=false is free.",
                duration="seconds to build; about 20 s or more to generate",
                returns=board + ".",
                blocking=True,
            ),
            Operation(
                name="get_board",
                title="Read a board",
                summary="Read a board by URL or id: its prompt nodes (id and text, for cosmiq_update_prompts) and its "
                "images (as links, plus one small preview).",
                input_model=GetBoardInput,
                kind="read",
                handler=self._get_board,
                cost="Free.",
                duration="a few seconds",
                returns="image links (assets); details.nodes = [{node_id, text}] and details.board.",
            ),
            Operation(
                name="update_prompts",
                title="Rewrite prompts",
                summary="Rewrite the text of 1–30 prompt nodes of a board ({node_id, text}); other nodes and edges "
                "are kept.",
                input_model=UpdatePromptsInput,
                kind="write",
                handler=self._update_prompts,
                cost="Free (regenerate with the tools above to spend).",
                duration="a few seconds",
                returns=board + ".",
            ),
        ]

    @staticmethod
    def _arguments(args: _Input, exclude: set[str] | None = None) -> dict[str, Any]:
        return args.model_dump(mode="json", by_alias=True, exclude_none=True, exclude=exclude)

    def _urls(self, context: OperationContext, urls: list[str] | None, field: str) -> list[str] | None:
        if urls is None:
            return None
        return [context.inputs.reference(url, field=f"{field}[{i}]", data_urls=False) for i, url in enumerate(urls)]

    async def _create(self, args: CreateInput, context: OperationContext) -> Completed:
        return self._board(await self._call("create", self._arguments(args), context))

    async def _campaign(self, args: CampaignInput, context: OperationContext) -> Completed:
        arguments = self._arguments(args)
        arguments["concepts"] = [
            {**concept, **self._some("reference_image_urls", self._urls(context, c.reference_image_urls, "concepts"))}
            for concept, c in zip(arguments["concepts"], args.concepts, strict=True)
        ]
        arguments |= self._some("reference_image_urls", self._urls(context, args.reference_image_urls, "references"))
        return self._board(await self._call("campaign", arguments, context))

    async def _carousel(self, args: CarouselInput, context: OperationContext) -> Completed:
        return self._board(await self._call("carousel", self._arguments(args), context))

    async def _add_image(self, args: AddImageInput, context: OperationContext) -> Completed:
        arguments = self._arguments(args) | {"image_urls": self._urls(context, args.image_urls, "image_urls")}
        return self._board(await self._call("add_image", arguments, context))

    async def _image_edit(self, args: ImageEditInput, context: OperationContext) -> Completed:
        arguments = self._arguments(args)
        arguments |= self._some("reference_image_urls", self._urls(context, args.reference_image_urls, "references"))
        return self._board(await self._call("image_edit", arguments, context))

    async def _update_prompts(self, args: UpdatePromptsInput, context: OperationContext) -> Completed:
        return self._board(await self._call("update_prompts", self._arguments(args), context))

    async def _get_board(self, args: GetBoardInput, context: OperationContext) -> Completed:
        result = await self._call("get_board", self._arguments(args), context)
        contents = self._parse(result, _BoardContents)
        image: bytes | None = None
        for block in result.content:
            if block.type == "image" and image is None:
                try:
                    image = base64.b64decode(block.data, validate=True)
                except (binascii.Error, ValueError):
                    image = None
        return Completed(
            assets=[Asset(url=url, kind="image", name=f"board image {i + 1}") for i, url in enumerate(contents.images)],
            details={"board": contents.board, "nodes": [node.model_dump() for node in contents.nodes]},
            image=image,
        )

    @staticmethod
    def _some(key: str, value: Any) -> dict[str, Any]:
        return {key: value} if value is not None else {}

    async def _call(self, operation: str, arguments: dict[str, Any], context: OperationContext) -> CallToolResult:
        timeout = max(30.0, context.deadline - self.client.clock.now())
        result = await self.upstream.call(_SPECS[operation], arguments, timeout=timeout, on_send=context.sending)
        if result.is_error:
            raise self._tool_error(McpUpstream.text_of(result))
        return result

    def _tool_error(self, said: str) -> GenmcpError:
        quoted = f"Cosmiq answered: «{self.client.redact(said)[:300]}»"
        lower = said.lower()
        if "insufficient credits" in lower:
            return InsufficientCredits(quoted + ". Top up, or build the board with generate=false (free).")
        if "generation failed" in lower:
            return JobFailed(quoted, retryable=True, charged=None)
        if "not found" in lower or "unknown node" in lower:
            return NotFoundError(quoted)
        if "validation error" in lower or "must be" in lower or "needs" in lower:
            return InvalidInput(quoted)
        return UpstreamError(quoted, retryable=False, charged=None)

    def _parse(self, result: CallToolResult, model: type[Any]) -> Any:
        text = McpUpstream.text_of(result)
        try:
            return model.model_validate(json.loads(text))
        except (ValueError, ValidationError) as exc:
            raise UpstreamError(
                f"Cosmiq answered something genmcp cannot read: {self.client.redact(text)[:160]!r}", charged=None
            ) from exc

    def _board(self, result: CallToolResult) -> Completed:
        answer: _BoardAnswer = self._parse(result, _BoardAnswer)
        assets = [Asset(url=answer.board, kind="page", name="Cosmiq board", mime_type="text/html")]
        if answer.video:
            assets.append(Asset(url=answer.video, kind="video", mime_type="video/mp4", name="Cosmiq video"))
        details = {"board": answer.board} | ({"space": answer.space} if answer.space else {})
        return Completed(assets=assets, details=details)

    async def status(self, upstream_id: str, poll_state: Mapping[str, Any], *, hold: float) -> JobUpdate:
        # Cosmiq has no jobs: every call answers when done, and genmcp runs the long ones itself.
        raise NotFoundError("Cosmiq has no job ids; only handles genmcp gave out can be polled.")

    async def balance(self, last_seen: Balance | None) -> Balance | None:
        return last_seen

    async def check(self) -> str:
        names = [await self.upstream.tool_name(spec) for spec in _SPECS.values()]
        return f"key accepted; {len(names)} operations found on the MCP server"

    @classmethod
    def simulator(cls, *, now: Callable[[], float], job_seconds: float) -> Simulator:
        from providers.cosmiq.simulator import CosmiqSimulator

        return CosmiqSimulator(delay_seconds=job_seconds / 2)
