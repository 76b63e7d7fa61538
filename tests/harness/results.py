"""Reading tool results the way a client does."""

from __future__ import annotations

from typing import Any

from mcp_types import CallToolResult

__all__ = ["data", "text"]


def data(result: CallToolResult) -> dict[str, Any]:
    """The structured content of a result (every genmcp tool answers with one)."""
    assert isinstance(result.structured_content, dict), result.content
    return result.structured_content


def text(result: CallToolResult) -> str:
    """The text blocks of a result, joined with spaces."""
    return " ".join(block.text for block in result.content if block.type == "text")
