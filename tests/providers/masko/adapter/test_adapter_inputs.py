"""Bad arguments to Masko tools are refused by genmcp with a message naming the problem, before any request reaches
Masko."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client

from providers.masko.simulator import MaskoSimulator
from tests.harness.results import text
from tests.providers.masko.adapter.support import REFERENCE

pytestmark = pytest.mark.anyio


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

    assert result.is_error
    assert phrase in text(result)
    assert sim.requests.total == 0
