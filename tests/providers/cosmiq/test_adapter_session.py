"""The one MCP session genmcp keeps with Cosmiq: reused, reopened when the upstream ends it, and a refused key
reported as such (once per call, never a retry storm) whether it was wrong from the start or revoked later."""

from __future__ import annotations

from pathlib import Path

import pytest

from providers.cosmiq.simulator import CosmiqAccount, CosmiqSimulator
from tests.harness.results import data, text
from tests.providers.cosmiq.support import KEY, World, serve

pytestmark = pytest.mark.anyio

ROTATED = "csk_rotated_9876543210"
ADD = ("cosmiq_add_image", {"image_urls": ["https://example.com/a.png"]})


def _initializes(world: World) -> int:
    return sum(b'"method":"initialize"' in entry.body.replace(b" ", b"") for entry in world.sim.requests)


def _posts(world: World) -> int:
    return world.sim.requests.count("POST /api/mcp")


async def test_the_session_is_reused_and_reopened_when_the_upstream_ends_it(cosmiq: World) -> None:
    await cosmiq.client.call_tool("cosmiq_add_image", {"image_urls": ["https://example.com/a.png"]})
    await cosmiq.client.call_tool("cosmiq_add_image", {"image_urls": ["https://example.com/b.png"]})
    assert cosmiq.upstream.connects == 1

    cosmiq.sim.expire_sessions()
    result = await cosmiq.client.call_tool("cosmiq_add_image", {"image_urls": ["https://example.com/c.png"]})

    assert data(result)["status"] == "completed"
    assert cosmiq.upstream.connects == 2


async def test_a_bad_key_is_an_auth_error(tmp_path: Path) -> None:
    sim = CosmiqSimulator(accounts={KEY: CosmiqAccount()})
    async with serve(tmp_path, sim, key="csk_wrong_key_000") as world:
        result = await world.client.call_tool("cosmiq_get_board", {"board": "b1"})

    assert result.is_error
    assert data(result)["error"]["code"] == "auth_failed"
    assert "csk_wrong_key_000" not in result.model_dump_json()


async def test_a_key_revoked_while_the_session_is_open_is_auth_failed_on_every_call_without_a_storm(
    cosmiq: World,
) -> None:
    assert data(await cosmiq.client.call_tool(*ADD))["status"] == "completed"
    assert cosmiq.upstream.connects == 1

    cosmiq.sim.accounts[ROTATED] = cosmiq.sim.accounts.pop(KEY)  # the key is rotated upstream
    for tool, arguments in (ADD, ("cosmiq_get_board", {"board": "b1"}), ADD):
        posts, initializes = _posts(cosmiq), _initializes(cosmiq)
        result = await cosmiq.client.call_tool(tool, arguments)

        assert result.is_error
        error = data(result)["error"]
        assert error["code"] == "auth_failed"
        assert error["message"] == "Cosmiq refused the API key (HTTP 401). Check the configured key."
        assert error["charged"] is False
        assert _initializes(cosmiq) - initializes <= 1  # at most one attempt to reopen the session
        assert _posts(cosmiq) - posts <= 2  # the refused call and that one attempt
    assert cosmiq.upstream.connects == 1
    assert cosmiq.sim.tool_calls == [ADD]

    cosmiq.sim.accounts[KEY] = cosmiq.sim.accounts.pop(ROTATED)  # and restored
    restored = await cosmiq.client.call_tool(*ADD)

    assert data(restored)["status"] == "completed", text(restored)
    assert cosmiq.upstream.connects == 2


async def test_a_spending_call_after_the_key_was_revoked_is_auth_failed_and_charged_nothing(cosmiq: World) -> None:
    await cosmiq.client.call_tool(*ADD)
    cosmiq.sim.accounts[ROTATED] = cosmiq.sim.accounts.pop(KEY)

    result = await cosmiq.client.call_tool("cosmiq_create", {"prompt": "a fox"})

    error = data(result)["error"]
    assert error["code"] == "auth_failed"
    assert error["charged"] is False
    assert cosmiq.sim.accounts[ROTATED].credits == 100


async def test_an_account_refused_with_403_while_the_session_is_open_is_auth_failed_until_it_is_allowed_again(
    cosmiq: World,
) -> None:
    await cosmiq.client.call_tool(*ADD)
    cosmiq.sim.accounts[KEY].suspended = True

    for _ in range(2):
        posts, initializes = _posts(cosmiq), _initializes(cosmiq)
        result = await cosmiq.client.call_tool(*ADD)

        error = data(result)["error"]
        assert error["code"] == "auth_failed"
        assert error["message"] == "Cosmiq refused the API key (HTTP 403). Check the configured key."
        assert _initializes(cosmiq) - initializes <= 1
        assert _posts(cosmiq) - posts <= 2

    cosmiq.sim.accounts[KEY].suspended = False
    assert data(await cosmiq.client.call_tool(*ADD))["status"] == "completed"
    assert cosmiq.upstream.connects == 2
