"""Credits, the delay before an answer, upstream failures, keys, anonymous callers and plans in the simulator."""

from __future__ import annotations

import anyio
import httpx2
import pytest

from providers.univers.simulator import UniversAccount, UniversSimulator
from tests.harness.clock import FakeClock
from tests.providers.univers.support import KEY, OTHER_KEY, SCENE, TINY, connect, generate, members

pytestmark = pytest.mark.anyio


async def test_generation_waits_for_the_delay_before_answering_and_charges_only_then() -> None:
    started, release = anyio.Event(), anyio.Event()
    delays: list[float] = []

    async def held_sleep(seconds: float) -> None:
        delays.append(seconds)
        started.set()
        await release.wait()

    sim = UniversSimulator(accounts={KEY: UniversAccount(balance=10)}, delay_seconds=30.0, sleep=held_sleep)
    responses: list[httpx2.Response] = []
    async with connect(sim) as client:

        async def call() -> None:
            responses.append(await generate(client, output="legend"))

        async with anyio.create_task_group() as tg:
            tg.start_soon(call)
            await started.wait()
            assert delays == [30.0]
            assert responses == []
            assert sim.accounts[KEY].balance == 10
            release.set()

    assert responses[0].status_code == 200
    assert sim.accounts[KEY].balance == 9


async def test_upstream_failure_in_hint_is_502_after_the_delay_and_charges_nothing(
    client: httpx2.AsyncClient, sim: UniversSimulator, clock: FakeClock
) -> None:
    response = await generate(client, mode="ai", hint="a cat [upstream-fail]")

    assert response.status_code == 502
    assert response.json()["detail"].startswith("Image API error: ")
    assert clock.sleeps == [2.5]
    assert sim.accounts[KEY].balance == 100


async def test_insufficient_balance_for_a_mosaic_is_402_with_remaining(
    client: httpx2.AsyncClient, sim: UniversSimulator
) -> None:
    sim.accounts[KEY].balance = 0

    response = await generate(client)

    assert response.status_code == 402
    assert response.json()["detail"]["error"] == "Insufficient credits"
    assert response.json()["detail"]["remaining"] == 0
    assert response.json()["detail"]["cost"] == 1


async def test_balance_endpoint_reports_the_account_and_follows_spending(
    client: httpx2.AsyncClient, sim: UniversSimulator
) -> None:
    await generate(client, output="legend")

    response = await client.get("/api/credits/balance")

    assert response.json() == {"balance": 99, "monthly_quota": 800, "plan_name": "commercial", "sub_status": "active"}


async def test_quota_endpoint_for_an_account(client: httpx2.AsyncClient) -> None:
    response = await client.get("/api/quota")

    assert response.json() == {"remaining": 100, "limit": 800, "plan": "commercial", "authenticated": True}


@pytest.mark.parametrize("header", [None, "Bearer us_live_" + "0" * 40, "Basic abc", "Bearer "])
async def test_bad_or_missing_key_is_401_in_401_mode(
    client: httpx2.AsyncClient, sim: UniversSimulator, header: str | None
) -> None:
    client.headers.pop("Authorization")
    headers = {} if header is None else {"Authorization": header}

    for response in [
        await client.post("/api/generate", files={"image": ("a.png", SCENE, "image/png")}, headers=headers),
        await client.post("/api/bulk", files={"images": ("a.png", SCENE, "image/png")}, headers=headers),
        await client.post("/api/ai-image", data={"prompt": "a cat"}, headers=headers),
        await client.get("/api/credits/balance", headers=headers),
        await client.get("/api/quota", headers=headers),
    ]:
        assert response.status_code == 401
        assert response.json() == {"detail": "Not authenticated"}
    assert (await client.get("/api/presets", headers=headers)).status_code == 200


async def test_bad_key_in_anonymous_mode_gets_three_free_generations_with_a_smaller_zip_then_429(
    clock: FakeClock,
) -> None:
    sim = UniversSimulator(invalid_key_mode="anonymous", sleep=clock.sleep)
    headers = {"Authorization": "Bearer us_live_" + "0" * 40}
    async with connect(sim, headers) as client:
        assert (await client.get("/api/quota")).json() == {"remaining": 3, "limit": 3, "authenticated": False}
        first = await generate(client, TINY)
        assert sorted(members(first)) == ["garden/garden-mystery-full.png"]
        assert (await generate(client, TINY, mode="cbn")).json() == {
            "detail": "Color by Number requires an account. Sign up free at univers.studio!"
        }
        assert (await generate(client, TINY, mode="ai")).status_code == 403
        lineart = await generate(client, TINY, mode="lineart")
        assert sorted(members(lineart)) == ["garden/garden-lineart.png"]
        assert (await generate(client, TINY, output="legend")).status_code == 200
        assert (await client.get("/api/quota")).json()["remaining"] == 0

        limited = await generate(client, TINY)

        assert limited.status_code == 429
        assert limited.json()["detail"]["error"] == "Free limit reached"
        assert (await client.get("/api/credits/balance")).json() == {"detail": "Not authenticated"}
    assert sim.accounts["us_live_sandbox"].balance == 800


async def test_account_on_another_plan_is_403_for_generation_but_can_read_its_balance(
    client: httpx2.AsyncClient, sim: UniversSimulator
) -> None:
    other = {"Authorization": f"Bearer {OTHER_KEY}"}

    response = await client.post("/api/generate", files={"image": ("a.png", SCENE, "image/png")}, headers=other)

    assert response.status_code == 403
    assert isinstance(response.json()["detail"], str)
    assert (await client.post("/api/ai-image", data={"prompt": "a cat"}, headers=other)).status_code == 403
    assert (await client.get("/api/credits/balance", headers=other)).json()["plan_name"] == "creator"
    assert sim.accounts[OTHER_KEY].balance == 50
