"""genmcp as shipped, plus the fixtures the MCP conformance suites call — for the conformance runs only.

`python tests/clients/conformance_server.py --port N` builds the real `Runtime` in sandbox mode (settings from the
environment, like `genmcp serve --sandbox`) with one more, test-only provider (`conformance_tasks.Fixtures`: the
task fixtures, run through genmcp's job registry, watchers and Tasks extension), registers the fixture tools,
resources and prompts (`test_simple_text`, `test://static-text`, `test_simple_prompt`, … here; the 2026-07-28 ones in
`conformance_2026`) on the runtime's MCP server, and serves `runtime.http_app()` with uvicorn on 127.0.0.1:N exactly
as `genmcp serve` does. Everything the suites check besides those fixtures — transport, sessions and the stateless
protocol, DNS-rebinding protection, error mapping, progress delivery, capabilities, tools/list with genmcp's own
tools, completions, subscriptions, the Tasks extension — is the product's.

The fixtures follow the suites' published requirements for each scenario (`conformance list --server`); they exist
only here, never in genmcp's tool list. Nothing here adds a capability or transport option genmcp does not have (no
logging/setLevel, no SSE event store): the suites' cases for those fail and are listed, with why, in
`expected_failures.txt` (2025-11-25) and `expected_failures_2026.txt` (2026-07-28).
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import sys
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.lowlevel
import uvicorn
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.prompts.base import Message, UserMessage
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp_types import (
    AudioContent,
    CallToolResult,
    EmbeddedResource,
    ImageContent,
    SamplingMessage,
    TextContent,
    TextResourceContents,
)
from pydantic import BaseModel, Field
from starlette.applications import Starlette

from providers import PROVIDERS
from server.app import Runtime, require_safe_bind
from server.config import Settings, load_settings
from tests.clients.conformance_2026 import register_2026_fixtures
from tests.clients.conformance_tasks import Fixtures, register_fixtures_provider

__all__ = ["main", "register_conformance_fixtures"]

log = logging.getLogger("genmcp.conformance")

PNG_1X1 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
"""A 1×1 red PNG, base64."""
WAV_EMPTY = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA="
"""A minimal PCM WAV file, base64."""
JSON_SCHEMA_TOOL = "json_schema_2020_12_tool"
JSON_SCHEMA_2020_12: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "$defs": {
        "address": {
            "$anchor": "addressDef",
            "type": "object",
            "properties": {"street": {"type": "string"}, "city": {"type": "string"}},
        },
    },
    "properties": {
        "name": {"type": "string"},
        "address": {"$ref": "#/$defs/address"},
        "contactMethod": {"type": "string", "enum": ["phone", "email"]},
        "phone": {"type": "string"},
        "email": {"type": "string"},
    },
    "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
    "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
    "then": {"required": ["phone"]},
    "else": {"required": ["email"]},
    "additionalProperties": False,
}
"""The input schema the json-schema-2020-12 case expects to find verbatim in tools/list (with the SEP-2106 keywords
the 2026-07-28 suite checks too: `$anchor`, `allOf`/`anyOf`, `if`/`then`/`else`)."""
FIXTURE_TOOLS = frozenset(
    {
        "test_simple_text",
        "test_image_content",
        "test_audio_content",
        "test_embedded_resource",
        "test_multiple_content_types",
        "test_tool_with_logging",
        "test_tool_with_progress",
        "test_error_handling",
        "test_sampling",
        "test_elicitation",
        "test_elicitation_sep1034_defaults",
        "test_elicitation_sep1330_enums",
        "test_reconnection",
        JSON_SCHEMA_TOOL,
    }
)
"""Every tool this harness adds (none of them is ever in genmcp's own tool list)."""


def _text(text: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(text=text)])


# ---------------------------------------------------------------------------------------------------------------------
# tools


def test_simple_text() -> CallToolResult:
    """Returns one text block (tools-call-simple-text)."""
    return _text("This is a simple text response for testing.")


def test_image_content() -> CallToolResult:
    """Returns one PNG image block (tools-call-image)."""
    return CallToolResult(content=[ImageContent(data=PNG_1X1, mime_type="image/png")])


def test_audio_content() -> CallToolResult:
    """Returns one WAV audio block (tools-call-audio)."""
    return CallToolResult(content=[AudioContent(data=WAV_EMPTY, mime_type="audio/wav")])


def test_embedded_resource() -> CallToolResult:
    """Returns one embedded text resource (tools-call-embedded-resource)."""
    resource = TextResourceContents(
        uri="test://embedded-resource", mime_type="text/plain", text="This is an embedded resource content."
    )
    return CallToolResult(content=[EmbeddedResource(resource=resource)])


def test_multiple_content_types() -> CallToolResult:
    """Returns text, an image and an embedded resource (tools-call-mixed-content)."""
    resource = TextResourceContents(
        uri="test://mixed-content-resource",
        mime_type="application/json",
        text=json.dumps({"test": "data", "value": 123}),
    )
    return CallToolResult(
        content=[
            TextContent(text="Multiple content types test:"),
            ImageContent(data=PNG_1X1, mime_type="image/png"),
            EmbeddedResource(resource=resource),
        ]
    )


async def test_tool_with_logging(ctx: Context[Any, Any]) -> CallToolResult:
    """Sends three info log notifications, one after another (tools-call-with-logging)."""
    await ctx.info("Tool execution started")
    await anyio.lowlevel.checkpoint()
    await ctx.info("Tool processing data")
    await anyio.lowlevel.checkpoint()
    await ctx.info("Tool execution completed")
    return _text("Tool with logging executed successfully")


async def test_tool_with_progress(ctx: Context[Any, Any]) -> CallToolResult:
    """Reports progress 0, 50 and 100 of 100, one after another (tools-call-with-progress)."""
    for step in (0, 50, 100):
        await anyio.lowlevel.checkpoint()
        await ctx.report_progress(step, 100, f"Completed step {step} of 100")
    return _text("Tool with progress executed successfully")


def test_error_handling() -> CallToolResult:
    """Always fails (tools-call-error): the SDK turns the exception into an isError result."""
    raise ToolError("This tool intentionally returns an error for testing")


async def test_sampling(prompt: str, ctx: Context[Any, Any]) -> CallToolResult:
    """Asks the client to sample an LLM completion for `prompt` (tools-call-sampling)."""
    result = await ctx.session.create_message(
        messages=[SamplingMessage(role="user", content=TextContent(text=prompt))], max_tokens=100
    )
    content = result.content
    return _text(f"LLM response: {content.text if isinstance(content, TextContent) else 'No response'}")


class UserResponse(BaseModel):
    username: str = Field(description="User's response")
    email: str = Field(description="User's email address")


async def test_elicitation(message: str, ctx: Context[Any, Any]) -> CallToolResult:
    """Asks the client for a username and email (tools-call-elicitation)."""
    result = await ctx.elicit(message=message, schema=UserResponse)
    content = result.data.model_dump_json() if result.action == "accept" else "{}"
    return _text(f"User response: action={result.action}, content={content}")


class Sep1034Defaults(BaseModel):
    name: str = Field(default="John Doe", description="User name")
    age: int = Field(default=30, description="User age")
    score: float = Field(default=95.5, description="User score")
    status: str = Field(
        default="active", description="User status", json_schema_extra={"enum": ["active", "inactive", "pending"]}
    )
    verified: bool = Field(default=True, description="Verification status")


async def test_elicitation_sep1034_defaults(ctx: Context[Any, Any]) -> CallToolResult:
    """Elicits a form whose primitive fields all have defaults (elicitation-sep1034-defaults)."""
    result = await ctx.elicit(message="Please provide user information", schema=Sep1034Defaults)
    content = result.data.model_dump_json() if result.action == "accept" else "{}"
    return _text(f"Elicitation completed: action={result.action}, content={content}")


class Sep1330Enums(BaseModel):
    untitledSingle: str = Field(
        description="Simple enum without titles", json_schema_extra={"enum": ["option1", "option2", "option3"]}
    )
    titledSingle: str = Field(
        description="Enum with titled options (oneOf)",
        json_schema_extra={
            "oneOf": [
                {"const": "value1", "title": "First Option"},
                {"const": "value2", "title": "Second Option"},
                {"const": "value3", "title": "Third Option"},
            ]
        },
    )
    legacyEnum: str = Field(
        description="Legacy enum with enumNames",
        json_schema_extra={"enum": ["opt1", "opt2", "opt3"], "enumNames": ["Option One", "Option Two", "Option Three"]},
    )
    untitledMulti: list[str] = Field(
        description="Multi-select without titles",
        json_schema_extra={"items": {"type": "string", "enum": ["option1", "option2", "option3"]}},
    )
    titledMulti: list[str] = Field(
        description="Multi-select with titled options",
        json_schema_extra={
            "items": {
                "anyOf": [
                    {"const": "value1", "title": "First Choice"},
                    {"const": "value2", "title": "Second Choice"},
                    {"const": "value3", "title": "Third Choice"},
                ]
            }
        },
    )


async def test_elicitation_sep1330_enums(ctx: Context[Any, Any]) -> CallToolResult:
    """Elicits a form with the five enum variants of SEP-1330 (elicitation-sep1330-enums)."""
    result = await ctx.elicit(message="Please select values using different enum schema types", schema=Sep1330Enums)
    content = result.data.model_dump_json() if result.action == "accept" else "{}"
    return _text(f"Elicitation completed: action={result.action}, content={content}")


async def test_reconnection(ctx: Context[Any, Any]) -> CallToolResult:
    """Closes its SSE stream mid-call so the client has to resume it (server-sse-polling, SEP-1699)."""
    await ctx.info("Before disconnect")
    await ctx.close_sse_stream()  # a no-op unless the transport keeps an event store
    await anyio.lowlevel.checkpoint()
    await ctx.info("After reconnect")
    return _text("Reconnection test completed")


def json_schema_2020_12_tool(name: str | None = None, address: dict[str, Any] | None = None) -> CallToolResult:
    """Tool with JSON Schema 2020-12 features"""
    return _text(f"name={name!r} address={address!r}")


# ---------------------------------------------------------------------------------------------------------------------
# resources and prompts


def static_text() -> str:
    """A static text resource for testing."""
    return "This is the content of the static text resource."


def static_binary() -> bytes:
    """A static binary resource (a PNG image) for testing."""
    return base64.b64decode(PNG_1X1)


def template_data(id: str) -> str:
    """A resource template with parameter substitution."""
    return json.dumps({"id": id, "templateTest": True, "data": f"Data for ID: {id}"})


def watched_resource() -> str:
    """A resource that can be subscribed to for updates."""
    return "Watched resource content"


def test_simple_prompt() -> list[Message]:
    """A simple prompt without arguments."""
    return [UserMessage(content=TextContent(text="This is a simple prompt for testing."))]


def test_prompt_with_arguments(arg1: str, arg2: str) -> list[Message]:
    """A prompt with required arguments."""
    return [UserMessage(content=TextContent(text=f"Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"))]


def test_prompt_with_embedded_resource(resourceUri: str) -> list[Message]:
    """A prompt that includes an embedded resource."""
    resource = TextResourceContents(
        uri=resourceUri, mime_type="text/plain", text="Embedded resource content for testing."
    )
    return [
        UserMessage(content=EmbeddedResource(resource=resource)),
        UserMessage(content=TextContent(text="Please process the embedded resource above.")),
    ]


def test_prompt_with_image() -> list[Message]:
    """A prompt that includes image content."""
    return [
        UserMessage(content=ImageContent(data=PNG_1X1, mime_type="image/png")),
        UserMessage(content=TextContent(text="Please analyze the image above.")),
    ]


def register_conformance_fixtures(mcp: MCPServer[Any]) -> None:
    """Add the conformance suite's fixture tools, resources and prompts to `mcp` (the test-only provider)."""
    for fn in (
        test_simple_text,
        test_image_content,
        test_audio_content,
        test_embedded_resource,
        test_multiple_content_types,
        test_tool_with_logging,
        test_tool_with_progress,
        test_error_handling,
        test_sampling,
        test_elicitation,
        test_elicitation_sep1034_defaults,
        test_elicitation_sep1330_enums,
        test_reconnection,
        json_schema_2020_12_tool,
    ):
        mcp.add_tool(fn, structured_output=False)
    # The SDK derives a tool's input schema from the function's signature; this fixture must publish a given
    # 2020-12 schema verbatim, so it is set on the registered tool (the SDK has no public setter for it).
    fixture = mcp._tool_manager.get_tool(JSON_SCHEMA_TOOL)
    assert fixture is not None
    fixture.parameters = JSON_SCHEMA_2020_12

    mcp.resource("test://static-text", name="static-text", mime_type="text/plain")(static_text)
    mcp.resource("test://static-binary", name="static-binary", mime_type="image/png")(static_binary)
    mcp.resource("test://template/{id}/data", name="template-data", mime_type="application/json")(template_data)
    mcp.resource("test://watched-resource", name="watched-resource", mime_type="text/plain")(watched_resource)

    for prompt in (
        test_simple_prompt,
        test_prompt_with_arguments,
        test_prompt_with_embedded_resource,
        test_prompt_with_image,
    ):
        mcp.prompt()(prompt)


# ---------------------------------------------------------------------------------------------------------------------
# start-up: `genmcp serve --sandbox --host 127.0.0.1 --port N`, with the fixtures added


def _settings(port: int) -> Settings:
    overrides: dict[str, Any] = {"server": {"host": "127.0.0.1", "port": port}, "sandbox": {"mode": "on"}}
    return load_settings(None, env=os.environ, provider_names=[p.name for p in PROVIDERS], overrides=overrides)


def _configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.server.log_level)
    # The fixtures use the 2025-era logging and sampling APIs the suite tests; the SDK marks them deprecated.
    warnings.filterwarnings("ignore", category=MCPDeprecationWarning)
    for noisy in ("httpx2", "httpcore", "mcp.server.streamable_http", "mcp.server.lowlevel.server"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


async def _serve(settings: Settings) -> None:
    require_safe_bind(settings)
    runtime = Runtime(settings, [*PROVIDERS, Fixtures])
    register_conformance_fixtures(runtime.mcp)
    register_2026_fixtures(runtime.mcp)
    log.info("%s; plus the conformance fixtures", runtime.describe())
    app = runtime.http_app()
    assert isinstance(app, Starlette), "the conformance server runs without inbound auth"
    started = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(starlette: Starlette) -> AsyncIterator[None]:
        async with started(starlette):
            register_fixtures_provider(runtime)  # the runtime has built its tools; requests are not served yet
            yield

    app.router.lifespan_context = lifespan
    config = uvicorn.Config(
        app,
        host=settings.server.host,
        port=settings.server.port,
        log_config=None,
        timeout_graceful_shutdown=5,
        lifespan="on",
    )
    log.info("MCP endpoint: http://%s:%d%s", settings.server.host, settings.server.port, settings.server.path)
    await uvicorn.Server(config).serve()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    parser.add_argument("--port", type=int, required=True, help="loopback port to listen on")
    args = parser.parse_args(argv)
    settings = _settings(args.port)
    _configure_logging(settings)
    try:
        anyio.run(_serve, settings)
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
