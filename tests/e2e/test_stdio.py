"""genmcp over stdio: the real MCP client spawning `genmcp serve --stdio --sandbox`, and stdout checked line by line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp_types import ResourceLink

from tests.e2e.conftest import (
    INITIALIZE,
    TOOLS,
    ProgressRecorder,
    poll_until_done,
    sandbox_env,
)
from tests.harness.process import GENMCP, Deadline, ProcessLog, clean_env, start_stdio
from tests.harness.results import data, text

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

STDIO_ARGS = ["serve", "--stdio", "--sandbox"]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_stdio_job_flow(process_log: ProcessLog, mode: str) -> None:
    """A 2026 client (discovery first) and a 2025 one (the initialize handshake) both get the tools: genmcp starts
    its runtime once the handshake is answered, or at the first request that needs it."""
    env = clean_env(process_log.workdir, **sandbox_env())
    params = StdioServerParameters(command=GENMCP, args=STDIO_ARGS, env=env, cwd=process_log.workdir)
    progress = ProgressRecorder()
    with process_log.stderr_path.open("w", encoding="utf-8") as errlog, anyio.fail_after(40):
        async with Client(stdio_client(params, errlog=errlog), mode=mode) as client:
            names = {tool.name for tool in (await client.list_tools()).tools}
            assert names >= TOOLS, sorted(names)

            started = await client.call_tool("conceptviz_generate", {"prompt": "water cycle diagram", "wait": 0})
            assert not started.is_error, text(started)
            running = data(started)
            assert running["status"] == "running"
            assert running["sandbox"] is True
            handle = running["job"]
            assert isinstance(handle, str)
            assert handle.startswith("conceptviz:")

            finished = await poll_until_done(client, handle, progress)
            done = data(finished)
            assert done["status"] == "completed", done
            assert progress.calls, "no progress notification was received during poll"
            (asset,) = done["assets"]
            url = asset["url"]
            assert url.startswith("http://127.0.0.1:"), url
            assert url.endswith(".png"), url
            assert [str(b.uri) for b in finished.content if isinstance(b, ResourceLink)] == [url]

            # Even on stdio the simulator serves its files on a loopback port of the genmcp process.
            async with httpx2.AsyncClient(timeout=10) as http:
                image = await http.get(url)
            assert image.status_code == 200
            assert image.content.startswith(b"\x89PNG\r\n\x1a\n")


def _protocol_message(line: bytes) -> dict[str, Any]:
    try:
        message = json.loads(line)
    except ValueError:
        pytest.fail(f"stdout carried a line that is not JSON: {line!r}")
    assert isinstance(message, dict), line
    assert message.get("jsonrpc") == "2.0", line
    return message


def test_stdout_carries_only_protocol(tmp_path: Path) -> None:
    deadline = Deadline(20)
    messages: list[dict[str, Any]] = []
    with start_stdio(tmp_path, args=["--sandbox"], env=sandbox_env()) as server:
        server.send(INITIALIZE)
        line = server.read_line(deadline.left())
        assert line, "genmcp closed stdout before answering"
        messages.append(_protocol_message(line))
        server.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        server.send({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
        while messages[-1].get("id") != 2:
            line = server.read_line(deadline.left())
            assert line, "genmcp closed stdout before answering"
            messages.append(_protocol_message(line))

        # End of input ends the server; whatever else it wrote to stdout must be protocol too.
        server.close_input()
        code = server.wait(deadline.left())
        rest = server.read_rest(deadline.left())

    messages += [_protocol_message(line) for line in rest.splitlines() if line.strip()]
    by_id = {message["id"]: message for message in messages if "id" in message}
    initialized, listed = by_id[1], by_id[2]
    assert initialized["id"] == 1
    assert initialized["result"]["protocolVersion"] == "2025-06-18"
    assert initialized["result"]["serverInfo"]["name"] == "genmcp"
    assert {tool["name"] for tool in listed["result"]["tools"]} >= TOOLS
    assert code == 0, server.stderr()
    stderr = server.stderr()
    assert "SANDBOX" in stderr
    assert "genmcp" in stderr
