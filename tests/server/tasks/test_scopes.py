"""Tasks under genmcp's own authorization server: a token follows the tasks of its person, and the task methods
need the scopes the tools they stand for need — `tasks/cancel` is `cancel` (write)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from tests.harness.oauth import MCP, AuthServer, aligned_clock, builtin_settings, running_auth_server
from tests.harness.tasks_client import CreatedTask, TasksClient
from tests.server.oauth.test_flow import register, tokens_for

pytestmark = pytest.mark.anyio


@pytest.fixture
async def auth_server(tmp_path: Path) -> AsyncIterator[AuthServer]:
    async with running_auth_server(builtin_settings(tmp_path), aligned_clock()) as server:
        yield server


async def test_a_read_only_token_follows_a_task_but_cannot_cancel_it(auth_server: AuthServer) -> None:
    client = await register(auth_server.http())
    full = (await tokens_for(auth_server, client))["access_token"]
    read_only = (await tokens_for(auth_server, client, scopes_kept=[]))["access_token"]
    tasks = TasksClient(sleep=auth_server.clock.sleep)
    async with (
        auth_server.http(Authorization=f"Bearer {full}") as http,
        Client(streamable_http_client(MCP, http_client=http), extensions=[tasks]) as spender,
    ):
        created = await spender.session.call_tool("conceptviz_generate", {"prompt": "a task"}, allow_claimed=True)
    assert isinstance(created, CreatedTask)
    async with (
        auth_server.http(Authorization=f"Bearer {read_only}") as http,
        Client(streamable_http_client(MCP, http_client=http), extensions=[tasks]) as reader,
    ):
        seen = await tasks.get(reader.session, created.task_id)
        with pytest.raises(MCPError) as refused:
            await tasks.cancel(reader.session, created.task_id)
        spend = await reader.session.call_tool("conceptviz_generate", {"prompt": "no"}, allow_claimed=True)

    assert seen.status in ("working", "completed")
    assert refused.value.code == -32600
    assert "genmcp:write" in refused.value.message
    assert not isinstance(spend, CreatedTask)  # refused before anything is sent: no task
    assert getattr(spend, "is_error", False) is True
