"""The Cosmiq tools that revise a board: get_board reads its prompt nodes and images (in the shape `board_shape`
chooses), update_prompts rewrites the text of some nodes and keeps everything else."""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult, ContentBlock, ImageContent, TextContent
from pydantic import Field

from providers.cosmiq.simulator.models import Board, CosmiqAccount, PromptUpdate
from providers.cosmiq.simulator.store import BoardStore, ToolFailure, error_result

__all__ = ["RevisingTools"]


class RevisingTools(BoardStore):
    """The tool bodies that read and rewrite existing boards (registered as MCP tools by `CosmiqSimulator`)."""

    async def cosmiq_get_board(
        self,
        ctx: Context[Any, Any],
        board: Annotated[str, Field(min_length=1, description="Board URL or id")],
    ) -> CallToolResult:
        """Read an existing board: its prompt nodes (id + text) and its images as viewable content."""
        try:
            key, _ = self._caller(ctx)
            found = self._find_board(key, board)
        except ToolFailure as exc:
            return error_result(str(exc))
        images: list[ContentBlock] = [
            ImageContent(
                type="image", data=base64.b64encode(self._png(found, image)).decode("ascii"), mime_type="image/png"
            )
            for image in found.images
        ]
        return self._board_answer(found, images)

    def _board_answer(self, board: Board, images: list[ContentBlock]) -> CallToolResult:
        """The board's nodes and image links in the shape `board_shape` names, followed by the image blocks."""
        summary = {
            "board": self._board_url(board),
            "nodes": [{"node_id": node.id, "text": node.text} for node in board.nodes],
            "images": [self._image_url(image) for image in board.images],
        }
        if self.board_shape == "structured":
            said = f"Board {summary['board']}: {len(board.nodes)} prompt node(s), {len(board.images)} image(s)."
            return CallToolResult(content=[_text(said), *images], structured_content=summary)
        answer: Any = summary
        if self.board_shape == "array":
            answer = summary["nodes"]
        elif self.board_shape == "prompts":
            answer = {
                "board": summary["board"],
                "prompts": [
                    {"id": node.id, "text": node.text, "label": node.label, "role": node.role} for node in board.nodes
                ],
                "images": [{"url": self._image_url(image), "node_id": image.node_id} for image in board.images],
            }
        return CallToolResult(content=[_text(json.dumps(answer)), *images])

    async def cosmiq_update_prompts(
        self,
        ctx: Context[Any, Any],
        board: Annotated[str, Field(min_length=1, description="Board URL or id")],
        updates: Annotated[list[PromptUpdate], Field(min_length=1, max_length=30, description="1-30 updates")],
    ) -> CallToolResult:
        """Rewrite the text of prompt nodes on an existing board (other nodes and edges preserved)."""

        async def run(key: str, account: CosmiqAccount) -> dict[str, Any]:
            found = self._find_board(key, board)
            unknown = [update.node_id for update in updates if found.node(update.node_id) is None]
            if unknown:
                raise ToolFailure(f"Unknown node id(s) on board {found.id}: {', '.join(unknown)}")
            for update in updates:
                node = found.node(update.node_id)
                assert node is not None
                node.text = update.text
            return self._publish(found)

        return await self._call(ctx, run)


def _text(text: str) -> TextContent:
    return TextContent(type="text", text=text)
