"""The simulator's state and the steps every Cosmiq tool shares: who is calling, taking credits, creating,
publishing and finding boards, and the URLs and placeholder PNGs of what a board holds."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult, TextContent

from providers._sandbox.images import dimensions_for, placeholder_png
from providers.cosmiq.simulator.models import (
    DEFAULT_IMAGE_MODEL,
    FAILED_MESSAGE,
    Board,
    BoardImage,
    BoardShape,
    CosmiqAccount,
    PromptNode,
)

__all__ = ["BoardStore", "ToolFailure", "add_node", "bearer_key", "check_urls", "error_result", "node_id", "title_of"]

_BOARD_REF = re.compile(r"(?:.*/boards/)?(?P<id>[A-Za-z0-9_-]+)/?(?:[?#].*)?")


class ToolFailure(Exception):
    """Raised inside a tool body; answered as an `isError` result carrying exactly this message."""


class BoardStore:
    """Accounts, boards and images, and the shared steps of the tools (the base of the simulator's parts)."""

    def __init__(
        self,
        *,
        accounts: dict[str, CosmiqAccount],
        delay_seconds: float,
        sleep: Callable[[float], Awaitable[None]],
        public_url: str,
        board_shape: BoardShape,
    ) -> None:
        self.accounts = accounts
        self.delay_seconds = delay_seconds
        self.sleep = sleep
        self.public_url = public_url
        self.board_shape: BoardShape = board_shape
        """How `cosmiq_get_board` answers (see `BoardShape`); may be changed at any time."""
        self.boards: dict[str, Board] = {}
        self._images: dict[str, tuple[Board, BoardImage]] = {}
        self._png_cache: dict[str, bytes] = {}

    # --- calls --------------------------------------------------------------------------------------------------

    async def _call(
        self, ctx: Context[Any, Any], run: Callable[[str, CosmiqAccount], Awaitable[dict[str, Any]]]
    ) -> CallToolResult:
        """Run a tool body for the calling account; its dict is the JSON answer, a `ToolFailure` an error result."""
        try:
            key, account = self._caller(ctx)
            payload = await run(key, account)
        except ToolFailure as exc:
            return error_result(str(exc))
        return CallToolResult(content=[TextContent(type="text", text=json.dumps(payload))])

    def _caller(self, ctx: Context[Any, Any]) -> tuple[str, CosmiqAccount]:
        request = ctx.request_context.request
        headers = getattr(request, "headers", None)
        key = bearer_key(headers.get("authorization") if headers is not None else None)
        account = self.accounts.get(key) if key is not None else None
        if key is None or account is None:
            raise ToolFailure("Unauthorized: invalid API key")
        return key, account

    async def _generate(self, account: CosmiqAccount, cost: int, prompts: list[str]) -> None:
        """Take the credits, wait delay_seconds, and give them back (and fail) if a prompt contains [fail]."""
        if account.credits < cost:
            raise ToolFailure(f"Insufficient credits: need {cost}, have {account.credits}")
        account.credits -= cost
        try:
            if self.delay_seconds > 0:
                await self.sleep(self.delay_seconds)
        except BaseException:
            account.credits += cost
            raise
        if any("[fail]" in prompt for prompt in prompts):
            account.credits += cost
            raise ToolFailure(FAILED_MESSAGE)

    # --- boards -------------------------------------------------------------------------------------------------

    def _new_board(
        self, key: str, kind: str, title: str, format: str, space: str | None, image_model: str | None
    ) -> Board:
        # The board is registered only by _publish, once the call has succeeded.
        return Board(
            id=secrets.token_hex(6),
            owner=key,
            kind=kind,
            title=title,
            format=format,
            space=space or None,
            image_model=image_model or DEFAULT_IMAGE_MODEL,
        )

    def _new_image(self, board: Board, prompt: str, node: str | None) -> BoardImage:
        width, height = dimensions_for(board.format)
        image = BoardImage(f"img_{secrets.token_hex(8)}", prompt, width, height, node)
        self._images[image.id] = (board, image)
        return image

    def _publish(self, board: Board) -> dict[str, Any]:
        """Register the board; the documented answer: its link, its space if named, its video if one was made."""
        self.boards[board.id] = board
        payload: dict[str, Any] = {"board": self._board_url(board)}
        if board.space:
            payload["space"] = board.space
        if board.video is not None:
            payload["video"] = f"{self._base}/videos/{board.id}.mp4"
        return payload

    def _find_board(self, key: str, reference: str) -> Board:
        """The caller's board named by a URL or an id (another account's board is as unknown as a missing one)."""
        match = _BOARD_REF.fullmatch(reference.strip())
        board = self.boards.get(match["id"]) if match else None
        if board is None or board.owner != key:
            raise ToolFailure(f"Board not found: {reference}")
        return board

    # --- what a board links to ----------------------------------------------------------------------------------

    @property
    def _base(self) -> str:
        return self.public_url.rstrip("/")

    def _board_url(self, board: Board) -> str:
        return f"{self._base}/boards/{board.id}"

    def _image_url(self, image: BoardImage) -> str:
        return f"{self._base}/images/{image.id}.png"

    def _png(self, board: Board, image: BoardImage) -> bytes:
        if image.id not in self._png_cache:
            label = "SANDBOX cosmiq" + (" (added)" if image.source_url else f" {board.image_model}")
            self._png_cache[image.id] = placeholder_png(
                image.prompt, width=image.width, height=image.height, label=label
            )
        return self._png_cache[image.id]


def add_node(board: Board, text: str, label: str | None = None) -> PromptNode:
    """Append a prompt node to the board and return it."""
    node = PromptNode(node_id(), text, label)
    board.nodes.append(node)
    return node


def node_id() -> str:
    """A new prompt node id."""
    return f"node_{secrets.token_hex(6)}"


def title_of(prompt: str) -> str:
    """A board title from a prompt (at most 60 characters)."""
    words = " ".join(prompt.split())
    return words if len(words) <= 60 else words[:57] + "..."


def bearer_key(header: str | None) -> str | None:
    """The key of an `Authorization: Bearer <key>` header, or None."""
    scheme, _, key = (header or "").partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key or " " in key:
        return None
    return key


def check_urls(urls: list[str], name: str) -> list[str]:
    """The URLs, each checked to be public http(s) (Cosmiq wires only such references into a chain)."""
    for url in urls:
        try:
            parts = urlsplit(url)
        except ValueError:
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise ToolFailure(f"{name} must be public http(s) URLs, got {url!r}")
    return list(urls)


def error_result(message: str) -> CallToolResult:
    """An `isError` tool result carrying `message`."""
    return CallToolResult(content=[TextContent(type="text", text=message)], is_error=True)
