"""The Masko simulator's credits: 402 in each shape, the balance in each shape, subscription credits spent
before top-ups, refunds of failed jobs, and the charge for a reference image drawn from a prompt."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from providers.masko.simulator import MaskoSimulator
from tests.harness.clock import FakeClock
from tests.providers.masko.simulator.support import (
    KEY,
    generate,
    new_collection,
    payload,
    total,
)

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("envelope", [True, False])
async def test_insufficient_credits_is_402_in_the_mode_shape(
    client: httpx2.AsyncClient, sim: MaskoSimulator, envelope: bool
) -> None:
    sim.envelope = envelope
    collection_id = await new_collection(client, sim)
    sim.accounts[KEY].subscription_credits, sim.accounts[KEY].topup_credits = 3, 2

    response = await generate(client, collection_id, type="animation", prompt="waving", duration=4)

    assert response.status_code == 402
    if envelope:
        assert response.json() == {
            "error": {
                "code": "insufficient_credits",
                "message": "Not enough credits. Required: 21, balance: 5.",
                "required": 21,
                "balance": 5,
            }
        }
    else:
        assert response.json() == {"error": "Insufficient credits", "required": 21, "available": 5}
    assert total(sim) == 5
    assert sim.jobs == {}


@pytest.mark.parametrize(
    ("envelope", "expected"),
    [
        (True, {"data": {"subscription": 79, "topup": 50, "total": 129}}),
        (False, {"subscription_credits": 79, "topup_credits": 50, "total": 129}),
    ],
)
async def test_credits_shape_and_subscription_credits_are_spent_first(
    client: httpx2.AsyncClient, sim: MaskoSimulator, envelope: bool, expected: dict[str, Any]
) -> None:
    sim.envelope = envelope
    collection_id = await new_collection(client, sim)
    await generate(client, collection_id, type="animation", prompt="waving")

    assert (await client.get("/v1/credits")).json() == expected


async def test_topup_credits_are_used_once_subscription_credits_run_out(
    client: httpx2.AsyncClient, sim: MaskoSimulator
) -> None:
    collection_id = await new_collection(client, sim)
    sim.accounts[KEY].subscription_credits = 10

    await generate(client, collection_id, type="animation", prompt="waving")

    assert (sim.accounts[KEY].subscription_credits, sim.accounts[KEY].topup_credits) == (0, 39)


@pytest.mark.parametrize("envelope", [True, False])
async def test_failing_job_refunds_its_credits_and_reports_an_error(
    client: httpx2.AsyncClient, sim: MaskoSimulator, clock: FakeClock, envelope: bool
) -> None:
    sim.envelope = envelope
    collection_id = await new_collection(client, sim)
    sim.accounts[KEY].subscription_credits = 10
    job = payload(sim, await generate(client, collection_id, type="animation", prompt="this will [fail]"))
    assert (sim.accounts[KEY].subscription_credits, sim.accounts[KEY].topup_credits) == (0, 39)
    clock.advance(20)

    failed = payload(sim, await client.get(f"/v1/jobs/{job['job_id']}"))

    assert failed["status"] == "failed"
    if envelope:
        assert failed["error"]["code"] == "generation_failed"
    else:
        assert isinstance(failed["error"], str)
    assert (sim.accounts[KEY].subscription_credits, sim.accounts[KEY].topup_credits) == (10, 50)
    await client.get(f"/v1/jobs/{job['job_id']}")
    assert total(sim) == 60
    assert (await client.get(job["urls"]["webm"])).headers["content-type"] == "image/png"


async def test_direct_collection_creation_charges_one_credit_for_its_reference_image(
    client: httpx2.AsyncClient, sim: MaskoSimulator, clock: FakeClock
) -> None:
    project = payload(sim, await client.post("/v1/projects", json={"name": "App"}))
    body = {"project_id": project["id"], "name": "Astro Fox", "prompt": "a fox in a helmet", "style": "3d"}

    collection = payload(sim, await client.post("/v1/collections", json=body))

    assert total(sim) == 149
    assert collection["config"]["style"] == "3d-render"
    assert len(collection["config"]["reference_asset_ids"]) == 1
    clock.advance(10)
    reference = payload(sim, await client.get(f"/v1/jobs/{collection['reference_job_id']}"))
    assert (reference["status"], reference["type"]) == ("completed", "image_generation")
