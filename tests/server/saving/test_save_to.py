"""`save_to` on a generating tool and on `poll`, and the `save` tool, through a real MCP client: the files written
are the assets' bytes, only inside the allowed places, numbered for a batch, and a running job is saved when it
completes — even when nobody polls, and after a restart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.context import ClientRequestContext
from mcp_types import ListRootsResult, Root

from providers.conceptviz.simulator import ConceptVizSimulator
from server.app import Runtime
from tests.conftest import make_settings
from tests.harness.clock import FakeClock
from tests.harness.results import data, error_code, text
from tests.harness.runtime import in_process_runtime
from tests.server.saving.test_places import tree

pytestmark = pytest.mark.anyio


async def asset_bytes(simulator: ConceptVizSimulator, url: str) -> bytes:
    """What the provider serves at an asset URL (fetched from the simulator app itself)."""
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=simulator.app)) as http:
        response = await http.get(url)
    assert response.status_code == 200
    return response.content


async def watcher_done(runtime: Runtime, handle: str) -> None:
    """Wait (bounded, on events) until every save watcher of `handle` has finished."""
    with anyio.fail_after(20):
        for request in await runtime.pending_saves.for_job(handle):
            run = runtime.runs.get(f"save:{request.id}")
            if run is not None:
                await run.done.wait()


def content(path: Path) -> bytes:
    """A file's bytes (a plain function: the tests are coroutines)."""
    return path.read_bytes()


def real(path: Path) -> Path:
    """The path with links resolved, as genmcp reports what it wrote."""
    return path.resolve()


def roots_of(*paths: Path) -> Any:
    roots = [Root.model_validate({"uri": path.resolve().as_uri(), "name": path.name}) for path in paths]

    async def list_roots(context: ClientRequestContext) -> ListRootsResult:
        return ListRootsResult(roots=roots)

    return list_roots


async def test_a_finished_result_is_written_into_the_allowed_directory_byte_for_byte(
    saving_runtime: Runtime, project: Path, simulator: ConceptVizSimulator
) -> None:
    async with Client(saving_runtime.mcp) as client:
        result = await client.call_tool(
            "conceptviz_generate", {"prompt": "water cycle", "wait": 55, "save_to": "docs/diagrams/water.png"}
        )
    body = data(result)
    assert body["status"] == "completed", text(result)
    saved = body["saved"]
    written = real(project) / "docs" / "diagrams" / "water.png"
    assert saved["status"] == "saved"
    assert [file["path"] for file in saved["files"]] == [str(written)]
    assert content(written) == await asset_bytes(simulator, body["assets"][0]["url"])
    assert saved["files"][0]["bytes"] == len(content(written))
    assert f"saved {written}" in text(result)
    assert tree(project) == ["docs/", "docs/diagrams/", "docs/diagrams/water.png"]


async def test_a_batch_is_saved_with_numbered_names(
    saving_runtime: Runtime, project: Path, simulator: ConceptVizSimulator
) -> None:
    async with Client(saving_runtime.mcp) as client:
        named = await client.call_tool(
            "conceptviz_generate", {"prompts": ["a", "b", "c"], "wait": 55, "save_to": "cycle.png"}
        )
        folder = await client.call_tool("conceptviz_generate", {"prompts": ["d", "e"], "wait": 55, "save_to": "all/"})
    files = data(named)["saved"]["files"]
    assert [Path(f["path"]).name for f in files] == ["cycle-1.png", "cycle-2.png", "cycle-3.png"]
    for file, asset in zip(files, data(named)["assets"], strict=True):
        assert content(Path(file["path"])) == await asset_bytes(simulator, asset["url"])
    job = data(folder)["job"].split(":", 1)[1][-10:].strip("-_")  # the job id's tail, without a dash at its ends
    names = [Path(f["path"]).name for f in data(folder)["saved"]["files"]]
    assert names == [f"conceptviz-generate-{job}-1.png", f"conceptviz-generate-{job}-2.png"]
    assert len(tree(project)) == 3 + 1 + 2


@pytest.mark.parametrize("save_to", ["../escape.png", "/etc/genmcp.png", "a\u0000b.png", "existing.png", "link/x.png"])
async def test_a_refused_save_to_costs_nothing_upstream(
    saving_runtime: Runtime, project: Path, tmp_path: Path, simulator: ConceptVizSimulator, save_to: str
) -> None:
    (project / "existing.png").write_bytes(b"keep me")
    (project / "link").symlink_to(tmp_path)
    before = tree(tmp_path)
    async with Client(saving_runtime.mcp) as client:
        result = await client.call_tool("conceptviz_generate", {"prompt": "x", "save_to": save_to})
    assert result.is_error
    assert error_code(result) == "invalid_input"
    assert "Nothing was sent upstream" in text(result)
    assert simulator.requests.total == 0
    assert content(project / "existing.png") == b"keep me"
    assert tree(tmp_path) == before


async def test_overwrite_replaces_an_existing_file(
    saving_runtime: Runtime, project: Path, simulator: ConceptVizSimulator
) -> None:
    (project / "icon.png").write_bytes(b"old")
    async with Client(saving_runtime.mcp) as client:
        result = await client.call_tool(
            "conceptviz_generate", {"prompt": "x", "wait": 55, "save_to": "icon.png", "overwrite": True}
        )
    assert content(project / "icon.png") == await asset_bytes(simulator, data(result)["assets"][0]["url"])


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_the_clients_declared_root_is_an_allowed_place(
    tmp_path: Path, clock: FakeClock, simulator: ConceptVizSimulator, mode: str
) -> None:
    """Asked with roots/list mid-call (2025) or in an input-required round (2026-07-28)."""
    root = tmp_path / "client-project"
    root.mkdir()
    settings = make_settings(tmp_path, outputs={"use_client_roots": "on"})
    async with (
        in_process_runtime(settings, apps={"conceptviz": simulator.app}, clock=clock, fetch_app=simulator.app) as rt,
        Client(rt.mcp, mode=mode, list_roots_callback=roots_of(root)) as client,
    ):
        result = await client.call_tool("conceptviz_generate", {"prompt": "x", "wait": 55, "save_to": "img/a.png"})
        outside = await client.call_tool("conceptviz_generate", {"prompt": "x", "save_to": str(tmp_path / "b.png")})
    assert data(result)["saved"]["files"][0]["path"] == str(real(root) / "img" / "a.png")
    assert tree(root) == ["img/", "img/a.png"]
    assert error_code(outside) == "invalid_input"
    assert "outside the directories" in text(outside)
    assert simulator.requests.count("POST /api/v1/generate") == 1


async def test_without_a_place_saving_is_refused_and_says_how_to_allow_it(
    tmp_path: Path, clock: FakeClock, simulator: ConceptVizSimulator
) -> None:
    settings = make_settings(tmp_path, outputs={"use_client_roots": "off"})
    root = tmp_path / "client-project"
    root.mkdir()
    async with (
        in_process_runtime(settings, apps={"conceptviz": simulator.app}, clock=clock) as runtime,
        Client(runtime.mcp, list_roots_callback=roots_of(root)) as client,
    ):
        result = await client.call_tool("conceptviz_generate", {"prompt": "x", "save_to": "a.png"})
    assert error_code(result) == "invalid_input"
    assert "saving is off" in text(result)
    assert "outputs.dirs" in text(result)
    assert simulator.requests.total == 0
    assert tree(root) == []


async def test_a_running_job_is_saved_when_it_completes_without_anyone_polling(
    saving_runtime: Runtime, project: Path, simulator: ConceptVizSimulator
) -> None:
    async with Client(saving_runtime.mcp) as client:
        started = await client.call_tool("conceptviz_generate", {"prompt": "x", "wait": 0, "save_to": "later.png"})
        handle = data(started)["job"]
        assert data(started)["status"] == "running"
        assert data(started)["saved"]["status"] == "pending"
        assert "when it completes" in data(started)["saved"]["message"]
        assert not (project / "later.png").exists()
        await watcher_done(saving_runtime, handle)
        assert (project / "later.png").exists()
        polled = await client.call_tool("poll", {"job": handle, "wait": 0})
    assert data(polled)["saved"]["status"] == "saved"
    assert data(polled)["saved"]["files"][0]["path"] == str(real(project) / "later.png")
    assert content(project / "later.png") == await asset_bytes(simulator, data(polled)["assets"][0]["url"])


async def test_a_pending_save_survives_a_restart(
    tmp_path: Path, project: Path, clock: FakeClock, simulator: ConceptVizSimulator
) -> None:
    simulator.job_seconds = 100_000
    settings = make_settings(tmp_path, outputs={"dirs": [str(project)]})
    runtime = in_process_runtime(settings, apps={"conceptviz": simulator.app}, clock=clock, fetch_app=simulator.app)
    async with runtime, Client(runtime.mcp) as client:
        started = await client.call_tool("conceptviz_generate", {"prompt": "x", "wait": 0, "save_to": "r.png"})
    handle = data(started)["job"]
    assert data(started)["saved"]["status"] == "pending"
    assert not (project / "r.png").exists()

    clock.advance(100_000)
    again = in_process_runtime(settings, apps={"conceptviz": simulator.app}, clock=clock, fetch_app=simulator.app)
    async with again:
        await watcher_done(again, handle)
        [request] = await again.pending_saves.for_job(handle)
    assert request.state == "saved"
    assert tree(project) == ["r.png"]


async def test_poll_and_save_write_a_finished_jobs_files_and_one_asset(
    saving_runtime: Runtime, project: Path, simulator: ConceptVizSimulator
) -> None:
    async with Client(saving_runtime.mcp) as client:
        done = await client.call_tool("conceptviz_generate", {"prompts": ["a", "b"], "wait": 55})
        handle, assets = data(done)["job"], data(done)["assets"]
        polled = await client.call_tool("poll", {"job": handle, "save_to": "polled/"})
        by_job = await client.call_tool("save", {"job": handle, "path": "by-job/pic.png"})
        one = await client.call_tool("save", {"asset": assets[1]["url"], "path": "one.png"})
        assert data(one)["saved"]["status"] == "saved", text(one)
        stranger = await client.call_tool("save", {"asset": "https://evil.example/x.png", "path": "x.png"})
        both = await client.call_tool("save", {"job": handle, "asset": assets[0]["url"], "path": "x.png"})
    assert len(data(polled)["saved"]["files"]) == 2
    assert [Path(f["path"]).name for f in data(by_job)["saved"]["files"]] == ["pic-1.png", "pic-2.png"]
    assert content(project / "one.png") == await asset_bytes(simulator, assets[1]["url"])
    assert error_code(stranger) == "invalid_input"
    assert "not an asset of one of your jobs" in text(stranger)
    assert error_code(both) == "invalid_input"
    assert not (project / "x.png").exists()


async def test_a_file_over_the_size_cap_is_not_saved(
    tmp_path: Path, project: Path, clock: FakeClock, simulator: ConceptVizSimulator
) -> None:
    settings = make_settings(tmp_path, outputs={"dirs": [str(project)], "max_file_bytes": 1024})
    async with (
        in_process_runtime(settings, apps={"conceptviz": simulator.app}, clock=clock, fetch_app=simulator.app) as rt,
        Client(rt.mcp) as client,
    ):
        result = await client.call_tool("conceptviz_generate", {"prompt": "x", "wait": 55, "save_to": "big.png"})
        saved = await client.call_tool("save", {"job": data(result)["job"], "path": "big.png"})
    assert data(result)["status"] == "completed"
    assert data(result)["saved"]["status"] == "failed"
    assert "larger than the 1024 byte limit" in data(result)["saved"]["message"]
    assert saved.is_error
    assert error_code(saved) == "save_failed"
    assert tree(project) == []


class HeldDownloads:
    """The simulator's file downloads, held until `release` (the provider's API is not held)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.started = anyio.Event()
        self.released = anyio.Event()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].endswith(".png"):
            self.started.set()
            await self.released.wait()
        await self.app(scope, receive, send)


async def test_a_poll_while_the_watcher_writes_the_files_answers_what_it_wrote(
    tmp_path: Path, project: Path, clock: FakeClock, simulator: ConceptVizSimulator
) -> None:
    downloads = HeldDownloads(simulator.app)
    settings = make_settings(tmp_path, outputs={"dirs": [str(project)]})
    runtime = in_process_runtime(settings, apps={"conceptviz": simulator.app}, clock=clock, fetch_app=downloads)
    answers: list[dict[str, Any]] = []
    async with runtime, Client(runtime.mcp) as client:
        started = await client.call_tool("conceptviz_generate", {"prompt": "x", "wait": 0, "save_to": "w.png"})
        handle = data(started)["job"]
        with anyio.fail_after(20):
            await downloads.started.wait()  # the watcher saw the job finish and is fetching its file

            async def poll() -> None:
                answers.append(data(await client.call_tool("poll", {"job": handle, "wait": 0})))

            async with anyio.create_task_group() as group:
                group.start_soon(poll)
                await anyio.wait_all_tasks_blocked()  # the poll is in, while the write is held
                downloads.released.set()
            await watcher_done(runtime, handle)
    [polled] = answers
    assert polled["status"] == "completed"
    assert polled["saved"]["status"] == "saved", polled["saved"]
    assert tree(project) == ["w.png"]
