"""An MCP upstream session (`server.mcp_upstream`): a key the upstream starts refusing while the session is open is
an `AuthError` on that call and every later one, with at most one attempt to reopen the session per call."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx2
import pytest
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.errors import AuthError
from server.mcp_upstream import McpUpstream, ToolSpec
from server.redaction import Redactor

pytestmark = pytest.mark.anyio

ECHO = ToolSpec("echo", frozenset({"text"}))
SHOUT = ToolSpec("shout", frozenset({"text"}))


def _replaying(first: Message, receive: Receive) -> Receive:
    """`receive` that answers `first` once again (the body already read), then what the client sends next."""
    pending = [first]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay


@dataclass
class Gatekeeper:
    """ASGI middleware in front of an MCP server: counts requests, and refuses all of them with `refusal` when set."""

    app: ASGIApp
    refusal: int | None = None
    requests: list[bytes] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = b""
        if scope["method"] == "POST":
            message = await receive()
            body = message.get("body", b"")
            receive = _replaying(message, receive)
        self.requests.append(f"{scope['method']} ".encode() + body)
        if self.refusal is not None:
            await JSONResponse({"error": "invalid_token"}, self.refusal)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def count(self, needle: bytes) -> int:
        return sum(needle in request.replace(b" ", b"") for request in self.requests)


@dataclass
class Upstream:
    gate: Gatekeeper
    session: McpUpstream


@contextlib.asynccontextmanager
async def upstream() -> AsyncIterator[Upstream]:
    """An McpUpstream connected in process to a two-tool MCP server behind a `Gatekeeper`."""
    server: MCPServer[Any] = MCPServer("echo", log_level="WARNING")

    @server.tool()
    def echo(text: str) -> str:
        return text

    @server.tool()
    def shout(text: str) -> str:
        return text.upper()

    app = server.streamable_http_app(
        streamable_http_path="/mcp",
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    gate = Gatekeeper(app)
    transport = httpx2.ASGITransport(app=gate)
    async with (
        server.session_manager.run(),
        httpx2.AsyncClient(transport=transport, base_url="http://upstream.test") as http,
        anyio.create_task_group() as group,
    ):
        session = McpUpstream(
            provider="Echo", url="http://upstream.test/mcp", http=http, redactor=Redactor(), connect_timeout=5
        )
        session.attach(group)
        try:
            yield Upstream(gate, session)
        finally:
            session.attach(None)


def _said(result: Any) -> str:
    return McpUpstream.text_of(result)


@pytest.mark.parametrize("status", [401, 403])
async def test_a_key_refused_on_an_open_session_fails_every_call_as_auth_with_one_reopen_each(status: int) -> None:
    async with upstream() as up:
        assert _said(await up.session.call(ECHO, {"text": "hi"}, time_limit=10)) == "hi"
        up.gate.refusal = status

        for _ in range(3):
            requests, initializes = len(up.gate.requests), up.gate.count(b'"method":"initialize"')
            with pytest.raises(AuthError) as caught:
                await up.session.call(ECHO, {"text": "hi"}, time_limit=10)

            assert caught.value.message == f"Echo refused the API key (HTTP {status}). Check the configured key."
            assert caught.value.charged is False
            assert up.gate.count(b'"method":"initialize"') - initializes <= 1
            assert len([r for r in up.gate.requests[requests:] if r.startswith(b"POST")]) <= 2

        up.gate.refusal = None
        assert _said(await up.session.call(ECHO, {"text": "back"}, time_limit=10)) == "back"
        assert up.session.connects == 2


async def test_a_key_refused_while_listing_the_tools_is_an_auth_error() -> None:
    async with upstream() as up:
        await up.session.call(ECHO, {"text": "hi"}, time_limit=10)  # names for echo are cached, not for shout
        up.gate.refusal = 401

        with pytest.raises(AuthError):
            await up.session.call(SHOUT, {"text": "hi"}, time_limit=10)

        up.gate.refusal = None
        assert _said(await up.session.call(SHOUT, {"text": "hi"}, time_limit=10)) == "HI"
