"""Local simulator of Cosmiq, whose whole public surface is a remote MCP server (https://www.cosmiq.studio/api/mcp).

The simulator is an MCP server (MCP Python SDK, streamable HTTP, stateful sessions) behind bearer-key auth,
plus the plain HTTP pages a client follows afterwards: `GET /boards/<id>` (HTML), `GET /images/<id>.png` and
`GET /videos/<id>.mp4`, which need no key.

The MCP endpoint needs its session manager running. `sim.app` starts it from its own ASGI lifespan (uvicorn
serving `sim.app` directly), but a mounted sub-app or an `httpx2.ASGITransport` never runs lifespans, so callers
enter the simulator themselves::

    sim = CosmiqSimulator()
    async with sim:                      # or: async with sim.lifespan():
        transport = httpx2.ASGITransport(app=sim.app)
        ...

Entering it while it is already running is a no-op, and it can be entered again after it has been left
(every entry after the first builds a fresh session manager, which also forgets every session).

Like the handshake-era servers it imitates, the simulator does not speak the 2026 stateless protocol: a request
whose `MCP-Protocol-Version` header names a version without the initialize handshake gets 400, so an SDK client in
`mode="auto"` falls back to `initialize` after one probe.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import json
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlsplit

import anyio
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from mcp_types import CallToolResult, ContentBlock, ImageContent, TextContent, ToolAnnotations
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from pydantic import BaseModel, Field
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from providers._sandbox.faults import Faults, RequestLog, SimulatorMiddleware
from providers._sandbox.images import dimensions_for, placeholder_png

__all__ = [
    "Board",
    "BoardImage",
    "Concept",
    "CosmiqAccount",
    "CosmiqSimulator",
    "PromptNode",
    "PromptUpdate",
    "Slide",
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

# A minimal MP4 header (an `ftyp` box and an empty `free` box): enough for a client to recognise the file type.
_MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2\x00\x00\x00\x08free"
_IMAGE_FILE = re.compile(r"(?P<id>img_[0-9a-f]+)\.png")
_VIDEO_FILE = re.compile(r"(?P<id>[0-9a-f]+)\.mp4")
_BOARD_REF = re.compile(r"(?:.*/boards/)?(?P<id>[A-Za-z0-9_-]+)/?(?:[?#].*)?")


@dataclass
class CosmiqAccount:
    """One API key's account."""

    credits: int = 500


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


class _ToolFailure(Exception):
    """Raised inside a tool body; answered as an `isError` result carrying exactly this message."""


class _McpEndpoint:
    """The ASGI endpoint at mcp_path: bearer-key auth, the protocol-era gate, then the SDK's session manager."""

    def __init__(self, sim: CosmiqSimulator) -> None:
        self.sim = sim

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        key = _bearer_key(request.headers.get("authorization"))
        if key is None or key not in self.sim.accounts:
            headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
            await JSONResponse({"error": "invalid_token"}, 401, headers=headers)(scope, receive, send)
            return
        version = request.headers.get("mcp-protocol-version")
        if version is not None and version not in HANDSHAKE_PROTOCOL_VERSIONS:
            message = f"Bad Request: Unsupported protocol version: {version}"
            await _jsonrpc_error(message, 400, -32000)(scope, receive, send)
            return
        if not self.sim.running:
            message = "Cosmiq simulator is not running: enter `async with simulator:` (its lifespan) first"
            await _jsonrpc_error(message, 503, -32603)(scope, receive, send)
            return
        # The SDK's session manager binds each session to the principal that opened it: a session id
        # presented with another account's key answers 404, like an unknown one.
        token = AccessToken(token=key, client_id=_principal(key), scopes=[])
        scope["user"] = AuthenticatedUser(token)
        await self.sim.server.session_manager.handle_request(scope, receive, send)


class CosmiqSimulator:
    """An MCP server that behaves like Cosmiq's, with inspectable state (see the module docstring)."""

    def __init__(
        self,
        *,
        accounts: dict[str, CosmiqAccount] | None = None,
        delay_seconds: float = 0.0,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        public_url: str = "http://127.0.0.1",
        carousel_tool_name: str = "cosmiq_carousel",
        mcp_path: str = "/api/mcp",
    ) -> None:
        """Create the simulator; accounts default to {"csk_sandbox": CosmiqAccount()}."""
        self.accounts = accounts if accounts is not None else {"csk_sandbox": CosmiqAccount()}
        self.delay_seconds = delay_seconds
        self.sleep = sleep
        self.public_url = public_url
        self.carousel_tool_name = carousel_tool_name
        self.mcp_path = mcp_path
        self.boards: dict[str, Board] = {}
        self.tool_calls: list[tuple[str, dict[str, Any]]] = []
        self.requests = RequestLog()
        self.faults = Faults()
        self._images: dict[str, tuple[Board, BoardImage]] = {}
        self._png_cache: dict[str, bytes] = {}
        self._running = False
        self._manager_used = False
        self._entered: list[contextlib.AbstractAsyncContextManager[None]] = []

        self.server: MCPServer[Any] = MCPServer(
            "cosmiq-sim",
            instructions="Sandbox simulator of Cosmiq: builds boards of prompt nodes and images.",
            middleware=[self._record_tool_call],
            log_level="WARNING",
        )
        self._register_tools()
        self._new_session_manager()
        self.app: ASGIApp = Starlette(
            routes=[
                Route(mcp_path, _McpEndpoint(self)),
                Route("/boards/{board_id}", self._board_page, methods=["GET"]),
                Route("/images/{name}", self._image_file, methods=["GET"]),
                Route("/videos/{name}", self._video_file, methods=["GET"]),
            ],
            middleware=[Middleware(SimulatorMiddleware, log=self.requests, faults=self.faults)],
            lifespan=lambda _app: self.lifespan(),
        )

    # --- lifecycle ------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the MCP session manager is running (the lifespan has been entered)."""
        return self._running

    @contextlib.asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        """Run the MCP session manager for the duration of the block (a no-op when it already runs)."""
        if self._running:
            yield
            return
        if self._manager_used:
            self._new_session_manager()  # an SDK session manager can run only once
        self._manager_used = True
        async with self.server.session_manager.run():
            self._running = True
            try:
                yield
            finally:
                self._running = False

    async def __aenter__(self) -> CosmiqSimulator:
        context = self.lifespan()
        await context.__aenter__()
        self._entered.append(context)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._entered.pop().__aexit__(exc_type, exc, tb)

    def expire_sessions(self) -> None:
        """Forget every MCP session: a request carrying one of their ids now gets 404, so clients re-initialize."""
        manager = self.server.session_manager
        # The manager keeps its sessions in private dicts; forgetting them there is what makes their ids answer
        # 404 at once. Cancelling a session's idle scope ends its server task, which then terminates the
        # transport (closing any open stream).
        transports = list(manager._server_instances.values())
        manager._server_instances.clear()
        manager._session_owners.clear()
        for transport in transports:
            if transport.idle_scope is not None:
                transport.idle_scope.cancel()

    def _new_session_manager(self) -> None:
        # streamable_http_app() creates the session manager (server.session_manager); its own Starlette app is
        # not used, the simulator's endpoint hands requests to the manager itself.
        self.server.streamable_http_app(
            streamable_http_path=self.mcp_path,
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )

    async def _record_tool_call(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method == "tools/call" and ctx.params is not None:
            name = ctx.params.get("name")
            arguments = ctx.params.get("arguments")
            self.tool_calls.append((str(name), dict(arguments) if isinstance(arguments, dict) else {}))
        return await call_next(ctx)

    # --- tools ----------------------------------------------------------------------------------

    def _register_tools(self) -> None:
        server = self.server
        server.add_tool(
            self.cosmiq_create,
            name="cosmiq_create",
            description="Generate one image from a prompt on a new board; optionally animate it into a video.",
            annotations=ToolAnnotations(title="Create", read_only_hint=False, open_world_hint=True),
        )
        server.add_tool(
            self.cosmiq_campaign,
            name="cosmiq_campaign",
            description="Build 1-12 prompt-to-image concepts on one board; generate=true renders them (credits).",
            annotations=ToolAnnotations(title="Campaign", read_only_hint=False, open_world_hint=True),
        )
        server.add_tool(
            self.cosmiq_carousel,
            name=self.carousel_tool_name,
            description="Build a 2-15 slide carousel board with a shared style; generate=true renders the slides.",
            annotations=ToolAnnotations(title="Carousel", read_only_hint=False, open_world_hint=True),
        )
        server.add_tool(
            self.cosmiq_add_image,
            name="cosmiq_add_image",
            description="Put 1-20 public image URLs onto a board (no generation, no credits).",
            annotations=ToolAnnotations(title="Add images", read_only_hint=False, open_world_hint=True),
        )
        server.add_tool(
            self.cosmiq_image_edit,
            name="cosmiq_image_edit",
            description="Wire reference images into an edit chain; generate=true runs the edit (needs a reference).",
            annotations=ToolAnnotations(title="Edit image", read_only_hint=False, open_world_hint=True),
        )
        server.add_tool(
            self.cosmiq_get_board,
            name="cosmiq_get_board",
            description="Read a board: its prompt nodes (id and text) and its images.",
            annotations=ToolAnnotations(title="Read board", read_only_hint=True, open_world_hint=False),
        )
        server.add_tool(
            self.cosmiq_update_prompts,
            name="cosmiq_update_prompts",
            description="Rewrite the text of prompt nodes on a board; other nodes are kept.",
            annotations=ToolAnnotations(
                title="Update prompts", read_only_hint=False, destructive_hint=False, idempotent_hint=True
            ),
        )

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
            board = self._new_board(key, "create", _title(prompt), format, space, image_model)
            node = _add_node(board, prompt)
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
            shared = _check_urls(reference_image_urls or [], "reference_image_urls")
            for concept in concepts:
                _check_urls(concept.reference_image_urls or [], "reference_image_urls")
            board = self._new_board(key, "campaign", brand, format, brand, image_model)
            board.reference_image_urls = shared
            for concept in concepts:
                refs = list(concept.reference_image_urls or shared)
                board.nodes.append(PromptNode(_node_id(), concept.prompt, concept.label, "prompt", refs))
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
            board.nodes.append(PromptNode(_node_id(), style_prompt, "Style", "style"))
            for index, slide in enumerate(slides, start=1):
                board.nodes.append(PromptNode(_node_id(), slide.prompt, slide.label or f"Slide {index}"))
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
            urls = _check_urls(image_urls, "image_urls")
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
            refs = _check_urls(reference_image_urls or [], "reference_image_urls")
            if generate and not refs:
                raise _ToolFailure("generate=true needs at least one reference image (reference_image_urls)")
            title = board_name or _title(edit_prompt)
            board = self._new_board(key, "edit", title, "9:16", space, image_model)
            board.reference_image_urls = refs
            node = PromptNode(_node_id(), edit_prompt, "Edit", "edit", list(refs))
            board.nodes.append(node)
            if generate:
                await self._generate(account, IMAGE_CREDITS, [edit_prompt])
                board.images.append(self._new_image(board, edit_prompt, node.id))
                board.credits_spent = IMAGE_CREDITS
            return self._publish(board)

        return await self._call(ctx, run)

    async def cosmiq_get_board(
        self,
        ctx: Context[Any, Any],
        board: Annotated[str, Field(min_length=1, description="Board URL or id")],
    ) -> CallToolResult:
        """Read an existing board: its prompt nodes (id + text) and its images as viewable content."""
        try:
            key, _ = self._caller(ctx)
            found = self._find_board(key, board)
        except _ToolFailure as exc:
            return _error(str(exc))
        summary = {
            "board": self._board_url(found),
            "nodes": [{"node_id": node.id, "text": node.text} for node in found.nodes],
            "images": [self._image_url(image) for image in found.images],
        }
        content: list[ContentBlock] = [TextContent(type="text", text=json.dumps(summary))]
        for image in found.images:
            data = base64.b64encode(self._png(found, image)).decode("ascii")
            content.append(ImageContent(type="image", data=data, mime_type="image/png"))
        return CallToolResult(content=content)

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
                raise _ToolFailure(f"Unknown node id(s) on board {found.id}: {', '.join(unknown)}")
            for update in updates:
                node = found.node(update.node_id)
                assert node is not None
                node.text = update.text
            return self._publish(found)

        return await self._call(ctx, run)

    # --- shared steps ---------------------------------------------------------------------------

    async def _call(
        self, ctx: Context[Any, Any], run: Callable[[str, CosmiqAccount], Awaitable[dict[str, Any]]]
    ) -> CallToolResult:
        try:
            key, account = self._caller(ctx)
            payload = await run(key, account)
        except _ToolFailure as exc:
            return _error(str(exc))
        return CallToolResult(content=[TextContent(type="text", text=json.dumps(payload))])

    def _caller(self, ctx: Context[Any, Any]) -> tuple[str, CosmiqAccount]:
        request = ctx.request_context.request
        headers = getattr(request, "headers", None)
        key = _bearer_key(headers.get("authorization") if headers is not None else None)
        account = self.accounts.get(key) if key is not None else None
        if key is None or account is None:
            raise _ToolFailure("Unauthorized: invalid API key")
        return key, account

    async def _generate(self, account: CosmiqAccount, cost: int, prompts: list[str]) -> None:
        """Take the credits, wait delay_seconds, and give them back (and fail) if a prompt contains [fail]."""
        if account.credits < cost:
            raise _ToolFailure(f"Insufficient credits: need {cost}, have {account.credits}")
        account.credits -= cost
        try:
            if self.delay_seconds > 0:
                await self.sleep(self.delay_seconds)
        except BaseException:
            account.credits += cost
            raise
        if any("[fail]" in prompt for prompt in prompts):
            account.credits += cost
            raise _ToolFailure(FAILED_MESSAGE)

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

    def _new_image(self, board: Board, prompt: str, node_id: str | None) -> BoardImage:
        width, height = dimensions_for(board.format)
        image = BoardImage(f"img_{secrets.token_hex(8)}", prompt, width, height, node_id)
        self._images[image.id] = (board, image)
        return image

    def _publish(self, board: Board) -> dict[str, Any]:
        self.boards[board.id] = board
        payload: dict[str, Any] = {"board": self._board_url(board)}
        if board.space:
            payload["space"] = board.space
        if board.video is not None:
            payload["video"] = f"{self._base}/videos/{board.id}.mp4"
        return payload

    def _find_board(self, key: str, reference: str) -> Board:
        match = _BOARD_REF.fullmatch(reference.strip())
        board = self.boards.get(match["id"]) if match else None
        if board is None or board.owner != key:
            raise _ToolFailure(f"Board not found: {reference}")
        return board

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

    # --- plain HTTP pages (no auth) --------------------------------------------------------------

    async def _board_page(self, request: Request) -> Response:
        board = self.boards.get(request.path_params["board_id"])
        if board is None:
            return Response("Not Found", status_code=404, media_type="text/plain")
        esc = html.escape
        nodes = "".join(
            f'<li id="{esc(node.id)}"><b>{esc(node.label or node.role)}</b>: {esc(node.text)}</li>'
            for node in board.nodes
        )
        images = "".join(f'<img src="{esc(self._image_url(image))}" alt="">' for image in board.images)
        video = ""
        if board.video is not None:
            video = f'<video src="{esc(self._base)}/videos/{esc(board.id)}.mp4" controls></video>'
        space = f"<p>Space: {esc(board.space)}</p>" if board.space else ""
        page = (
            f"<!doctype html><html><head><title>{esc(board.title)} - Cosmiq (sandbox)</title></head><body>"
            f"<h1>{esc(board.title)}</h1>{space}<ul>{nodes}</ul>{images}{video}</body></html>"
        )
        return HTMLResponse(page)

    async def _image_file(self, request: Request) -> Response:
        match = _IMAGE_FILE.fullmatch(request.path_params["name"])
        found = self._images.get(match["id"]) if match else None
        if found is None or found[0].id not in self.boards:
            return Response("Not Found", status_code=404, media_type="text/plain")
        return Response(self._png(*found), media_type="image/png")

    async def _video_file(self, request: Request) -> Response:
        match = _VIDEO_FILE.fullmatch(request.path_params["name"])
        board = self.boards.get(match["id"]) if match else None
        if board is None or board.video is None:
            return Response("Not Found", status_code=404, media_type="text/plain")
        return Response(_MP4, media_type="video/mp4")


# --- helpers ------------------------------------------------------------------------------------


def _add_node(board: Board, text: str, label: str | None = None) -> PromptNode:
    """Append a prompt node to the board and return it."""
    node = PromptNode(_node_id(), text, label)
    board.nodes.append(node)
    return node


def _node_id() -> str:
    return f"node_{secrets.token_hex(6)}"


def _title(prompt: str) -> str:
    words = " ".join(prompt.split())
    return words if len(words) <= 60 else words[:57] + "..."


def _bearer_key(header: str | None) -> str | None:
    scheme, _, key = (header or "").partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key or " " in key:
        return None
    return key


def _principal(key: str) -> str:
    return "account-" + hashlib.sha256(key.encode()).hexdigest()[:16]


def _check_urls(urls: list[str], name: str) -> list[str]:
    for url in urls:
        try:
            parts = urlsplit(url)
        except ValueError:
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise _ToolFailure(f"{name} must be public http(s) URLs, got {url!r}")
    return list(urls)


def _error(message: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=message)], is_error=True)


def _jsonrpc_error(message: str, status: int, code: int) -> JSONResponse:
    return JSONResponse({"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": message}}, status)
