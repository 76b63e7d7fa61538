"""Cosmiq: boards of images and videos (create, campaigns, carousels, edits), served only as a remote MCP server.

genmcp's adapter is therefore an MCP client (`server.mcp_upstream`): one session to
`https://www.cosmiq.studio/api/mcp` with a Bearer `csk_…` key, reused across calls. Every call is synchronous
upstream; generating calls can take minutes, so they run as genmcp-owned jobs that `poll` finishes. Cosmiq neither
publishes its prices nor says in its answers what a call cost (`reports_credits = False`).
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable, Mapping
from typing import Any

from anyio.abc import TaskGroup
from mcp_types import CallToolResult

from providers.base import (
    Completed,
    JobUpdate,
    OperationContext,
    OperationInput,
    Provider,
    Simulator,
    compact,
    operation,
)
from providers.cosmiq.inputs import (
    AddImageInput,
    CampaignInput,
    CarouselInput,
    CreateInput,
    GetBoardInput,
    ImageEditInput,
    UpdatePromptsInput,
)
from providers.cosmiq.wire import BoardAnswer, image_blocks, read, read_board, tool_error
from server.config import ProviderSettings
from server.errors import NotFoundError
from server.mcp_upstream import McpUpstream, ToolSpec
from server.results import Asset
from server.upstream import UpstreamClient

__all__ = ["Cosmiq"]

_SPECS = {
    "create": ToolSpec("cosmiq_create", frozenset({"prompt"})),
    "campaign": ToolSpec("cosmiq_campaign", frozenset({"brand", "concepts"})),
    "carousel": ToolSpec("cosmiq_carousel", frozenset({"style_prompt", "slides"})),
    "add_image": ToolSpec("cosmiq_add_image", frozenset({"image_urls"})),
    "image_edit": ToolSpec("cosmiq_image_edit", frozenset({"edit_prompt"})),
    "get_board": ToolSpec("cosmiq_get_board", frozenset({"board"})),
    "update_prompts": ToolSpec("cosmiq_update_prompts", frozenset({"board", "updates"})),
}

# Prices: Cosmiq spends credits "like the app" and publishes no per-image or per-video figure, so a generating
# call's cost cannot be known from its arguments (its estimate is None); building without generating is free (0).
_CREDITS = "Spends Cosmiq credits like the app when it generates (per-image and per-video prices are not published)."
_FREE = "Free (builds the board without generating)."
_FREE_UNLESS_GENERATING = " generate=false is free."


def _unknown(args: OperationInput) -> float | None:
    """The cost of a call that always generates: unknown (Cosmiq publishes no prices)."""
    return None


def _free_unless_generating(args: CampaignInput | CarouselInput | ImageEditInput) -> float | None:
    """Free when only building the board; unknown when generating (Cosmiq publishes no prices)."""
    return None if args.generate else 0.0


_BOARD = "the board link (assets, kind 'page') and its workspace (details)"


class Cosmiq(Provider):
    """The Cosmiq adapter (an MCP client)."""

    name = "cosmiq"
    title = "Cosmiq"
    default_base_url = "https://www.cosmiq.studio/api/mcp"
    poll_interval = 5.0
    sandbox_key = "csk_sandbox"
    accepts_client_keys = False  # one MCP session, opened with the configured key, serves every call
    reports_credits = False  # its answers never say what a call cost

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

    # --- operations ---------------------------------------------------------------------------------------------

    @operation(
        CreateInput,
        name="create",
        title="Create an image (and video)",
        summary="Generate one image from a prompt on a new Cosmiq board, optionally animated into a video "
        "(withVideo, video_model, duration, resolution, audio).",
        kind="spend",
        cost=_CREDITS,
        duration="about 20 s for an image; a video takes minutes",
        returns=_BOARD + ", and the video link when one was made.",
        blocking=True,
        estimate=_unknown,
    )
    async def create(self, args: CreateInput, context: OperationContext) -> Completed:
        return await self._build("create", args.payload(by_alias=True), context, spending=True)

    @operation(
        CampaignInput,
        name="campaign",
        title="Campaign board",
        summary="Build a campaign board: 1–12 concepts (prompt, optional label and ≤ 4 reference URLs each) "
        "under one brand. With generate=true each concept is rendered.",
        kind="spend",
        cost=_CREDITS + " generate=false is free (builds the board without generating).",
        duration="seconds to build; minutes to generate",
        returns=_BOARD + ".",
        blocking=True,
        estimate=_free_unless_generating,
    )
    async def campaign(self, args: CampaignInput, context: OperationContext) -> Completed:
        arguments = args.payload(by_alias=True, exclude={"concepts", "reference_image_urls"})
        arguments["concepts"] = [
            concept.payload(by_alias=True)
            | compact({"reference_image_urls": await self._urls(context, concept.reference_image_urls, "concepts")})
            for concept in args.concepts
        ]
        arguments |= compact(
            {"reference_image_urls": await self._urls(context, args.reference_image_urls, "references")}
        )
        return await self._build("campaign", arguments, context, spending=args.generate)

    @operation(
        CarouselInput,
        name="carousel",
        title="Carousel board",
        summary="Build a carousel: 2–15 slides sharing one style prompt (background, layout, fonts, palette "
        "wired into every slide). Default format 4:5. generate=true renders the slides.",
        kind="spend",
        cost=_CREDITS + _FREE_UNLESS_GENERATING,
        duration="seconds to build; minutes to generate",
        returns=_BOARD + ".",
        blocking=True,
        estimate=_free_unless_generating,
    )
    async def carousel(self, args: CarouselInput, context: OperationContext) -> Completed:
        return await self._build("carousel", args.payload(by_alias=True), context, spending=args.generate)

    @operation(
        AddImageInput,
        name="add_image",
        title="Add images to a board",
        summary="Put 1–20 public image URLs on a board (default board 'Images'); no generation.",
        kind="write",
        cost=_FREE,
        duration="a few seconds",
        returns=_BOARD + ".",
    )
    async def add_image(self, args: AddImageInput, context: OperationContext) -> Completed:
        arguments = args.payload(by_alias=True) | {
            "image_urls": await self._urls(context, args.image_urls, "image_urls")
        }
        return await self._build("add_image", arguments, context, spending=False)

    @operation(
        ImageEditInput,
        name="image_edit",
        title="Edit chain",
        summary="Wire up to 8 reference images into an edit chain driven by edit_prompt. generate=true runs "
        "the edit now and needs at least one reference.",
        kind="spend",
        cost=_CREDITS + _FREE_UNLESS_GENERATING,
        duration="seconds to build; about 20 s or more to generate",
        returns=_BOARD + ".",
        blocking=True,
        estimate=_free_unless_generating,
    )
    async def image_edit(self, args: ImageEditInput, context: OperationContext) -> Completed:
        references = await self._urls(context, args.reference_image_urls, "references")
        arguments = args.payload(by_alias=True) | compact({"reference_image_urls": references})
        return await self._build("image_edit", arguments, context, spending=args.generate)

    @operation(
        GetBoardInput,
        name="get_board",
        title="Read a board",
        summary="Read a board by URL or id: its prompt nodes (id and text, for cosmiq_update_prompts) and its "
        "images (as links, plus one small preview).",
        kind="read",
        cost="Free.",
        duration="a few seconds",
        returns="image links (assets); details.nodes = [{node_id, text}] and details.board.",
    )
    async def get_board(self, args: GetBoardInput, context: OperationContext) -> Completed:
        result = await self._call("get_board", args.payload(by_alias=True), context, spending=False)
        contents = read_board(result, redact=self.client.redact)
        images = image_blocks(result)
        assets = [Asset(url=url, kind="image", name=f"board image {i + 1}") for i, url in enumerate(contents.images)]
        if not assets:
            # No links listed: the image blocks are the board's only images, so they are kept as files.
            for i, image in enumerate(images):
                extension = mimetypes.guess_extension(image.mime_type) or ".bin"
                name = f"cosmiq-board-image-{i + 1}{extension}"
                assets += await context.files.keep(image.data, mime_type=image.mime_type, filename=name)
        return Completed(
            assets=assets,
            details={"board": contents.board or args.board, "nodes": [node.model_dump() for node in contents.nodes]},
            # The prompt nodes in the summary too, so a client reading only text can pick one to update.
            text="\n".join(f"{node.node_id}: {node.text}" for node in contents.nodes) or None,
            image=images[0].data if images else None,
        )

    @operation(
        UpdatePromptsInput,
        name="update_prompts",
        title="Rewrite prompts",
        summary="Rewrite the text of 1–30 prompt nodes of a board ({node_id, text}); other nodes and edges are kept.",
        kind="write",
        cost="Free (regenerate with the tools above to spend).",
        duration="a few seconds",
        returns=_BOARD + ".",
    )
    async def update_prompts(self, args: UpdatePromptsInput, context: OperationContext) -> Completed:
        return await self._build("update_prompts", args.payload(by_alias=True), context, spending=False)

    # --- the upstream calls -------------------------------------------------------------------------------------

    @staticmethod
    async def _urls(context: OperationContext, urls: list[str] | None, field: str) -> list[str] | None:
        """The URLs, each checked as a public image reference (Cosmiq fetches them itself)."""
        if urls is None:
            return None
        return [
            await context.inputs.reference(url, field=f"{field}[{i}]", data_urls=False) for i, url in enumerate(urls)
        ]

    async def _call(
        self, operation: str, arguments: dict[str, Any], context: OperationContext, *, spending: bool
    ) -> CallToolResult:
        """Call the upstream tool for `operation`; a result it marks as an error is raised (`spending`: the call
        may have generated, so the error may have cost credits)."""
        time_limit = max(30.0, context.deadline - self.client.clock.now())
        result = await self.upstream.call(_SPECS[operation], arguments, time_limit=time_limit, on_send=context.sending)
        if result.is_error:
            raise tool_error(McpUpstream.text_of(result), redact=self.client.redact, spending=spending)
        return result

    async def _build(
        self, operation: str, arguments: dict[str, Any], context: OperationContext, *, spending: bool
    ) -> Completed:
        """Call a tool that answers with a board (building it, or changing one) and hand back its links."""
        result = await self._call(operation, arguments, context, spending=spending)
        answer = read(result, BoardAnswer, redact=self.client.redact, charged=None if spending else False)
        assets = [Asset(url=answer.board, kind="page", name="Cosmiq board", mime_type="text/html")]
        if answer.video:
            assets.append(Asset(url=answer.video, kind="video", mime_type="video/mp4", name="Cosmiq video"))
        details = {"board": answer.board} | ({"space": answer.space} if answer.space else {})
        return Completed(assets=assets, details=details)

    # --- jobs, balance, check -----------------------------------------------------------------------------------

    async def status(self, upstream_id: str, poll_state: Mapping[str, Any], *, hold: float) -> JobUpdate:
        # Cosmiq has no jobs: every call answers when done, and genmcp runs the long ones itself.
        raise NotFoundError("Cosmiq has no job ids; only handles genmcp gave out can be polled.")

    async def balance(self) -> None:
        return None

    async def check(self) -> str:
        names = [await self.upstream.tool_name(spec) for spec in _SPECS.values()]
        return f"key accepted; {len(names)} operations found on the MCP server"

    @classmethod
    def simulator(cls, *, now: Callable[[], float], job_seconds: float) -> Simulator:
        from providers.cosmiq.simulator import CosmiqSimulator

        return CosmiqSimulator(delay_seconds=job_seconds / 2)
