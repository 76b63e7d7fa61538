"""What one endpoint's MCP server serves of the tasks feature besides the extension: `job://<handle>` resources (the
job's current result as JSON, read from the registry), 2025 `resources/subscribe` / `resources/unsubscribe`,
`subscriptions/listen` (`server.tasks.listen`), the workflow prompts and the completions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceNotFoundError
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INVALID_PARAMS,
    EmptyResult,
    SubscribeRequestParams,
    SubscriptionsListenRequestParams,
    UnsubscribeRequestParams,
)
from starlette.requests import Request

from server.jobs import JobRecord
from server.tasks.completions import install_completions
from server.tasks.notify import JOB_URI
from server.tasks.prompts import install_prompts

if TYPE_CHECKING:
    from server.mcp_server import GenmcpServer
    from server.tasks.feature import TasksFeature

__all__ = ["install", "read_job"]


def install(feature: TasksFeature, server: GenmcpServer, providers: frozenset[str]) -> None:
    """Serve the feature on `server`, an endpoint serving these providers."""

    @server.resource(
        f"{JOB_URI}{{handle}}",
        name="job",
        description="A generation job (its handle, as the `job` field of a result): its current result as JSON — "
        "status, assets, credits, progress. Subscribe to hear when it changes.",
        mime_type="application/json",
    )
    def job(handle: str) -> str:  # listed only; reads are answered by read_job
        raise ResourceNotFoundError(f"no job {handle}")

    lowlevel = server._lowlevel_server  # the SDK serves these methods only through its low-level server
    lowlevel.add_request_handler("subscriptions/listen", SubscriptionsListenRequestParams, feature.listen)

    async def subscribe(ctx: ServerRequestContext[Any, Any], params: SubscribeRequestParams) -> EmptyResult:
        await feature.ready()
        if params.uri.startswith(JOB_URI):
            found = await _job(feature, params.uri, ctx.request)
            if found is None:
                raise MCPError(INVALID_PARAMS, f"No job at {params.uri[:120]} (unknown, or not yours).")
            await feature.follow(found, feature.caller(ctx.request))
        feature.parts.notices.subscribe_session(params.uri, _connection(ctx), ctx.session)
        return EmptyResult()

    async def unsubscribe(ctx: ServerRequestContext[Any, Any], params: UnsubscribeRequestParams) -> EmptyResult:
        await feature.ready()
        feature.parts.notices.unsubscribe_session(params.uri, _connection(ctx))
        return EmptyResult()

    lowlevel.add_request_handler("resources/subscribe", SubscribeRequestParams, subscribe)
    lowlevel.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, unsubscribe)
    install_prompts(server, providers)
    install_completions(feature, server, providers)


def _connection(ctx: ServerRequestContext[Any, Any]) -> str:
    """Which 2025 connection a request came on: its MCP session over HTTP; stdio has one."""
    if isinstance(ctx.request, Request):
        return ctx.request.headers.get("mcp-session-id") or f"request:{id(ctx.session)}"
    return "stdio"


async def _job(feature: TasksFeature, uri: str, request: object) -> JobRecord | None:
    """The job a `job://` URI names, if the caller of `request` may see it."""
    provider, _, upstream_id = uri[len(JOB_URI) :].partition(":")
    job = await feature.parts.store.find(provider, upstream_id) if upstream_id else None
    return job if job is not None and feature.caller(request).may_see(job) else None


async def read_job(feature: TasksFeature, uri: str, context: Context[Any, Any] | None) -> list[ReadResourceContents]:
    """A `job://` resource: the job's current result (as the tool would answer it) as JSON, from the registry."""
    try:
        request = context.request_context.request if context is not None else None
    except ValueError:  # outside a request
        request = None
    found = await _job(feature, uri, request)
    if found is None:
        raise ResourceNotFoundError(f"No job at {uri[:120]} (unknown, malformed, or not yours).")
    view = feature.parts.renderer.scrub(await feature.view(found))
    return [ReadResourceContents(content=view.model_dump_json(indent=1), mime_type="application/json")]
