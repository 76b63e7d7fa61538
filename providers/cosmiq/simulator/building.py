"""The Cosmiq tools that build boards: create (one image, optionally a video), campaign, carousel, add_image and
image_edit. Building is free; generating (`create`, or `generate=true`) takes the simulator's credits."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult
from pydantic import Field

from providers.cosmiq.simulator.models import (
    IMAGE_CREDITS,
    VIDEO_CREDITS,
    Concept,
    CosmiqAccount,
    Format,
    PromptNode,
    Resolution,
    Slide,
    VideoModel,
)
from providers.cosmiq.simulator.store import BoardStore, ToolFailure, add_node, check_urls, node_id, title_of

__all__ = ["BuildingTools"]


class BuildingTools(BoardStore):
    """The tool bodies that create boards (registered as MCP tools by `CosmiqSimulator`)."""

    async def cosmiq_create(
        self,
        ctx: Context[Any, Any],
        prompt: Annotated[str, Field(min_length=1, description="What to generate")],
        space: Annotated[str | None, Field(description="Workspace to group the board under")] = None,
        format: Annotated[Format, Field(description="Aspect ratio")] = "9:16",
        image_model: Annotated[str | None, Field(description="Override the default image model")] = None,
        withVideo: Annotated[bool, Field(description="Also animate the image into a video")] = False,
        video_model: Annotated[VideoModel, Field(description="Video model")] = "seedance-2",
        duration: Annotated[float, Field(gt=0, le=60, description="Video length in seconds")] = 5,
        resolution: Annotated[Resolution, Field(description="Video resolution")] = "720p",
        audio: Annotated[bool, Field(description="Generate audio with the video")] = True,
    ) -> CallToolResult:
        """Generate an image from a prompt; optionally animate it to video."""

        async def run(key: str, account: CosmiqAccount) -> dict[str, Any]:
            cost = IMAGE_CREDITS + (VIDEO_CREDITS if withVideo else 0)
            board = self._new_board(key, "create", title_of(prompt), format, space, image_model)
            node = add_node(board, prompt)
            video = None
            if withVideo:
                video = {"model": video_model, "duration": duration, "resolution": resolution, "audio": audio}
            await self._generate(account, cost, [prompt])
            board.images.append(self._new_image(board, prompt, node.id))
            board.credits_spent = cost
            board.video = video
            return self._publish(board)

        return await self._call(ctx, run)

    async def cosmiq_campaign(
        self,
        ctx: Context[Any, Any],
        brand: Annotated[str, Field(min_length=1, description="Board title and workspace name")],
        concepts: Annotated[list[Concept], Field(min_length=1, max_length=12, description="1-12 concepts")],
        reference_image_urls: Annotated[
            list[str] | None, Field(max_length=4, description="Shared references for concepts without their own")
        ] = None,
        generate: Annotated[bool, Field(description="true = render now (credits); false = graph only")] = False,
        format: Annotated[Format, Field(description="Aspect ratio")] = "9:16",
        image_model: Annotated[str | None, Field(description="Override image model")] = None,
    ) -> CallToolResult:
        """Build 1-12 prompt -> image concepts on a single board."""

        async def run(key: str, account: CosmiqAccount) -> dict[str, Any]:
            shared = check_urls(reference_image_urls or [], "reference_image_urls")
            for concept in concepts:
                check_urls(concept.reference_image_urls or [], "reference_image_urls")
            board = self._new_board(key, "campaign", brand, format, brand, image_model)
            board.reference_image_urls = shared
            for concept in concepts:
                refs = list(concept.reference_image_urls or shared)
                board.nodes.append(PromptNode(node_id(), concept.prompt, concept.label, "prompt", refs))
            if generate:
                cost = IMAGE_CREDITS * len(concepts)
                await self._generate(account, cost, [concept.prompt for concept in concepts])
                board.images.extend(self._new_image(board, node.text, node.id) for node in board.nodes)
                board.credits_spent = cost
            return self._publish(board)

        return await self._call(ctx, run)

    async def cosmiq_carousel(
        self,
        ctx: Context[Any, Any],
        style_prompt: Annotated[str, Field(min_length=1, description="Shared look for all slides")],
        slides: Annotated[list[Slide], Field(min_length=2, max_length=15, description="2-15 slides")],
        brand: Annotated[str | None, Field(description="Workspace to group the board under")] = None,
        board_name: Annotated[str | None, Field(description="Board title")] = None,
        format: Annotated[Format, Field(description="Aspect ratio")] = "4:5",
        generate: Annotated[bool, Field(description="true = render slides now; false = graph only")] = False,
        image_model: Annotated[str | None, Field(description="Override image model")] = None,
    ) -> CallToolResult:
        """One board with a shared style wired into every slide, so all slides look consistent."""

        async def run(key: str, account: CosmiqAccount) -> dict[str, Any]:
            title = board_name or (f"{brand} carousel" if brand else "Carousel")
            board = self._new_board(key, "carousel", title, format, brand, image_model)
            board.nodes.append(PromptNode(node_id(), style_prompt, "Style", "style"))
            for index, slide in enumerate(slides, start=1):
                board.nodes.append(PromptNode(node_id(), slide.prompt, slide.label or f"Slide {index}"))
            if generate:
                cost = IMAGE_CREDITS * len(slides)
                await self._generate(account, cost, [style_prompt, *(slide.prompt for slide in slides)])
                for node in board.nodes[1:]:
                    board.images.append(self._new_image(board, f"{node.text} | style: {style_prompt}", node.id))
                board.credits_spent = cost
            return self._publish(board)

        return await self._call(ctx, run)

    async def cosmiq_add_image(
        self,
        ctx: Context[Any, Any],
        image_urls: Annotated[list[str], Field(min_length=1, max_length=20, description="Public image URLs")],
        space: Annotated[str | None, Field(description="Workspace to group the board under")] = None,
        board_name: Annotated[str, Field(description="Board title")] = "Images",
    ) -> CallToolResult:
        """Put existing public image URLs onto a board as nodes (no generation, no credits)."""

        async def run(key: str, account: CosmiqAccount) -> dict[str, Any]:
            urls = check_urls(image_urls, "image_urls")
            board = self._new_board(key, "images", board_name or "Images", "1:1", space, None)
            for url in urls:
                image = self._new_image(board, url, None)
                image.source_url = url
                board.images.append(image)
            return self._publish(board)

        return await self._call(ctx, run)

    async def cosmiq_image_edit(
        self,
        ctx: Context[Any, Any],
        edit_prompt: Annotated[str, Field(min_length=1, description="The edit instruction")],
        reference_image_urls: Annotated[
            list[str] | None, Field(max_length=8, description="Public URLs of the image(s) to edit")
        ] = None,
        space: Annotated[str | None, Field(description="Workspace to group the board under")] = None,
        board_name: Annotated[str | None, Field(description="Board title")] = None,
        generate: Annotated[bool, Field(description="true = run the edit now (needs a reference)")] = False,
        image_model: Annotated[str | None, Field(description="Override image model")] = None,
    ) -> CallToolResult:
        """Wire reference image URL(s) into an edit chain with an authored prompt."""

        async def run(key: str, account: CosmiqAccount) -> dict[str, Any]:
            refs = check_urls(reference_image_urls or [], "reference_image_urls")
            if generate and not refs:
                raise ToolFailure("generate=true needs at least one reference image (reference_image_urls)")
            title = board_name or title_of(edit_prompt)
            board = self._new_board(key, "edit", title, "9:16", space, image_model)
            board.reference_image_urls = refs
            node = PromptNode(node_id(), edit_prompt, "Edit", "edit", list(refs))
            board.nodes.append(node)
            if generate:
                await self._generate(account, IMAGE_CREDITS, [edit_prompt])
                board.images.append(self._new_image(board, edit_prompt, node.id))
                board.credits_spent = IMAGE_CREDITS
            return self._publish(board)

        return await self._call(ctx, run)
