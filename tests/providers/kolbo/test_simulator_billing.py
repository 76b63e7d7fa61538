"""The Kolbo simulator's credits over HTTP: cancelling (with or without a refund), failures refunded without
polling, the error marker, insufficient credits as 400 or 402, the bucket order, and the per-key rate limit."""

from __future__ import annotations

import httpx2
import pytest

from providers.kolbo.simulator import KolboAccount, KolboSimulator
from tests.harness.clock import FakeClock
from tests.providers.kolbo.support import AUTH, KEY, OTHER_KEY, assert_error, poll, start

pytestmark = pytest.mark.anyio

FAILURE = {
    "message": "Your prompt was flagged as sensitive content. Credits have been refunded.",
    "category": "content_policy",
    "code": "CONTENT_FLAGGED_SENSITIVE",
    "retryable": False,
    "severity": "error",
    "provider": "fal-ai/flux/schnell",
}


async def test_cancel_refunds_and_freezes_the_generation(
    api: httpx2.AsyncClient, sim: KolboSimulator, clock: FakeClock
) -> None:
    started = await start(api, "video", prompt="p")
    assert sim.accounts[KEY].plan_credits == 75
    clock.advance(10)

    cancelled = await api.post(f"/api/v1/generate/{started['generation_id']}/cancel", json={})

    assert cancelled.status_code == 200
    assert cancelled.json() == {
        "success": True,
        "generation_id": started["generation_id"],
        "state": "cancelled",
        "credits_refunded": 25,
        "message": "Generation cancelled",
    }
    assert sim.accounts[KEY].plan_credits == 100
    clock.advance(90)
    status = await poll(api, started)
    assert (status["state"], status["progress"], status["credits_used"]) == ("cancelled", 50, 0)
    assert "result" not in status
    assert (await api.get(f"/media/{started['generation_id']}/0.mp4")).status_code == 404
    again = await api.post(f"/api/v1/generate/{started['generation_id']}/cancel", json={})
    assert_error(again, 409, "ALREADY_TERMINAL")
    assert sim.accounts[KEY].plan_credits == 100


async def test_cancel_without_refunds_keeps_the_credits_and_says_none_came_back(
    api: httpx2.AsyncClient, sim: KolboSimulator, clock: FakeClock
) -> None:
    sim.refund_on_cancel = False
    started = await start(api, "video", prompt="p")
    clock.advance(10)

    cancelled = await api.post(f"/api/v1/generate/{started['generation_id']}/cancel", json={})

    assert cancelled.status_code == 200
    assert cancelled.json() == {
        "success": True,
        "generation_id": started["generation_id"],
        "state": "cancelled",
        "credits_refunded": 0,
        "message": "Generation cancelled",
    }
    assert sim.accounts[KEY].plan_credits == 75
    status = await poll(api, started)
    assert status["state"] == "cancelled"
    assert status["credits_used"] == 25


async def test_a_simulator_built_without_cancel_refunds_keeps_a_batchs_unfinished_scenes_charged(
    clock: FakeClock,
) -> None:
    sim = KolboSimulator(
        accounts={KEY: KolboAccount(plan_credits=100)}, job_seconds=10, now=clock.now, refund_on_cancel=False
    )
    transport = httpx2.ASGITransport(app=sim.app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://sim", headers=AUTH) as api:
        started = await start(api, "creative-director", prompt="p", scene_count=4)
        clock.advance(12)
        cancelled = (await api.post(f"/api/v1/generate/{started['generation_id']}/cancel", json={})).json()

    assert cancelled["credits_refunded"] == 0
    assert sim.accounts[KEY].plan_credits == 92


async def test_cancel_of_a_finished_generation_is_409_and_refunds_nothing(
    api: httpx2.AsyncClient, sim: KolboSimulator, clock: FakeClock
) -> None:
    started = await start(api, "image", prompt="p")
    clock.advance(10)

    assert_error(
        await api.post(f"/api/v1/generate/{started['generation_id']}/cancel", json={}), 409, "ALREADY_TERMINAL"
    )
    assert sim.accounts[KEY].plan_credits == 98
    assert (await poll(api, started))["state"] == "completed"


async def test_cancelling_a_creative_director_batch_refunds_only_unfinished_scenes(
    api: httpx2.AsyncClient, sim: KolboSimulator, clock: FakeClock
) -> None:
    started = await start(api, "creative-director", prompt="p", scene_count=4)
    clock.advance(12)

    cancelled = (await api.post(f"/api/v1/generate/{started['generation_id']}/cancel", json={})).json()

    assert cancelled["credits_refunded"] == 6
    assert sim.accounts[KEY].plan_credits == 98
    status = await poll(api, started)
    assert status["state"] == "cancelled"
    assert [s["status"] for s in status["scenes"]] == ["completed", "cancelled", "cancelled", "cancelled"]


async def test_unknown_generation_is_not_found_for_status_and_cancel(api: httpx2.AsyncClient) -> None:
    assert_error(await api.get("/api/v1/generate/0123456789abcdef01234567/status"), 404, "NOT_FOUND")
    assert_error(await api.post("/api/v1/generate/0123456789abcdef01234567/cancel", json={}), 404, "NOT_FOUND")


async def test_another_keys_generation_is_not_found(api: httpx2.AsyncClient) -> None:
    started = await start(api, "image", prompt="mine")

    response = await api.get(started["poll_url"], headers={"X-API-Key": OTHER_KEY})
    assert_error(response, 404, "NOT_FOUND")


async def test_flagged_prompt_fails_with_failure_details_and_is_refunded_without_polling(
    api: httpx2.AsyncClient, sim: KolboSimulator, clock: FakeClock
) -> None:
    started = await start(api, "image", prompt="something [fail]")
    assert sim.accounts[KEY].plan_credits == 98
    clock.advance(10)
    await api.get("/api/v1/account/credits")
    assert sim.accounts[KEY].plan_credits == 100

    status = await poll(api, started)

    assert status["state"] == "failed"
    assert status["error"] == FAILURE["message"]
    assert status["failure"] == FAILURE
    assert status["credits_used"] == 0
    assert "result" not in status
    assert (await api.get(f"/media/{started['generation_id']}/0.png")).status_code == 404
    await poll(api, started)
    assert sim.accounts[KEY].plan_credits == 100


async def test_flagged_creative_director_fails_scene_by_scene_with_refunds(
    api: httpx2.AsyncClient, sim: KolboSimulator, clock: FakeClock
) -> None:
    started = await start(api, "creative-director", prompt="[fail]", scene_count=2)
    clock.advance(12)

    partial = await poll(api, started)
    assert partial["state"] == "processing"
    assert [s["status"] for s in partial["scenes"]] == ["failed", "processing"]
    assert sim.accounts[KEY].plan_credits == 98
    clock.advance(9)
    failed = await poll(api, started)
    assert (failed["state"], failed["failure"]["code"]) == ("failed", "CONTENT_FLAGGED_SENSITIVE")
    assert sim.accounts[KEY].plan_credits == 100


async def test_flagged_chat_message_fails_and_is_not_remembered_as_answered(
    api: httpx2.AsyncClient, sim: KolboSimulator, clock: FakeClock
) -> None:
    started = (await api.post("/api/v1/chat", json={"message": "[fail] this"})).json()
    clock.advance(2.5)

    status = await poll(api, started)
    assert (status["state"], status["failure"]["category"]) == ("failed", "content_policy")
    assert [m.role for m in sim.chat_sessions[started["session_id"]].messages] == ["user"]


async def test_error_marker_is_a_500_generation_error_that_charges_nothing(
    api: httpx2.AsyncClient, sim: KolboSimulator
) -> None:
    assert_error(await api.post("/api/v1/generate/image", json={"prompt": "[error]"}), 500, "GENERATION_ERROR")
    assert sim.accounts[KEY].plan_credits == 100
    assert sim.generations == {}


@pytest.mark.parametrize("status", [400, 402])
async def test_insufficient_credits_uses_the_configured_status_and_charges_nothing(
    clock: FakeClock, status: int
) -> None:
    sim = KolboSimulator(
        accounts={KEY: KolboAccount(plan_credits=1)}, now=clock.now, insufficient_status=status, job_seconds=10
    )
    transport = httpx2.ASGITransport(app=sim.app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://sim", headers=AUTH) as api:
        response = await api.post("/api/v1/generate/image", json={"prompt": "x"})
        assert_error(response, status, "INSUFFICIENT_CREDITS")
        chat = await api.post("/api/v1/chat", json={"message": "x" * 20_000})
        assert_error(chat, status, "INSUFFICIENT_CREDITS")

    assert sim.accounts[KEY].plan_credits == 1
    assert sim.generations == {}
    assert sim.chat_sessions == {}


def test_insufficient_status_other_than_400_or_402_is_rejected() -> None:
    with pytest.raises(ValueError, match="400 or 402"):
        KolboSimulator(insufficient_status=403)


async def test_credits_are_taken_from_plan_then_pack_then_redemption_and_refunded_to_the_same_buckets(
    api: httpx2.AsyncClient, sim: KolboSimulator, clock: FakeClock
) -> None:
    sim.accounts[KEY] = KolboAccount(plan_credits=1, credit_pack=1.5, redemption=5)
    assert (await api.get("/api/v1/account/credits")).json() == {
        "success": True,
        "credits": {"total": 7.5, "plan_credits": 1, "credit_pack": 1.5, "redemption": 5},
    }

    started = await start(api, "image", prompt="[fail]", model="kie-nano-banana")

    credits = (await api.get("/api/v1/account/credits")).json()["credits"]
    assert credits == {"total": 3.5, "plan_credits": 0, "credit_pack": 0, "redemption": 3.5}
    clock.advance(10)
    assert (await poll(api, started))["state"] == "failed"
    credits = (await api.get("/api/v1/account/credits")).json()["credits"]
    assert credits == {"total": 7.5, "plan_credits": 1, "credit_pack": 1.5, "redemption": 5}


async def test_rate_limit_answers_429_in_its_own_shape_with_retry_after_and_charges_nothing(
    api: httpx2.AsyncClient, sim: KolboSimulator, clock: FakeClock
) -> None:
    sim.rate_limit = 2
    await start(api, "image", prompt="a")
    clock.advance(20)
    await api.post("/api/v1/chat", json={"message": "b"})
    clock.advance(10)

    limited = await api.post("/api/v1/generate/image", json={"prompt": "c"})

    assert limited.status_code == 429
    assert limited.json() == {"status": False, "message": "Too many requests, please try again later"}
    assert limited.headers["Retry-After"] == "30"
    assert len(sim.generations) == 2
    assert (await api.get("/api/v1/account/credits")).status_code == 200
    other = await api.post("/api/v1/generate/image", json={"prompt": "c"}, headers={"X-API-Key": OTHER_KEY})
    assert other.status_code == 200
    clock.advance(30)
    assert (await api.post("/api/v1/generate/image", json={"prompt": "c"})).status_code == 200
