"""The Masko tools as a client lists them: every operation, its cost in the description, its kind in the
annotations."""

from __future__ import annotations

import pytest
from mcp import Client

pytestmark = pytest.mark.anyio

SPENDING = {"generate", "generate_batch", "create_mascot", "preview", "apply_canvas_template", "generate_canvas"}
FREE_WRITES = {"create_project", "create_canvas", "upload"}


async def test_every_masko_tool_is_served_with_its_cost_and_kind(client: Client) -> None:
    tools = {tool.name: tool for tool in (await client.list_tools()).tools if tool.name.startswith("masko_")}

    assert set(tools) == {
        f"masko_{name}"
        for name in [
            "create_project",
            "list_projects",
            "create_mascot",
            "list_mascots",
            "get_mascot",
            "generate",
            "generate_batch",
            "list_jobs",
            "upload",
            "list_styles",
            "suggest_actions",
            "analyze_url",
            "preview",
            "create_canvas",
            "list_canvas_templates",
            "apply_canvas_template",
            "generate_canvas",
            "canvas_status",
            "export_canvas",
        ]
    }
    generate = tools["masko_generate"].description or ""
    for fact in ("logo 5", "5 credits per second", "= 21", "free", "pending"):
        assert fact in generate, fact
    assert "wait" in tools["masko_generate"].input_schema["properties"]
    for name, tool in tools.items():
        assert tool.annotations is not None
        read_only = name.removeprefix("masko_") not in SPENDING | FREE_WRITES
        assert tool.annotations.read_only_hint is read_only, name
