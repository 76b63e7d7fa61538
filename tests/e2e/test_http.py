"""genmcp over streamable HTTP, driven by the real MCP Python client and raw HTTP, plus the CLI's start-up checks."""

from __future__ import annotations

import base64
import io
import json
import random
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp_types import ResourceLink
from PIL import Image

from tests.e2e.conftest import (
    INITIALIZE,
    TOOLS,
    ProgressRecorder,
    poll_until_done,
    sandbox_env,
)
from tests.harness.process import GenmcpProcess, clean_env, free_port, run_genmcp
from tests.harness.results import data, text

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


# ---------------------------------------------------------------------------------------------------------------------
# helpers


async def jobs_listed(client: Client) -> list[dict[str, Any]]:
    result = await client.call_tool("jobs", {"limit": 200})
    assert not result.is_error, text(result)
    jobs: list[dict[str, Any]] = data(result)["jobs"]
    return jobs


async def conceptviz_balance(client: Client) -> float | None:
    result = await client.call_tool("credits", {})
    assert not result.is_error, text(result)
    content = data(result)
    assert content["sandbox"] is True
    (entry,) = [b for b in content["balances"] if b["provider"] == "conceptviz"]
    remaining: float | None = entry["remaining"]
    return remaining


def noisy_png(side: int = 64) -> bytes:
    """A real PNG that does not compress below a few KB."""
    pixels = random.Random(0).randbytes(side * side * 3)
    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), pixels).save(buffer, format="PNG")
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------------------------------
# the MCP surface


async def test_list_tools_shows_tools_schemas_and_hints(server: GenmcpProcess) -> None:
    async with Client(server.mcp_url) as client:
        listed = {tool.name: tool for tool in (await client.list_tools()).tools}

    assert set(listed) >= TOOLS, sorted(listed)
    generate = listed["conceptviz_generate"]
    assert generate.output_schema is not None
    assert "status" in generate.output_schema.get("properties", {})
    assert generate.annotations is not None
    assert generate.annotations.read_only_hint is False
    assert generate.annotations.idempotent_hint is False
    assert generate.annotations.open_world_hint is True
    assert "prompt" in generate.input_schema["properties"]
    assert "wait" in generate.input_schema["properties"]
    poll = listed["poll"]
    assert poll.annotations is not None
    assert poll.annotations.read_only_hint is True


async def test_generate_runs_as_a_job_that_poll_finishes(server: GenmcpProcess) -> None:
    progress = ProgressRecorder()
    async with Client(server.mcp_url) as client:
        started = await client.call_tool("conceptviz_generate", {"prompt": "water cycle diagram", "wait": 0})
        assert not started.is_error, text(started)
        running = data(started)
        assert running["status"] == "running"
        assert running["sandbox"] is True
        handle = running["job"]
        assert isinstance(handle, str)
        assert handle.startswith("conceptviz:")
        assert running["credits"]["charged"] == 2
        assert handle in (running["next"] or "")

        finished = await poll_until_done(client, handle, progress)
        done = data(finished)
        assert done["status"] == "completed", done
        assert done["job"] == handle

        # Progress notifications arrived while poll waited, and they only go up.
        assert progress.calls, "no progress notification was received during poll"
        values = [value for value, _total, _message in progress.calls]
        assert values == sorted(values), progress.calls
        assert all("conceptviz" in (message or "") for _value, _total, message in progress.calls), progress.calls

        (asset,) = done["assets"]
        url = asset["url"]
        assert url.startswith("http://127.0.0.1:"), url
        assert url.endswith(".png"), url
        assert asset["kind"] == "image"
        links = [block for block in finished.content if isinstance(block, ResourceLink)]
        assert [str(link.uri) for link in links] == [url]
        assert url in text(finished)
        assert "completed" in text(finished)

        async with httpx2.AsyncClient(timeout=10) as http:
            image = await http.get(url)
        assert image.status_code == 200
        assert image.content.startswith(b"\x89PNG\r\n\x1a\n")

        (listed,) = [job for job in await jobs_listed(client) if job["job"] == handle]
        assert listed["status"] == "completed"
        assert listed["assets"] == 1
        assert listed["operation"] == "generate"

        # A finished job answers from the registry at once, even with a long wait.
        before = anyio.current_time()
        again = await client.call_tool("poll", {"job": handle, "wait": 10})
        assert anyio.current_time() - before < 2.0
        assert not again.is_error
        assert data(again)["status"] == "completed"
        assert [a["url"] for a in data(again)["assets"]] == [url]


@dataclass(frozen=True)
class Baseline:
    """The registry and balance after one successful generation, before any bad input."""

    job_ids: list[str]
    remaining: float


async def _one_generation(server: GenmcpProcess) -> Baseline:
    async with Client(server.mcp_url) as client:
        started = await client.call_tool("conceptviz_generate", {"prompt": "baseline diagram", "wait": 0})
        assert not started.is_error, text(started)
        remaining = data(started)["credits"]["remaining"]
        assert isinstance(remaining, int | float)
        assert await conceptviz_balance(client) == remaining
        return Baseline(job_ids=[job["id"] for job in await jobs_listed(client)], remaining=float(remaining))


@pytest.fixture(scope="module")
def limited_baseline(limited_server: GenmcpProcess) -> Baseline:
    """One good generation on the limited server, so a balance has been seen before the bad inputs."""
    return anyio.run(_one_generation, limited_server)


def _oversized_data_url() -> str:
    png = noisy_png()
    assert len(png) > 2048
    return "data:image/png;base64," + base64.b64encode(png).decode()


BAD_INPUTS = [
    pytest.param("conceptviz_generate", {"prompt": ""}, ["prompt", "at least 1 character"], id="empty-prompt"),
    pytest.param(
        "conceptviz_generate",
        {"prompts": ["a", "b", "c", "d", "e"]},
        ["prompts", "at most 4"],
        id="five-prompts",
    ),
    pytest.param(
        "conceptviz_generate", {"prompt": "water cycle", "model": "cv-9"}, ["model", "cv-2", "cv-1"], id="unknown-model"
    ),
    pytest.param(
        "conceptviz_edit",
        {"prompt": "tidy this up", "images": ["file:///etc/passwd"]},
        ["images[0]", "'file:' inputs are not accepted", "https://"],
        id="file-url-image",
    ),
    pytest.param(
        "conceptviz_edit",
        {"prompt": "tidy this up", "images": [_oversized_data_url()]},
        ["images[0]", "larger than", "limit", "inputs.max_image_bytes"],
        id="image-over-limit",
    ),
    pytest.param(
        "conceptviz_generate",
        {"prompt": "water cycle", "api_key": "cvk_stolen"},
        ["api_key", "not an accepted argument"],
        id="extra-api-key",
    ),
]


@pytest.mark.parametrize(("tool", "arguments", "phrases"), BAD_INPUTS)
async def test_bad_input_is_refused_before_anything_is_spent(
    limited_server: GenmcpProcess,
    limited_baseline: Baseline,
    tool: str,
    arguments: dict[str, Any],
    phrases: list[str],
) -> None:
    async with Client(limited_server.mcp_url) as client:
        result = await client.call_tool(tool, arguments)
        said = text(result)
        assert result.is_error, said
        content = data(result)
        assert content["status"] == "failed"
        assert content["job"] is None
        error = content["error"]
        assert error["code"] == "invalid_input"
        assert error["charged"] is False
        assert error["retryable"] is False
        for phrase in phrases:
            assert phrase in error["message"], f"{phrase!r} not in {error['message']!r}"
        assert error["message"] in said
        assert "No credits were spent" in said
        assert "cvk_stolen" not in said

        # Nothing reached the registry and the balance last seen did not move.
        assert [job["id"] for job in await jobs_listed(client)] == limited_baseline.job_ids
        assert await conceptviz_balance(client) == limited_baseline.remaining


# ---------------------------------------------------------------------------------------------------------------------
# transport security, raw HTTP


async def test_foreign_origin_is_refused(server: GenmcpProcess) -> None:
    async with httpx2.AsyncClient(timeout=10) as http:
        response = await http.post(
            server.mcp_url, json=INITIALIZE, headers={**MCP_HEADERS, "Origin": "http://evil.example"}
        )
    assert response.status_code == 403, response.text


async def test_foreign_host_is_refused(server: GenmcpProcess) -> None:
    async with httpx2.AsyncClient(timeout=10) as http:
        response = await http.post(server.mcp_url, json=INITIALIZE, headers={**MCP_HEADERS, "Host": "evil.example"})
    assert response.status_code == 421, response.text


async def test_loopback_request_without_origin_passes_the_guards(server: GenmcpProcess) -> None:
    async with (
        httpx2.AsyncClient(timeout=10) as http,
        http.stream("POST", server.mcp_url, json=INITIALIZE, headers=MCP_HEADERS) as response,
    ):
        assert response.status_code == 200
        assert "mcp-session-id" in response.headers


async def test_body_over_the_limit_is_refused(limited_server: GenmcpProcess) -> None:
    body = json.loads(json.dumps(INITIALIZE))
    body["params"]["padding"] = "x" * 100_000
    payload = json.dumps(body).encode()
    assert len(payload) > 65536
    async with httpx2.AsyncClient(timeout=10) as http:
        response = await http.post(limited_server.mcp_url, content=payload, headers=MCP_HEADERS)
    assert response.status_code == 413, response.text


async def test_healthz_reports_sandbox(server: GenmcpProcess) -> None:
    async with httpx2.AsyncClient(timeout=10) as http:
        response = await http.get(f"{server.base_url}/healthz")
    assert response.status_code == 200
    health = response.json()
    assert health["status"] == "ok"
    assert health["sandbox"] is True
    assert "conceptviz" in health["providers"]
    assert health["version"]


# ---------------------------------------------------------------------------------------------------------------------
# the command line


def _genmcp(args: list[str], workdir: Path, **extra_env: str) -> subprocess.CompletedProcess[str]:
    """`genmcp <args>` in `workdir`, with a registry there and the e2e environment."""
    return run_genmcp(args, workdir=workdir, env=clean_env(workdir, **sandbox_env(**extra_env)))


def test_public_bind_without_insecure_is_refused(tmp_path: Path) -> None:
    done = _genmcp(["serve", "--sandbox", "--host", "0.0.0.0", "--port", str(free_port())], tmp_path)
    assert done.returncode != 0
    assert "--insecure" in done.stderr
    assert "0.0.0.0" in done.stderr


def test_invalid_config_value_names_the_key_and_variable(tmp_path: Path) -> None:
    done = _genmcp(["serve", "--port", str(free_port())], tmp_path, GENMCP_JOBS__WAIT_SECONDS="abc")
    assert done.returncode == 2, done.stderr
    assert "jobs.wait_seconds" in done.stderr
    assert "GENMCP_JOBS__WAIT_SECONDS" in done.stderr


async def test_tools_command_prints_one_line_per_tool(server: GenmcpProcess, tmp_path: Path) -> None:
    done = await anyio.to_thread.run_sync(_genmcp, ["tools", "--sandbox"], tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    names = [line.split()[0] for line in lines]
    assert set(names) >= TOOLS, done.stdout
    assert len(names) == len(set(names)), done.stdout
    assert all(line.startswith(name + " ") for line, name in zip(lines, names, strict=True))
    # The same tools, in the same order, as a server with the same configuration lists over MCP.
    async with Client(server.mcp_url) as client:
        assert names == [tool.name for tool in (await client.list_tools()).tools]


async def test_each_provider_is_also_served_on_its_own_endpoint(server: GenmcpProcess) -> None:
    async with Client(server.mcp_url + "/kolbo") as client:
        kolbo = {tool.name for tool in (await client.list_tools()).tools}
    async with Client(server.mcp_url + "/conceptviz") as client:
        conceptviz = {tool.name for tool in (await client.list_tools()).tools}
        result = await client.call_tool("conceptviz_generate", {"prompt": "a small diagram", "wait": 0})
    async with Client(server.mcp_url) as client:
        everything = {tool.name for tool in (await client.list_tools()).tools}

    assert {"kolbo_generate_image", "kolbo_chat", "poll", "jobs", "credits", "cancel"} <= kolbo
    assert not any(name.startswith(("masko_", "conceptviz_", "cosmiq_", "univers_")) for name in kolbo)
    assert conceptviz == {"conceptviz_generate", "conceptviz_edit", "poll", "jobs", "credits", "save"}
    assert kolbo | conceptviz <= everything
    assert len(everything) > 40
    assert data(result)["status"] == "running"


async def test_a_kolbo_video_outlives_the_budget_and_poll_finishes_it(server: GenmcpProcess) -> None:
    progress = ProgressRecorder()
    async with Client(server.mcp_url) as client:
        started = await client.call_tool(
            "kolbo_generate_video", {"prompt": "a paper boat on a river", "duration": 5, "wait": 1}
        )
        answer = data(started)
        assert (answer["status"], started.is_error) == ("running", False), answer
        assert answer["job"].startswith("kolbo:")
        assert answer["credits"]["charged"] > 0
        finished = await poll_until_done(client, answer["job"], progress)

    result = data(finished)
    assert result["status"] == "completed"
    assert result["sandbox"] is True
    assert [(a["kind"], a["mime_type"]) for a in result["assets"]][:1] == [("video", "video/mp4")]
    assert progress.calls, "progress notifications arrive while the video renders"
