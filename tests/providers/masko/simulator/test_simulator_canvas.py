"""The Masko simulator's canvases: a template applied, generate-all (and again, skipping finished work), progress,
the export, and refusals."""

from __future__ import annotations

import httpx2
import pytest

from providers.masko.simulator import MaskoSimulator
from tests.harness.clock import FakeClock
from tests.providers.masko.simulator.support import (
    KEY,
    assert_error,
    new_collection,
    payload,
    total,
)

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("envelope", [True, False])
async def test_canvas_from_template_generate_all_status_and_export(
    client: httpx2.AsyncClient, sim: MaskoSimulator, clock: FakeClock, envelope: bool
) -> None:
    sim.envelope = envelope
    sim.accounts[KEY].topup_credits = 500
    collection_id = await new_collection(client, sim)
    templates = await client.get("/v1/canvas-templates")
    template_rows = templates.json()["data"] if envelope else templates.json()["templates"]
    assert [t["id"] for t in template_rows] == ["claude-code-4state", "website-greeter-3state"]
    canvas = payload(sim, await client.post(f"/v1/collections/{collection_id}/canvases", json={"name": "Main"}))
    base = f"/v1/collections/{collection_id}/canvases/{canvas['id']}"

    applied = await client.post(f"{base}/from-template", json={"template_id": "claude-code-4state"})

    assert applied.status_code == 202
    result = payload(sim, applied)
    assert (len(result["nodes"]), len(result["jobs"]), result["total_cost"]) == (4, 4, 4)
    assert set(result["node_mapping"]) == {"idle", "thinking", "working", "attention"}
    assert total(sim) == 596
    clock.advance(10)

    summary = payload(sim, await client.post(f"{base}/generate-all", json={"duration": 4}))

    assert (summary["generated"], summary["reverse_free"], summary["actual_cost"]) == (12, 4, 160)
    assert (summary["already_complete"], summary["estimated_cost"]) == (4, 164)
    assert {item["reason"] for item in summary["skipped_items"]} == {"image exists", "any-state edge"}
    assert total(sim) == 596 - 160
    status = payload(sim, await client.get(f"{base}/status"))
    assert status == {
        "canvas_id": canvas["id"],
        "total_jobs": 16,
        "completed": 4,
        "pending": 12,
        "failed": 0,
        "progress": 0.25,
    }
    clock.advance(20)
    assert payload(sim, await client.get(f"{base}/status"))["progress"] == 1.0
    detail = payload(sim, await client.get(base))
    assert (detail["status"]["percent"], detail["completed_edge_count"]) == (100, 12)

    config = payload(sim, await client.get(f"{base}/export"))

    assert set(config) == {"version", "name", "initialNode", "autoPlay", "nodes", "edges", "inputs"}
    assert (config["version"], config["name"], config["autoPlay"]) == ("1.0", "Main", True)
    assert config["initialNode"] == result["node_mapping"]["idle"]
    assert config["nodes"][0]["id"] == result["node_mapping"]["idle"]
    assert all(node["transparentThumbnailUrl"].startswith("http://sim/cdn/") for node in config["nodes"])
    loops = [edge for edge in config["edges"] if edge["isLoop"]]
    assert len(loops) == 4
    assert all(edge["source"] == edge["target"] for edge in loops)
    video_edges = [edge for edge in config["edges"] if edge["source"] != "*"]
    assert all(set(edge["videos"]) == {"webm", "hevc"} for edge in video_edges)
    assert all(isinstance(edge["duration"], float) for edge in config["edges"])
    any_state = next(edge for edge in config["edges"] if edge["source"] == "*")
    assert any_state["videos"] == {}
    assert any_state["conditions"] == [{"input": "reset", "op": "==", "value": True}]
    assert {(i["name"], i["type"]) for i in config["inputs"]} == {("state", "number"), ("reset", "trigger")}
    webm = await client.get(video_edges[0]["videos"]["webm"])
    assert webm.headers["content-type"] == "video/webm"


async def test_generate_all_again_skips_completed_work_and_create_with_template_works_in_one_call(
    client: httpx2.AsyncClient, sim: MaskoSimulator, clock: FakeClock
) -> None:
    sim.accounts[KEY].topup_credits = 500
    collection_id = await new_collection(client, sim)
    body = {"name": "Greeter", "template_id": "website-greeter-3state"}
    created = await client.post(f"/v1/collections/{collection_id}/canvases", json=body)
    assert created.status_code == 201
    canvas = payload(sim, created)
    assert (len(canvas["nodes"]), canvas["total_cost"]) == (3, 3)
    base = f"/v1/collections/{collection_id}/canvases/{canvas['id']}"
    first = payload(sim, await client.post(f"{base}/generate-all"))
    assert (first["generated"], first["actual_cost"], first["reverse_free"]) == (7, 100, 2)
    clock.advance(30)

    again = payload(sim, await client.post(f"{base}/generate-all", json={"targets": "animations"}))

    assert (again["generated"], again["actual_cost"], again["already_complete"]) == (0, 0, 5)
    redo = payload(
        sim, await client.post(f"{base}/generate-all", json={"targets": "animations", "skip_completed": False})
    )
    assert (redo["generated"], redo["actual_cost"]) == (7, 100)


async def test_canvas_errors(client: httpx2.AsyncClient, sim: MaskoSimulator) -> None:
    collection_id = await new_collection(client, sim)
    canvas = payload(sim, await client.post(f"/v1/collections/{collection_id}/canvases", json={"name": "Empty"}))
    base = f"/v1/collections/{collection_id}/canvases/{canvas['id']}"

    assert_error(sim, await client.post(f"{base}/generate-all"), 400, "bad_request")
    assert_error(sim, await client.post(f"{base}/from-template", json={"template_id": "nope"}), 404, "not_found")
    assert_error(sim, await client.post(f"{base}/generate-all", json={"duration": 11}), 400, "bad_request")
    assert_error(sim, await client.get(f"/v1/collections/{collection_id}/canvases/nope/status"), 404, "not_found")
