"""A canary key configured for every provider never leaves genmcp: not in a tool result or error, a log line, a job
record (the SQLite file with its WAL), an artifact file, or an HTTP response — even when upstream echoes it in an
error body, hands it back as a job id, or puts it in a result URL or a file name.

All five providers run live (sandbox off), each pointed at its simulator in process and configured with its canary;
the genmcp side is its whole HTTP app (bearer gate, MCP endpoints, artifacts) driven by the real MCP client.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult
from PIL import Image
from starlette.types import ASGIApp

from providers import PROVIDERS
from server.app import Runtime
from tests.harness.clock import FakeClock
from tests.harness.settings import build_settings
from tests.security.conftest import (
    BASE_PATHS,
    CANARIES,
    IN_PROCESS,
    Leaks,
    RecordingTransport,
    asgi_http,
    canary_simulators,
    data,
    secrets_in,
    serving,
    text,
)

pytestmark = pytest.mark.anyio

CDN = "cdn.provider.example"


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "navy").save(out, "PNG")
    return out.getvalue()


async def _public(host: str, port: int) -> list[str]:
    return ["93.184.216.34"]


@dataclass
class World:
    tmp: Path
    clock: FakeClock
    sims: dict[str, Any]
    runtime: Runtime
    app: ASGIApp
    client: Client
    fetch: RecordingTransport
    leaks: Leaks

    async def call(self, tool: str, arguments: dict[str, Any]) -> CallToolResult:
        result = await self.client.call_tool(tool, arguments)
        self.leaks.result(tool, result)
        assert not secrets_in(result.model_dump_json()), f"{tool} answered a secret: {text(result)}"
        return result


@pytest.fixture
async def world(tmp_path: Path, leaks: Leaks) -> AsyncIterator[World]:
    clock = FakeClock()
    sims = canary_simulators(now=clock.now, sleep=clock.sleep, job_seconds=20)
    for name, sim in sims.items():
        # Every URL a simulator hands out carries the key (a signed-URL-style leak).
        sim.public_url = f"https://{CDN}/{CANARIES[name]}"
    providers = {
        name: {"api_key": CANARIES[name], "base_url": f"https://{name}.test{BASE_PATHS[name]}"} for name in sims
    }
    (tmp_path / "project").mkdir()
    settings = build_settings(
        tmp_path,
        providers=providers,
        limits={"calls_per_minute": 0, "concurrent_calls": 0},
        outputs={"dirs": [str(tmp_path / "project")]},
    )
    fetch = RecordingTransport(default=httpx2.Response(200, content=_png(), headers={"content-type": "image/png"}))
    transports = {name: httpx2.ASGITransport(app=sim.app) for name, sim in sims.items()}
    runtime = Runtime(settings, PROVIDERS, clock=clock, transports=transports, fetch_transport=fetch, resolver=_public)
    async with (
        sims["cosmiq"],
        serving(runtime) as app,
        asgi_http(app) as http,
        Client(streamable_http_client(f"{IN_PROCESS}/mcp", http_client=http)) as client,
    ):
        yield World(tmp_path, clock, sims, runtime, app, client, fetch, leaks)


async def _sweep(world: World) -> None:
    """Everything genmcp holds or serves: registry files, artifact files, and every artifact over HTTP."""
    world.leaks.files("registry", world.tmp / "jobs.sqlite3")
    for suffix in ("-wal", "-shm"):
        path = world.tmp / f"jobs.sqlite3{suffix}"
        if path.exists():
            world.leaks.files("registry", path)
    artifacts = world.tmp / "artifacts"
    world.leaks.files("artifacts", artifacts)
    project = world.tmp / "project"
    world.leaks.files("saved files", project)
    world.leaks.add("saved names", "\n".join(str(path) for path in project.rglob("*")))
    async with asgi_http(world.app) as http:
        world.leaks.response("healthz", await http.get("/healthz"))
        page = world.leaks.response("web page", await http.get("/"))
        assert page.status_code == 200
        jobs = await world.runtime.store.list(limit=200)
        ids = ",".join(job.id for job in jobs[:20])
        world.leaks.response("live progress", await http.get(f"/ui/jobs.json?ids={ids}"))
        for meta in artifacts.glob("*.json"):
            world.leaks.response(f"artifact {meta.stem}", await http.get(f"/artifacts/{meta.stem}"))


async def _finish(world: World, result: CallToolResult) -> dict[str, Any]:
    """A blocking call's result: its background run awaited (bounded) on its event, then polled."""
    answer = data(result)
    if answer["status"] != "running":
        return answer
    provider, upstream_id = answer["job"].split(":", 1)
    record = await world.runtime.store.find(provider, upstream_id)
    assert record is not None
    run = world.runtime.runs.get(record.id)
    if run is not None:
        with anyio.fail_after(20):
            await run.done.wait()
    return data(await world.call("poll", {"job": answer["job"], "wait": 0}))


# ---------------------------------------------------------------------------------------------------------------------


async def test_every_providers_canary_stays_inside_through_normal_calls(world: World) -> None:
    """Every provider's own flow, its results carrying keyed URLs, then polls, jobs and credits."""
    sims = world.sims
    saved = data(await world.call("conceptviz_generate", {"prompt": "water cycle", "wait": 55, "save_to": "d/"}))
    assert saved["status"] == "completed"
    assert saved["saved"]["status"] == "saved", saved["saved"]
    assert data(await world.call("kolbo_generate_image", {"prompt": "a cat", "wait": 55}))["status"] == "completed"
    project = data(await world.call("masko_create_project", {"name": "Canary"}))["details"]["project_id"]
    mascot = data(
        await world.call("masko_create_mascot", {"project_id": project, "prompt": "a fox in a helmet", "style": "3d"})
    )
    assert mascot["status"] == "completed", mascot
    drawn = await _finish(world, await world.call("univers_ai_image", {"prompt": "a big friendly dog", "wait": 0}))
    assert drawn["status"] == "completed", drawn
    board = await _finish(world, await world.call("cosmiq_create", {"prompt": "a red fox", "format": "1:1", "wait": 0}))
    assert board["status"] == "completed", board
    for result in (await world.call("jobs", {"limit": 200}),):
        for job in data(result)["jobs"]:
            if job["job"]:
                await world.call("poll", {"job": job["job"], "wait": 0})
    await world.call("credits", {})

    keyed = [r for r in world.fetch.seen if any(k in str(r.url) for k in CANARIES.values())]
    assert keyed, "the keyed result URLs were exercised"
    assert all(sim.requests.total for sim in sims.values())
    await _sweep(world)


async def test_every_providers_canary_stays_inside_when_upstream_echoes_it(world: World) -> None:
    """Each provider's simulator quotes its key back in JSON and HTML error bodies, on paid and free requests."""
    c = CANARIES
    html = "<html><body><pre>Authorization: Bearer {key}\nX-API-Key: {key}\nkey={key}</pre></body></html>"
    sims = world.sims
    sims["conceptviz"].faults.add(
        "POST", "/api/v1/generate", status=400, body={"error": f"bad key {c['conceptviz']}", "code": "INVALID_BODY"}
    )
    sims["conceptviz"].faults.add("POST", "/api/v1/generate", status=502, body=html.format(key=c["conceptviz"]))
    sims["kolbo"].faults.add(
        "POST", "/api/v1/generate/image", status=400, body={"success": False, "error": f"key {c['kolbo']} is bad"}
    )
    sims["kolbo"].faults.add("POST", "/api/v1/generate/image", status=500, body=html.format(key=c["kolbo"]))
    sims["kolbo"].faults.add("GET", "/api/v1/account/credits", status=401, body={"error": f"{c['kolbo']} revoked"})
    sims["masko"].faults.add(
        "POST", "/v1/projects", status=400, body=sims["masko"].error_body(400, f"key {c['masko']}")
    )
    sims["masko"].faults.add("GET", "/v1/credits", status=503, body=html.format(key=c["masko"]))
    sims["univers"].faults.add("POST", "/api/ai-image", status=400, body={"detail": f"key {c['univers']} refused"})
    sims["univers"].faults.add("POST", "/api/ai-image", status=402, body={"detail": {"error": c["univers"]}})
    sims["univers"].faults.add("GET", "/api/credits/balance", status=500, body=html.format(key=c["univers"]))
    sims["cosmiq"].faults.add("POST", "/api/mcp", status=500, body=html.format(key=c["cosmiq"]))

    failed = [
        await world.call("conceptviz_generate", {"prompt": "echo", "wait": 0}),
        await world.call("conceptviz_generate", {"prompt": "echo", "wait": 0}),
        await world.call("kolbo_generate_image", {"prompt": "echo", "wait": 0}),
        await world.call("kolbo_generate_image", {"prompt": "echo", "wait": 0}),
        await world.call("masko_create_project", {"name": "echo"}),
        await world.call("cosmiq_get_board", {"board": "https://www.cosmiq.studio/board/abc"}),
    ]
    assert all(result.is_error for result in failed), [text(r) for r in failed]
    for _ in range(2):
        finished = await _finish(world, await world.call("univers_ai_image", {"prompt": "an echo", "wait": 0}))
        assert finished["status"] == "failed", finished
    credits = await world.call("credits", {})
    assert "[redacted]" in " ".join(r.model_dump_json() for r in [*failed, credits]), "the echoes were exercised"
    await _sweep(world)


async def test_a_canary_as_a_job_id_or_in_a_poll_answer_stays_inside(world: World) -> None:
    c = CANARIES["conceptviz"]
    sim = world.sims["conceptviz"]
    # A job id that is the key: genmcp refuses to store or show it.
    sim.faults.add("POST", "/api/v1/generate", status=200, body={"taskId": c, "status": "pending"}, after_handling=True)
    as_id = await world.call("conceptviz_generate", {"prompt": "id", "wait": 0})
    assert as_id.is_error
    assert data(as_id)["error"]["code"] == "submit_unknown"
    # A poll answer whose image URL and error text carry the key.
    started = data(await world.call("conceptviz_generate", {"prompt": "url", "wait": 0}))
    sim.faults.add(
        "GET",
        "/api/v1/task/",
        status=200,
        body={"status": "completed", "images": [{"url": f"https://{CDN}/x.png?token={c}", "prompt": c}]},
    )
    await world.call("poll", {"job": started["job"], "wait": 0})
    sim.faults.add("GET", "/api/v1/task/", status=503, body=f"<h1>key {c}</h1>", times=3)
    other = data(await world.call("conceptviz_generate", {"prompt": "poll errors", "wait": 0}))
    await world.call("poll", {"job": other["job"], "wait": 30})
    await world.call("poll", {"job": f"conceptviz:{c}"})
    await world.call("jobs", {"limit": 200})
    await _sweep(world)


async def test_a_canary_in_an_upstream_file_name_stays_inside(world: World) -> None:
    c = CANARIES["univers"]
    world.sims["univers"].faults.add(
        "POST",
        "/api/ai-image",
        status=200,
        body=_png(),
        headers={"content-type": "image/png", "content-disposition": f'attachment; filename="{c}.png"'},
    )
    drawn = await _finish(
        world, await world.call("univers_ai_image", {"prompt": "a file named after the key", "wait": 0})
    )
    assert drawn["status"] == "completed", drawn
    (artifact_id,) = [a["resource"].split("://", 1)[1] for a in drawn["assets"]]
    meta = (world.tmp / "artifacts" / f"{artifact_id}.json").read_text()
    async with asgi_http(world.app) as http:
        served = await http.get(f"/artifacts/{artifact_id}")
    assert served.status_code == 200
    assert c not in meta, "the key is in the artifact's metadata file"
    assert c not in served.headers.get("content-disposition", ""), "the key is in the served file's headers"
