"""The one generic path from a tool declaration to an MCP tool: provider operations and the shared job tools alike.

Every tool is a `ToolSpec` — a name, a pydantic argument model, an output model, a kind and an answer function — and
`GenmcpTool` serves each the same way: the input schema is the argument model's, arguments are validated before
anything goes upstream, the caller is read once (identity, address, own keys), the per-caller limits apply, and
every `GenmcpError` becomes an `isError` result whose charge wording follows the tool's kind.
"""

from __future__ import annotations

import copy
import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

import anyio
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata
from mcp_types import CallToolResult, InputRequiredResult, TextContent, ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from starlette.requests import Request

from providers.base import Operation, OperationInput, Provider
from server.callers import Caller
from server.calls import Started
from server.errors import GenmcpError, InvalidInput
from server.limits import CallLimits
from server.output_schema import output_schema
from server.polling import ProgressFn
from server.previews import Previews
from server.questions import Questions
from server.redaction import Redactor
from server.results import ErrorInfo, ToolResult, render

__all__ = [
    "KIND_META",
    "Began",
    "Call",
    "GenmcpTool",
    "StrictArguments",
    "ToolSpec",
    "Tools",
    "operation_arguments",
    "parse_arguments",
    "save_fields",
    "wait_field",
    "with_wait",
]

KIND_META = "io.genmcp/kind"
"""Tool `_meta` key: read, write or spend (whether a call can cost credits)."""

log = logging.getLogger("genmcp.tools")

Kind = Literal["read", "write", "spend"]
ArgsT = TypeVar("ArgsT", bound=BaseModel)
ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True)
class Call:
    """What a tool's answer function gets besides its arguments: who calls, how to report progress, and what the
    client can be asked (its roots, a person's confirmation)."""

    caller: Caller
    progress: ProgressFn
    questions: Questions = field(default_factory=lambda: Questions(None))


Answer = Callable[[ArgsT, Call], Awaitable[BaseModel | InputRequiredResult]]
"""Produces the tool's result — or, for a 2026 client that must answer questions first, an `InputRequiredResult`."""
Start = Callable[[ArgsT, Call], Awaitable["ToolResult | InputRequiredResult | Started"]]
"""Begins a call without waiting for its job: the result when it answered at once (or the questions to answer
first), else the job it started."""
Began = CallToolResult | InputRequiredResult | Started
"""What beginning a call gives the MCP task path: an answer to send as it is, or the started job to follow."""


@dataclass(frozen=True)
class ToolSpec(Generic[ArgsT]):
    """One tool: what a model reads about it, what it takes, and what answers it.

    Args:
        provider: Whose tool it is ('genmcp' for the shared ones): names the tool in failures.
        arguments: The argument model (unknown arguments refused): its schema is the tool's input schema.
        output: The result model: its schema is the tool's output schema.
        answer: Produces the result (a `ToolResult` is rendered with links and a preview; other results as text).
        text: How a non-`ToolResult` answer reads as text.
        endpoints: The providers whose own endpoint (`/mcp/<provider>`) serves this tool too.
        start: For a tool whose job can outlast a call: begins it without waiting (a client following MCP tasks
            gets the job as a task instead of a bounded wait).
    """

    name: str
    title: str
    description: str
    provider: str
    operation: str
    kind: Kind
    arguments: type[ArgsT]
    output: type[BaseModel]
    annotations: ToolAnnotations
    answer: Answer[ArgsT]
    text: Callable[[Any], str] | None = None
    endpoints: frozenset[str] = frozenset()
    start: Start[ArgsT] | None = None


class _NoArguments(ArgModelBase):
    """Placeholder for the SDK: genmcp validates arguments itself, against the tool's own model."""


@functools.cache
def _schema_of(model: type[BaseModel]) -> dict[str, Any]:
    # Built once per model, not once per tool and endpoint.
    schema = model.model_json_schema()
    schema.pop("title", None)
    return schema


@functools.cache
def _output_schema_of(model: type[BaseModel]) -> dict[str, Any]:
    return output_schema(model)


class GenmcpTool(Tool):
    """An SDK tool whose call goes straight to genmcp's invoke function (which validates and renders).

    `begin`, for a tool whose job can outlast a call, starts the call without waiting for its job (the MCP task path,
    `server.tasks.extension`): through the same validation, caller, limits, budget and questions as `invoke`.
    """

    invoke: Callable[[dict[str, Any], Context[Any, Any]], Awaitable[CallToolResult | InputRequiredResult]] = Field(
        exclude=True
    )
    begin: Callable[[dict[str, Any], Context[Any, Any]], Awaitable[Began]] | None = Field(default=None, exclude=True)

    async def run(
        self, arguments: dict[str, Any], context: Context[Any, Any], convert_result: bool = False
    ) -> CallToolResult | InputRequiredResult:
        return await self.invoke(arguments, context)


def _request(context: Context[Any, Any]) -> Request | None:
    try:
        request = context.request_context.request
    except ValueError:  # no request (called outside a transport)
        return None
    return request if isinstance(request, Request) else None


def _progress_sender(context: Context[Any, Any]) -> ProgressFn:
    async def send(progress: float, total: float | None, message: str) -> None:
        try:
            await context.report_progress(progress, total, message)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            # The client went away; the job goes on and stays in the registry.
            log.debug("progress not delivered: client gone")

    return send


class Tools:
    """Turns `ToolSpec`s into served tools: one guard, one validation, one rendering for all of them."""

    def __init__(
        self,
        *,
        providers: Mapping[str, Provider],
        limits: CallLimits,
        redactor: Redactor,
        previews: Previews,
        scope_guard: Callable[[Kind], None] | None = None,
    ) -> None:
        self.providers = providers
        self.limits = limits
        self.redact = redactor
        self.previews = previews
        self.scope_guard = scope_guard
        """Refuses a call whose kind the caller's OAuth token was not granted (built-in authorization server)."""

    def scrub(self, model: ModelT) -> ModelT:
        # Upstream text can echo a key back to us; nothing leaves without passing the redactor.
        dumped = model.model_dump_json()
        clean = self.redact(dumped)
        return model if clean == dumped else type(model).model_validate_json(clean)

    def failure(self, spec: ToolSpec[Any], exc: GenmcpError, *, sandbox: bool) -> CallToolResult:
        """A failed call as the client sees it; a tool that cannot spend says that nothing was spent."""
        result = ToolResult(
            provider=spec.provider,
            operation=spec.operation,
            status="failed",
            error=ErrorInfo.of(exc, spending=spec.kind == "spend"),
            sandbox=sandbox,
        )
        log.info("%s failed: %s", spec.name, exc.code)
        return render(self.scrub(result))

    async def result(self, answer: ToolResult) -> CallToolResult:
        """A result as the client sees it: scrubbed, with links and at most one preview."""
        return render(self.scrub(answer), await self.previews.of(answer))

    async def _rendered(self, spec: ToolSpec[Any], answer: BaseModel) -> CallToolResult:
        if isinstance(answer, ToolResult):
            return await self.result(answer)
        clean = self.scrub(answer)
        text = spec.text(clean) if spec.text is not None else clean.model_dump_json()
        return CallToolResult(content=[TextContent(text=text)], structured_content=clean.model_dump(mode="json"))

    def tool(self, spec: ToolSpec[ArgsT], *, sandbox: bool) -> GenmcpTool:
        """The served tool for a spec."""

        async def guarded(
            arguments: dict[str, Any], context: Context[Any, Any], answer: Start[ArgsT] | Answer[ArgsT]
        ) -> BaseModel | Started | CallToolResult | InputRequiredResult:
            try:
                if self.scope_guard is not None:
                    self.scope_guard(spec.kind)
                args = parse_arguments(spec.arguments, arguments)
                caller = Caller.of(_request(context), self.providers)
                call = Call(caller=caller, progress=_progress_sender(context), questions=Questions(context))
                with caller.keys_in_scope():
                    async with self.limits.admit(caller.bucket):
                        return await answer(args, call)
            except GenmcpError as exc:
                return self.failure(spec, exc, sandbox=sandbox)

        async def invoke(arguments: dict[str, Any], context: Context[Any, Any]) -> CallToolResult | InputRequiredResult:
            answer = await guarded(arguments, context, spec.answer)
            if isinstance(answer, CallToolResult | InputRequiredResult):
                return answer
            assert not isinstance(answer, Started), "an answer function returns results"
            return await self._rendered(spec, answer)

        async def begin(arguments: dict[str, Any], context: Context[Any, Any]) -> Began:
            assert spec.start is not None
            started = await guarded(arguments, context, spec.start)
            if isinstance(started, CallToolResult | InputRequiredResult | Started):
                return started
            return await self._rendered(spec, started)

        return GenmcpTool(
            fn=invoke,
            invoke=invoke,
            begin=begin if spec.start is not None else None,
            name=spec.name,
            title=spec.title,
            description=spec.description,
            parameters=copy.deepcopy(_schema_of(spec.arguments)),
            fn_metadata=FuncMetadata(
                arg_model=_NoArguments, output_schema=copy.deepcopy(_output_schema_of(spec.output))
            ),
            is_async=True,
            annotations=spec.annotations,
            meta={KIND_META: spec.kind},
        )


def wait_field(default: float, maximum: float) -> Any:
    """The `wait` argument: seconds to wait before answering 'running' (a larger value is capped, not refused)."""
    return Field(
        default=default,
        ge=0,
        strict=True,
        allow_inf_nan=False,
        json_schema_extra={"maximum": maximum},
        description=f"Seconds to wait for the result before answering 'running' with a job handle (default "
        f"{default:g}, at most {maximum:g}). The job keeps running either way.",
    )


def save_fields() -> dict[str, Any]:
    """The `save_to` and `overwrite` arguments (generating tools, `poll`)."""
    return {
        "save_to": (
            str | None,
            Field(
                default=None,
                max_length=1024,
                description="Write the result's files into your project: a file path (e.g. 'public/icon.png'; a "
                "batch is numbered icon-1.png, icon-2.png …) or a directory ending in '/'. Relative paths are inside "
                "your project (the client's first root) or the first configured output directory; nothing is "
                "written anywhere else. A job still running is saved when it completes.",
            ),
        ),
        "overwrite": (
            bool,
            Field(default=False, strict=True, description="Replace files that already exist (default: refuse)."),
        ),
    }


_TOOL_ONLY = frozenset({"wait", "save_to", "overwrite"})
"""Arguments the tool adds to an operation's own input."""


def with_wait(
    model: type[OperationInput], default: float, maximum: float, *, saving: bool = False
) -> type[OperationInput]:
    """An operation's argument model plus `wait` (for spending tools), and `save_to` / `overwrite` with `saving`."""
    extra = save_fields() if saving else {}
    waiting: type[OperationInput] = create_model(
        model.__name__,
        __base__=model,
        __module__=model.__module__,
        __doc__=model.__doc__,
        wait=(float, wait_field(default, maximum)),
        **extra,
    )
    return waiting


def operation_arguments(operation: Operation[OperationInput], args: OperationInput) -> OperationInput:
    """The operation's own input (without `wait`, `save_to`, `overwrite`), from already validated tool arguments."""
    if type(args) is operation.input_model:
        return args
    values = {name: getattr(args, name) for name in operation.input_model.model_fields}
    return operation.input_model.model_construct(_fields_set=args.model_fields_set - _TOOL_ONLY, **values)


class StrictArguments(BaseModel):
    """Base of the shared tools' arguments: unknown arguments are refused."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


def parse_arguments(model: type[ArgsT], arguments: Mapping[str, Any]) -> ArgsT:
    """Validate raw tool arguments, or raise `InvalidInput` saying what to fix."""
    try:
        return model.model_validate(dict(arguments))
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False, include_input=False):
            where = ".".join(str(part) for part in error["loc"]) or "arguments"
            message = "not an accepted argument" if error["type"] == "extra_forbidden" else error["msg"]
            problems.append(f"{where}: {message}")
        raise InvalidInput("Invalid arguments — " + "; ".join(problems) + ". Nothing was sent upstream.") from exc
