"""A Claude Code style session over stdio: the real `genmcp serve --stdio --sandbox`, a real MCP client that declares
its project folder as its root (as Claude Code does), and an image saved into that project by `save_to` — the file is
the asset's bytes, nothing else is written, and a job still running is written when it completes.

The session's transcript is kept in the test run's output folder (`tests/out/e2e/save-session.txt`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.context import ClientRequestContext
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp_types import ListRootsResult, Root

from tests.e2e.conftest import sandbox_env
from tests.harness.process import GENMCP, ProcessLog, clean_env
from tests.harness.results import data, text

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

OUTPUT = Path(os.environ.get("GENMCP_TEST_OUTPUT", Path(__file__).resolve().parents[1] / "out")) / "e2e"


def files_under(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*"))


def content(path: Path) -> bytes:
    return path.read_bytes()


def write_transcript(lines: list[str]) -> None:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / "save-session.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


async def test_an_agent_saves_a_generated_image_into_its_project(process_log: ProcessLog) -> None:
    project = process_log.workdir / "my-app"
    (project / "src").mkdir(parents=True)
    (project / "src" / "main.ts").write_text("export {}\n")
    roots = [Root.model_validate({"uri": project.resolve().as_uri(), "name": "my-app"})]

    async def list_roots(context: ClientRequestContext) -> ListRootsResult:
        return ListRootsResult(roots=roots)

    env = clean_env(process_log.workdir, **sandbox_env())
    params = StdioServerParameters(command=GENMCP, args=["serve", "--stdio", "--sandbox"], env=env, cwd=project)
    transcript = [f"$ claude  (project {project}, MCP server: genmcp serve --stdio)"]
    with process_log.stderr_path.open("w", encoding="utf-8") as errlog, anyio.fail_after(60):
        async with Client(stdio_client(params, errlog=errlog), list_roots_callback=list_roots) as client:
            arguments: dict[str, Any] = {
                "prompt": "flat app icon of a paper plane",
                "save_to": "public/icon.png",
                "wait": 15,
            }
            transcript += ["> make an app icon of a paper plane and put it in public/icon.png", ""]
            transcript.append(f"  kolbo_generate_image {arguments}")
            made = await client.call_tool("kolbo_generate_image", arguments)
            transcript += ["    " + line for line in text(made).splitlines()]
            body = data(made)
            assert body["status"] == "completed", text(made)
            saved = body["saved"]
            icon = project.resolve() / "public" / "icon.png"
            assert saved["status"] == "saved"
            assert saved["files"][0]["path"] == str(icon)
            async with httpx2.AsyncClient(timeout=10) as http:
                served = (await http.get(body["assets"][0]["url"])).content
            assert content(icon) == served

            later: dict[str, Any] = {"prompt": "a hero banner, waves at dusk", "save_to": "public/hero.png", "wait": 0}
            transcript += ["", "> and a hero banner in public/hero.png — don't wait for it", ""]
            transcript.append(f"  kolbo_generate_image {later}")
            started = await client.call_tool("kolbo_generate_image", later)
            transcript += ["    " + line for line in text(started).splitlines()]
            assert data(started)["saved"]["status"] == "pending"
            handle = data(started)["job"]
            polled = await client.call_tool("poll", {"job": handle, "wait": 15})
            transcript += ["", f"  poll {{'job': '{handle}', 'wait': 15}}"]
            transcript += ["    " + line for line in text(polled).splitlines()]
            assert data(polled)["saved"]["status"] == "saved", text(polled)

            outside = await client.call_tool(
                "kolbo_generate_image", {"prompt": "x", "save_to": str(process_log.workdir / "elsewhere.png")}
            )
            transcript += ["", "> save one into the folder above the project", ""]
            transcript += ["    " + line for line in text(outside).splitlines()]
            assert outside.is_error
    write_transcript(transcript)
    assert files_under(project) == ["public", "public/hero.png", "public/icon.png", "src", "src/main.ts"]
    assert not (process_log.workdir / "elsewhere.png").exists()
