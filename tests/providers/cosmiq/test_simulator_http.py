"""The Cosmiq simulator over HTTP: bearer-key auth (refused, revoked, suspended), the keyless pages, MCP sessions,
its lifecycle, and the request log and faults tests use."""

from __future__ import annotations

import io
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from PIL import Image

from providers.cosmiq.simulator import CosmiqSimulator
from tests.providers.cosmiq.support import (
    INITIALIZE,
    KEY,
    MCP_HEADERS,
    POOR_KEY,
    PUBLIC,
    TOOLS_LIST,
    board_id,
    connect,
    credits,
    http_client,
    payload,
)

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("authorization", [None, "Bearer csk_unknown", f"Basic {KEY}", "Bearer "])
async def test_a_missing_or_unknown_key_gets_401_before_the_mcp_layer(
    sim: CosmiqSimulator, authorization: str | None
) -> None:
    headers = dict(MCP_HEADERS)
    if authorization is not None:
        headers["Authorization"] = authorization
    async with sim, http_client(sim, key=None) as http:
        response = await http.post("/api/mcp", json=INITIALIZE, headers=headers)
        assert response.status_code == 401
        assert response.json() == {"error": "invalid_token"}
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "mcp-session-id" not in response.headers
        assert (await http.get("/api/mcp", headers=headers)).status_code == 401
    assert sim.requests.count("POST /api/mcp") == 1


async def test_a_key_removed_from_the_accounts_is_refused_on_its_open_session(sim: CosmiqSimulator) -> None:
    async with sim, http_client(sim) as http:
        opened = await http.post("/api/mcp", json=INITIALIZE, headers=MCP_HEADERS)
        headers = {**MCP_HEADERS, "Mcp-Session-Id": opened.headers["mcp-session-id"]}
        sim.accounts["csk_rotated"] = sim.accounts.pop(KEY)

        response = await http.post("/api/mcp", json=TOOLS_LIST, headers=headers)

    assert response.status_code == 401
    assert response.json() == {"error": "invalid_token"}


async def test_a_suspended_account_is_refused_with_403_until_it_is_allowed_again(sim: CosmiqSimulator) -> None:
    sim.accounts[KEY].suspended = True
    async with sim, http_client(sim) as http:
        refused = await http.post("/api/mcp", json=INITIALIZE, headers=MCP_HEADERS)
        sim.accounts[KEY].suspended = False
        allowed = await http.post("/api/mcp", json=INITIALIZE, headers=MCP_HEADERS)

    assert refused.status_code == 403
    assert refused.json()["error"] == "forbidden"
    assert "mcp-session-id" not in refused.headers
    assert allowed.status_code == 200


async def test_the_mcp_client_cannot_connect_with_a_bad_key(sim: CosmiqSimulator) -> None:
    async with sim:
        with pytest.RaisesGroup(MCPError, flatten_subgroups=True):
            async with connect(sim, key="csk_wrong"):
                pass
    assert sim.requests.count("POST /api/mcp") >= 1
    assert sim.boards == {}
    assert sim.tool_calls == []


async def test_board_pages_and_images_are_served_without_auth(sim: CosmiqSimulator, client: Client) -> None:
    concepts = [{"label": "Hero <b>", "prompt": "bottle & sea"}]
    created = payload(
        await client.call_tool("cosmiq_campaign", {"brand": "Acme", "concepts": concepts, "generate": True})
    )
    summary = payload(await client.call_tool("cosmiq_get_board", {"board": created["board"]}))
    bid = board_id(created["board"])
    async with http_client(sim, key=None) as http:
        page = await http.get(f"/boards/{bid}")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "bottle &amp; sea" in page.text
        assert "Hero &lt;b&gt;" in page.text
        assert summary["images"][0] in page.text

        image = await http.get(summary["images"][0].removeprefix(PUBLIC))
        assert image.status_code == 200
        assert image.headers["content-type"] == "image/png"
        with Image.open(io.BytesIO(image.content)) as png:
            assert png.size == (288, 512)

        assert (await http.get("/boards/unknown")).status_code == 404
        assert (await http.get("/images/img_0123.png")).status_code == 404
        assert (await http.get("/images/whatever.jpg")).status_code == 404
        assert (await http.get(f"/videos/{bid}.mp4")).status_code == 404  # no video on this board


async def test_public_url_is_read_when_urls_are_handed_out(sim: CosmiqSimulator, client: Client) -> None:
    sim.public_url = "http://127.0.0.1:8123/cosmiq/"
    data = payload(await client.call_tool("cosmiq_create", {"prompt": "x"}))
    assert data["board"].startswith("http://127.0.0.1:8123/cosmiq/boards/")


async def test_expired_sessions_answer_404_and_a_fresh_client_works(sim: CosmiqSimulator) -> None:
    async with sim:
        async with http_client(sim) as http:
            opened = await http.post("/api/mcp", json=INITIALIZE, headers=MCP_HEADERS)
            assert opened.status_code == 200
            raw_session = opened.headers["mcp-session-id"]
            headers = {**MCP_HEADERS, "Mcp-Session-Id": raw_session, "MCP-Protocol-Version": "2025-06-18"}

            async with connect(sim) as client:
                payload(await client.call_tool("cosmiq_create", {"prompt": "before"}))
                sim.expire_sessions()
                with pytest.raises(MCPError) as caught:
                    await client.call_tool("cosmiq_create", {"prompt": "after"})
                assert "Session not found" in caught.value.message

            response = await http.post("/api/mcp", json=TOOLS_LIST, headers=headers)
            assert response.status_code == 404

        async with connect(sim) as client:
            payload(await client.call_tool("cosmiq_create", {"prompt": "again"}))
    assert [name for name, _ in sim.tool_calls] == ["cosmiq_create", "cosmiq_create"]
    assert credits(sim) == 96


async def test_a_session_cannot_be_used_with_another_accounts_key(sim: CosmiqSimulator) -> None:
    async with sim, http_client(sim) as http:
        opened = await http.post("/api/mcp", json=INITIALIZE, headers=MCP_HEADERS)
        session = opened.headers["mcp-session-id"]
        headers = {**MCP_HEADERS, "Mcp-Session-Id": session, "Authorization": f"Bearer {POOR_KEY}"}
        response = await http.post("/api/mcp", json=TOOLS_LIST, headers=headers)
        assert response.status_code == 404


async def test_the_mcp_endpoint_answers_503_until_the_lifespan_is_entered(sim: CosmiqSimulator) -> None:
    async with http_client(sim) as http:
        response = await http.post("/api/mcp", json=INITIALIZE, headers=MCP_HEADERS)
        assert response.status_code == 503
        assert "lifespan" in response.json()["error"]["message"]
    assert not sim.running


async def test_the_simulator_can_be_entered_again_and_nested(sim: CosmiqSimulator) -> None:
    running: list[bool] = []
    async with sim:
        async with sim.lifespan(), connect(sim) as client:  # nested: a no-op
            payload(await client.call_tool("cosmiq_create", {"prompt": "first run"}))
        running.append(sim.running)
    running.append(sim.running)
    async with sim, connect(sim) as client:
        payload(await client.call_tool("cosmiq_create", {"prompt": "second run"}))
    assert running == [True, False]
    assert len(sim.boards) == 2


async def test_requests_are_logged_and_faults_are_injected(sim: CosmiqSimulator, client: Client) -> None:
    assert sim.requests.count("POST /api/mcp") >= 2
    sim.faults.add("POST", "/api/mcp", status=502)
    with pytest.raises(MCPError):
        await client.call_tool("cosmiq_create", {"prompt": "x"})
    assert credits(sim) == 100
    payload(await client.call_tool("cosmiq_create", {"prompt": "x"}))
    assert credits(sim) == 98


async def test_tool_calls_records_every_call_with_its_arguments(sim: CosmiqSimulator, client: Client) -> None:
    await client.call_tool("cosmiq_create", {"prompt": "x", "withVideo": False})
    await client.call_tool("cosmiq_carousel", {"style_prompt": "s", "slides": []})
    await client.call_tool("cosmiq_nope", {})
    assert sim.tool_calls == [
        ("cosmiq_create", {"prompt": "x", "withVideo": False}),
        ("cosmiq_carousel", {"style_prompt": "s", "slides": []}),
        ("cosmiq_nope", {}),
    ]


async def test_the_apps_own_asgi_lifespan_runs_the_simulator(sim: CosmiqSimulator) -> None:
    sent: list[str] = []
    started, stop = anyio.Event(), anyio.Event()

    async def receive() -> dict[str, Any]:
        if not sent:
            return {"type": "lifespan.startup"}
        await stop.wait()
        return {"type": "lifespan.shutdown"}

    async def send(message: Any) -> None:
        sent.append(message["type"])
        if message["type"] == "lifespan.startup.complete":
            started.set()

    async def serve() -> None:
        await sim.app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send)

    async with anyio.create_task_group() as tg:
        tg.start_soon(serve)
        await started.wait()
        assert sim.running
        async with connect(sim) as client:
            payload(await client.call_tool("cosmiq_create", {"prompt": "served"}))
        stop.set()
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert not sim.running
