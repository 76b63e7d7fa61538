"""The Cosmiq simulator itself: an MCP server (MCP Python SDK, streamable HTTP, stateful sessions) behind bearer-key
auth, its lifecycle, and the ASGI app that also serves the plain pages."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import Any

import anyio
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from mcp_types import ToolAnnotations
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from providers._sandbox.faults import Faults, RequestLog, SimulatorMiddleware
from providers.cosmiq.simulator.building import BuildingTools
from providers.cosmiq.simulator.models import BoardShape, CosmiqAccount
from providers.cosmiq.simulator.pages import Pages
from providers.cosmiq.simulator.revising import RevisingTools
from providers.cosmiq.simulator.store import bearer_key

__all__ = ["CosmiqSimulator"]


class _McpEndpoint:
    """The ASGI endpoint at mcp_path: bearer-key auth, the protocol-era gate, then the SDK's session manager."""

    def __init__(self, sim: CosmiqSimulator) -> None:
        self.sim = sim

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        key = bearer_key(request.headers.get("authorization"))
        account = self.sim.accounts.get(key) if key is not None else None
        if key is None or account is None:
            headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
            await JSONResponse({"error": "invalid_token"}, 401, headers=headers)(scope, receive, send)
            return
        if account.suspended:
            body = {"error": "forbidden", "error_description": "API access is not enabled for this account"}
            await JSONResponse(body, 403)(scope, receive, send)
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


class CosmiqSimulator(BuildingTools, RevisingTools, Pages):
    """An MCP server that behaves like Cosmiq's, with inspectable state (see the package docstring).

    Args:
        accounts: Accounts by API key; default {"csk_sandbox": CosmiqAccount()}. Changing the dict (removing,
            renaming or adding a key) takes effect on the next request, as a revoked or rotated key would.
        delay_seconds: How long a generating call takes (slept through `sleep`).
        carousel_tool_name: The carousel tool's name (the documentation does not give it).
        board_shape: How `cosmiq_get_board` answers (see `BoardShape`).
    """

    def __init__(
        self,
        *,
        accounts: dict[str, CosmiqAccount] | None = None,
        delay_seconds: float = 0.0,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        public_url: str = "http://127.0.0.1",
        carousel_tool_name: str = "cosmiq_carousel",
        mcp_path: str = "/api/mcp",
        board_shape: BoardShape = "object",
    ) -> None:
        super().__init__(
            accounts=accounts if accounts is not None else {"csk_sandbox": CosmiqAccount()},
            delay_seconds=delay_seconds,
            sleep=sleep,
            public_url=public_url,
            board_shape=board_shape,
        )
        self.carousel_tool_name = carousel_tool_name
        self.mcp_path = mcp_path
        self.tool_calls: list[tuple[str, dict[str, Any]]] = []
        self.requests = RequestLog()
        self.faults = Faults()
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

    # --- lifecycle ----------------------------------------------------------------------------------------------

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

    # --- tools --------------------------------------------------------------------------------------------------

    def _register_tools(self) -> None:
        tools: list[tuple[Callable[..., Any], str, str, ToolAnnotations]] = [
            (
                self.cosmiq_create,
                "cosmiq_create",
                "Generate one image from a prompt on a new board; optionally animate it into a video.",
                ToolAnnotations(title="Create", read_only_hint=False, open_world_hint=True),
            ),
            (
                self.cosmiq_campaign,
                "cosmiq_campaign",
                "Build 1-12 prompt-to-image concepts on one board; generate=true renders them (credits).",
                ToolAnnotations(title="Campaign", read_only_hint=False, open_world_hint=True),
            ),
            (
                self.cosmiq_carousel,
                self.carousel_tool_name,
                "Build a 2-15 slide carousel board with a shared style; generate=true renders the slides.",
                ToolAnnotations(title="Carousel", read_only_hint=False, open_world_hint=True),
            ),
            (
                self.cosmiq_add_image,
                "cosmiq_add_image",
                "Put 1-20 public image URLs onto a board (no generation, no credits).",
                ToolAnnotations(title="Add images", read_only_hint=False, open_world_hint=True),
            ),
            (
                self.cosmiq_image_edit,
                "cosmiq_image_edit",
                "Wire reference images into an edit chain; generate=true runs the edit (needs a reference).",
                ToolAnnotations(title="Edit image", read_only_hint=False, open_world_hint=True),
            ),
            (
                self.cosmiq_get_board,
                "cosmiq_get_board",
                "Read a board: its prompt nodes (id and text) and its images.",
                ToolAnnotations(title="Read board", read_only_hint=True, open_world_hint=False),
            ),
            (
                self.cosmiq_update_prompts,
                "cosmiq_update_prompts",
                "Rewrite the text of prompt nodes on a board; other nodes are kept.",
                ToolAnnotations(
                    title="Update prompts", read_only_hint=False, destructive_hint=False, idempotent_hint=True
                ),
            ),
        ]
        for handler, name, description, hints in tools:
            self.server.add_tool(handler, name=name, description=description, annotations=hints)


def _principal(key: str) -> str:
    return "account-" + hashlib.sha256(key.encode()).hexdigest()[:16]


def _jsonrpc_error(message: str, status: int, code: int) -> JSONResponse:
    return JSONResponse({"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": message}}, status)
