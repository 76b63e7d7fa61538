"""The Cosmiq adapter: genmcp as an MCP client of Cosmiq's MCP server, over real loopback HTTP."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from mcp_types import CallToolResult

from providers.cosmiq.simulator import CosmiqAccount, CosmiqSimulator
from server.app import Runtime
from server.sandbox import SandboxServer
from tests.conftest import make_settings

pytestmark = pytest.mark.anyio

KEY = "csk_test_0123456789"


@dataclass
class Cosmiq:
    sim: CosmiqSimulator
    runtime: Runtime
    client: Client
    gate: anyio.Event


@pytest.fixture
async def cosmiq(tmp_path: Path) -> AsyncIterator[Cosmiq]:
    gate = anyio.Event()
    gate.set()  # calls answer at once unless a test clears the gate

    async def gated(seconds: float) -> None:
        await gate.wait()

    sim = CosmiqSimulator(accounts={KEY: CosmiqAccount(credits=100)}, delay_seconds=1.0, sleep=gated)
    async with anyio.create_task_group() as group:
        server = SandboxServer({"cosmiq": sim})
        await server.start(group)
        settings = make_settings(
            tmp_path, providers={"cosmiq": {"api_key": KEY, "base_url": server.base("cosmiq") + "/api/mcp"}}
        )
        # Real time here: every wait is on an event (the upstream answering), never a sleep.
        async with Runtime(settings) as runtime, Client(runtime.mcp) as client:
            yield Cosmiq(sim, runtime, client, gate)
        await server.stop()


def _data(result: CallToolResult) -> dict[str, Any]:
    assert isinstance(result.structured_content, dict), result
    return result.structured_content


def _text(result: CallToolResult) -> str:
    return " ".join(block.text for block in result.content if block.type == "text")


async def test_every_operation_is_a_tool_with_the_right_hints(cosmiq: Cosmiq) -> None:
    tools = {t.name: t for t in (await cosmiq.client.list_tools()).tools if t.name.startswith("cosmiq_")}
    assert set(tools) == {
        "cosmiq_create",
        "cosmiq_campaign",
        "cosmiq_carousel",
        "cosmiq_add_image",
        "cosmiq_image_edit",
        "cosmiq_get_board",
        "cosmiq_update_prompts",
    }
    assert tools["cosmiq_get_board"].annotations
    assert tools["cosmiq_get_board"].annotations.read_only_hint
    assert tools["cosmiq_create"].annotations
    assert tools["cosmiq_create"].annotations.read_only_hint is False
    assert "withVideo" in tools["cosmiq_create"].input_schema["properties"]


async def test_create_with_video_returns_the_board_and_the_video(cosmiq: Cosmiq) -> None:
    result = await cosmiq.client.call_tool(
        "cosmiq_create", {"prompt": "a red fox", "format": "1:1", "withVideo": True, "space": "Fox Co"}
    )
    data = _data(result)
    assert data["status"] == "completed"
    assert [a["kind"] for a in data["assets"]] == ["page", "video"]
    assert data["details"]["space"] == "Fox Co"
    assert data["details"]["board"].startswith("http://127.0.0.1:")
    assert cosmiq.sim.tool_calls[-1] == (
        "cosmiq_create",
        {"prompt": "a red fox", "space": "Fox Co", "format": "1:1", "withVideo": True},
    )
    assert cosmiq.sim.accounts[KEY].credits < 100


async def test_campaign_and_carousel_build_boards_and_spend_only_when_generating(cosmiq: Cosmiq) -> None:
    concepts = [{"label": "Hero", "prompt": "a bottle on a beach"}, {"prompt": "the bottle in snow"}]
    built = await cosmiq.client.call_tool("cosmiq_campaign", {"brand": "Acme", "concepts": concepts})
    assert _data(built)["status"] == "completed"
    assert cosmiq.sim.accounts[KEY].credits == 100

    slides = [{"prompt": "slide one"}, {"prompt": "slide two"}, {"prompt": "slide three"}]
    carousel = await cosmiq.client.call_tool(
        "cosmiq_carousel", {"style_prompt": "pastel, big numbers", "slides": slides, "generate": True}
    )
    assert _data(carousel)["status"] == "completed"
    assert cosmiq.sim.accounts[KEY].credits == 100 - 2 * 3


async def test_get_board_gives_nodes_and_links_and_one_preview_never_the_base64(cosmiq: Cosmiq) -> None:
    created = _data(await cosmiq.client.call_tool("cosmiq_create", {"prompt": "owl"}))
    board = created["details"]["board"]

    result = await cosmiq.client.call_tool("cosmiq_get_board", {"board": board})

    data = _data(result)
    assert data["details"]["nodes"]
    assert data["details"]["nodes"][0]["text"] == "owl"
    assert [a["kind"] for a in data["assets"]] == ["image"]
    previews = [block for block in result.content if block.type == "image"]
    assert len(previews) == 1
    assert previews[0].mime_type == "image/jpeg"
    upstream_png = next(iter(cosmiq.sim.boards.values())).images[0]
    assert upstream_png is not None
    assert base64.b64encode(cosmiq.sim._png(next(iter(cosmiq.sim.boards.values())), upstream_png)).decode() not in (
        result.model_dump_json()
    )


async def test_update_prompts_and_add_image_and_edit(cosmiq: Cosmiq) -> None:
    created = _data(await cosmiq.client.call_tool("cosmiq_create", {"prompt": "owl"}))
    board = created["details"]["board"]
    node = _data(await cosmiq.client.call_tool("cosmiq_get_board", {"board": board}))["details"]["nodes"][0]

    updated = await cosmiq.client.call_tool(
        "cosmiq_update_prompts", {"board": board, "updates": [{"node_id": node["node_id"], "text": "snowy owl"}]}
    )
    added = await cosmiq.client.call_tool("cosmiq_add_image", {"image_urls": ["https://example.com/a.png"]})
    edited = await cosmiq.client.call_tool(
        "cosmiq_image_edit",
        {"edit_prompt": "make it night", "reference_image_urls": ["https://example.com/a.png"], "generate": True},
    )

    assert all(_data(r)["status"] == "completed" for r in (updated, added, edited))
    board_state = next(b for b in cosmiq.sim.boards.values() if b.kind == "create")
    assert board_state.nodes[0].text == "snowy owl"


async def test_a_renamed_carousel_tool_is_found_by_its_parameters(tmp_path: Path) -> None:
    sim = CosmiqSimulator(accounts={KEY: CosmiqAccount()}, carousel_tool_name="cosmiq_make_carousel")
    async with anyio.create_task_group() as group:
        server = SandboxServer({"cosmiq": sim})
        await server.start(group)
        settings = make_settings(
            tmp_path, providers={"cosmiq": {"api_key": KEY, "base_url": server.base("cosmiq") + "/api/mcp"}}
        )
        async with Runtime(settings) as runtime, Client(runtime.mcp) as client:
            slides = [{"prompt": "a"}, {"prompt": "b"}]
            result = await client.call_tool("cosmiq_carousel", {"style_prompt": "minimal", "slides": slides})
        await server.stop()
    assert _data(result)["status"] == "completed"
    assert sim.tool_calls[-1][0] == "cosmiq_make_carousel"


async def test_the_session_is_reused_and_reopened_when_the_upstream_ends_it(cosmiq: Cosmiq) -> None:
    await cosmiq.client.call_tool("cosmiq_add_image", {"image_urls": ["https://example.com/a.png"]})
    await cosmiq.client.call_tool("cosmiq_add_image", {"image_urls": ["https://example.com/b.png"]})
    provider = cosmiq.runtime.providers["cosmiq"]
    upstream = provider.upstream  # type: ignore[attr-defined]
    assert upstream.connects == 1

    cosmiq.sim.expire_sessions()
    result = await cosmiq.client.call_tool("cosmiq_add_image", {"image_urls": ["https://example.com/c.png"]})

    assert _data(result)["status"] == "completed"
    assert upstream.connects == 2


async def test_a_bad_key_is_an_auth_error(tmp_path: Path) -> None:
    sim = CosmiqSimulator(accounts={KEY: CosmiqAccount()})
    async with anyio.create_task_group() as group:
        server = SandboxServer({"cosmiq": sim})
        await server.start(group)
        settings = make_settings(
            tmp_path,
            providers={"cosmiq": {"api_key": "csk_wrong_key_000", "base_url": server.base("cosmiq") + "/api/mcp"}},
        )
        async with Runtime(settings) as runtime, Client(runtime.mcp) as client:
            result = await client.call_tool("cosmiq_get_board", {"board": "b1"})
        await server.stop()
    assert result.is_error and _data(result)["error"]["code"] == "auth_failed", _data(result)["error"]
    assert "csk_wrong_key_000" not in result.model_dump_json()


async def test_a_long_generation_answers_running_and_poll_finishes_it(cosmiq: Cosmiq) -> None:
    cosmiq.gate = anyio.Event()
    gate = cosmiq.gate

    async def held(seconds: float) -> None:
        await gate.wait()

    cosmiq.sim.sleep = held
    started = await cosmiq.client.call_tool("cosmiq_create", {"prompt": "slow fox", "wait": 0})
    data = _data(started)
    assert (data["status"], started.is_error) == ("running", False)
    assert data["job"].startswith("cosmiq:")

    gate.set()
    finished = await cosmiq.client.call_tool("poll", {"job": data["job"], "wait": 20})
    assert _data(finished)["status"] == "completed"
    assert [a["kind"] for a in _data(finished)["assets"]] == ["page"]
    listed = _data(await cosmiq.client.call_tool("jobs", {"provider": "cosmiq"}))
    assert [(j["job"], j["status"]) for j in listed["jobs"]] == [(data["job"], "completed")]


@pytest.mark.parametrize(
    ("tool", "args", "phrase"),
    [
        ("cosmiq_campaign", {"brand": "A", "concepts": [{"prompt": "x"}] * 13}, "at most 12"),
        (
            "cosmiq_image_edit",
            {"edit_prompt": "x", "reference_image_urls": ["https://example.com/a.png"] * 9},
            "at most 8",
        ),
        ("cosmiq_image_edit", {"edit_prompt": "x", "generate": True}, "at least one reference"),
        ("cosmiq_carousel", {"style_prompt": "s", "slides": [{"prompt": "x"}]}, "at least 2"),
        ("cosmiq_add_image", {"image_urls": ["data:image/png;base64,iVBORw0KGgo="]}, "needs a public"),
        ("cosmiq_create", {"prompt": "x", "format": "5:4"}, "format"),
        ("cosmiq_update_prompts", {"board": "b", "updates": []}, "updates"),
    ],
)
async def test_bad_arguments_are_refused_with_zero_upstream_calls(
    cosmiq: Cosmiq, tool: str, args: dict[str, Any], phrase: str
) -> None:
    result = await cosmiq.client.call_tool(tool, args)
    assert result.is_error
    assert phrase in _text(result)
    assert cosmiq.sim.tool_calls == []
    assert cosmiq.sim.requests.total == 0


async def test_upstream_errors_are_quoted_and_typed(cosmiq: Cosmiq) -> None:
    failed = await cosmiq.client.call_tool("cosmiq_create", {"prompt": "[fail] fox"})
    cosmiq.sim.accounts[KEY].credits = 0
    broke = await cosmiq.client.call_tool("cosmiq_create", {"prompt": "fox"})

    assert _data(failed)["error"]["code"] == "job_failed"
    assert "«Generation failed" in _text(failed)
    assert _data(broke)["error"]["code"] == "insufficient_credits"
    assert _data(broke)["error"]["charged"] is False


class _UpstreamWithoutCarousel:
    """A minimal MCP server that offers only `cosmiq_get_board` (no carousel by any name)."""

    public_url = "http://127.0.0.1"

    def __init__(self) -> None:
        self.server: MCPServer[Any] = MCPServer("tiny-cosmiq", log_level="WARNING")

        @self.server.tool()
        def cosmiq_get_board(board: str) -> str:
            return '{"board": "https://tiny.example/boards/1", "nodes": [], "images": []}'

        self.app = self.server.streamable_http_app(
            streamable_http_path="/api/mcp",
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )
        self._stack = contextlib.AsyncExitStack()

    async def __aenter__(self) -> _UpstreamWithoutCarousel:
        await self._stack.enter_async_context(self.server.session_manager.run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()


async def test_an_operation_missing_upstream_is_a_clear_error_naming_what_was_looked_for(tmp_path: Path) -> None:
    upstream = _UpstreamWithoutCarousel()
    async with anyio.create_task_group() as group:
        server = SandboxServer({"cosmiq": upstream})
        await server.start(group)
        settings = make_settings(
            tmp_path, providers={"cosmiq": {"api_key": KEY, "base_url": server.base("cosmiq") + "/api/mcp"}}
        )
        async with Runtime(settings) as runtime, Client(runtime.mcp) as client:
            read = await client.call_tool("cosmiq_get_board", {"board": "1"})
            missing = await client.call_tool("cosmiq_carousel", {"style_prompt": "s", "slides": [{"prompt": "a"}] * 2})
        await server.stop()
    assert _data(read)["status"] == "completed"
    assert missing.is_error
    message = _data(missing)["error"]["message"]
    assert "looked for 'cosmiq_carousel'" in message
    assert "slides, style_prompt" in message
    assert "cosmiq_get_board" in message
