"""Reading tool results the way a client does."""

from __future__ import annotations

from typing import Any

from mcp_types import CallToolResult

__all__ = ["data", "error_code", "text"]


def data(result: CallToolResult) -> dict[str, Any]:
    """The structured content of a result (every genmcp tool answers with one)."""
    assert isinstance(result.structured_content, dict), result.content
    return result.structured_content


def text(result: CallToolResult) -> str:
    """The text blocks of a result, one after the other on their own lines."""
    return "\n".join(block.text for block in result.content if block.type == "text")


def error_code(result: CallToolResult) -> str | None:
    """The `error.code` of a failed genmcp result (None when it has none)."""
    content = result.structured_content
    if not isinstance(content, dict) or not isinstance(content.get("error"), dict):
        return None
    code = content["error"].get("code")
    return code if isinstance(code, str) else None
