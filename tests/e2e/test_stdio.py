"""genmcp over stdio: the real MCP client spawning `genmcp serve --stdio --sandbox`, and stdout checked line by line."""

from __future__ import annotations

import json
import subprocess
from typing import IO, Any

import anyio
import anyio.to_thread
import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp_types import ResourceLink

from tests.e2e.conftest import (
    GENMCP,
    INITIALIZE,
    TOOLS,
    ProcessLog,
    ProgressRecorder,
    clean_env,
    poll_until_done,
    stop_process,
    structured,
    text_of,
)

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

STDIO_ARGS = ["serve", "--stdio", "--sandbox"]


async def test_stdio_job_flow(process_log: ProcessLog) -> None:
    params = StdioServerParameters(
        command=GENMCP, args=STDIO_ARGS, env=clean_env(process_log.workdir), cwd=process_log.workdir
    )
    progress = ProgressRecorder()
    with process_log.stderr_path.open("w", encoding="utf-8") as errlog, anyio.fail_after(40):
        async with Client(stdio_client(params, errlog=errlog)) as client:
            names = {tool.name for tool in (await client.list_tools()).tools}
            assert names >= TOOLS, sorted(names)

            started = await client.call_tool("conceptviz_generate", {"prompt": "water cycle diagram", "wait": 0})
            assert not started.is_error, text_of(started)
            running = structured(started)
            assert running["status"] == "running"
            assert running["sandbox"] is True
            handle = running["job"]
            assert isinstance(handle, str)
            assert handle.startswith("conceptviz:")

            finished = await poll_until_done(client, handle, progress)
            done = structured(finished)
            assert done["status"] == "completed", done
            assert progress.calls, "no progress notification was received during poll"
            (asset,) = done["assets"]
            url = asset["url"]
            assert url.startswith("http://127.0.0.1:") and url.endswith(".png"), url
            assert [str(b.uri) for b in finished.content if isinstance(b, ResourceLink)] == [url]

            # Even on stdio the simulator serves its files on a loopback port of the genmcp process.
            async with httpx2.AsyncClient(timeout=10) as http:
                image = await http.get(url)
            assert image.status_code == 200
            assert image.content.startswith(b"\x89PNG\r\n\x1a\n")


def _send(process: subprocess.Popen[bytes], message: dict[str, Any]) -> None:
    assert process.stdin is not None
    process.stdin.write(json.dumps(message).encode() + b"\n")
    process.stdin.flush()


async def _next_message(stdout: IO[bytes]) -> dict[str, Any]:
    # Abandoned on timeout; the process is killed in the test's finally, which ends the blocked read.
    line = await anyio.to_thread.run_sync(stdout.readline, abandon_on_cancel=True)
    assert line, "genmcp closed stdout before answering"
    return _protocol_message(line)


def _protocol_message(line: bytes) -> dict[str, Any]:
    try:
        message = json.loads(line)
    except ValueError:
        pytest.fail(f"stdout carried a line that is not JSON: {line!r}")
    assert isinstance(message, dict), line
    assert message.get("jsonrpc") == "2.0", line
    return message


async def test_stdout_carries_only_protocol(process_log: ProcessLog) -> None:
    with process_log.stderr_path.open("wb") as errlog:
        process = subprocess.Popen(
            [GENMCP, *STDIO_ARGS],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errlog,
            env=clean_env(process_log.workdir),
            cwd=process_log.workdir,
        )
    assert process.stdout is not None
    assert process.stdin is not None
    stdout = process.stdout
    messages: list[dict[str, Any]] = []
    try:
        with anyio.fail_after(20):
            _send(process, INITIALIZE)
            messages.append(await _next_message(stdout))
            _send(process, {"jsonrpc": "2.0", "method": "notifications/initialized"})
            _send(process, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
            while messages[-1].get("id") != 2:
                messages.append(await _next_message(stdout))

            # End of input ends the server; whatever else it wrote to stdout must be protocol too.
            process.stdin.close()
            code = await anyio.to_thread.run_sync(process.wait, abandon_on_cancel=True)
            rest = await anyio.to_thread.run_sync(stdout.read, abandon_on_cancel=True)
    finally:
        stop_process(process)

    messages += [_protocol_message(line) for line in rest.splitlines() if line.strip()]
    by_id = {message["id"]: message for message in messages if "id" in message}
    initialized, listed = by_id[1], by_id[2]
    assert initialized["id"] == 1
    assert initialized["result"]["protocolVersion"] == "2025-06-18"
    assert initialized["result"]["serverInfo"]["name"] == "genmcp"
    assert {tool["name"] for tool in listed["result"]["tools"]} >= TOOLS
    assert code == 0, process_log.stderr()
    stderr = process_log.stderr()
    assert "SANDBOX" in stderr
    assert "genmcp" in stderr
