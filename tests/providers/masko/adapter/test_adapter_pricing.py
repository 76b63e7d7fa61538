"""What a Masko call is expected to cost, from its arguments: the figures each tool's cost text states (image 1,
edit 1, logo 5, animation 5 per second + 1 for its pose image, a mascot from a prompt 1, a new-character preview 1),
and unknown where the price depends on a canvas or template only Masko knows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from providers.base import Provider
from providers.masko.simulator import MaskoSimulator
from tests.harness.clock import FakeClock
from tests.providers.masko.adapter.support import masko_runtime

pytestmark = pytest.mark.anyio

SPENDING = {"generate", "generate_batch", "create_mascot", "preview", "apply_canvas_template", "generate_canvas"}
CANVAS = {"mascot_id": "m1", "canvas_id": "c1"}
TRANSITION = {"type": "animation", "item_id": "i1", "end_image_asset_id": "a2", "auto_reverse": True}


@pytest.fixture
async def masko(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Provider]:
    async with masko_runtime(tmp_path, clock, MaskoSimulator(now=clock.now, sleep=clock.sleep)) as runtime:
        yield runtime.providers["masko"]


def _estimate(masko: Provider, name: str, args: dict[str, Any]) -> float | None:
    operation = next(op for op in masko.operations() if op.name == name)
    return operation.estimated_cost(operation.input_model.model_validate(args))


async def test_every_spending_operation_declares_an_estimate(masko: Provider) -> None:
    spending = {op.name: op for op in masko.operations() if op.kind == "spend"}

    assert set(spending) == SPENDING
    for name, op in spending.items():
        assert op.estimate is not None, name


@pytest.mark.parametrize(
    ("args", "credits"),
    [
        ({"type": "image", "name": "Wave", "image_prompt": "waving"}, 1),
        ({"type": "edit", "item_id": "i1", "edit_instructions": "a hat"}, 1),
        ({"type": "logo", "logo_description": "a fox face"}, 5),
        ({"type": "animation", "image_prompt": "standing", "animation_prompt": "breathing"}, 21),
        ({"type": "animation", "source_image_asset_id": "a1", "animation_prompt": "waving"}, 20),
        ({"type": "animation", "prompt": "waving", "duration": 10}, 51),
        ({"type": "animation", "item_id": "i1", "prompt": "waving", "duration": 3}, 15),
        (TRANSITION, 20),
    ],
    ids=["image", "edit", "logo", "animation-4s-from-scratch", "animation-4s-of-an-image", "10s", "3s", "transition"],
)
async def test_a_generation_is_estimated_at_its_documented_price(
    masko: Provider, args: dict[str, Any], credits: int
) -> None:
    assert _estimate(masko, "generate", {"mascot_id": "m1", **args}) == credits


async def test_a_batch_is_estimated_at_the_sum_of_its_requests(masko: Provider) -> None:
    requests = [
        {"type": "image", "name": "Waving", "image_prompt": "waving hello"},
        {"type": "logo", "logo_description": "a fox face"},
        {"type": "animation", "name": "Celebrating", "image_prompt": "jumping", "animation_prompt": "jump"},
    ]

    assert _estimate(masko, "generate_batch", {"mascot_id": "m1", "requests": requests}) == 1 + 5 + 21


@pytest.mark.parametrize(
    ("args", "credits"),
    [
        ({"project_id": "p1", "prompt": "a fox in a space helmet"}, 1),
        ({"project_id": "p1", "prompt": "a fox", "reference_asset_ids": ["a1"]}, 0),
        ({"project_id": "p1", "reference_image_urls": ["https://example.com/fox.png"]}, 0),
    ],
    ids=["from-a-prompt", "with-an-uploaded-reference", "with-a-reference-url"],
)
async def test_a_mascot_costs_one_credit_only_when_masko_draws_its_reference(
    masko: Provider, args: dict[str, Any], credits: int
) -> None:
    assert _estimate(masko, "create_mascot", args) == credits


@pytest.mark.parametrize(
    ("args", "credits"),
    [
        ({"prompt": "a fox", "style": "pixel-art", "count": 4}, 1),
        ({"prompt": "a fox"}, 1),
        ({"prompt": "waving", "mascot_id": "m1"}, 0),
    ],
    ids=["four-new-character-previews", "default-count", "pose-of-an-existing-mascot"],
)
async def test_previews_cost_one_credit_for_a_new_character_and_nothing_for_a_mascot(
    masko: Provider, args: dict[str, Any], credits: int
) -> None:
    assert _estimate(masko, "preview", args) == credits


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("apply_canvas_template", {**CANVAS, "template_id": "claude-code-4state"}),
        ("generate_canvas", {**CANVAS, "duration": 4}),
    ],
)
async def test_canvas_spending_is_unknown_before_the_call(masko: Provider, name: str, args: dict[str, Any]) -> None:
    assert _estimate(masko, name, args) is None


async def test_reads_and_free_writes_are_estimated_free(masko: Provider) -> None:
    free = [op for op in masko.operations() if op.kind != "spend"]

    assert free
    for op in free:
        assert op.estimate is None, op.name
        assert op.estimated_cost(op.input_model.model_construct()) == 0, op.name
