"""A tap on a real MCP client's HTTP traffic: every JSON-RPC message it sends and every one it receives (a JSON body,
or each `data:` frame of an event stream as the client reads it), in order — the wire exchange a test can show.

`httpx2.AsyncClient(transport=WireTap())` for `streamable_http_client(url, http_client=...)`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx2

__all__ = ["Frame", "WireTap"]

_TASK_NOTIFICATIONS = frozenset({"notifications/tasks", "notifications/subscriptions/acknowledged"})


@dataclass(frozen=True)
class Frame:
    """One JSON-RPC message: `direction` is '->' (sent) or '<-' (received)."""

    direction: str
    message: dict[str, Any]

    def line(self, width: int = 2000) -> str:
        """The message as one line of JSON (cut at `width` characters)."""
        text = json.dumps(self.message, separators=(",", ":"))
        return f"{self.direction} {text if len(text) <= width else text[:width] + ' …'}"


class _TeeStream(httpx2.AsyncByteStream):
    """An event stream passed on to the client unchanged, its `data:` frames recorded as they go by."""

    def __init__(self, inner: httpx2.AsyncByteStream, tap: WireTap) -> None:
        self.inner = inner
        self.tap = tap
        self.pending = b""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.inner:
            self.pending += chunk
            *events, self.pending = self.pending.replace(b"\r\n", b"\n").split(b"\n\n")
            for event in events:
                data = b"\n".join(line[5:].lstrip() for line in event.split(b"\n") if line.startswith(b"data:"))
                self.tap.received(data)
            yield chunk

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass
class WireTap(httpx2.AsyncBaseTransport):
    """Records what goes through `inner` (a real HTTP transport by default)."""

    inner: httpx2.AsyncBaseTransport = field(default_factory=httpx2.AsyncHTTPTransport)
    frames: list[Frame] = field(default_factory=list)

    def received(self, body: bytes) -> None:
        if body.strip():
            self.frames.append(Frame("<-", json.loads(body)))

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        sent = await request.aread()
        if sent.strip():
            self.frames.append(Frame("->", json.loads(sent)))
        response = await self.inner.handle_async_request(request)
        kind = response.headers.get("content-type", "")
        if kind.startswith("text/event-stream"):
            return httpx2.Response(
                response.status_code,
                headers=response.headers,
                stream=_TeeStream(response.stream, self),  # type: ignore[arg-type]
                request=request,
            )
        body = await response.aread()
        if kind.startswith("application/json"):
            self.received(body)
        return httpx2.Response(response.status_code, headers=response.headers, content=body, request=request)

    async def aclose(self) -> None:
        await self.inner.aclose()

    def exchange(self, *, methods: frozenset[str] | None = None) -> list[Frame]:
        """The frames of the requests with these methods (all when None) and the answers to them, in order."""
        ids = {
            frame.message.get("id")
            for frame in self.frames
            if frame.direction == "->" and (methods is None or frame.message.get("method") in methods)
        }
        return [
            frame
            for frame in self.frames
            if frame.message.get("id") in ids
            or (frame.direction == "<-" and "method" in frame.message and methods is None)
            or (frame.direction == "<-" and frame.message.get("method") in _TASK_NOTIFICATIONS)
        ]
