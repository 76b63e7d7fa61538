"""End-to-end fixtures: the real `genmcp` console script, started as a subprocess in sandbox mode (through
`tests.harness.process`).

Every server gets its own job registry under a temporary directory, an environment without provider keys or
`GENMCP_*` settings from the developer's shell, simulated jobs that finish after 3 s, and its stderr captured to a
file; a failing test that used a server shows that file in its report.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp_types import CallToolResult

from tests.harness.process import GenmcpProcess, ProcessLog, start_genmcp
from tests.harness.results import data, text

TOOLS = {"conceptviz_generate", "conceptviz_edit", "poll", "jobs", "credits", "save"}
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
"""How long a simulated job runs (`GENMCP_SANDBOX__JOB_SECONDS`)."""


def sandbox_env(**extra: str) -> dict[str, str]:
    """What every e2e process adds to the clean environment: the sandbox job length, then `extra`."""
    return {"GENMCP_SANDBOX__JOB_SECONDS": str(JOB_SECONDS), **extra}


def start_sandbox(workdir: Path, **extra_env: str) -> GenmcpProcess:
    """`genmcp serve --sandbox` on a free loopback port, configured by the environment (`sandbox_env`)."""
    return start_genmcp(workdir, args=["--sandbox"], env=sandbox_env(**extra_env))


@pytest.fixture
def process_log(tmp_path: Path) -> ProcessLog:
    """A work directory and stderr file for a genmcp process a test starts itself."""
    return ProcessLog(workdir=tmp_path, stderr_path=tmp_path / "stderr.log")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GenmcpProcess]:
    """One sandbox server per module, default limits."""
    with start_sandbox(tmp_path_factory.mktemp("genmcp")) as running:
        yield running


@pytest.fixture(scope="module")
def limited_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GenmcpProcess]:
    """A sandbox server with small limits: 2048-byte input images, 64 KiB request bodies."""
    with start_sandbox(
        tmp_path_factory.mktemp("genmcp-limited"),
        GENMCP_INPUTS__MAX_IMAGE_BYTES="2048",
        GENMCP_SERVER__MAX_BODY_BYTES="65536",
    ) as running:
        yield running


# ---------------------------------------------------------------------------------------------------------------------
# helpers shared by the e2e modules


@dataclass
class ProgressRecorder:
    """A `progress_callback` that keeps every notification it receives."""

    calls: list[tuple[float, float | None, str | None]] = field(default_factory=list)

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        self.calls.append((progress, total, message))


async def poll_until_done(
    client: Client, handle: str, progress: ProgressRecorder | None = None, attempts: int = 3
) -> CallToolResult:
    """`poll` with wait=10 until the job leaves 'running' (at most `attempts` calls)."""
    result: CallToolResult | None = None
    for _ in range(attempts):
        result = await client.call_tool("poll", {"job": handle, "wait": 10}, progress_callback=progress)
        assert not result.is_error, text(result)
        if data(result)["status"] != "running":
            return result
    assert result is not None
    pytest.fail(f"{handle} still running after {attempts} polls: {result.structured_content}")
