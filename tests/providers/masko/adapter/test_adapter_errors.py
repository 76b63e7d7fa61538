"""Masko refusals through the adapter: credits, access, plans, keys and rate limits mapped to genmcp errors, and
the balance read live."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client

from providers.masko.simulator import MaskoAccount, MaskoSimulator
from server.app import Runtime
from server.errors import AuthError
from tests.harness.clock import FakeClock
from tests.harness.results import data, text
from tests.providers.masko.adapter.support import KEY, masko_runtime, new_mascot, ok, total

pytestmark = pytest.mark.anyio


async def test_insufficient_credits_says_required_and_available(
    client: Client, runtime: Runtime, sim: MaskoSimulator
) -> None:
    mascot_id = await new_mascot(client)
    sim.accounts[KEY].subscription_credits, sim.accounts[KEY].topup_credits = 3, 2

    result = await client.call_tool("masko_generate", {"mascot_id": mascot_id, "type": "animation", "prompt": "wave"})

    error = data(result)["error"]
    assert result.is_error
    assert error["code"] == "insufficient_credits"
    assert error["charged"] is False
    assert "needs 21" in error["message"]
    assert "has 5" in error["message"]
    assert sim.jobs == {}
    assert [job.operation for job in await runtime.store.list()] == ["create_mascot"]


async def test_refusals_are_mapped_in_both_error_body_shapes(client: Client, sim: MaskoSimulator) -> None:
    mascot_id = await new_mascot(client)
    project_id = sim.collections[mascot_id].project_id
    sim.accounts["masko_other"] = MaskoAccount()
    sim.collections[mascot_id].key = "masko_other"  # now another workspace's mascot

    unknown_style = await client.call_tool(
        "masko_create_mascot", {"project_id": project_id, "prompt": "a", "style": "x"}
    )
    missing = await client.call_tool("masko_get_mascot", {"mascot_id": "no-such-mascot"})
    foreign = await client.call_tool("masko_suggest_actions", {"mascot_id": mascot_id})

    codes = [data(r)["error"]["code"] for r in (unknown_style, missing, foreign)]
    assert codes == ["invalid_input", "not_found", "forbidden"]
    assert "Unknown style" in text(unknown_style)
    assert "another workspace" in text(foreign)
    assert data(unknown_style)["error"]["charged"] is False


async def test_a_logo_on_the_free_plan_is_forbidden_and_says_pro(client: Client, sim: MaskoSimulator) -> None:
    mascot_id = await new_mascot(client)
    sim.accounts[KEY].plan = "free"

    result = await client.call_tool("masko_generate", {"mascot_id": mascot_id, "type": "logo", "logo_description": "a"})

    error = data(result)["error"]
    assert result.is_error
    assert error["code"] == "forbidden"
    assert "Pro plan" in error["message"]
    assert total(sim) == 1000


async def test_credits_are_read_live_in_every_shape(client: Client, sim: MaskoSimulator) -> None:
    mascot_id = await new_mascot(client)
    await ok(client, "masko_generate", {"mascot_id": mascot_id, "type": "image", "prompt": "wave", "wait": 0})

    entry = (await ok(client, "credits", {"provider": "masko"}))["balances"][0]

    assert (entry["remaining"], entry["live"]) == (999, True)
    sim.faults.add("GET", "/v1/credits", status=200, body={"credits": 42})
    assert (await ok(client, "credits", {"provider": "masko"}))["balances"][0]["remaining"] == 42


async def test_check_reports_the_balance(runtime: Runtime) -> None:
    assert await runtime.providers["masko"].check() == "key accepted; 1000 credits"


async def test_an_unknown_key_is_an_auth_error_naming_the_variable(
    tmp_path: Path, clock: FakeClock, sim: MaskoSimulator
) -> None:
    async with masko_runtime(tmp_path, clock, sim, key="masko_" + "0" * 64) as runtime:
        async with Client(runtime.mcp) as client:
            result = await client.call_tool("masko_list_projects", {})
        with pytest.raises(AuthError):
            await runtime.providers["masko"].check()
    error = data(result)["error"]
    assert error["code"] == "auth_failed"
    assert "MASKO_API_KEY" in error["message"]


async def test_a_rate_limit_is_waited_out_and_a_low_allowance_is_reported(
    client: Client, sim: MaskoSimulator, clock: FakeClock
) -> None:
    sim.rate_limit = 3
    first = await ok(client, "masko_list_styles", {})
    assert first["details"]["rate_limit"]["remaining"] == 2
    await ok(client, "masko_list_styles", {})
    await ok(client, "masko_list_styles", {})
    clock.advance(45)

    fourth = await ok(client, "masko_list_styles", {})

    assert 15.0 in clock.sleeps  # Retry-After honoured before the retry
    assert fourth["details"]["rate_limit"]["remaining"] == 2
    assert sim.requests.count("GET /v1/styles") == 5
