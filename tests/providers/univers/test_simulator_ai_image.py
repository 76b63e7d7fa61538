"""The simulator's AI image endpoint: sizes, prices by quality, prompt checks and free generations."""

from __future__ import annotations

import httpx2
import pytest

from providers.univers.simulator import UniversSimulator
from tests.harness.clock import FakeClock
from tests.providers.univers.support import KEY, attachment, connect, png

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("size", "pixels"),
    [
        ("1024x1024", (256, 256)),
        ("1024x1536", (256, 384)),
        ("1536x1024", (384, 256)),
        ("2048x2048", (256, 256)),
        (None, (256, 256)),
    ],
)
async def test_ai_image_is_drawn_at_a_quarter_of_the_requested_size(
    client: httpx2.AsyncClient, size: str | None, pixels: tuple[int, int]
) -> None:
    data = {"prompt": "a cute unicorn in a flower garden", "style": "coloring"}
    if size is not None:
        data["size"] = size

    response = await client.post("/api/ai-image", data=data)

    assert response.status_code == 200, response.text
    assert attachment(response) == "ai-image.png"
    assert png(response).size == pixels


@pytest.mark.parametrize(("quality", "cost"), [("low", 1), ("medium", 3), ("high", 10), ("ultra", 1), (None, 1)])
async def test_ai_image_cost_follows_quality(
    client: httpx2.AsyncClient, sim: UniversSimulator, quality: str | None, cost: int
) -> None:
    data = {"prompt": "a castle"} if quality is None else {"prompt": "a castle", "quality": quality}

    response = await client.post("/api/ai-image", data=data)

    assert response.status_code == 200
    assert sim.accounts[KEY].balance == 100 - cost


@pytest.mark.parametrize(
    ("prompt", "status", "detail"),
    [
        ("  ab  ", 400, "Prompt must be at least 3 characters"),
        ("x" * 1001, 400, "Prompt must be under 1000 characters"),
    ],
)
async def test_ai_image_prompt_length_is_checked_after_trimming(
    client: httpx2.AsyncClient, sim: UniversSimulator, prompt: str, status: int, detail: str
) -> None:
    response = await client.post("/api/ai-image", data={"prompt": prompt})

    assert response.status_code == status
    assert response.json() == {"detail": detail}
    assert sim.accounts[KEY].balance == 100


async def test_ai_image_accepts_a_trimmed_1000_character_prompt(client: httpx2.AsyncClient) -> None:
    response = await client.post("/api/ai-image", data={"prompt": "  " + "y" * 1000 + "  "})

    assert response.status_code == 200


async def test_ai_image_without_prompt_is_422(client: httpx2.AsyncClient) -> None:
    response = await client.post("/api/ai-image", data={"style": "sticker"})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "prompt"]


async def test_ai_image_high_quality_without_ten_credits_is_402(
    client: httpx2.AsyncClient, sim: UniversSimulator
) -> None:
    sim.accounts[KEY].balance = 4

    response = await client.post("/api/ai-image", data={"prompt": "a castle", "quality": "high"})

    assert response.status_code == 402
    detail = response.json()["detail"]
    assert (detail["error"], detail["remaining"], detail["cost"]) == ("Insufficient credits", 4, 10)
    assert sim.accounts[KEY].balance == 4


async def test_ai_image_upstream_failure_is_502_and_free(
    client: httpx2.AsyncClient, sim: UniversSimulator, clock: FakeClock
) -> None:
    response = await client.post("/api/ai-image", data={"prompt": "a castle [upstream-fail]", "quality": "medium"})

    assert response.status_code == 502
    assert response.json()["detail"].startswith("Image API error: ")
    assert sim.accounts[KEY].balance == 100
    assert clock.sleeps == [2.5]


async def test_anonymous_ai_image_uses_as_many_free_generations_as_it_costs(clock: FakeClock) -> None:
    sim = UniversSimulator(invalid_key_mode="anonymous", sleep=clock.sleep)
    async with connect(sim, {}) as client:
        assert (await client.post("/api/ai-image", data={"prompt": "a castle", "quality": "medium"})).status_code == 200
        limited = await client.post("/api/ai-image", data={"prompt": "a castle"})

    assert limited.status_code == 429
    assert limited.json()["detail"]["error"] == "Free quota exceeded"
