"""What the Cosmiq tests share: genmcp talking MCP, in process, to the simulator (or to a tiny stand-in), and an MCP
client of the simulator itself."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from mcp_types import CallToolResult, TextContent
from starlette.types import ASGIApp

from providers.cosmiq.adapter import Cosmiq
from providers.cosmiq.simulator import CosmiqSimulator
from server.app import Runtime
from server.mcp_upstream import McpUpstream
from tests.harness.runtime import in_process_runtime
from tests.harness.settings import build_settings

KEY = "csk_test_0123456789"
BASE_URL = "https://www.cosmiq.test/api/mcp"
PUBLIC = "https://www.cosmiq.test"


class Gate:
    """The simulator's `sleep`: a generating call waits until the gate is open (it starts open)."""

    def __init__(self) -> None:
        self.event = anyio.Event()
        self.event.set()

    def close(self) -> None:
        self.event = anyio.Event()

    def open(self) -> None:
        self.event.set()

    async def __call__(self, seconds: float) -> None:
        await self.event.wait()


@dataclass
class World:
    """A genmcp runtime, an MCP client of it, and the Cosmiq simulator its adapter talks to."""

    sim: CosmiqSimulator
    runtime: Runtime
    client: Client
    gate: Gate = field(default_factory=Gate)

    @property
    def upstream(self) -> McpUpstream:
        """The adapter's MCP session to the simulator."""
        provider = self.runtime.providers["cosmiq"]
        assert isinstance(provider, Cosmiq)
        return provider.upstream


class Upstream(Protocol):
    """An MCP server app standing in for Cosmiq, run while entered."""

    @property
    def app(self) -> ASGIApp: ...

    async def __aenter__(self) -> Any: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


@contextlib.asynccontextmanager
async def genmcp(tmp_path: Path, upstream: Upstream, *, key: str = KEY) -> AsyncIterator[tuple[Runtime, Client]]:
    """genmcp with Cosmiq configured with `key`, talking to `upstream` in process (real time: every wait is on an
    event, the upstream answering, never a sleep)."""
    settings = build_settings(tmp_path, providers={"cosmiq": {"api_key": key, "base_url": BASE_URL}})
    runtime = in_process_runtime(settings, apps={"cosmiq": upstream.app})
    async with upstream, runtime, Client(runtime.mcp) as client:
        yield runtime, client


@contextlib.asynccontextmanager
async def serve(tmp_path: Path, sim: CosmiqSimulator, *, key: str = KEY) -> AsyncIterator[World]:
    """genmcp with Cosmiq configured with `key`, talking to the simulator `sim`."""
    async with genmcp(tmp_path, sim, key=key) as (runtime, client):
        yield World(sim, runtime, client)


def text_answer(text: str) -> CallToolResult:
    """A tool result of one text block."""
    return CallToolResult(content=[TextContent(type="text", text=text)])


class TinyCosmiq:
    """A minimal MCP server offering only `cosmiq_get_board`, which answers `answer(board)`."""

    def __init__(self, answer: Callable[[str], CallToolResult]) -> None:
        self.server: MCPServer[Any] = MCPServer("tiny-cosmiq", log_level="WARNING")

        def cosmiq_get_board(board: str) -> CallToolResult:
            return answer(board)

        self.server.add_tool(cosmiq_get_board, name="cosmiq_get_board", description="Read a board.")
        self.app: ASGIApp = self.server.streamable_http_app(
            streamable_http_path="/api/mcp",
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )
        self._stack = contextlib.AsyncExitStack()

    async def __aenter__(self) -> TinyCosmiq:
        await self._stack.enter_async_context(self.server.session_manager.run())
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._stack.aclose()


# --- the simulator on its own ------------------------------------------------------------------------------------

POOR_KEY = "csk_poor_key"
SIM_BASE = "http://cosmiq.test"
MCP_URL = f"{SIM_BASE}/api/mcp"
TOOLS = {
    "cosmiq_create",
    "cosmiq_campaign",
    "cosmiq_carousel",
    "cosmiq_add_image",
    "cosmiq_image_edit",
    "cosmiq_get_board",
    "cosmiq_update_prompts",
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
}
TOOLS_LIST = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}


def http_client(sim: CosmiqSimulator, key: str | None = KEY) -> httpx2.AsyncClient:
    """Plain HTTP to the simulator in process, with `key` as the bearer key (None: no Authorization header)."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx2.AsyncClient(transport=httpx2.ASGITransport(app=sim.app), base_url=SIM_BASE, headers=headers)


@contextlib.asynccontextmanager
async def connect(sim: CosmiqSimulator, key: str = KEY) -> AsyncIterator[Client]:
    """A real MCP client speaking streamable HTTP to the in-process simulator."""
    async with http_client(sim, key) as http, Client(streamable_http_client(MCP_URL, http_client=http)) as client:
        yield client


def payload(result: CallToolResult) -> dict[str, Any]:
    """The JSON object of a successful simulator answer."""
    assert not result.is_error, result.content
    block = result.content[0]
    assert isinstance(block, TextContent)
    answer = json.loads(block.text)
    assert isinstance(answer, dict)
    return answer


def error_text(result: CallToolResult) -> str:
    """The message of a simulator error answer."""
    assert result.is_error, result.content
    block = result.content[0]
    assert isinstance(block, TextContent)
    return block.text


def board_id(url: str) -> str:
    """The id at the end of a board link the simulator handed out."""
    assert url.startswith(f"{PUBLIC}/boards/")
    return url.rsplit("/", 1)[1]


def credits(sim: CosmiqSimulator, key: str = KEY) -> int:
    """What the account of `key` has left."""
    return sim.accounts[key].credits
