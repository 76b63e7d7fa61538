from __future__ import annotations

import pytest
from mcp import Client

from server.app import Runtime

pytestmark = pytest.mark.anyio


async def test_generate_then_poll(runtime: Runtime) -> None:
    async with Client(runtime.mcp) as client:
        tools = await client.list_tools()
        print([t.name for t in tools.tools])
        result = await client.call_tool("conceptviz_generate", {"prompt": "water cycle", "wait": 5})
        print(result)
        assert result.structured_content["status"] == "running"
        handle = result.structured_content["job"]
        result = await client.call_tool("poll", {"job": handle, "wait": 50})
        print(result)
        assert result.structured_content["status"] == "completed"
