"""Who may ask the Masko simulator what: rate-limit headers and 429s, keys, other workspaces' records, and
injected faults."""

from __future__ import annotations

import httpx2
import pytest

from providers.masko.simulator import MaskoSimulator
from tests.harness.clock import FakeClock
from tests.providers.masko.simulator.support import (
    OTHER_KEY,
    assert_error,
    image_job,
    new_collection,
)

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("envelope", [True, False])
async def test_rate_limit_headers_and_429_with_retry_after(
    client: httpx2.AsyncClient, sim: MaskoSimulator, clock: FakeClock, envelope: bool
) -> None:
    sim.envelope, sim.rate_limit = envelope, 3
    responses = [await client.get("/v1/credits") for _ in range(3)]
    assert [r.headers["X-RateLimit-Remaining"] for r in responses] == ["2", "1", "0"]
    assert responses[0].headers["X-RateLimit-Reset"] == "60"
    clock.advance(45)

    limited = await client.get("/v1/credits")

    assert_error(sim, limited, 429, "rate_limited")
    assert (limited.headers["Retry-After"], limited.headers["X-RateLimit-Remaining"]) == ("15", "0")
    other = await client.get("/v1/credits", headers={"Authorization": f"Bearer {OTHER_KEY}"})
    assert other.status_code == 200
    clock.advance(15)
    assert (await client.get("/v1/credits")).headers["X-RateLimit-Remaining"] == "2"


async def test_rate_limit_headers_are_sent_without_a_limit(client: httpx2.AsyncClient) -> None:
    response = await client.get("/v1/styles")

    assert (response.headers["X-RateLimit-Remaining"], response.headers["X-RateLimit-Reset"]) == ("60", "60")


@pytest.mark.parametrize("envelope", [True, False])
@pytest.mark.parametrize("header", [None, "Bearer", "Basic abc", "Bearer masko_unknown"])
async def test_missing_or_unknown_key_is_401(
    client: httpx2.AsyncClient, sim: MaskoSimulator, envelope: bool, header: str | None
) -> None:
    sim.envelope = envelope
    client.headers.pop("Authorization")
    headers = {} if header is None else {"Authorization": header}

    assert_error(sim, await client.get("/v1/credits", headers=headers), 401, "unauthorized")


async def test_another_workspaces_collection_is_403_and_unknown_ids_are_404(
    client: httpx2.AsyncClient, sim: MaskoSimulator
) -> None:
    collection_id = await new_collection(client, sim)
    job = await image_job(client, sim, collection_id, "Wave")
    other = {"Authorization": f"Bearer {OTHER_KEY}"}

    assert_error(sim, await client.get(f"/v1/collections/{collection_id}", headers=other), 403, "forbidden")
    assert_error(sim, await client.get(f"/v1/jobs/{job['job_id']}", headers=other), 403, "forbidden")
    assert_error(sim, await client.get("/v1/collections/nope"), 404, "not_found")
    assert_error(sim, await client.get("/v1/jobs/nope"), 404, "not_found")
    assert_error(sim, await client.get("/v1/no-such-route"), 404, "not_found")


async def test_fault_with_error_body_answers_500_in_the_envelope(
    client: httpx2.AsyncClient, sim: MaskoSimulator
) -> None:
    sim.faults.add("GET", "/v1/credits", status=500, body=sim.error_body(500, "boom"))

    assert_error(sim, await client.get("/v1/credits"), 500, "internal_error")
    assert (await client.get("/v1/credits")).status_code == 200
