"""Masko projects and mascots through the adapter: creating and listing them, reading one whole, uploads, and the
helpers for picking a character (styles, website ideas, pose suggestions, previews)."""

from __future__ import annotations

import base64

import pytest
from mcp import Client

from providers._sandbox.images import placeholder_png
from providers.masko.simulator import MaskoSimulator
from tests.providers.masko.adapter.support import new_mascot, new_pose, ok, sent, total

pytestmark = pytest.mark.anyio

PNG = placeholder_png("upload", width=32, height=32)


async def test_projects_and_a_mascot_from_references_are_free_and_listed(client: Client, sim: MaskoSimulator) -> None:
    mascot_id = await new_mascot(client)

    projects = await ok(client, "masko_list_projects", {})
    mascots = await ok(client, "masko_list_mascots", {"project_id": projects["details"]["projects"][0]["project_id"]})

    assert [p["name"] for p in projects["details"]["projects"]] == ["My App"]
    assert [(m["mascot_id"], m["name"]) for m in mascots["details"]["mascots"]] == [(mascot_id, "Felix")]
    assert mascot_id in mascots["text"]
    assert total(sim) == 1000


async def test_a_mascot_from_a_prompt_costs_one_credit_and_waits_for_its_reference_image(
    client: Client, sim: MaskoSimulator
) -> None:
    project = await ok(client, "masko_create_project", {"name": "App"})
    args = {"project_id": project["details"]["project_id"], "prompt": "a fox in a space helmet", "style": "3d"}

    created = await ok(client, "masko_create_mascot", args)

    assert created["status"] == "completed"
    assert created["credits"]["charged"] == 1
    assert total(sim) == 999
    assert created["details"]["mascot_id"] in sim.collections
    assert [a["mime_type"] for a in created["assets"]] == ["image/png"]
    assert sent(sim, "POST", "/v1/collections")["prompt"] == "a fox in a space helmet"


async def test_get_mascot_lists_items_with_asset_ids_and_every_url(client: Client) -> None:
    mascot_id = await new_mascot(client)
    wave = await new_pose(client, mascot_id, "Wave")

    mascot = await ok(client, "masko_get_mascot", {"mascot_id": mascot_id})

    item = mascot["details"]["items"][0]
    assert (item["item_id"], item["name"]) == (wave["details"]["item_id"], "Wave")
    assert {a["type"] for a in item["assets"]} == {"image", "transparent_image"}
    assert {a["url"] for a in mascot["assets"]} == {a["url"] for a in wave["assets"]}
    assert not any(a["pending"] for a in mascot["assets"])
    assert mascot["details"]["mascot"]["name"] == "Felix"


async def test_upload_sends_a_url_as_json_and_bytes_as_a_file(client: Client, sim: MaskoSimulator) -> None:
    mascot_id = await new_mascot(client)

    by_url = await ok(client, "masko_upload", {"image": "https://example.com/mascot.png"})
    by_bytes = await ok(client, "masko_upload", {"image": "data:image/png;base64," + base64.b64encode(PNG).decode()})

    url_id, file_id = by_url["details"]["asset_id"], by_bytes["details"]["asset_id"]
    assert sim.assets[url_id].source_url == "https://example.com/mascot.png"
    assert sim.assets[file_id].data == PNG
    edit = {"mascot_id": mascot_id, "type": "edit", "source_image_asset_id": file_id, "edit_instructions": "a hat"}
    assert (await ok(client, "masko_generate", edit))["status"] == "completed"
    project_id = sim.collections[mascot_id].project_id
    created = await ok(client, "masko_create_mascot", {"project_id": project_id, "reference_asset_ids": [url_id]})
    assert created["credits"]["charged"] == 0


async def test_styles_website_analysis_and_pose_suggestions_are_free(client: Client, sim: MaskoSimulator) -> None:
    mascot_id = await new_mascot(client)
    await new_pose(client, mascot_id, "Thumbs Up")

    styles = await ok(client, "masko_list_styles", {})
    ideas = await ok(client, "masko_analyze_url", {"url": "https://www.example.com/pricing"})
    poses = await ok(client, "masko_suggest_actions", {"mascot_id": mascot_id})

    assert {"3d-render", "pixel-art"} <= {s["id"] for s in styles["details"]["styles"]}
    assert ideas["details"]["brand"]["name"] == "Example"
    assert len(ideas["details"]["suggestions"]) == 3
    assert 6 <= len(poses["details"]["suggestions"]) <= 8
    assert "Thumbs Up" not in poses["details"]["suggestions"]
    assert total(sim) == 999


async def test_a_character_preview_costs_one_credit_and_a_mascot_preview_is_free(
    client: Client, sim: MaskoSimulator
) -> None:
    mascot_id = await new_mascot(client)

    four = await ok(client, "masko_preview", {"prompt": "a fox", "style": "pixel-art"})
    one = await ok(client, "masko_preview", {"prompt": "waving", "mascot_id": mascot_id})

    assert (len(four["assets"]), four["credits"]["charged"]) == (4, 1)
    assert (len(one["assets"]), one["credits"]["charged"]) == (1, 0)
    assert sent(sim, "POST", "/generate/preview") == {"collection_id": mascot_id, "prompt": "waving"}
    assert total(sim) == 999
