"""Masko canvases through the adapter: from a template to generation, progress and export."""

from __future__ import annotations

import pytest
from mcp import Client

from providers.masko.simulator import MaskoSimulator
from tests.providers.masko.adapter.support import new_mascot, ok, total

pytestmark = pytest.mark.anyio


async def test_a_canvas_from_template_to_export(client: Client, sim: MaskoSimulator) -> None:
    mascot_id = await new_mascot(client)
    templates = await ok(client, "masko_list_canvas_templates", {})
    template = templates["details"]["templates"][0]
    assert template["template_id"] == "claude-code-4state"
    assert template["estimated_cost"] > 0
    canvas = await ok(client, "masko_create_canvas", {"mascot_id": mascot_id, "name": "Main"})
    where = {"mascot_id": mascot_id, "canvas_id": canvas["details"]["canvas_id"]}

    applied = await ok(client, "masko_apply_canvas_template", {**where, "template_id": "claude-code-4state"})

    assert applied["status"] == "completed"
    assert applied["credits"]["charged"] == 4
    assert len(applied["related"]) == 3
    assert {r["status"] for r in applied["related"]} == {"completed"}
    assert [n["name"] for n in applied["details"]["nodes"]] == ["Idle", "Thinking", "Working", "Needs Attention"]

    generated = await ok(client, "masko_generate_canvas", {**where, "duration": 4})

    assert generated["status"] == "completed"
    assert (generated["credits"]["charged"], generated["details"]["reverse_free"]) == (160, 4)
    assert generated["details"]["generated"] == 12  # 4 loops and 4 transitions paid, 4 reverses free
    assert len(generated["related"]) == 11
    assert {r["status"] for r in generated["related"]} == {"completed"}
    assert total(sim) == 1000 - 4 - 160

    status = await ok(client, "masko_canvas_status", where)

    assert (status["details"]["done"], status["details"]["percent"], status["details"]["failed"]) == (True, 100, 0)
    assert "masko_export_canvas" in status["text"]

    exported = await ok(client, "masko_export_canvas", where)

    config = exported["details"]["config"]
    assert (config["name"], len(config["nodes"]), exported["details"]["edges_without_video"]) == ("Main", 4, 0)
    assert [a["mime_type"] for a in exported["assets"]] == ["application/json"]
    assert exported["assets"][0]["resource"].startswith("artifact://")


async def test_canvas_status_reads_the_older_status_resource_when_the_detail_is_missing(
    client: Client, sim: MaskoSimulator
) -> None:
    mascot_id = await new_mascot(client)
    canvas = await ok(client, "masko_create_canvas", {"mascot_id": mascot_id, "name": "Greeter"})
    where = {"mascot_id": mascot_id, "canvas_id": canvas["details"]["canvas_id"]}
    await ok(client, "masko_apply_canvas_template", {**where, "template_id": "website-greeter-3state", "wait": 0})
    sim.faults.add("GET", f"/v1/collections/{mascot_id}/canvases/{where['canvas_id']}", status=404, times=1)

    status = await ok(client, "masko_canvas_status", where)

    assert (status["details"]["total_jobs"], status["details"]["done"]) == (3, False)
    assert sim.requests.count(f"GET /v1/collections/{mascot_id}/canvases/{where['canvas_id']}/status") == 1
