"""End-to-end fixtures: the real `genmcp` console script, started as a subprocess in sandbox mode.

Every server gets its own job registry under a temporary directory, an environment without provider keys or
`GENMCP_*` settings from the developer's shell, simulated jobs that finish after 3 s, and its stderr captured to a
file; a failing test that used a server shows that file in its report.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp_types import CallToolResult, TextContent

GENMCP = str(Path(sys.executable).parent / "genmcp")
"""The console script installed beside the interpreter running the tests (`pip install -e .`)."""

TOOLS = {"conceptviz_generate", "conceptviz_edit", "poll", "jobs", "credits"}
"""Tools every sandbox server serves (ConceptViz's and the shared ones; other providers add theirs)."""
INITIALIZE: dict[str, Any] = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "genmcp-e2e", "version": "0"},
    },
}
"""A JSON-RPC initialize request, for tests that speak the protocol by hand."""
JOB_SECONDS = 3
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def clean_env(workdir: Path, **extra: str) -> dict[str, str]:
    """The inherited environment minus provider keys and genmcp settings, plus the test's registry and job time."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not (name.endswith("_API_KEY") or name.startswith("GENMCP_"))
    }
    env["GENMCP_JOBS__DB_PATH"] = str(workdir / "jobs.sqlite3")
    env["GENMCP_ARTIFACTS__DIR"] = str(workdir / "artifacts")
    env["GENMCP_SANDBOX__JOB_SECONDS"] = str(JOB_SECONDS)
    env.update(extra)
    return env


@dataclass
class ProcessLog:
    """Where a genmcp process started by a test writes its stderr (shown in the report when the test fails)."""

    workdir: Path
    stderr_path: Path

    def stderr(self) -> str:
        """What the process has written to stderr so far."""
        try:
            return self.stderr_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""


@dataclass
class GenmcpServer(ProcessLog):
    """A running `genmcp serve --sandbox` process on a loopback port."""

    process: subprocess.Popen[bytes]
    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def mcp_url(self) -> str:
        return f"{self.base_url}/mcp"


@pytest.fixture
def process_log(tmp_path: Path) -> ProcessLog:
    """A work directory and stderr file for a genmcp process a test starts itself."""
    return ProcessLog(workdir=tmp_path, stderr_path=tmp_path / "stderr.log")


READY_LINE = b"Application startup complete"
"""What uvicorn logs once the app's lifespan (registry, sandbox simulators) has started."""


def _follow_stderr(process: subprocess.Popen[bytes], path: Path, ready: threading.Event) -> None:
    """Copy the process's stderr to `path` line by line, and signal `ready` at the start-up line or at exit."""
    assert process.stderr is not None
    with path.open("wb") as sink:
        for line in process.stderr:
            sink.write(line)
            sink.flush()
            if READY_LINE in line:
                ready.set()
    ready.set()


def _wait_until_ready(server: GenmcpServer, ready: threading.Event) -> None:
    """Block until the server logged that it started (event-driven, bounded), then check `GET /healthz`."""
    if not ready.wait(START_TIMEOUT):
        pytest.fail(f"genmcp did not start within {START_TIMEOUT:g} s:\n{server.stderr()}")
    code = server.process.poll()
    if code is not None:
        pytest.fail(f"genmcp exited with code {code} during start-up:\n{server.stderr()}")
    response = httpx2.get(f"{server.base_url}/healthz", timeout=5)
    assert response.status_code == 200, server.stderr()


def stop_process(process: subprocess.Popen[bytes], reader: threading.Thread | None = None) -> None:
    """Terminate, then kill after a bounded wait; always reaps the process (and lets `reader` drain its pipe)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)
    if reader is not None:
        reader.join(timeout=STOP_TIMEOUT)
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            stream.close()


@contextmanager
def running_server(workdir: Path, **extra_env: str) -> Iterator[GenmcpServer]:
    """Start `genmcp serve --sandbox` on a free loopback port, wait until it is healthy, stop it afterwards."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    stderr_path = workdir / "stderr.log"
    process = subprocess.Popen(
        [GENMCP, "serve", "--sandbox", "--host", "127.0.0.1", "--port", str(port)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=clean_env(workdir, **extra_env),
        cwd=workdir,  # so a ./genmcp.toml in the checkout is not picked up
    )
    ready = threading.Event()
    follower = threading.Thread(target=_follow_stderr, args=(process, stderr_path, ready), daemon=True)
    follower.start()
    server = GenmcpServer(process=process, port=port, workdir=workdir, stderr_path=stderr_path)
    try:
        _wait_until_ready(server, ready)
        yield server
    finally:
        stop_process(process, follower)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GenmcpServer]:
    """One sandbox server per module, default limits."""
    with running_server(tmp_path_factory.mktemp("genmcp")) as running:
        yield running


@pytest.fixture(scope="module")
def limited_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GenmcpServer]:
    """A sandbox server with small limits: 2048-byte input images, 64 KiB request bodies."""
    with running_server(
        tmp_path_factory.mktemp("genmcp-limited"),
        GENMCP_INPUTS__MAX_IMAGE_BYTES="2048",
        GENMCP_SERVER__MAX_BODY_BYTES="65536",
    ) as running:
        yield running


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    """Attach the stderr of every genmcp process a failed test used to its report."""
    report = yield
    if report.failed:
        funcargs: dict[str, Any] = getattr(item, "funcargs", {})
        for name, value in funcargs.items():
            if isinstance(value, ProcessLog):
                report.sections.append((f"genmcp stderr ({name})", value.stderr()))
    return report


# ---------------------------------------------------------------------------------------------------------------------
# helpers shared by the e2e modules


@dataclass
class ProgressRecorder:
    """A `progress_callback` that keeps every notification it receives."""

    calls: list[tuple[float, float | None, str | None]] = field(default_factory=list)

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        self.calls.append((progress, total, message))


def structured(result: CallToolResult) -> dict[str, Any]:
    content: dict[str, Any] | None = result.structured_content
    assert content is not None, f"no structured content in {result}"
    return content


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


async def poll_until_done(
    client: Client, handle: str, progress: ProgressRecorder | None = None, attempts: int = 3
) -> CallToolResult:
    """`poll` with wait=10 until the job leaves 'running' (at most `attempts` calls)."""
    result: CallToolResult | None = None
    for _ in range(attempts):
        result = await client.call_tool("poll", {"job": handle, "wait": 10}, progress_callback=progress)
        assert not result.is_error, text_of(result)
        if structured(result)["status"] != "running":
            return result
    assert result is not None
    pytest.fail(f"{handle} still running after {attempts} polls: {result.structured_content}")
