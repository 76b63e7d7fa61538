"""The fixtures the 2026-07-28 conformance scenarios call besides the task fixtures (`conformance_tasks`): the
input-required tools and prompt (SEP-2322), the stateless-protocol probes (SEP-2575: a tool needing a capability the
client did not declare, tools that change the tool and prompt lists, a tool that asks mid-call, a tool that logs).

They are SDK-level tools on genmcp's server; those that ask for a name use genmcp's own question path
(`tests.clients.mrtr.Questions`), the others build their `InputRequiredResult`s by the scenarios' letter. The
request state is sealed by the SDK (tampering is refused before a fixture runs).
"""

from __future__ import annotations

import json
from typing import Any

import anyio.lowlevel
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.prompts.base import Message, Prompt, UserMessage
from mcp.server.subscriptions import PromptsListChanged
from mcp.shared.exceptions import MCPError
from mcp_types import (
    MISSING_REQUIRED_CLIENT_CAPABILITY,
    CallToolResult,
    ClientCapabilities,
    CreateMessageRequest,
    CreateMessageRequestParams,
    CreateMessageResult,
    ElicitResult,
    InputRequests,
    InputRequiredResult,
    ListRootsRequest,
    ListRootsResult,
    MissingRequiredClientCapabilityErrorData,
    SamplingMessage,
    TextContent,
)

from server.mcp_server import GenmcpServer
from tests.clients.mrtr import InputNeeded, Questions, elicitation

__all__ = ["FIXTURE_PROMPTS_2026", "FIXTURE_TOOLS_2026", "register_2026_fixtures"]

NAME_FORM = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
OK_FORM = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
COLOR_FORM = {"type": "object", "properties": {"color": {"type": "string"}}, "required": ["color"]}
CONTEXT_FORM = {"type": "object", "properties": {"context": {"type": "string"}}, "required": ["context"]}
STATE_OK = "genmcp-state-v1"

FIXTURE_TOOLS_2026 = frozenset(
    {
        "test_input_required_result_elicitation",
        "test_input_required_result_sampling",
        "test_input_required_result_list_roots",
        "test_input_required_result_request_state",
        "test_input_required_result_multiple_inputs",
        "test_input_required_result_multi_round",
        "test_input_required_result_tampered_state",
        "test_input_required_result_capabilities",
        "test_missing_capability",
        "test_trigger_tool_change",
        "test_trigger_prompt_change",
        "test_streaming_elicitation",
        "test_logging_tool",
        "greet",
        "test_custom_headers",
    }
)
FIXTURE_PROMPTS_2026 = frozenset({"test_input_required_result_prompt"})


def _text(text: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(text=text)])


def _sampling(question: str, max_tokens: int) -> CreateMessageRequest:
    message = SamplingMessage(role="user", content=TextContent(text=question))
    return CreateMessageRequest(params=CreateMessageRequestParams(messages=[message], max_tokens=max_tokens))


def _answer_text(response: Any) -> str:
    if isinstance(response, CreateMessageResult) and isinstance(response.content, TextContent):
        return response.content.text
    if isinstance(response, ElicitResult):
        return json.dumps(response.content or {})
    if isinstance(response, ListRootsResult):
        return ", ".join(str(root.uri) for root in response.roots)
    return ""


# ---------------------------------------------------------------------------------------------------------------------
# input required (SEP-2322)


async def test_input_required_result_elicitation(ctx: Context[Any, Any]) -> CallToolResult | InputRequiredResult:
    """Asks the caller's name (genmcp's question path), then greets them."""
    try:
        answer = await Questions(ctx).ask("user_name", "What is your name?", NAME_FORM)
    except InputNeeded as needed:
        return needed.result()
    return _text(f"Hello, {(answer.content or {}).get('name', 'stranger')}!")


async def test_input_required_result_sampling(ctx: Context[Any, Any]) -> CallToolResult | InputRequiredResult:
    """Asks the client's model a question, then reports its answer."""
    response = (ctx.input_responses or {}).get("capital_question")
    if response is None:
        return InputRequiredResult(
            input_requests={"capital_question": _sampling("What is the capital of France?", 100)}
        )
    return _text(f"The model answered: {_answer_text(response)}")


async def test_input_required_result_list_roots(ctx: Context[Any, Any]) -> CallToolResult | InputRequiredResult:
    """Asks for the client's roots, then lists them."""
    response = (ctx.input_responses or {}).get("client_roots")
    if not isinstance(response, ListRootsResult):
        return InputRequiredResult(input_requests={"client_roots": ListRootsRequest(params=None)})
    return _text(f"Roots: {_answer_text(response)}")


async def test_input_required_result_request_state(ctx: Context[Any, Any]) -> CallToolResult | InputRequiredResult:
    """Round-trips a request state and says `state-ok` when it came back intact."""
    if ctx.request_state != STATE_OK or "confirm" not in (ctx.input_responses or {}):
        return InputRequiredResult(
            input_requests={"confirm": elicitation("Please confirm", OK_FORM)}, request_state=STATE_OK
        )
    return _text("state-ok: the request state came back as issued.")


async def test_input_required_result_multiple_inputs(ctx: Context[Any, Any]) -> CallToolResult | InputRequiredResult:
    """Asks three things at once (a form, the model, the roots)."""
    requests: InputRequests = {
        "user_name": elicitation("What is your name?", NAME_FORM),
        "greeting": _sampling("Generate a greeting", 50),
        "client_roots": ListRootsRequest(params=None),
    }
    responses = ctx.input_responses or {}
    if ctx.request_state != STATE_OK or not all(key in responses for key in requests):
        return InputRequiredResult(input_requests=requests, request_state=STATE_OK)
    return _text("; ".join(f"{key}: {_answer_text(responses[key])}" for key in requests))


async def test_input_required_result_multi_round(ctx: Context[Any, Any]) -> CallToolResult | InputRequiredResult:
    """Two rounds (name, then colour), the state growing with the answers (genmcp's question path)."""
    questions = Questions(ctx)
    try:
        name = await questions.ask("step1", "Step 1: What is your name?", NAME_FORM)
        color = await questions.ask("step2", "Step 2: What is your favorite color?", COLOR_FORM)
    except InputNeeded as needed:
        return needed.result()
    return _text(f"{(name.content or {}).get('name')} likes {(color.content or {}).get('color')}.")


async def test_input_required_result_tampered_state(ctx: Context[Any, Any]) -> CallToolResult | InputRequiredResult:
    """Issues a request state (sealed by the SDK; a tampered one never reaches this function)."""
    if ctx.request_state != STATE_OK or "confirm" not in (ctx.input_responses or {}):
        return InputRequiredResult(
            input_requests={"confirm": elicitation("Please confirm", OK_FORM)}, request_state=STATE_OK
        )
    return _text("Request state verified; the call is complete.")


async def test_input_required_result_capabilities(ctx: Context[Any, Any]) -> CallToolResult | InputRequiredResult:
    """Asks only through the capabilities the client declared."""
    capabilities = ctx.client_capabilities or ClientCapabilities()
    requests: InputRequests = {}
    if capabilities.elicitation is not None:
        requests["user_name"] = elicitation("What is your name?", NAME_FORM)
    if capabilities.sampling is not None:
        requests["greeting"] = _sampling("Generate a greeting", 50)
    responses = ctx.input_responses or {}
    if not requests or all(key in responses for key in requests):
        return _text("Declared-capability input answered.")
    return InputRequiredResult(input_requests=requests)


async def test_input_required_result_prompt(ctx: Context[Any, Any]) -> list[Message] | InputRequiredResult:
    """A prompt that asks for its context first."""
    response = (ctx.input_responses or {}).get("user_context")
    if not isinstance(response, ElicitResult):
        return InputRequiredResult(
            input_requests={"user_context": elicitation("What context should the prompt use?", CONTEXT_FORM)}
        )
    context = (response.content or {}).get("context", "")
    return [UserMessage(content=TextContent(text=f"Use this context: {context}"))]


# ---------------------------------------------------------------------------------------------------------------------
# the stateless protocol (SEP-2575)


async def test_missing_capability(ctx: Context[Any, Any]) -> CallToolResult:
    """Needs the sampling capability: -32021 naming it when the client did not declare it."""
    capabilities = ctx.client_capabilities
    if capabilities is None or capabilities.sampling is None:
        data = MissingRequiredClientCapabilityErrorData(
            required_capabilities=ClientCapabilities.model_validate({"sampling": {}})
        )
        raise MCPError(
            MISSING_REQUIRED_CLIENT_CAPABILITY,
            "Missing required client capability: sampling",
            data=data.model_dump(by_alias=True, mode="json", exclude_none=True),
        )
    return _text("The client declared sampling.")


async def test_streaming_elicitation(ctx: Context[Any, Any]) -> CallToolResult | InputRequiredResult:
    """Asks mid-call: an input-required result on the request's own stream, never a request of its own."""
    try:
        answer = await Questions(ctx).ask("user_name", "What is your name?", NAME_FORM)
    except InputNeeded as needed:
        return needed.result()
    return _text(f"Hello, {(answer.content or {}).get('name', 'stranger')}!")


CUSTOM_HEADERS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"region": {"type": "string", "description": "Where to run", "x-mcp-header": "Region"}},
    "required": ["region"],
}
"""A parameter mirrored into the `Mcp-Param-Region` header (SEP-2243): the SDK checks header against body."""


def test_custom_headers(region: str) -> CallToolResult:
    """Echoes `region`, which the client also sends as the `Mcp-Param-Region` header."""
    return _text(f"region={region}")


def greet(name: str = "World") -> CallToolResult:
    """Says hello at once (the task scenarios' sync-only tool: never a task)."""
    return _text(f"Hello, {name}!")


async def test_logging_tool(ctx: Context[Any, Any]) -> CallToolResult:
    """Logs (delivered only to a request that asked for a log level)."""
    await ctx.info("test_logging_tool ran")
    await anyio.lowlevel.checkpoint()
    return _text("Logged.")


def register_2026_fixtures(mcp: GenmcpServer) -> None:
    """Add the 2026 fixtures to genmcp's server (the conformance run only)."""
    for fn in (
        test_input_required_result_elicitation,
        test_input_required_result_sampling,
        test_input_required_result_list_roots,
        test_input_required_result_request_state,
        test_input_required_result_multiple_inputs,
        test_input_required_result_multi_round,
        test_input_required_result_tampered_state,
        test_input_required_result_capabilities,
        test_missing_capability,
        test_streaming_elicitation,
        test_logging_tool,
        greet,
        test_custom_headers,
    ):
        mcp.add_tool(fn, structured_output=False)
    # The schema must carry the header annotation verbatim (the SDK derives schemas from signatures otherwise).
    custom = mcp._tool_manager.get_tool("test_custom_headers")
    assert custom is not None
    custom.parameters = CUSTOM_HEADERS_SCHEMA
    mcp.add_prompt(Prompt.from_function(test_input_required_result_prompt))
    _add_list_triggers(mcp)


def _add_list_triggers(mcp: GenmcpServer) -> None:
    """`test_trigger_tool_change` and `test_trigger_prompt_change`: each toggles an extra entry of its list and says
    so the way genmcp announces list changes."""

    def trigger_tool_probe() -> CallToolResult:
        """Exists only while toggled on."""
        return _text("probe")

    def trigger_prompt_probe() -> str:
        """Exists only while toggled on."""
        return "probe"

    async def test_trigger_tool_change() -> CallToolResult:
        """Adds or removes a tool, and announces the change."""
        if mcp._tool_manager.get_tool("trigger_tool_probe") is None:
            mcp.add_tool(trigger_tool_probe, structured_output=False)
        else:
            mcp.remove_tool("trigger_tool_probe")
        mcp.tools_changed()
        return _text("The tool list changed.")

    async def test_trigger_prompt_change() -> CallToolResult:
        """Adds or removes a prompt, and announces the change."""
        if any(prompt.name == "trigger_prompt_probe" for prompt in await mcp.list_prompts()):
            mcp.remove_prompt("trigger_prompt_probe")
        else:
            mcp.add_prompt(Prompt.from_function(trigger_prompt_probe))
        await mcp.tasks.bus.publish(PromptsListChanged())
        return _text("The prompt list changed.")

    mcp.add_tool(test_trigger_tool_change, structured_output=False)
    mcp.add_tool(test_trigger_prompt_change, structured_output=False)
