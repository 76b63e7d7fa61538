"""Request recording and fault injection shared by the provider simulators."""

from __future__ import annotations

import collections
from collections.abc import Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["Fault", "Faults", "RecordedRequest", "RequestLog", "SimulatorMiddleware"]


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the simulator received it (header names lower-cased)."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    @property
    def key(self) -> str:
        """The request as a "METHOD /path" string."""
        return f"{self.method} {self.path}"


class RequestLog:
    """Counts every request as "METHOD /path" and keeps the most recent ones."""

    def __init__(self, max_entries: int = 1000) -> None:
        """Keep at most max_entries requests (counts are never trimmed)."""
        self.counts: collections.Counter[str] = collections.Counter()
        self.entries: collections.deque[RecordedRequest] = collections.deque(maxlen=max_entries)

    def record(self, request: RecordedRequest) -> None:
        """Add one received request."""
        self.counts[request.key] += 1
        self.entries.append(request)

    def count(self, key: str, *, prefix: bool = False) -> int:
        """Number of requests equal to key ("POST /api/v1/generate"), or starting with it when prefix is set."""
        if not prefix:
            return self.counts[key]
        return sum(n for seen, n in self.counts.items() if seen.startswith(key))

    @property
    def total(self) -> int:
        """Number of requests received since the last clear."""
        return sum(self.counts.values())

    def clear(self) -> None:
        """Forget every recorded request."""
        self.counts.clear()
        self.entries.clear()

    def __iter__(self) -> Iterator[RecordedRequest]:
        return iter(self.entries)

    def __len__(self) -> int:
        return self.total


@dataclass
class Fault:
    """A canned response for requests matching a method and path prefix."""

    method: str
    path_prefix: str
    status: int
    body: bytes | str | dict[str, Any] | None
    headers: dict[str, str] = field(default_factory=dict)
    remaining: int | None = 1
    after_handling: bool = False

    def matches(self, method: str, path: str) -> bool:
        """Whether this fault applies to the request and still has uses left."""
        alive = self.remaining is None or self.remaining > 0
        return alive and method.upper() == self.method and path.startswith(self.path_prefix)

    def response(self) -> Response:
        """Build the response; strings are sent as HTML, dicts as JSON, bytes as given."""
        if isinstance(self.body, dict):
            return JSONResponse(self.body, status_code=self.status, headers=self.headers)
        if isinstance(self.body, str):
            return HTMLResponse(self.body, status_code=self.status, headers=self.headers)
        if isinstance(self.body, bytes):
            return Response(self.body, self.status, self.headers, media_type="application/octet-stream")
        try:
            phrase = HTTPStatus(self.status).phrase
        except ValueError:
            phrase = "Error"
        page = f"<html><head><title>{self.status} {phrase}</title></head><body><h1>{phrase}</h1></body></html>"
        return HTMLResponse(page, status_code=self.status, headers=self.headers)


class Faults:
    """Registry of faults, consulted in the order they were added."""

    def __init__(self) -> None:
        """Start with no faults."""
        self.active: list[Fault] = []

    def add(
        self,
        method: str,
        path_prefix: str,
        *,
        status: int,
        body: bytes | str | dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        times: int | None = 1,
        after_handling: bool = False,
    ) -> Fault:
        """Answer the next `times` matching requests (None: all of them) with this response instead.

        With after_handling the real handler still runs (state changes, credits are charged) and only
        its response is replaced. A body of None sends a generic HTML error page.
        """
        fault = Fault(method.upper(), path_prefix, status, body, dict(headers or {}), times, after_handling)
        self.active.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        """Return the first matching fault and use it up once."""
        for fault in self.active:
            if fault.matches(method, path):
                if fault.remaining is not None:
                    fault.remaining -= 1
                return fault
        return None

    def clear(self) -> None:
        """Remove every fault."""
        self.active.clear()


class SimulatorMiddleware:
    """ASGI middleware that records every HTTP request, then applies any matching fault."""

    def __init__(self, app: ASGIApp, log: RequestLog, faults: Faults) -> None:
        """Wrap app, recording into log and consulting faults."""
        self.app = app
        self.log = log
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body, replay = await _buffer_body(receive)
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope["headers"]:
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        method: str = scope["method"]
        path: str = scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        self.log.record(RecordedRequest(method, path, query, headers, body))

        fault = self.faults.take(method, path)
        if fault is None:
            await self.app(scope, replay, send)
            return
        if fault.after_handling:

            async def discard(message: Message) -> None:
                return None

            await self.app(scope, replay, discard)
        await fault.response()(scope, replay, send)


async def _buffer_body(receive: Receive) -> tuple[bytes, Receive]:
    """Read the whole request body and return it with a receive callable that replays it."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay
