"""The Masko adapter against its simulator, through a real MCP client (in memory), in both response-shape modes:
the newer `{data: …}` envelope and the older bare objects. Time is a fake clock: held polls advance it."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp_types import CallToolResult

from providers import PROVIDERS, Provider
from providers._sandbox.images import placeholder_png
from providers.masko.adapter import Masko
from providers.masko.simulator import MaskoAccount, MaskoSimulator
from server.app import Runtime
from server.config import Settings, load_settings
from server.errors import AuthError
from tests.conftest import FakeClock

pytestmark = pytest.mark.anyio

KEY = "masko_" + "ab" * 32
CDN = "https://assets.masko.test"
REFERENCE = "https://example.com/fox.png"
ALL_PROVIDERS: tuple[type[Provider], ...] = PROVIDERS if Masko in PROVIDERS else (*PROVIDERS, Masko)
PNG = placeholder_png("upload", width=32, height=32)


@pytest.fixture(params=[True, False], ids=["envelope", "bare"])
def sim(request: pytest.FixtureRequest, clock: FakeClock) -> MaskoSimulator:
    return MaskoSimulator(
        accounts={KEY: MaskoAccount(subscription_credits=500, topup_credits=500)},
        job_seconds=8.0,
        now=clock.now,
        sleep=clock.sleep,
        public_url=CDN,
        envelope=request.param,
    )


def _settings(tmp_path: Path, key: str = KEY) -> Settings:
    return load_settings(
        None,
        env={},
        provider_names=[p.name for p in ALL_PROVIDERS],
        overrides={
            "jobs": {"db_path": str(tmp_path / "jobs.sqlite3"), "wait_seconds": 45, "max_wait_seconds": 55},
            "artifacts": {"dir": str(tmp_path / "artifacts")},
            "providers": {"masko": {"api_key": key, "base_url": "https://api.masko.test/v1"}},
            "sandbox": {"mode": "off"},
            "upstream": {"backoff_base": 0.5, "backoff_max": 4},
        },
    )


async def _public(host: str, port: int) -> list[str]:
    return ["93.184.216.34"]  # the CDN host resolves to a public address; the transport routes to the simulator


def _runtime(tmp_path: Path, clock: FakeClock, sim: MaskoSimulator, key: str = KEY) -> Runtime:
    return Runtime(
        _settings(tmp_path, key),
        clock=clock,
        transports={"masko": httpx2.ASGITransport(app=sim.app)},
        fetch_transport=httpx2.ASGITransport(app=sim.app),
        resolver=_public,
    )


@pytest.fixture
async def runtime(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, clock: FakeClock, sim: MaskoSimulator
) -> AsyncIterator[Runtime]:
    monkeypatch.setattr("server.app.PROVIDERS", ALL_PROVIDERS)
    async with _runtime(tmp_path, clock, sim) as rt:
        yield rt


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[Client]:
    async with Client(runtime.mcp) as connected:
        yield connected


def _structured(result: CallToolResult) -> dict[str, Any]:
    assert isinstance(result.structured_content, dict)
    return result.structured_content


def _text(result: CallToolResult) -> str:
    return " ".join(block.text for block in result.content if block.type == "text")


async def _ok(client: Client, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, args)
    assert not result.is_error, _text(result)
    return _structured(result)


def _api_requests(sim: MaskoSimulator) -> int:
    """Requests to the API (not to the CDN, which previews read)."""
    return sim.requests.total - sim.requests.count("GET /cdn/", prefix=True)


def _keys(assets: list[dict[str, Any]]) -> list[str]:
    """Masko's asset type of each asset, from its name (`<item>-<type>.<ext>`)."""
    return [asset["name"].rsplit("-", 1)[1].split(".")[0] for asset in assets]


def _sent(sim: MaskoSimulator, method: str, path_end: str) -> dict[str, Any]:
    request = next(r for r in reversed(sim.requests.entries) if r.method == method and r.path.endswith(path_end))
    body: dict[str, Any] = json.loads(request.body)
    return body


async def _mascot(client: Client) -> str:
    project = await _ok(client, "masko_create_project", {"name": "My App"})
    mascot = await _ok(
        client,
        "masko_create_mascot",
        {"project_id": project["details"]["project_id"], "name": "Felix", "reference_image_urls": [REFERENCE]},
    )
    mascot_id: str = mascot["details"]["mascot_id"]
    return mascot_id


async def _image(client: Client, mascot_id: str, name: str) -> dict[str, Any]:
    args = {"mascot_id": mascot_id, "type": "image", "name": name, "image_prompt": f"{name} pose"}
    return await _ok(client, "masko_generate", args)


def _total(sim: MaskoSimulator) -> int:
    return sim.accounts[KEY].total


# --- the tools ------------------------------------------------------------------------------------------------------


async def test_every_masko_tool_is_served_with_its_cost_and_kind(client: Client) -> None:
    tools = {tool.name: tool for tool in (await client.list_tools()).tools if tool.name.startswith("masko_")}

    assert set(tools) == {
        f"masko_{name}"
        for name in [
            "create_project",
            "list_projects",
            "create_mascot",
            "list_mascots",
            "get_mascot",
            "generate",
            "generate_batch",
            "list_jobs",
            "upload",
            "list_styles",
            "suggest_actions",
            "analyze_url",
            "preview",
            "create_canvas",
            "list_canvas_templates",
            "apply_canvas_template",
            "generate_canvas",
            "canvas_status",
            "export_canvas",
        ]
    }
    generate = tools["masko_generate"].description or ""
    assert all(fact in generate for fact in ("logo 5", "5 credits per second", "= 21", "free", "pending"))
    assert "wait" in tools["masko_generate"].input_schema["properties"]
    spends = {"generate", "generate_batch", "create_mascot", "preview", "apply_canvas_template", "generate_canvas"}
    for name, tool in tools.items():
        assert tool.annotations is not None
        read_only = name.removeprefix("masko_") not in spends | {"create_project", "create_canvas", "upload"}
        assert tool.annotations.read_only_hint is read_only, name


async def test_projects_and_a_mascot_from_references_are_free_and_listed(client: Client, sim: MaskoSimulator) -> None:
    mascot_id = await _mascot(client)

    projects = await _ok(client, "masko_list_projects", {})
    mascots = await _ok(client, "masko_list_mascots", {"project_id": projects["details"]["projects"][0]["project_id"]})

    assert [p["name"] for p in projects["details"]["projects"]] == ["My App"]
    assert [(m["mascot_id"], m["name"]) for m in mascots["details"]["mascots"]] == [(mascot_id, "Felix")]
    assert mascot_id in mascots["text"]
    assert _total(sim) == 1000


async def test_a_mascot_from_a_prompt_costs_one_credit_and_waits_for_its_reference_image(
    client: Client, sim: MaskoSimulator
) -> None:
    project = await _ok(client, "masko_create_project", {"name": "App"})
    args = {"project_id": project["details"]["project_id"], "prompt": "a fox in a space helmet", "style": "3d"}

    created = await _ok(client, "masko_create_mascot", args)

    assert created["status"] == "completed"
    assert created["credits"]["charged"] == 1
    assert _total(sim) == 999
    assert created["details"]["mascot_id"] in sim.collections
    assert [a["mime_type"] for a in created["assets"]] == ["image/png"]
    assert _sent(sim, "POST", "/v1/collections")["prompt"] == "a fox in a space helmet"


async def test_get_mascot_lists_items_with_asset_ids_and_every_url(client: Client) -> None:
    mascot_id = await _mascot(client)
    image = await _image(client, mascot_id, "Wave")

    mascot = await _ok(client, "masko_get_mascot", {"mascot_id": mascot_id})

    item = mascot["details"]["items"][0]
    assert (item["item_id"], item["name"]) == (image["details"]["item_id"], "Wave")
    assert {a["type"] for a in item["assets"]} == {"image", "transparent_image"}
    assert {a["url"] for a in mascot["assets"]} == {a["url"] for a in image["assets"]}
    assert not any(a["pending"] for a in mascot["assets"])
    assert mascot["details"]["mascot"]["name"] == "Felix"


# --- generation -----------------------------------------------------------------------------------------------------


async def test_an_animation_finishes_through_one_held_poll(client: Client, sim: MaskoSimulator) -> None:
    mascot_id = await _mascot(client)
    sim.requests.clear()
    args = {
        "mascot_id": mascot_id,
        "type": "animation",
        "name": "Idle",
        "image_prompt": "standing relaxed",
        "animation_prompt": "gentle breathing",
        "duration": 4,
    }

    result = await client.call_tool("masko_generate", args)

    data = _structured(result)
    assert data["status"] == "completed"
    assert _api_requests(sim) == 2
    poll = next(r for r in sim.requests if r.method == "GET" and r.path.startswith("/v1/jobs/"))
    query = dict(pair.split("=") for pair in poll.query.split("&"))
    assert query["wait"] == "true"
    assert 1 <= int(query["timeout"]) <= 45
    assert _keys(data["assets"]) == ["image", "transparent_image", "video", "webm", "hevc"]
    assert [a["mime_type"] for a in data["assets"][2:]] == ["video/mp4", "video/webm", "video/quicktime"]
    assert not any(a["pending"] for a in data["assets"])
    assert data["credits"]["charged"] == 21
    assert data["details"]["estimated_cost"] == 21
    assert any(block.type == "image" for block in result.content)


async def test_a_running_result_already_carries_pending_cdn_urls(client: Client, sim: MaskoSimulator) -> None:
    mascot_id = await _mascot(client)
    args = {"mascot_id": mascot_id, "type": "animation", "prompt": "waving", "sizes": [480], "wait": 0}

    running = await _ok(client, "masko_generate", args)

    assert running["status"] == "running"
    assert running["job"].startswith("masko:")
    assert running["assets"]
    assert all(a["pending"] for a in running["assets"])
    assert {"webm_480", "hevc_480", "stacked_video_480"} <= set(_keys(running["assets"]))
    webm = next(a for a in running["assets"] if a["mime_type"] == "video/webm")
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=sim.app)) as cdn:
        assert (await cdn.get(webm["url"])).headers["content-type"] == "image/png"  # the placeholder
    finished = await _ok(client, "poll", {"job": running["job"]})
    assert finished["status"] == "completed"
    assert [a["url"] for a in finished["assets"]] == [a["url"] for a in running["assets"]]
    assert not any(a["pending"] for a in finished["assets"])


async def test_a_transition_with_auto_reverse_registers_both_jobs_and_one_poll_finishes_both(
    client: Client, sim: MaskoSimulator
) -> None:
    mascot_id = await _mascot(client)
    idle = await _image(client, mascot_id, "Idle")
    wave = await _image(client, mascot_id, "Wave")
    args = {
        "mascot_id": mascot_id,
        "type": "animation",
        "name": "Idle to Wave",
        "source_image_asset_id": idle["details"]["asset_ids"]["image"],
        "end_image_asset_id": wave["details"]["asset_ids"]["image"],
        "animation_prompt": "from idle to waving",
        "auto_reverse": True,
        "wait": 0,
    }

    started = await _ok(client, "masko_generate", args)

    assert started["status"] == "running"
    assert started["credits"]["charged"] == 20
    assert [r["status"] for r in started["related"]] == ["running"]
    reverse = started["related"][0]
    assert reverse["details"]["item_name"] == "Wave to Idle"
    assert reverse["details"]["estimated_cost"] == 0
    assert _sent(sim, "POST", "/generate")["auto_reverse"] is True
    finished = await _ok(client, "poll", {"job": started["job"]})
    assert finished["status"] == "completed"
    assert [(r["job"], r["status"]) for r in finished["related"]] == [(reverse["job"], "completed")]
    assert len(finished["assets"]) == 6
    assert not any(a["pending"] for a in finished["assets"])
    listed = {j["job"]: j["status"] for j in (await _ok(client, "jobs", {"provider": "masko"}))["jobs"]}
    assert listed[started["job"]] == listed[reverse["job"]] == "completed"


async def test_a_transition_waited_for_in_the_call_answers_with_its_reverse_completed(client: Client) -> None:
    mascot_id = await _mascot(client)
    idle, wave = await _image(client, mascot_id, "Idle"), await _image(client, mascot_id, "Wave")
    args = {
        "mascot_id": mascot_id,
        "type": "animation",
        "source_image_asset_id": idle["details"]["asset_ids"]["image"],
        "end_image_asset_id": wave["details"]["asset_ids"]["image"],
        "auto_reverse": True,
        "reverse_name": "Back to idle",
    }

    done = await _ok(client, "masko_generate", args)

    assert done["status"] == "completed"
    assert [(r["status"], r["details"]["item_name"]) for r in done["related"]] == [("completed", "Back to idle")]


async def test_a_batch_of_three_is_three_registered_jobs(client: Client, sim: MaskoSimulator) -> None:
    mascot_id = await _mascot(client)
    requests = [
        {"type": "image", "name": "Waving", "image_prompt": "waving hello"},
        {"type": "image", "name": "Thinking", "image_prompt": "hand on chin"},
        {"type": "animation", "name": "Celebrating", "image_prompt": "jumping", "animation_prompt": "jump"},
    ]

    batch = await _ok(client, "masko_generate_batch", {"mascot_id": mascot_id, "requests": requests})

    assert list(_sent(sim, "POST", "/generate-batch")) == ["requests"]
    assert batch["status"] == "completed"
    assert batch["credits"]["charged"] == 23
    assert batch["details"]["total_cost"] == 23
    assert _total(sim) == 977
    assert [r["status"] for r in batch["related"]] == ["completed", "completed"]
    assert [r["details"]["item_name"] for r in batch["related"]] == ["Thinking", "Celebrating"]
    assert len(batch["assets"]) == 2 + 2 + 5
    listed = (await _ok(client, "jobs", {"provider": "masko"}))["jobs"]
    handles = {batch["job"], *(r["job"] for r in batch["related"])}
    assert handles <= {j["job"] for j in listed if j["operation"] == "generate_batch"}


async def test_an_edit_and_a_logo_cost_what_the_description_says(client: Client, sim: MaskoSimulator) -> None:
    mascot_id = await _mascot(client)
    image = await _image(client, mascot_id, "Wave")

    edit = await _ok(
        client,
        "masko_generate",
        {"mascot_id": mascot_id, "type": "edit", "item_id": image["details"]["item_id"], "edit_instructions": "a hat"},
    )
    logo = await _ok(client, "masko_generate", {"mascot_id": mascot_id, "type": "logo", "logo_description": "face"})

    assert (edit["credits"]["charged"], logo["credits"]["charged"]) == (1, 5)
    assert edit["details"]["item_id"] == image["details"]["item_id"]
    assert _total(sim) == 1000 - 1 - 1 - 5


async def test_a_failed_job_reports_that_its_credits_were_refunded(client: Client, sim: MaskoSimulator) -> None:
    mascot_id = await _mascot(client)

    result = await client.call_tool(
        "masko_generate", {"mascot_id": mascot_id, "type": "animation", "prompt": "this will [fail]"}
    )

    data = _structured(result)
    assert result.is_error
    assert data["status"] == "failed"
    assert (data["error"]["code"], data["error"]["refunded"], data["error"]["retryable"]) == ("job_failed", True, True)
    assert data["credits"]["refunded"] is True
    assert _total(sim) == 1000


async def test_list_jobs_gives_handles_that_poll_finishes(client: Client) -> None:
    mascot_id = await _mascot(client)
    started = await _ok(client, "masko_generate", {"mascot_id": mascot_id, "type": "image", "prompt": "x", "wait": 0})

    listed = await _ok(client, "masko_list_jobs", {"mascot_id": mascot_id, "status": "pending"})

    assert [j["job"] for j in listed["details"]["jobs"]] == [started["job"]]
    assert (await _ok(client, "poll", {"job": listed["details"]["jobs"][0]["job"]}))["status"] == "completed"
    assert (await _ok(client, "masko_list_jobs", {"status": "pending"}))["details"]["jobs"] == []


async def test_a_job_started_outside_genmcp_can_be_polled_by_its_id(client: Client, sim: MaskoSimulator) -> None:
    mascot_id = await _mascot(client)
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=sim.app), base_url="http://sim", headers={"Authorization": f"Bearer {KEY}"}
    ) as direct:
        body = {"type": "image", "name": "Elsewhere", "image_prompt": "x"}
        response = await direct.post(f"/v1/collections/{mascot_id}/generate", json=body)
    started = response.json()["data"] if sim.envelope else response.json()

    polled = await _ok(client, "poll", {"job": f"masko:{started['job_id']}"})

    assert polled["status"] == "completed"
    assert (polled["details"]["item_id"], polled["details"]["mascot_id"]) == (started["item_id"], mascot_id)
    assert [a["mime_type"] for a in polled["assets"]] == ["image/png", "image/png"]


async def test_polling_an_unknown_job_is_not_found(client: Client) -> None:
    result = await client.call_tool("poll", {"job": "masko:no-such-job"})
    assert result.is_error
    assert _structured(result)["error"]["code"] == "not_found"


# --- canvases -------------------------------------------------------------------------------------------------------


async def test_a_canvas_from_template_to_export(client: Client, sim: MaskoSimulator) -> None:
    mascot_id = await _mascot(client)
    templates = await _ok(client, "masko_list_canvas_templates", {})
    template = templates["details"]["templates"][0]
    assert template["template_id"] == "claude-code-4state"
    assert template["estimated_cost"] > 0
    canvas = await _ok(client, "masko_create_canvas", {"mascot_id": mascot_id, "name": "Main"})
    where = {"mascot_id": mascot_id, "canvas_id": canvas["details"]["canvas_id"]}

    applied = await _ok(client, "masko_apply_canvas_template", {**where, "template_id": "claude-code-4state"})

    assert applied["status"] == "completed"
    assert applied["credits"]["charged"] == 4
    assert len(applied["related"]) == 3
    assert {r["status"] for r in applied["related"]} == {"completed"}
    assert [n["name"] for n in applied["details"]["nodes"]] == ["Idle", "Thinking", "Working", "Needs Attention"]

    generated = await _ok(client, "masko_generate_canvas", {**where, "duration": 4})

    assert generated["status"] == "completed"
    assert (generated["credits"]["charged"], generated["details"]["reverse_free"]) == (160, 4)
    assert generated["details"]["generated"] == 12  # 4 loops and 4 transitions paid, 4 reverses free
    assert len(generated["related"]) == 11
    assert {r["status"] for r in generated["related"]} == {"completed"}
    assert _total(sim) == 1000 - 4 - 160

    status = await _ok(client, "masko_canvas_status", where)

    assert (status["details"]["done"], status["details"]["percent"], status["details"]["failed"]) == (True, 100, 0)
    assert "masko_export_canvas" in status["text"]

    exported = await _ok(client, "masko_export_canvas", where)

    config = exported["details"]["config"]
    assert (config["name"], len(config["nodes"]), exported["details"]["edges_without_video"]) == ("Main", 4, 0)
    assert [a["mime_type"] for a in exported["assets"]] == ["application/json"]
    assert exported["assets"][0]["resource"].startswith("artifact://")


async def test_canvas_status_reads_the_older_status_resource_when_the_detail_is_missing(
    client: Client, sim: MaskoSimulator
) -> None:
    mascot_id = await _mascot(client)
    canvas = await _ok(client, "masko_create_canvas", {"mascot_id": mascot_id, "name": "Greeter"})
    where = {"mascot_id": mascot_id, "canvas_id": canvas["details"]["canvas_id"]}
    await _ok(client, "masko_apply_canvas_template", {**where, "template_id": "website-greeter-3state", "wait": 0})
    sim.faults.add("GET", f"/v1/collections/{mascot_id}/canvases/{where['canvas_id']}", status=404, times=1)

    status = await _ok(client, "masko_canvas_status", where)

    assert (status["details"]["total_jobs"], status["details"]["done"]) == (3, False)
    assert sim.requests.count(f"GET /v1/collections/{mascot_id}/canvases/{where['canvas_id']}/status") == 1


# --- errors, credits, limits ----------------------------------------------------------------------------------------


async def test_insufficient_credits_says_required_and_available(
    client: Client, runtime: Runtime, sim: MaskoSimulator
) -> None:
    mascot_id = await _mascot(client)
    sim.accounts[KEY].subscription_credits, sim.accounts[KEY].topup_credits = 3, 2

    result = await client.call_tool("masko_generate", {"mascot_id": mascot_id, "type": "animation", "prompt": "wave"})

    error = _structured(result)["error"]
    assert result.is_error
    assert error["code"] == "insufficient_credits"
    assert error["charged"] is False
    assert "needs 21" in error["message"]
    assert "has 5" in error["message"]
    assert sim.jobs == {}
    assert [job.operation for job in await runtime.store.list()] == ["create_mascot"]


async def test_refusals_are_mapped_in_both_error_body_shapes(client: Client, sim: MaskoSimulator) -> None:
    mascot_id = await _mascot(client)
    project_id = sim.collections[mascot_id].project_id
    sim.accounts["masko_other"] = MaskoAccount()
    sim.collections[mascot_id].key = "masko_other"  # now another workspace's mascot

    unknown_style = await client.call_tool(
        "masko_create_mascot", {"project_id": project_id, "prompt": "a", "style": "x"}
    )
    missing = await client.call_tool("masko_get_mascot", {"mascot_id": "no-such-mascot"})
    foreign = await client.call_tool("masko_suggest_actions", {"mascot_id": mascot_id})

    codes = [_structured(r)["error"]["code"] for r in (unknown_style, missing, foreign)]
    assert codes == ["invalid_input", "not_found", "forbidden"]
    assert "Unknown style" in _text(unknown_style)
    assert "another workspace" in _text(foreign)
    assert _structured(unknown_style)["error"]["charged"] is False


async def test_a_logo_on_the_free_plan_is_forbidden_and_says_pro(client: Client, sim: MaskoSimulator) -> None:
    mascot_id = await _mascot(client)
    sim.accounts[KEY].plan = "free"

    result = await client.call_tool("masko_generate", {"mascot_id": mascot_id, "type": "logo", "logo_description": "a"})

    error = _structured(result)["error"]
    assert result.is_error
    assert error["code"] == "forbidden"
    assert "Pro plan" in error["message"]
    assert _total(sim) == 1000


async def test_credits_are_read_live_in_every_shape(client: Client, sim: MaskoSimulator) -> None:
    mascot_id = await _mascot(client)
    await _ok(client, "masko_generate", {"mascot_id": mascot_id, "type": "image", "prompt": "wave", "wait": 0})

    entry = (await _ok(client, "credits", {"provider": "masko"}))["balances"][0]

    assert (entry["remaining"], entry["live"]) == (999, True)
    sim.faults.add("GET", "/v1/credits", status=200, body={"credits": 42})
    assert (await _ok(client, "credits", {"provider": "masko"}))["balances"][0]["remaining"] == 42


async def test_check_reports_the_balance(runtime: Runtime) -> None:
    assert await runtime.providers["masko"].check() == "key accepted; 1000 credits"


async def test_an_unknown_key_is_an_auth_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, clock: FakeClock, sim: MaskoSimulator
) -> None:
    monkeypatch.setattr("server.app.PROVIDERS", ALL_PROVIDERS)
    async with _runtime(tmp_path, clock, sim, key="masko_" + "0" * 64) as runtime:
        async with Client(runtime.mcp) as client:
            result = await client.call_tool("masko_list_projects", {})
        with pytest.raises(AuthError):
            await runtime.providers["masko"].check()
    error = _structured(result)["error"]
    assert error["code"] == "auth_failed"
    assert "MASKO_API_KEY" in error["message"]


async def test_a_rate_limit_is_waited_out_and_a_low_allowance_is_reported(
    client: Client, sim: MaskoSimulator, clock: FakeClock
) -> None:
    sim.rate_limit = 3
    first = await _ok(client, "masko_list_styles", {})
    assert first["details"]["rate_limit"]["remaining"] == 2
    await _ok(client, "masko_list_styles", {})
    await _ok(client, "masko_list_styles", {})
    clock.advance(45)

    fourth = await _ok(client, "masko_list_styles", {})

    assert 15.0 in clock.sleeps  # Retry-After honoured before the retry
    assert fourth["details"]["rate_limit"]["remaining"] == 2
    assert sim.requests.count("GET /v1/styles") == 5


# --- inputs ---------------------------------------------------------------------------------------------------------


async def test_upload_sends_a_url_as_json_and_bytes_as_a_file(client: Client, sim: MaskoSimulator) -> None:
    mascot_id = await _mascot(client)

    by_url = await _ok(client, "masko_upload", {"image": "https://example.com/mascot.png"})
    by_bytes = await _ok(client, "masko_upload", {"image": "data:image/png;base64," + base64.b64encode(PNG).decode()})

    url_id, file_id = by_url["details"]["asset_id"], by_bytes["details"]["asset_id"]
    assert sim.assets[url_id].source_url == "https://example.com/mascot.png"
    assert sim.assets[file_id].data == PNG
    edit = {"mascot_id": mascot_id, "type": "edit", "source_image_asset_id": file_id, "edit_instructions": "a hat"}
    assert (await _ok(client, "masko_generate", edit))["status"] == "completed"
    project_id = sim.collections[mascot_id].project_id
    created = await _ok(client, "masko_create_mascot", {"project_id": project_id, "reference_asset_ids": [url_id]})
    assert created["credits"]["charged"] == 0


@pytest.mark.parametrize(
    ("tool", "args", "phrase"),
    [
        ("masko_generate", {"type": "animation", "prompt": "x", "duration": 11}, "less than or equal to 10"),
        ("masko_generate", {"type": "animation", "prompt": "x", "duration": 2}, "greater than or equal to 3"),
        ("masko_generate", {"type": "animation", "prompt": "x", "sizes": [512]}, "sizes"),
        ("masko_generate", {"type": "edit", "edit_instructions": "add a hat"}, "needs a source"),
        ("masko_generate", {"type": "edit", "item_id": "i1"}, "edit_instructions"),
        ("masko_generate", {"type": "animation", "end_image_asset_id": "b", "prompt": "x"}, "needs a start"),
        ("masko_generate", {"type": "animation", "prompt": "x", "auto_reverse": True}, "end_image_asset_id"),
        ("masko_generate", {"type": "animation", "item_id": "i", "end_image_asset_id": "b", "loop": True}, "once"),
        ("masko_generate", {"type": "animation", "item_id": "i", "reverse_name": "back"}, "auto_reverse"),
        ("masko_generate", {"type": "animation", "animation_prompt": "wave"}, "from scratch"),
        ("masko_generate", {"type": "logo", "name": "Logo"}, "logo_description"),
        ("masko_generate", {"type": "image"}, "image_prompt"),
        ("masko_generate", {"type": "image", "prompt": "x", "duration": 4}, "only applies to type 'animation'"),
        ("masko_generate", {"type": "image", "prompt": "x", "mascot_id": "../credits"}, "mascot_id"),
        ("masko_generate", {"type": "image", "prompt": ""}, "prompt"),
        ("masko_generate", {"type": "image", "prompt": "x" * 3000}, "at most 2000"),
        ("masko_generate", {"type": "video", "prompt": "x"}, "type"),
        ("masko_generate_batch", {"requests": [{"type": "image", "prompt": "x"}] * 11}, "at most 10"),
        ("masko_generate_batch", {"requests": []}, "at least 1"),
        ("masko_generate_batch", {"requests": [{"type": "edit", "edit_instructions": "x"}]}, "needs a source"),
        ("masko_create_mascot", {"project_id": "p"}, "give a `prompt`"),
        ("masko_create_mascot", {"project_id": "p", "reference_image_urls": [REFERENCE] * 7}, "at most 6"),
        ("masko_create_mascot", {"project_id": "p", "reference_image_urls": ["ftp://x.example/a.png"]}, "pattern"),
        ("masko_preview", {"prompt": "x", "mascot_id": "m", "style": "3d-render"}, "not with `mascot_id`"),
        ("masko_preview", {"prompt": "x", "count": 5}, "less than or equal to 4"),
        ("masko_generate_canvas", {"canvas_id": "c", "duration": 11}, "less than or equal to 10"),
        ("masko_analyze_url", {"url": "file:///etc/passwd"}, "pattern"),
        ("masko_upload", {"image": "file:///etc/passwd"}, "'file:' inputs are not accepted"),
        ("masko_upload", {"image": "https://user:pw@example.com/a.png"}, "user:password"),
    ],
)
async def test_bad_input_is_refused_before_any_request(
    client: Client, sim: MaskoSimulator, tool: str, args: dict[str, Any], phrase: str
) -> None:
    if tool not in ("masko_create_mascot", "masko_preview", "masko_analyze_url", "masko_upload"):
        args = {"mascot_id": "m1", **args}

    result = await client.call_tool(tool, args)

    assert result.is_error and phrase in _text(result), _text(result)
    assert sim.requests.total == 0


# --- free helpers ---------------------------------------------------------------------------------------------------


async def test_styles_website_analysis_and_pose_suggestions_are_free(client: Client, sim: MaskoSimulator) -> None:
    mascot_id = await _mascot(client)
    await _image(client, mascot_id, "Thumbs Up")

    styles = await _ok(client, "masko_list_styles", {})
    ideas = await _ok(client, "masko_analyze_url", {"url": "https://www.example.com/pricing"})
    poses = await _ok(client, "masko_suggest_actions", {"mascot_id": mascot_id})

    assert {"3d-render", "pixel-art"} <= {s["id"] for s in styles["details"]["styles"]}
    assert ideas["details"]["brand"]["name"] == "Example"
    assert len(ideas["details"]["suggestions"]) == 3
    assert 6 <= len(poses["details"]["suggestions"]) <= 8
    assert "Thumbs Up" not in poses["details"]["suggestions"]
    assert _total(sim) == 999


async def test_a_character_preview_costs_one_credit_and_a_mascot_preview_is_free(
    client: Client, sim: MaskoSimulator
) -> None:
    mascot_id = await _mascot(client)

    four = await _ok(client, "masko_preview", {"prompt": "a fox", "style": "pixel-art"})
    one = await _ok(client, "masko_preview", {"prompt": "waving", "mascot_id": mascot_id})

    assert (len(four["assets"]), four["credits"]["charged"]) == (4, 1)
    assert (len(one["assets"]), one["credits"]["charged"]) == (1, 0)
    assert _sent(sim, "POST", "/generate/preview") == {"collection_id": mascot_id, "prompt": "waving"}
    assert _total(sim) == 999
