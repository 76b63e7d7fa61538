"""The one generic path from a provider `Operation` to an MCP tool, plus the shared job tools.

Every tool is built here the same way: an input schema from the operation's pydantic model, the result model as
output schema, annotations from the operation's kind, a description composed for a model, and one invoke function
that validates before anything goes upstream and turns every `GenmcpError` into an `isError` result.
"""

from __future__ import annotations

import copy
import functools
import logging
import math
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import anyio
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field, ValidationError
from starlette.requests import Request

from providers.base import Operation, OperationInput, Provider
from server.auth import current_caller
from server.calls import Calls
from server.errors import GenmcpError, InvalidInput
from server.jobs import JobStatus
from server.limits import CallLimits
from server.polling import ProgressFn
from server.previews import Previews
from server.redaction import CLIENT_KEYS, Redactor
from server.results import CreditsResult, JobsResult, ToolResult, error_info, render

__all__ = ["KIND_META", "build_tools"]

KIND_META = "io.genmcp/kind"
"""Tool `_meta` key: read, write or spend (whether a call can cost credits)."""

log = logging.getLogger("genmcp.tools")

ModelT = TypeVar("ModelT", bound=BaseModel)
Invoke = Callable[[dict[str, Any], Context[Any, Any]], Awaitable[CallToolResult]]


class _NoArguments(ArgModelBase):
    """Placeholder: genmcp validates arguments itself, against the operation's model."""


class GenmcpTool(Tool):
    """An SDK tool whose call goes straight to genmcp's invoke function (which validates and renders)."""

    invoke: Invoke = Field(exclude=True)

    async def run(
        self, arguments: dict[str, Any], context: Context[Any, Any], convert_result: bool = False
    ) -> CallToolResult:
        return await self.invoke(arguments, context)


def _make_tool(
    *,
    name: str,
    title: str,
    description: str,
    parameters: dict[str, Any],
    output: type[BaseModel],
    annotations: ToolAnnotations,
    invoke: Invoke,
    kind: str = "read",
) -> GenmcpTool:
    return GenmcpTool(
        fn=invoke,
        invoke=invoke,
        name=name,
        title=title,
        description=description,
        parameters=parameters,
        fn_metadata=FuncMetadata(arg_model=_NoArguments, output_schema=copy.deepcopy(_schema_of(output))),
        is_async=True,
        annotations=annotations,
        meta={KIND_META: kind},
    )


@functools.cache
def _schema_of(model: type[BaseModel]) -> dict[str, Any]:
    # Every tool shares one of three output models: build each JSON schema once, not once per tool.
    return model.model_json_schema()


def _progress_sender(context: Context[Any, Any]) -> ProgressFn:
    async def send(progress: float, total: float | None, message: str) -> None:
        try:
            await context.report_progress(progress, total, message)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            # The client went away; the job goes on and stays in the registry.
            log.debug("progress not delivered: client gone")

    return send


def _wait_schema(max_wait: float, default: float) -> dict[str, Any]:
    return {
        "type": "number",
        "minimum": 0,
        "maximum": max_wait,
        "description": f"Seconds to wait for the result before answering 'running' with a job handle "
        f"(default {default:g}, at most {max_wait:g}). The job keeps running either way.",
    }


def _pop_wait(arguments: dict[str, Any]) -> float | None:
    wait = arguments.pop("wait", None)
    if wait is None:
        return None
    if isinstance(wait, bool) or not isinstance(wait, int | float) or not math.isfinite(wait) or wait < 0:
        raise InvalidInput("wait: give a number of seconds ≥ 0.")
    return float(wait)


_KEY_VALUE = re.compile(r"^[\x21-\x7e]{6,512}$")


def _request(context: Context[Any, Any]) -> Request | None:
    try:
        request = context.request_context.request
    except ValueError:  # no request (called outside a transport)
        return None
    return request if isinstance(request, Request) else None


class _Builder:
    def __init__(
        self,
        calls: Calls,
        redactor: Redactor,
        previews: Previews,
        limits: CallLimits,
        providers: Mapping[str, Provider],
    ) -> None:
        self.previews = previews
        self.limits = limits
        self.providers = providers
        self.calls = calls
        self.redact = redactor
        self.jobs = calls.job_settings

    def _scrub(self, model: ModelT) -> ModelT:
        # Upstream text can echo a key back to us; nothing leaves without passing the redactor.
        return type(model).model_validate_json(self.redact(model.model_dump_json()))

    def _failure(self, provider: str, operation: str, exc: GenmcpError) -> CallToolResult:
        result = ToolResult(
            provider=provider, operation=operation, status="failed", error=error_info(exc), sandbox=self.calls.sandbox
        )
        log.info("%s_%s failed: %s", provider, operation, exc.code)
        return render(self._scrub(result))

    def _client_keys(self, request: Request | None) -> dict[str, str]:
        """Keys the caller sent in `X-<Provider>-Api-Key` headers, where this server allows them."""
        keys: dict[str, str] = {}
        if request is None:
            return keys
        for name, provider in self.providers.items():
            value = request.headers.get(f"x-{name}-api-key")
            if value is None:
                continue
            if not (provider.settings.allow_client_keys and provider.accepts_client_keys):
                raise InvalidInput(
                    f"This server does not take your own {provider.title} key; remove the X-{name.title()}-Api-Key "
                    "header (its configured key is used)."
                )
            if not _KEY_VALUE.match(value):
                raise InvalidInput(f"The X-{name.title()}-Api-Key header is not a valid key.")
            keys[name] = value
        return keys

    def _guarded(self, label: tuple[str, str], invoke: Invoke) -> Invoke:
        """Every call: the caller's own keys for this request only, then the per-caller limits."""

        async def guarded(arguments: dict[str, Any], context: Context[Any, Any]) -> CallToolResult:
            request = _request(context)
            try:
                keys = self._client_keys(request)
            except GenmcpError as exc:
                return self._failure(*label, exc)
            token = CLIENT_KEYS.set(keys)
            try:
                caller = current_caller() or (request.client.host if request and request.client else "local")
                async with self.limits.admit(caller):
                    return await invoke(arguments, context)
            except GenmcpError as exc:
                return self._failure(*label, exc)
            finally:
                CLIENT_KEYS.reset(token)

        return guarded

    async def _answer(self, result: ToolResult) -> CallToolResult:
        return render(self._scrub(result), await self.previews.of(result))

    def _rendered(self, model: BaseModel, text: Callable[[Any], str]) -> CallToolResult:
        clean = self._scrub(model)
        return CallToolResult(content=[TextContent(text=text(clean))], structured_content=clean.model_dump(mode="json"))

    def operation_tool(self, provider: Provider, operation: Operation) -> GenmcpTool:
        spends = operation.kind == "spend"
        parameters = operation.input_model.model_json_schema()
        parameters.pop("title", None)
        if spends:
            parameters.setdefault("properties", {})["wait"] = _wait_schema(
                self.jobs.max_wait_seconds, self.jobs.wait_seconds
            )

        async def invoke(arguments: dict[str, Any], context: Context[Any, Any]) -> CallToolResult:
            try:
                raw = dict(arguments)
                wait = _pop_wait(raw) if spends else None
                args: OperationInput = parse_arguments(operation.input_model, raw)
                result = await self.calls.run(
                    provider, operation, args, wait=wait, progress=_progress_sender(context), caller=current_caller()
                )
            except GenmcpError as exc:
                return self._failure(provider.name, operation.name, exc)
            return await self._answer(result)

        guarded = self._guarded((provider.name, operation.name), invoke)
        return _make_tool(
            name=f"{provider.name}_{operation.name}",
            title=f"{provider.title}: {operation.title}",
            description=self._describe(provider, operation),
            parameters=parameters,
            output=ToolResult,
            annotations=ToolAnnotations(
                title=f"{provider.title}: {operation.title}",
                read_only_hint=operation.kind == "read",
                destructive_hint=False,
                idempotent_hint=operation.kind == "read",
                open_world_hint=True,
            ),
            invoke=guarded,
            kind=operation.kind,
        )

    def _describe(self, provider: Provider, operation: Operation) -> str:
        lines = [operation.summary.strip(), "", f"Cost: {operation.cost}", f"Time: {operation.duration}"]
        if operation.kind == "spend":
            lines.append(
                f"Waits up to `wait` seconds (default {self.jobs.wait_seconds:g}); if the job is still running it "
                "answers status 'running' with a `job` handle instead of failing — call `poll` with that handle. "
                "The job is never lost or re-sent."
            )
        lines.append(f"Returns: {operation.returns}")
        return "\n".join(lines)

    def poll_tool(self) -> GenmcpTool:
        parameters = {
            "type": "object",
            "properties": {
                "job": {
                    "type": "string",
                    "maxLength": 240,
                    "description": "The job handle, e.g. 'conceptviz:vaW29_MJ1wbnyFU4bl_pd'.",
                },
                "wait": _wait_schema(self.jobs.max_wait_seconds, self.jobs.wait_seconds),
            },
            "required": ["job"],
            "additionalProperties": False,
        }

        async def invoke(arguments: dict[str, Any], context: Context[Any, Any]) -> CallToolResult:
            raw = dict(arguments)
            handle = raw.get("job")
            provider = handle.split(":", 1)[0] if isinstance(handle, str) else "genmcp"
            try:
                wait = _pop_wait(raw)
                if not isinstance(handle, str) or set(raw) != {"job"}:
                    raise InvalidInput("poll takes `job` (a handle string) and optionally `wait`.")
                result = await self.calls.poll(
                    handle, wait=wait, progress=_progress_sender(context), caller=current_caller()
                )
            except GenmcpError as exc:
                return self._failure(provider, "poll", exc)
            return await self._answer(result)

        guarded = self._guarded(("genmcp", "poll"), invoke)
        return _make_tool(
            name="poll",
            title="Finish a job",
            description=(
                "Wait for a generation job started earlier (by any genmcp tool, or elsewhere with the same key) and "
                "return its result. A finished job answers at once from genmcp's registry, without contacting the "
                "provider. If the job is still running when `wait` runs out, the answer is status 'running' again "
                "with when to ask next — never an error.\n\nCost: free.\nReturns: the same result shape as the tool "
                "that started the job."
            ),
            parameters=parameters,
            output=ToolResult,
            annotations=ToolAnnotations(
                title="Finish a job", read_only_hint=True, idempotent_hint=True, open_world_hint=True
            ),
            invoke=guarded,
        )

    def cancel_tool(self, providers: list[str]) -> GenmcpTool:
        parameters = {
            "type": "object",
            "properties": {"job": {"type": "string", "maxLength": 240, "description": "The job handle to cancel."}},
            "required": ["job"],
            "additionalProperties": False,
        }

        async def invoke(arguments: dict[str, Any], context: Context[Any, Any]) -> CallToolResult:
            handle = arguments.get("job")
            provider = handle.split(":", 1)[0] if isinstance(handle, str) else "genmcp"
            try:
                if not isinstance(handle, str) or set(arguments) != {"job"}:
                    raise InvalidInput("cancel takes one argument: `job` (a handle string).")
                result = await self.calls.cancel(handle, caller=current_caller())
            except GenmcpError as exc:
                return self._failure(provider, "cancel", exc)
            return await self._answer(result)

        guarded = self._guarded(("genmcp", "cancel"), invoke)
        return _make_tool(
            name="cancel",
            kind="write",
            title="Cancel a job",
            description=(
                f"Cancel a running generation job by handle (providers that can cancel: {', '.join(providers)}). "
                "Credits are refunded as the provider's policy says. A job that already finished is reported as "
                "such and left alone.\n\nCost: free.\nReturns: the job's result shape, status 'failed' with error "
                "code 'cancelled' once cancelled."
            ),
            parameters=parameters,
            output=ToolResult,
            annotations=ToolAnnotations(
                title="Cancel a job",
                read_only_hint=False,
                destructive_hint=True,
                idempotent_hint=True,
                open_world_hint=True,
            ),
            invoke=guarded,
        )

    def jobs_tool(self, providers: list[str]) -> GenmcpTool:
        statuses = list(JobStatus.__args__)  # type: ignore[attr-defined]
        parameters = {
            "type": "object",
            "properties": {
                "provider": {"type": "string", "enum": providers, "description": "Only this provider's jobs."},
                "status": {"type": "string", "enum": statuses, "description": "Only jobs in this state."},
                "limit": {"type": "integer", "minimum": 1, "maximum": 200, "default": 20},
            },
            "additionalProperties": False,
        }

        async def invoke(arguments: dict[str, Any], context: Context[Any, Any]) -> CallToolResult:
            try:
                query = _JobsQuery.model_validate(arguments)
                if query.status is not None and query.status not in statuses:
                    raise InvalidInput(f"status: one of {', '.join(statuses)}.")
                result = await self.calls.jobs(
                    provider=query.provider, status=query.status, limit=query.limit, caller=current_caller()
                )
            except GenmcpError as exc:
                return self._failure("genmcp", "jobs", exc)
            except ValueError as exc:
                return self._failure("genmcp", "jobs", InvalidInput(f"Invalid arguments: {exc}"))
            return self._rendered(result, _jobs_text)

        guarded = self._guarded(("genmcp", "jobs"), invoke)
        return _make_tool(
            name="jobs",
            title="List jobs",
            description=(
                "List recent generation jobs from genmcp's registry, newest first: handle, provider, operation, "
                "status, credits and errors. Use a handle with `poll`.\n\nCost: free; contacts no provider."
            ),
            parameters=parameters,
            output=JobsResult,
            annotations=ToolAnnotations(
                title="List jobs", read_only_hint=True, idempotent_hint=True, open_world_hint=False
            ),
            invoke=guarded,
        )

    def credits_tool(self, providers: list[str]) -> GenmcpTool:
        parameters = {
            "type": "object",
            "properties": {
                "provider": {"type": "string", "enum": providers, "description": "Only this provider."},
            },
            "additionalProperties": False,
        }

        async def invoke(arguments: dict[str, Any], context: Context[Any, Any]) -> CallToolResult:
            try:
                extra = set(arguments) - {"provider"}
                provider = arguments.get("provider")
                if extra or (provider is not None and not isinstance(provider, str)):
                    raise InvalidInput("credits takes only an optional `provider` name.")
                result = await self.calls.credits(provider)
            except GenmcpError as exc:
                return self._failure("genmcp", "credits", exc)
            return self._rendered(result, _credits_text)

        guarded = self._guarded(("genmcp", "credits"), invoke)
        return _make_tool(
            name="credits",
            title="Credit balances",
            description=(
                "Show the credit balance of every configured provider (or one). Where a provider has no balance "
                "endpoint, shows the last balance it reported and when.\n\nCost: free."
            ),
            parameters=parameters,
            output=CreditsResult,
            annotations=ToolAnnotations(
                title="Credit balances", read_only_hint=True, idempotent_hint=True, open_world_hint=True
            ),
            invoke=guarded,
        )


class _JobsQuery(BaseModel):
    model_config = {"extra": "forbid"}

    provider: str | None = None
    status: str | None = None
    limit: int = Field(default=20, ge=1, le=200)


def _jobs_text(result: JobsResult) -> str:
    if not result.jobs:
        return "No jobs."
    lines = [f"{len(result.jobs)} job(s), newest first:"]
    for job in result.jobs:
        cost = f", {job.credits.charged:g} credits" if job.credits and job.credits.charged is not None else ""
        error = f", {job.error.code}" if job.error else ""
        lines.append(f"- {job.job or job.id}: {job.operation} {job.status}{cost}{error} ({job.created_at})")
    return "\n".join(lines)


def _credits_text(result: CreditsResult) -> str:
    lines = []
    for entry in result.balances:
        if entry.error is not None:
            lines.append(f"- {entry.provider}: unavailable ({entry.error.message})")
        elif entry.remaining is None:
            lines.append(f"- {entry.provider}: unknown. {entry.note or ''}".rstrip())
        else:
            seen = "" if entry.live else f" (last reported {entry.as_of})"
            lines.append(f"- {entry.provider}: {entry.remaining:g} credits{seen}")
    if result.sandbox:
        lines.append("(sandbox: simulated balances)")
    return "Credits:\n" + "\n".join(lines)


def build_tools(
    providers: Mapping[str, Provider], calls: Calls, redactor: Redactor, previews: Previews, limits: CallLimits
) -> list[Tool]:
    """Every tool genmcp serves for these providers: their operations (under include/exclude) and the shared ones."""
    builder = _Builder(calls, redactor, previews, limits, providers)
    tools: list[Tool] = []
    for provider in providers.values():
        for operation in provider.operations():
            if provider.settings.serves(operation.name):
                tools.append(builder.operation_tool(provider, operation))
    names = sorted(providers)
    tools += [builder.poll_tool(), builder.jobs_tool(names), builder.credits_tool(names)]
    cancellable = sorted(name for name, provider in providers.items() if provider.can_cancel)
    if cancellable:
        tools.append(builder.cancel_tool(cancellable))
    return tools


def parse_arguments(model: type[OperationInput], arguments: Mapping[str, Any]) -> OperationInput:
    """Validate raw tool arguments into an operation's input model, or raise `InvalidInput` saying what to fix."""
    try:
        return model.model_validate(dict(arguments))
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False, include_input=False):
            where = ".".join(str(part) for part in error["loc"]) or "arguments"
            message = "not an accepted argument" if error["type"] == "extra_forbidden" else error["msg"]
            problems.append(f"{where}: {message}")
        raise InvalidInput("Invalid arguments — " + "; ".join(problems) + ". Nothing was sent upstream.") from exc
