"""What a Univers call is expected to cost: the figures the tools' cost texts state, computed from the arguments."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from PIL import Image

from providers.base import Operation
from tests.harness.results import data
from tests.providers.univers.support import KEY, World

pytestmark = pytest.mark.anyio

PICTURE = "https://example.com/cat.png"


def _operation(univers: World, name: str) -> Operation[Any]:
    return {op.name: op for op in univers.runtime.providers["univers"].operations()}[name]


def _estimate(univers: World, name: str, arguments: dict[str, Any]) -> float | None:
    operation = _operation(univers, name)
    return operation.estimated_cost(operation.input_model.model_validate(arguments))


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"image": PICTURE}, 1),
        ({"image": PICTURE, "mode": "lineart", "output": "svg"}, 1),
        ({"image": PICTURE, "mode": "voronoi"}, 1),
        ({"image": PICTURE, "mode": "ai"}, 10),
    ],
)
async def test_a_page_is_estimated_at_its_documented_price(
    univers: World, arguments: dict[str, Any], expected: float
) -> None:
    assert _estimate(univers, "generate", arguments) == expected


async def test_color_by_number_is_estimated_at_the_higher_of_its_two_prices(univers: World) -> None:
    assert "expect up to 10" in _operation(univers, "generate").cost
    assert _estimate(univers, "generate", {"image": PICTURE, "mode": "cbn"}) == 10


async def test_a_preset_leaves_the_page_price_unknown(univers: World) -> None:
    assert _estimate(univers, "generate", {"image": PICTURE, "mode": "hex", "preset": "cbn-kids"}) is None


@pytest.mark.parametrize(("count", "mode"), [(1, "hex"), (3, "cbn"), (50, "lineart")])
async def test_bulk_is_estimated_at_one_credit_per_picture_in_any_mode(univers: World, count: int, mode: str) -> None:
    assert _estimate(univers, "bulk", {"images": [PICTURE] * count, "mode": mode}) == count


@pytest.mark.parametrize(("quality", "expected"), [(None, 1), ("low", 1), ("medium", 3), ("high", 10)])
async def test_an_ai_image_is_estimated_by_its_quality(univers: World, quality: str | None, expected: float) -> None:
    arguments = {"prompt": "a castle"} if quality is None else {"prompt": "a castle", "quality": quality}

    assert _estimate(univers, "ai_image", arguments) == expected


async def test_the_presets_list_is_free(univers: World) -> None:
    assert _estimate(univers, "presets", {}) == 0


def _picture() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (48, 48), "teal").save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("generate", {"mode": "lineart", "output": "mystery"}),
        ("generate", {"mode": "ai"}),
        ("bulk", {"mode": "voronoi"}),
        ("ai_image", {"prompt": "a castle", "quality": "medium"}),
    ],
)
async def test_the_estimate_is_what_the_simulated_service_charges(
    univers: World, tool: str, arguments: dict[str, Any]
) -> None:
    if tool == "generate":
        arguments = {**arguments, "image": _picture()}
    if tool == "bulk":
        arguments = {**arguments, "images": [_picture(), _picture()]}
    expected = _estimate(univers, tool, arguments)

    result = await univers.client.call_tool(f"univers_{tool}", arguments)

    assert expected is not None
    assert data(result)["status"] == "completed"
    assert univers.sim.accounts[KEY].balance == 100 - expected
