"""The ConceptViz adapter against its simulator, through a real MCP client (in memory): every operation, every
documented error code, and bad input that must never reach the provider."""

from __future__ import annotations

import base64
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp_types import CallToolResult
from PIL import Image

from providers import PROVIDERS
from providers.conceptviz.simulator import ConceptVizAccount, ConceptVizSimulator
from server.app import Runtime
from server.errors import AuthError
from tests.conftest import KEY, make_settings
from tests.harness.clock import FakeClock

pytestmark = pytest.mark.anyio


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[Client]:
    async with Client(runtime.mcp) as connected:
        yield connected


def _png(size: int = 64) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), "teal").save(buffer, "PNG")
    return buffer.getvalue()


def _structured(result: CallToolResult) -> dict[str, Any]:
    assert isinstance(result.structured_content, dict)
    return result.structured_content


def _text(result: CallToolResult) -> str:
    return " ".join(block.text for block in result.content if block.type == "text")


async def test_generate_batch_returns_one_png_link_per_prompt(client: Client, simulator: ConceptVizSimulator) -> None:
    result = await client.call_tool(
        "conceptviz_generate", {"prompts": ["water cycle", "mitosis"], "aspect_ratio": "4:3", "wait": 55}
    )

    data = _structured(result)
    assert data["status"] == "completed"
    assert not result.is_error
    assert [a["kind"] for a in data["assets"]] == ["image", "image"]
    assert data["credits"] == {"charged": 4.0, "remaining": 96.0, "refunded": False}
    assert data["details"]["aspect_ratio"] == "4:3"
    links = [block for block in result.content if block.type == "resource_link"]
    assert [str(link.uri) for link in links] == [a["url"] for a in data["assets"]]
    sent = next(r for r in simulator.requests if r.method == "POST")
    assert b'"prompts":["water cycle","mitosis"]' in sent.body
    assert b'"aspectRatio":"4:3"' in sent.body


async def test_cv1_at_4k_costs_two_credits_per_image(client: Client) -> None:
    result = await client.call_tool("conceptviz_generate", {"prompt": "x", "model": "cv-1", "quality": "4k"})
    assert _structured(result)["credits"]["charged"] == 2
    assert _structured(result)["details"]["quality"] == "4k"


async def test_edit_accepts_urls_data_urls_and_raw_base64(client: Client, simulator: ConceptVizSimulator) -> None:
    png = _png()
    images = [
        "https://example.com/sketch.png",
        "data:image/png;base64," + base64.b64encode(png).decode(),
        base64.b64encode(png).decode(),
    ]
    result = await client.call_tool("conceptviz_edit", {"prompt": "clean it up", "images": images, "wait": 55})

    assert _structured(result)["status"] == "completed"
    sent = next(r for r in simulator.requests if r.method == "POST")
    assert sent.path == "/api/v1/edit"
    assert b"https://example.com/sketch.png" in sent.body
    assert sent.body.count(b"data:image/png;base64,") == 2


async def test_edit_reads_a_local_file_only_inside_allowed_dirs(
    tmp_path: Path, clock: FakeClock, simulator: ConceptVizSimulator
) -> None:
    allowed = tmp_path / "images"
    allowed.mkdir()
    (allowed / "sketch.png").write_bytes(_png())
    (tmp_path / "secret.png").write_bytes(_png())
    settings = make_settings(tmp_path, inputs={"allowed_dirs": [str(allowed)]})
    transport = httpx2.ASGITransport(app=simulator.app)
    async with (
        Runtime(settings, PROVIDERS, clock=clock, transports={"conceptviz": transport}) as runtime,
        Client(runtime.mcp) as client,
    ):
        ok = await client.call_tool("conceptviz_edit", {"prompt": "p", "images": [str(allowed / "sketch.png")]})
        escape = await client.call_tool(
            "conceptviz_edit", {"prompt": "p", "images": [str(allowed / ".." / "secret.png")]}
        )
    assert not ok.is_error
    assert escape.is_error
    assert "outside the allowed directories" in _text(escape)
    assert simulator.requests.count("POST /api/v1/edit") == 1


async def test_a_failed_generation_reports_the_refund(client: Client) -> None:
    result = await client.call_tool("conceptviz_generate", {"prompt": "[fail] diagram", "wait": 55})

    data = _structured(result)
    assert result.is_error
    assert data["status"] == "failed"
    assert data["error"]["code"] == "job_failed"
    assert data["error"]["upstream_code"] == "GENERATION_FAILED"
    assert data["error"]["refunded"] is True
    assert data["error"]["retryable"] is True
    assert data["credits"]["refunded"] is True
    assert "refunded" in _text(result)


@pytest.mark.parametrize(
    ("prompt_or_account", "code", "upstream"),
    [
        ("[blocked] something", "content_rejected", "INPUT_MODERATION_BLOCKED"),
        (ConceptVizAccount(credits=1), "insufficient_credits", "INSUFFICIENT_CREDITS"),
        (ConceptVizAccount(plan="free"), "forbidden", "PLAN_REQUIRED"),
        (ConceptVizAccount(max_batch=1), "forbidden", "PLAN_LIMIT_EXCEEDED"),
        (ConceptVizAccount(allow_4k=False), "forbidden", "QUALITY_NOT_ALLOWED"),
        (ConceptVizAccount(credit_consumption_fails=True), "upstream_error", "CREDIT_CONSUMPTION_FAILED"),
    ],
)
async def test_provider_refusals_map_to_the_error_tree_and_leave_no_job(
    client: Client,
    runtime: Runtime,
    simulator: ConceptVizSimulator,
    prompt_or_account: str | ConceptVizAccount,
    code: str,
    upstream: str,
) -> None:
    prompt = "diagram"
    if isinstance(prompt_or_account, str):
        prompt = prompt_or_account
    else:
        simulator.accounts[KEY] = prompt_or_account
    args: dict[str, Any] = {"prompts": [prompt, prompt], "model": "cv-1", "quality": "4k"}

    result = await client.call_tool("conceptviz_generate", args)

    error = _structured(result)["error"]
    assert result.is_error
    assert (error["code"], error["upstream_code"]) == (code, upstream)
    assert error["charged"] is False
    assert await runtime.store.list() == []


async def test_insufficient_credits_says_how_many_are_left(client: Client, simulator: ConceptVizSimulator) -> None:
    simulator.accounts[KEY] = ConceptVizAccount(credits=1)
    result = await client.call_tool("conceptviz_generate", {"prompt": "x"})
    assert "1 left" in _text(result)
    assert "No credits were spent" in _text(result)


async def test_an_unknown_key_is_an_auth_error_naming_the_variable(
    tmp_path: Path, clock: FakeClock, simulator: ConceptVizSimulator
) -> None:
    settings = make_settings(tmp_path, providers={"conceptviz": {"api_key": "cvk_wrong_key_000"}})
    transport = httpx2.ASGITransport(app=simulator.app)
    async with (
        Runtime(settings, PROVIDERS, clock=clock, transports={"conceptviz": transport}) as runtime,
        Client(runtime.mcp) as client,
    ):
        result = await client.call_tool("conceptviz_generate", {"prompt": "x"})
        with pytest.raises(AuthError):
            await runtime.providers["conceptviz"].check()
    error = _structured(result)["error"]
    assert (error["code"], error["upstream_code"]) == ("auth_failed", "INVALID_API_KEY")
    assert "CONCEPTVIZ_API_KEY" in error["message"]


async def test_polling_an_unknown_task_is_not_found(client: Client) -> None:
    result = await client.call_tool("poll", {"job": "conceptviz:doesNotExist123"})
    error = _structured(result)["error"]
    assert result.is_error
    assert (error["code"], error["upstream_code"]) == ("not_found", "TASK_NOT_FOUND")


async def test_moderation_rate_limit_is_retried_after_its_delay_then_reported(
    client: Client, simulator: ConceptVizSimulator, clock: FakeClock
) -> None:
    simulator.faults.add(
        "POST",
        "/api/v1/generate",
        status=429,
        body={"error": "Too many moderation requests", "code": "MODERATION_RATE_LIMITED"},
        headers={"Retry-After": "3"},
        times=1,
    )
    recovered = await client.call_tool("conceptviz_generate", {"prompt": "x", "wait": 0})
    assert _structured(recovered)["status"] == "running"
    assert 3.0 in clock.sleeps
    assert simulator.requests.count("POST /api/v1/generate") == 2

    simulator.faults.add(
        "POST",
        "/api/v1/generate",
        status=429,
        body={"error": "Too many moderation requests", "code": "MODERATION_RATE_LIMITED"},
        headers={"Retry-After": "3"},
        times=None,
    )
    limited = await client.call_tool("conceptviz_generate", {"prompt": "x", "wait": 0})
    error = _structured(limited)["error"]
    assert (error["code"], error["retryable"], error["retry_after"]) == ("rate_limited", True, 3.0)


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (400, "INVALID_BODY", "invalid_input"),
        (400, "IMAGE_REQUIRED", "invalid_input"),
        (400, "INVALID_IMAGE", "invalid_input"),
        (400, "PROMPT_REQUIRED", "invalid_input"),
        (400, "TOO_MANY_IMAGES", "invalid_input"),
        (400, "TOO_MANY_PROMPTS", "invalid_input"),
        (400, "UNSUPPORTED_MODEL", "invalid_input"),
        (401, "UNAUTHORIZED", "auth_failed"),
        (500, "GENERATION_FAILED", "job_failed"),
    ],
)
async def test_every_documented_submit_error_code_is_mapped(
    client: Client, simulator: ConceptVizSimulator, status: int, code: str, expected: str
) -> None:
    simulator.faults.add("POST", "/api/v1/edit", status=status, body={"error": f"{code} happened", "code": code})

    result = await client.call_tool("conceptviz_edit", {"prompt": "p", "images": ["https://example.com/a.png"]})

    error = _structured(result)["error"]
    assert result.is_error
    assert (error["code"], error["upstream_code"]) == (expected, code)
    if code == "GENERATION_FAILED":
        assert (error["charged"], error["refunded"], error["retryable"]) == (True, True, True)
    else:
        assert error["charged"] is False
        assert error["retryable"] is False


async def test_an_html_error_page_on_submit_is_an_upstream_error_that_may_have_charged(
    client: Client, runtime: Runtime, simulator: ConceptVizSimulator
) -> None:
    simulator.faults.add("POST", "/api/v1/generate", status=502, body="<html><h1>Bad gateway</h1></html>")

    result = await client.call_tool("conceptviz_generate", {"prompt": "x"})

    error = _structured(result)["error"]
    assert (error["code"], error["charged"]) == ("upstream_error", None)
    assert "Bad gateway" in error["message"]
    assert "<h1>" not in error["message"]
    assert [j.status for j in await runtime.store.list()] == ["failed"]


async def test_an_unreadable_success_answer_is_submit_unknown(
    client: Client, runtime: Runtime, simulator: ConceptVizSimulator
) -> None:
    simulator.faults.add("POST", "/api/v1/generate", status=200, body={"ok": True}, after_handling=True)

    result = await client.call_tool("conceptviz_generate", {"prompt": "x"})

    error = _structured(result)["error"]
    assert error["code"] == "submit_unknown"
    assert error["charged"] is None
    assert [j.status for j in await runtime.store.list()] == ["submit_unknown"]


@pytest.mark.parametrize(
    ("tool", "args", "phrase"),
    [
        ("conceptviz_generate", {"prompt": ""}, "prompt"),
        ("conceptviz_generate", {"prompts": ["a", "b", "c", "d", "e"]}, "at most 4"),
        ("conceptviz_generate", {"prompt": "x", "model": "cv-9"}, "model"),
        ("conceptviz_generate", {"prompt": "x", "prompts": ["y"]}, "either `prompt`"),
        ("conceptviz_generate", {}, "either `prompt`"),
        ("conceptviz_generate", {"prompt": "x", "quality": "4k"}, "cv-1"),
        ("conceptviz_generate", {"prompt": "x" * 10_000_000}, "at most 4000"),
        ("conceptviz_generate", {"prompt": "x", "api_key": "cvk_other"}, "api_key: not an accepted argument"),
        ("conceptviz_generate", {"prompt": "x", "base_url": "https://evil.example"}, "base_url"),
        ("conceptviz_generate", {"prompt": "x", "wait": -1}, "wait"),
        ("conceptviz_generate", {"prompt": "x", "aspect_ratio": "wide"}, "aspect_ratio"),
        ("conceptviz_edit", {"prompt": "p", "images": ["file:///etc/passwd"]}, "'file:' inputs are not accepted"),
        ("conceptviz_edit", {"prompt": "p", "images": []}, "images"),
        ("conceptviz_edit", {"prompt": "p", "images": ["https://a.example/x.png"] * 5}, "at most 4"),
        ("conceptviz_edit", {"prompt": "p", "images": ["data:image/png;base64,!!!!"]}, "base64"),
        ("conceptviz_edit", {"prompt": "p", "images": ["data:image/png;base64,aGVsbG8gd29ybGQ="]}, "not a PNG"),
        ("conceptviz_edit", {"prompt": "p", "images": ["/etc/passwd"]}, "local paths are off"),
        ("conceptviz_edit", {"prompt": "p", "images": ["https://user:pw@example.com/a.png"]}, "user:password"),
        ("poll", {"job": "../../etc/passwd"}, "not a job handle"),
        ("poll", {"job": "kolbo:abc"}, "not a configured provider"),
        ("jobs", {"limit": 0}, "limit"),
        ("credits", {"provider": "conceptviz", "x": 1}, "x: not an accepted argument"),
    ],
)
async def test_bad_input_is_an_actionable_error_and_costs_nothing(
    client: Client, simulator: ConceptVizSimulator, tool: str, args: dict[str, Any], phrase: str
) -> None:
    result = await client.call_tool(tool, args)

    assert result.is_error
    assert phrase in _text(result)
    assert simulator.requests.total == 0


async def test_a_data_url_over_the_configured_image_limit_is_refused_before_decoding(
    tmp_path: Path, clock: FakeClock, simulator: ConceptVizSimulator
) -> None:
    settings = make_settings(tmp_path, inputs={"max_image_bytes": 2048})
    big = "data:image/png;base64," + base64.b64encode(_png(256) + b"\0" * 4096).decode()
    transport = httpx2.ASGITransport(app=simulator.app)
    async with (
        Runtime(settings, PROVIDERS, clock=clock, transports={"conceptviz": transport}) as runtime,
        Client(runtime.mcp) as client,
    ):
        result = await client.call_tool("conceptviz_edit", {"prompt": "p", "images": [big]})
    assert result.is_error
    assert "larger than the 2 KiB limit" in _text(result)
    assert simulator.requests.total == 0


async def test_a_data_url_whose_type_disagrees_with_its_bytes_is_refused(client: Client) -> None:
    lie = "data:image/jpeg;base64," + base64.b64encode(_png()).decode()
    result = await client.call_tool("conceptviz_edit", {"prompt": "p", "images": [lie]})
    assert result.is_error
    assert "says image/jpeg but the bytes are image/png" in _text(result)


async def test_credits_report_the_last_balance_seen_with_when(client: Client) -> None:
    before = _structured(await client.call_tool("credits", {}))
    assert before["balances"][0]["remaining"] is None

    await client.call_tool("conceptviz_generate", {"prompt": "x", "wait": 0})
    after = _structured(await client.call_tool("credits", {"provider": "conceptviz"}))

    entry = after["balances"][0]
    assert (entry["provider"], entry["remaining"], entry["live"]) == ("conceptviz", 98.0, False)
    assert entry["as_of"] is not None
    assert "last balance" in entry["note"]


async def test_check_proves_the_key_with_a_free_read(runtime: Runtime, simulator: ConceptVizSimulator) -> None:
    assert "key accepted" in await runtime.providers["conceptviz"].check()
    assert simulator.requests.count("POST", prefix=True) == 0
