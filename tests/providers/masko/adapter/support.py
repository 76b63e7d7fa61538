"""What the Masko adapter tests share: the key, the simulator's CDN address, a runtime wired to a simulator, and
short ways to call a tool and read what the simulator received."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mcp import Client

from providers.masko.simulator import MaskoSimulator
from server.app import Runtime
from tests.harness.clock import FakeClock
from tests.harness.results import data, text
from tests.harness.runtime import in_process_runtime
from tests.harness.settings import build_settings

__all__ = [
    "CDN",
    "KEY",
    "REFERENCE",
    "api_requests",
    "asset_types",
    "masko_runtime",
    "new_mascot",
    "new_pose",
    "ok",
    "sent",
    "total",
]

KEY = "masko_" + "ab" * 32
CDN = "https://assets.masko.test"
REFERENCE = "https://example.com/fox.png"


def masko_runtime(workdir: Path, clock: FakeClock, sim: MaskoSimulator, key: str = KEY) -> Runtime:
    """A runtime whose Masko key is `key`, talking to `sim` (downloads of its CDN links go to `sim` too)."""
    settings = build_settings(workdir, providers={"masko": {"api_key": key, "base_url": "https://api.masko.test/v1"}})
    return in_process_runtime(settings, apps={"masko": sim.app}, clock=clock, fetch_app=sim.app)


async def ok(client: Client, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    """Call a tool that must succeed; its structured result."""
    result = await client.call_tool(tool, args)
    assert not result.is_error, text(result)
    return data(result)


def api_requests(sim: MaskoSimulator) -> int:
    """Requests to the API (not to the CDN, which previews read)."""
    return sim.requests.total - sim.requests.count("GET /cdn/", prefix=True)


def asset_types(assets: list[dict[str, Any]]) -> list[str]:
    """Masko's asset type of each asset, from its name (`<item>-<type>.<ext>`)."""
    return [asset["name"].rsplit("-", 1)[1].split(".")[0] for asset in assets]


def sent(sim: MaskoSimulator, method: str, path_end: str) -> dict[str, Any]:
    """The JSON body of the last request with this method whose path ends so."""
    request = next(r for r in reversed(sim.requests.entries) if r.method == method and r.path.endswith(path_end))
    body: dict[str, Any] = json.loads(request.body)
    return body


async def new_mascot(client: Client) -> str:
    """A project and a mascot made from a reference image (free); the mascot's id."""
    project = await ok(client, "masko_create_project", {"name": "My App"})
    created = await ok(
        client,
        "masko_create_mascot",
        {"project_id": project["details"]["project_id"], "name": "Felix", "reference_image_urls": [REFERENCE]},
    )
    mascot_id: str = created["details"]["mascot_id"]
    return mascot_id


async def new_pose(client: Client, mascot_id: str, name: str) -> dict[str, Any]:
    """A finished pose image of the mascot, named `name`."""
    args = {"mascot_id": mascot_id, "type": "image", "name": name, "image_prompt": f"{name} pose"}
    return await ok(client, "masko_generate", args)


def total(sim: MaskoSimulator) -> int:
    """The test account's credits."""
    return sim.accounts[KEY].total
