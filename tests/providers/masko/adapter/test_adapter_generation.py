"""Masko generation through the adapter: held polls, pending CDN links, transitions with their free reverse,
batches, prices, refunds, and jobs listed or started elsewhere."""

from __future__ import annotations

import httpx2
import pytest
from mcp import Client

from providers.masko.simulator import MaskoSimulator
from tests.harness.results import data
from tests.providers.masko.adapter.support import KEY, api_requests, asset_types, new_mascot, new_pose, ok, sent, total

pytestmark = pytest.mark.anyio


async def test_an_animation_finishes_through_one_held_poll(client: Client, sim: MaskoSimulator) -> None:
    mascot_id = await new_mascot(client)
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

    answer = data(result)
    assert answer["status"] == "completed"
    assert api_requests(sim) == 2
    poll = next(r for r in sim.requests if r.method == "GET" and r.path.startswith("/v1/jobs/"))
    query = dict(pair.split("=") for pair in poll.query.split("&"))
    assert query["wait"] == "true"
    assert 1 <= int(query["timeout"]) <= 45
    assert asset_types(answer["assets"]) == ["image", "transparent_image", "video", "webm", "hevc"]
    assert [a["mime_type"] for a in answer["assets"][2:]] == ["video/mp4", "video/webm", "video/quicktime"]
    assert not any(a["pending"] for a in answer["assets"])
    assert answer["credits"]["charged"] == 21
    assert answer["details"]["estimated_cost"] == 21
    assert any(block.type == "image" for block in result.content)


async def test_a_running_result_already_carries_pending_cdn_urls(client: Client, sim: MaskoSimulator) -> None:
    mascot_id = await new_mascot(client)
    args = {"mascot_id": mascot_id, "type": "animation", "prompt": "waving", "sizes": [480], "wait": 0}

    running = await ok(client, "masko_generate", args)

    assert running["status"] == "running"
    assert running["job"].startswith("masko:")
    assert running["assets"]
    assert all(a["pending"] for a in running["assets"])
    assert {"webm_480", "hevc_480", "stacked_video_480"} <= set(asset_types(running["assets"]))
    webm = next(a for a in running["assets"] if a["mime_type"] == "video/webm")
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=sim.app)) as cdn:
        assert (await cdn.get(webm["url"])).headers["content-type"] == "image/png"  # the placeholder
    finished = await ok(client, "poll", {"job": running["job"]})
    assert finished["status"] == "completed"
    assert [a["url"] for a in finished["assets"]] == [a["url"] for a in running["assets"]]
    assert not any(a["pending"] for a in finished["assets"])


async def test_a_transition_with_auto_reverse_registers_both_jobs_and_one_poll_finishes_both(
    client: Client, sim: MaskoSimulator
) -> None:
    mascot_id = await new_mascot(client)
    idle = await new_pose(client, mascot_id, "Idle")
    wave = await new_pose(client, mascot_id, "Wave")
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

    started = await ok(client, "masko_generate", args)

    assert started["status"] == "running"
    assert started["credits"]["charged"] == 20
    assert [r["status"] for r in started["related"]] == ["running"]
    reverse = started["related"][0]
    assert reverse["details"]["item_name"] == "Wave to Idle"
    assert reverse["details"]["estimated_cost"] == 0
    assert sent(sim, "POST", "/generate")["auto_reverse"] is True
    finished = await ok(client, "poll", {"job": started["job"]})
    assert finished["status"] == "completed"
    assert [(r["job"], r["status"]) for r in finished["related"]] == [(reverse["job"], "completed")]
    assert len(finished["assets"]) == 6
    assert not any(a["pending"] for a in finished["assets"])
    listed = {j["job"]: j["status"] for j in (await ok(client, "jobs", {"provider": "masko"}))["jobs"]}
    assert listed[started["job"]] == "completed"
    assert listed[reverse["job"]] == "completed"


async def test_a_transition_waited_for_in_the_call_answers_with_its_reverse_completed(client: Client) -> None:
    mascot_id = await new_mascot(client)
    idle, wave = await new_pose(client, mascot_id, "Idle"), await new_pose(client, mascot_id, "Wave")
    args = {
        "mascot_id": mascot_id,
        "type": "animation",
        "source_image_asset_id": idle["details"]["asset_ids"]["image"],
        "end_image_asset_id": wave["details"]["asset_ids"]["image"],
        "auto_reverse": True,
        "reverse_name": "Back to idle",
    }

    done = await ok(client, "masko_generate", args)

    assert done["status"] == "completed"
    assert [(r["status"], r["details"]["item_name"]) for r in done["related"]] == [("completed", "Back to idle")]


async def test_a_batch_of_three_is_three_registered_jobs(client: Client, sim: MaskoSimulator) -> None:
    mascot_id = await new_mascot(client)
    requests = [
        {"type": "image", "name": "Waving", "image_prompt": "waving hello"},
        {"type": "image", "name": "Thinking", "image_prompt": "hand on chin"},
        {"type": "animation", "name": "Celebrating", "image_prompt": "jumping", "animation_prompt": "jump"},
    ]

    batch = await ok(client, "masko_generate_batch", {"mascot_id": mascot_id, "requests": requests})

    assert list(sent(sim, "POST", "/generate-batch")) == ["requests"]
    assert batch["status"] == "completed"
    assert batch["credits"]["charged"] == 23
    assert batch["details"]["total_cost"] == 23
    assert total(sim) == 977
    assert [r["status"] for r in batch["related"]] == ["completed", "completed"]
    assert [r["details"]["item_name"] for r in batch["related"]] == ["Thinking", "Celebrating"]
    assert len(batch["assets"]) == 2 + 2 + 5
    listed = (await ok(client, "jobs", {"provider": "masko"}))["jobs"]
    handles = {batch["job"], *(r["job"] for r in batch["related"])}
    assert handles <= {j["job"] for j in listed if j["operation"] == "generate_batch"}


async def test_an_edit_and_a_logo_cost_what_the_description_says(client: Client, sim: MaskoSimulator) -> None:
    mascot_id = await new_mascot(client)
    wave = await new_pose(client, mascot_id, "Wave")

    edit = await ok(
        client,
        "masko_generate",
        {"mascot_id": mascot_id, "type": "edit", "item_id": wave["details"]["item_id"], "edit_instructions": "a hat"},
    )
    logo = await ok(client, "masko_generate", {"mascot_id": mascot_id, "type": "logo", "logo_description": "face"})

    assert (edit["credits"]["charged"], logo["credits"]["charged"]) == (1, 5)
    assert edit["details"]["item_id"] == wave["details"]["item_id"]
    assert total(sim) == 1000 - 1 - 1 - 5


async def test_a_failed_job_reports_that_its_credits_were_refunded(client: Client, sim: MaskoSimulator) -> None:
    mascot_id = await new_mascot(client)

    result = await client.call_tool(
        "masko_generate", {"mascot_id": mascot_id, "type": "animation", "prompt": "this will [fail]"}
    )

    answer = data(result)
    assert result.is_error
    assert answer["status"] == "failed"
    assert answer["error"]["code"] == "job_failed"
    assert answer["error"]["refunded"] is True
    assert answer["error"]["retryable"] is True
    assert answer["credits"]["refunded"] is True
    assert total(sim) == 1000


async def test_list_jobs_gives_handles_that_poll_finishes(client: Client) -> None:
    mascot_id = await new_mascot(client)
    started = await ok(client, "masko_generate", {"mascot_id": mascot_id, "type": "image", "prompt": "x", "wait": 0})

    listed = await ok(client, "masko_list_jobs", {"mascot_id": mascot_id, "status": "pending"})

    assert [j["job"] for j in listed["details"]["jobs"]] == [started["job"]]
    assert (await ok(client, "poll", {"job": listed["details"]["jobs"][0]["job"]}))["status"] == "completed"
    assert (await ok(client, "masko_list_jobs", {"status": "pending"}))["details"]["jobs"] == []


async def test_a_job_started_outside_genmcp_can_be_polled_by_its_id(client: Client, sim: MaskoSimulator) -> None:
    mascot_id = await new_mascot(client)
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=sim.app), base_url="http://sim", headers={"Authorization": f"Bearer {KEY}"}
    ) as direct:
        body = {"type": "image", "name": "Elsewhere", "image_prompt": "x"}
        response = await direct.post(f"/v1/collections/{mascot_id}/generate", json=body)
    started = response.json()["data"] if sim.envelope else response.json()

    polled = await ok(client, "poll", {"job": f"masko:{started['job_id']}"})

    assert polled["status"] == "completed"
    assert (polled["details"]["item_id"], polled["details"]["mascot_id"]) == (started["item_id"], mascot_id)
    assert [a["mime_type"] for a in polled["assets"]] == ["image/png", "image/png"]


async def test_polling_an_unknown_job_is_not_found(client: Client) -> None:
    result = await client.call_tool("poll", {"job": "masko:no-such-job"})
    assert result.is_error
    assert data(result)["error"]["code"] == "not_found"
