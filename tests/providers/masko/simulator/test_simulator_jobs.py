"""The Masko simulator's job routes: a held `wait=true` read (bounded whatever the clock does) and the job list's
filters."""

from __future__ import annotations

import anyio.lowlevel
import httpx2
import pytest

from providers.masko.simulator import MaskoSimulator
from tests.harness.clock import FakeClock
from tests.providers.masko.simulator.support import (
    assert_error,
    generate,
    image_job,
    new_collection,
    payload,
)

pytestmark = pytest.mark.anyio


async def test_wait_true_answers_in_one_request_once_the_job_completes(
    client: httpx2.AsyncClient, sim: MaskoSimulator, clock: FakeClock
) -> None:
    collection_id = await new_collection(client, sim)
    job = await image_job(client, sim, collection_id, "Wave")
    sim.requests.clear()
    started = clock.t

    response = await client.get(f"/v1/jobs/{job['job_id']}", params={"wait": "true"})

    assert payload(sim, response)["status"] == "completed"
    assert sim.requests.total == 1
    assert clock.t - started == pytest.approx(10.0)
    assert all(step <= 1.0 for step in clock.sleeps)


async def test_wait_true_gives_up_after_wait_timeout_with_the_current_status(
    client: httpx2.AsyncClient, sim: MaskoSimulator, clock: FakeClock
) -> None:
    sim.wait_timeout = 3.0
    collection_id = await new_collection(client, sim)
    job = await image_job(client, sim, collection_id, "Wave")
    started = clock.t

    response = await client.get(f"/v1/jobs/{job['job_id']}", params={"wait": "true"})

    assert response.status_code == 200
    assert payload(sim, response)["status"] == "processing"
    assert clock.t - started == pytest.approx(3.0)


async def test_wait_true_ends_even_if_the_clock_never_moves(client: httpx2.AsyncClient, sim: MaskoSimulator) -> None:
    async def no_sleep(seconds: float) -> None:
        await anyio.lowlevel.checkpoint()

    sim.sleep, sim.wait_timeout = no_sleep, 2.0
    collection_id = await new_collection(client, sim)
    job = await image_job(client, sim, collection_id, "Wave")

    with anyio.fail_after(5):
        response = await client.get(f"/v1/jobs/{job['job_id']}", params={"wait": "true"})

    assert payload(sim, response)["status"] == "pending"


async def test_list_jobs_filters_by_status_collection_and_type(
    client: httpx2.AsyncClient, sim: MaskoSimulator, clock: FakeClock
) -> None:
    first = await new_collection(client, sim)
    second = await new_collection(client, sim)
    image = await image_job(client, sim, first, "Wave")
    clock.advance(10)
    animation = payload(sim, await generate(client, second, type="animation", prompt="hop"))

    async def ids(**params: str) -> list[str]:
        return [job["id"] for job in payload(sim, await client.get("/v1/jobs", params=params))]

    assert await ids() == [animation["job_id"], image["job_id"]]
    assert await ids(status="completed") == [image["job_id"]]
    assert await ids(collection_id=second) == [animation["job_id"]]
    assert await ids(type="image") == [image["job_id"]]
    assert await ids(type="item_generation") == [image["job_id"]]
    assert_error(sim, await client.get("/v1/jobs", params={"status": "done"}), 400, "bad_request")
