"""What genmcp can say about Cosmiq's prices: nothing per call (Cosmiq publishes no prices and its answers report
no credit use), except that building a board without generating is free."""

from __future__ import annotations

from typing import Any

import pytest

from providers.cosmiq.adapter import Cosmiq
from tests.harness.results import data, text
from tests.providers.cosmiq.support import World

pytestmark = pytest.mark.anyio


def test_cosmiq_says_it_reports_no_credit_use() -> None:
    assert Cosmiq.reports_credits is False


@pytest.mark.parametrize(
    ("operation", "arguments", "expected"),
    [
        ("create", {"prompt": "a red fox"}, None),
        ("create", {"prompt": "a red fox", "withVideo": True, "duration": 8}, None),
        ("campaign", {"brand": "Acme", "concepts": [{"prompt": "x"}], "generate": True}, None),
        ("campaign", {"brand": "Acme", "concepts": [{"prompt": "x"}] * 3}, 0.0),
        ("carousel", {"style_prompt": "flat", "slides": [{"prompt": "a"}, {"prompt": "b"}], "generate": True}, None),
        ("carousel", {"style_prompt": "flat", "slides": [{"prompt": "a"}, {"prompt": "b"}]}, 0.0),
        (
            "image_edit",
            {"edit_prompt": "night", "reference_image_urls": ["https://example.com/a.png"], "generate": True},
            None,
        ),
        ("image_edit", {"edit_prompt": "night"}, 0.0),
        ("add_image", {"image_urls": ["https://example.com/a.png"]}, 0.0),
        ("get_board", {"board": "b1"}, 0.0),
        ("update_prompts", {"board": "b1", "updates": [{"node_id": "n1", "text": "t"}]}, 0.0),
    ],
)
async def test_the_expected_cost_is_unknown_when_generating_and_zero_when_only_building(
    cosmiq: World, operation: str, arguments: dict[str, Any], expected: float | None
) -> None:
    found = {op.name: op for op in cosmiq.runtime.providers["cosmiq"].operations()}[operation]

    assert found.estimated_cost(found.input_model.model_validate(arguments)) == expected


async def test_a_generating_result_says_cosmiq_reports_no_credit_use(cosmiq: World) -> None:
    result = await cosmiq.client.call_tool("cosmiq_create", {"prompt": "a red fox", "wait": 30})

    answer = data(result)
    assert answer["status"] == "completed"
    assert answer["credits"] == {"charged": None, "remaining": None, "refunded": False, "reported": False}
    assert "cosmiq does not report credit use; this call may have spent credits." in text(result)
