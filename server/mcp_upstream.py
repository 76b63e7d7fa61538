"""A provider whose API is itself an MCP server: one long-lived client session, reused by every call.

The session is opened on first use in the runtime's task group (an MCP client must be entered and left by the same
task), re-opened when the upstream ends it, and every request is bounded in time. Upstream tool names are resolved
from its `tools/list` (once, cached) so an operation still works when a name differs from the documentation.

A key the upstream refuses (HTTP 401 or 403), at the start or later on an open session (a key revoked while genmcp
runs), is an `AuthError`. A request refused on an open session is followed by at most one attempt to reopen the
session (which fails the same way while the key stays refused), so every call costs at most two refused requests.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import anyio
import httpx2
from anyio.abc import TaskGroup
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, Tool

from server.errors import AuthError, DeadlineExceeded, GenmcpError, UpstreamError
from server.redaction import Redactor

__all__ = ["McpUpstream", "ToolSpec"]

log = logging.getLogger("genmcp.mcp_upstream")

T = TypeVar("T")
_REFUSED = frozenset({401, 403})
"""HTTP statuses that say the key is refused (not the request)."""


def _session_ended(exc: MCPError) -> bool:
    message = exc.error.message.lower()
    # The SDK client says "Session terminated"; a server answering 404 for the id says "Session not found".
    return "session" in message and ("terminated" in message or "not found" in message)


def _leaves(exc: BaseException) -> list[BaseException]:
    """The real errors inside (possibly nested) exception groups."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


class ToolSpec:
    """How to recognise an upstream tool: its documented name, or the parameters it must take."""

    def __init__(self, name: str, required: frozenset[str]) -> None:
        self.name = name
        self.required = required

    def matches(self, tool: Tool) -> bool:
        """Whether `tool` takes every parameter this operation documents as required."""
        properties = set((tool.input_schema or {}).get("properties", {}))
        return self.required <= properties


class McpUpstream:
    """One provider's MCP session.

    Args:
        url: The upstream MCP endpoint.
        http: The provider's HTTP client (base URL, auth header, transport); closed by whoever created it.
    """

    def __init__(
        self, *, provider: str, url: str, http: httpx2.AsyncClient, redactor: Redactor, connect_timeout: float
    ) -> None:
        self.provider = provider
        self.url = url
        self.http = http
        self.redact = redactor
        self.connect_timeout = connect_timeout
        self._group: TaskGroup | None = None
        self._client: Client | None = None
        self._closing: anyio.Event | None = None
        self._lock = anyio.Lock()
        self._names: dict[str, str] = {}
        self.connects = 0
        # The SDK reports a refused request only as "Server returned an error response"; the status tells why.
        self.last_status: int | None = None
        self.refusals = 0
        """How many responses refused the key (401/403); a request during which this grew was refused."""
        self._refused_status = 401
        http.event_hooks = {**http.event_hooks, "response": [*http.event_hooks.get("response", []), self._seen]}

    async def _seen(self, response: httpx2.Response) -> None:
        self.last_status = response.status_code
        if response.status_code in _REFUSED:
            self.refusals += 1
            self._refused_status = response.status_code

    def attach(self, group: TaskGroup | None) -> None:
        """Run sessions in this (the runtime's) task group; None at shutdown closes the current one."""
        self._group = group
        if group is None and self._closing is not None:
            self._closing.set()

    async def _session(self) -> Client:
        async with self._lock:
            if self._client is not None:
                return self._client
            if self._group is None:
                raise RuntimeError("the upstream MCP session needs the runtime to be started")
            ready = anyio.Event()
            opened: list[Client] = []  # the session while it is open
            failure: list[BaseException] = []
            closing = anyio.Event()

            async def hold() -> None:
                try:
                    async with Client(streamable_http_client(self.url, http_client=self.http), mode="legacy") as client:
                        opened.append(client)
                        self._client = client
                        self.connects += 1
                        ready.set()
                        await closing.wait()
                except Exception as exc:  # reported to the caller that asked for the session (as a GenmcpError)
                    log.debug("%s: the MCP session failed", self.provider, exc_info=True)
                    failure.append(exc)
                finally:
                    opened.clear()
                    if self._closing is closing:
                        self._client = None
                    ready.set()

            self._closing = closing
            self._group.start_soon(hold)
            with anyio.fail_after(self.connect_timeout + 5):
                await ready.wait()
            if not opened:
                raise self._connect_error(failure[0] if failure else None)
            return opened[0]

    def _connect_error(self, exc: BaseException | None) -> GenmcpError:
        causes = _leaves(exc) if exc is not None else []
        statuses = [c.response.status_code for c in causes if isinstance(c, httpx2.HTTPStatusError)]
        for status in [*statuses, self.last_status]:
            if status in _REFUSED:
                return self._refused(status)
        text = "; ".join(self.redact(f"{type(c).__name__}: {c}") for c in causes) or "no answer"
        return UpstreamError(f"Could not open an MCP session with {self.provider}: {text[:200]}")

    def _refused(self, status: int) -> AuthError:
        return AuthError(f"{self.provider} refused the API key (HTTP {status}). Check the configured key.")

    def _reset(self) -> None:
        if self._closing is not None:
            self._closing.set()
        self._client = None

    async def tool_name(self, spec: ToolSpec) -> str:
        """The upstream's name for an operation, from its tools/list (cached)."""
        if spec.name in self._names:
            return self._names[spec.name]

        async def list_tools(client: Client) -> list[Tool]:
            return (await client.list_tools()).tools

        # Listing costs nothing, and a paid call is sent only after it: whatever fails here charged nothing.
        listed = await self._request(list_tools, time_limit=self.connect_timeout + 5, charged=False)
        exact = [tool for tool in listed if tool.name == spec.name]
        candidates = exact or [tool for tool in listed if spec.matches(tool)]
        if not candidates:
            raise UpstreamError(
                f"{self.provider}'s MCP server offers no tool for this (looked for '{spec.name}', or a tool taking "
                f"{', '.join(sorted(spec.required))}). Its tools: {', '.join(t.name for t in listed)[:300]}.",
                retryable=False,
            )
        self._names[spec.name] = candidates[0].name
        if candidates[0].name != spec.name:
            log.info("%s: operation %s is served by upstream tool %s", self.provider, spec.name, candidates[0].name)
        return candidates[0].name

    async def call(
        self,
        spec: ToolSpec,
        arguments: Mapping[str, Any],
        *,
        time_limit: float,
        on_send: Callable[[], None] | None = None,
    ) -> CallToolResult:
        """Call an upstream tool; re-open the session once if the upstream ended it or refused the key.

        Args:
            time_limit: Seconds the call may take before it is given up (`DeadlineExceeded`).
            on_send: Called before the call is sent (`OperationContext.sending` for a paid call).

        Raises:
            AuthError: the upstream refuses the key (HTTP 401/403), now or since the session was opened.
            DeadlineExceeded, UpstreamError: the call did not produce an answer.
        """
        if on_send is not None:
            on_send()
        name = await self.tool_name(spec)

        async def call_tool(client: Client) -> CallToolResult:
            return await client.call_tool(name, dict(arguments), read_timeout_seconds=time_limit)

        return await self._request(call_tool, time_limit=time_limit, charged=None)

    async def _request(self, send: Callable[[Client], Awaitable[T]], *, time_limit: float, charged: bool | None) -> T:
        """Send one request on the session, bounded by `time_limit`; reopen the session once when the upstream ended it
        or refused the key (neither ran the request, so sending it again is safe). `charged` is what a request that
        got no answer may have spent."""
        for attempt in (1, 2):
            client = await self._session()  # raises AuthError when reopening is refused too
            refusals = self.refusals
            try:
                with anyio.fail_after(time_limit):
                    return await send(client)
            except MCPError as exc:
                refused = self.refusals > refusals
                if attempt == 1 and (refused or _session_ended(exc)):
                    log.info(
                        "%s %s; reconnecting", self.provider, "refused the key" if refused else "ended the session"
                    )
                    self._reset()
                    continue
                if refused:
                    self._reset()
                    raise self._refused(self._refused_status) from exc
                raise UpstreamError(
                    f"{self.provider} answered a protocol error: {self.redact(exc.error.message)}"
                ) from exc
            except TimeoutError as exc:
                self._reset()
                raise DeadlineExceeded(
                    f"{self.provider} did not answer within {time_limit:g} s.", charged=charged
                ) from exc
        raise UpstreamError(f"{self.provider} kept ending the MCP session.")

    @staticmethod
    def text_of(result: CallToolResult) -> str:
        """The text blocks of a result, joined."""
        return "\n".join(block.text for block in result.content if block.type == "text")
