"""Tool arguments written by a (possibly steered) model: wrong types, out-of-range values, huge prompts, extra
arguments, disabled providers and excluded tools, and image inputs that try to make genmcp fetch internal URLs
(SSRF), smuggle oversized or mislabelled data, or bomb the decoder. Every refusal must cost zero upstream requests
and, for URLs, open no connection at all (the URL fetcher's transport records every request).

Bytes-needing tools are used: `univers_generate` (a blocking call, answered within its wait) and
`kolbo_visual_dna_create`. Name resolution is injected: numeric spellings are resolved exactly as the system
resolver would (numeric only, no DNS), names from a table.
"""

from __future__ import annotations

import base64
import io
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from PIL import Image

from providers import PROVIDERS
from providers.conceptviz.simulator import ConceptVizAccount, ConceptVizSimulator
from providers.kolbo.simulator import KolboAccount, KolboSimulator
from providers.univers.simulator import UniversAccount, UniversSimulator
from server.app import Runtime
from tests.harness.settings import build_settings
from tests.security.conftest import (
    CANARIES,
    IN_PROCESS,
    Leaks,
    RecordingTransport,
    asgi_http,
    data,
    error_code,
    serving,
    text,
)

pytestmark = pytest.mark.anyio

PUBLIC = "93.184.216.34"
MAX_BYTES = 64 * 1024
FETCH_TIMEOUT = 0.5


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


def png(size: tuple[int, int] = (32, 32), mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size).save(out, "PNG")
    return out.getvalue()


def data_url(raw: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(raw).decode()}"


@dataclass
class Resolver:
    """Numeric spellings resolved as getaddrinfo would (never DNS); names from a table; every question recorded."""

    table: dict[str, list[list[str]]] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        try:
            infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
            return [str(info[4][0]) for info in infos]
        except (OSError, UnicodeError):
            pass
        answers = self.table.get(host.lower())
        if not answers:
            raise OSError(f"no such host {host}")
        return answers.pop(0) if len(answers) > 1 else answers[0]


@dataclass
class Inputs:
    runtime: Runtime
    client: Client
    univers: UniversSimulator
    kolbo: KolboSimulator
    conceptviz: ConceptVizSimulator
    fetch: RecordingTransport
    resolver: Resolver

    def upstream(self) -> int:
        return self.univers.requests.total + self.kolbo.requests.total + self.conceptviz.requests.total

    def reset(self) -> None:
        for sim in (self.univers, self.kolbo, self.conceptviz):
            sim.requests.clear()
            sim.faults.clear()
        self.fetch.seen.clear()
        self.fetch.answers.clear()
        self.resolver.asked.clear()
        self.resolver.table.clear()


@pytest.fixture(scope="module")
async def inputs(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Inputs]:
    tmp = tmp_path_factory.mktemp("inputs")
    univers = UniversSimulator(accounts={CANARIES["univers"]: UniversAccount()})
    kolbo = KolboSimulator(accounts={CANARIES["kolbo"]: KolboAccount()})
    conceptviz = ConceptVizSimulator(accounts={CANARIES["conceptviz"]: ConceptVizAccount()}, job_seconds=60)
    settings = build_settings(
        tmp,
        providers={
            "univers": {"api_key": CANARIES["univers"], "base_url": "https://univers.test"},
            "kolbo": {"api_key": CANARIES["kolbo"], "base_url": "https://kolbo.test/api"},
            "conceptviz": {"api_key": CANARIES["conceptviz"], "base_url": "https://conceptviz.test/api/v1"},
            "masko": {"enabled": False, "api_key": CANARIES["masko"], "base_url": "https://masko.test/v1"},
            "cosmiq": {
                "api_key": CANARIES["cosmiq"],
                "base_url": "https://cosmiq.test/api/mcp",
                "exclude_tools": ["create"],
            },
        },
        inputs={"max_image_bytes": MAX_BYTES, "fetch_timeout": FETCH_TIMEOUT},
        limits={"calls_per_minute": 0, "concurrent_calls": 0},
    )
    fetch = RecordingTransport(default=httpx2.Response(200, content=png(), headers={"content-type": "image/png"}))
    resolver = Resolver()
    runtime = Runtime(
        settings,
        PROVIDERS,
        transports={
            "univers": httpx2.ASGITransport(app=univers.app),
            "kolbo": httpx2.ASGITransport(app=kolbo.app),
            "conceptviz": httpx2.ASGITransport(app=conceptviz.app),
        },
        fetch_transport=fetch,
        resolver=resolver,
    )
    async with runtime, Client(runtime.mcp) as client:
        yield Inputs(runtime, client, univers, kolbo, conceptviz, fetch, resolver)


@pytest.fixture
def box(inputs: Inputs) -> Inputs:
    inputs.reset()
    return inputs


async def _image_call(box: Inputs, leaks: Leaks, tool: str, image: str) -> Any:
    arguments: dict[str, Any] = (
        {"image": image, "mode": "lineart"} if tool == "univers_generate" else {"name": "subject", "images": [image]}
    )
    return leaks.result(tool, await box.client.call_tool(tool, arguments))


def _refused(box: Inputs, result: Any, *phrases: str) -> None:
    assert result.is_error, text(result)
    assert error_code(result) == "invalid_input", text(result)
    assert data(result)["error"]["charged"] is False
    for phrase in phrases:
        assert phrase in text(result), text(result)
    assert box.upstream() == 0, "a refused input reached the provider"
    assert box.fetch.seen == [], "a refused URL was fetched"


BYTES_TOOLS = ["univers_generate", "kolbo_visual_dna_create"]

# ---------------------------------------------------------------------------------------------------------------------
# SSRF: refused before a socket opens

INTERNAL = [
    # cloud metadata
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://metadata/computeMetadata/v1/",
    "http://instance-data/latest/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://2852039166/",  # 169.254.169.254 in decimal
    # loopback in every spelling
    "http://127.0.0.1/x.png",
    "http://2130706433/x.png",
    "http://0x7f000001/x.png",
    "http://0x7f.1/x.png",
    "http://017700000001/x.png",
    "http://0177.0.0.1/x.png",
    "http://127.1/x.png",
    "http://127.0.0.1./x.png",
    "http://127.255.255.254/x.png",
    "http://[::1]/x.png",
    "http://[0:0:0:0:0:0:0:1]/x.png",
    "http://[::ffff:127.0.0.1]/x.png",
    "http://[::ffff:7f00:1]/x.png",
    "http://[0:0:0:0:0:ffff:127.0.0.1]/x.png",
    "http://localhost/x.png",
    "http://LOCALHOST:8000/x.png",
    "http://localhost./x.png",
    "http://app.localhost/x.png",
    "http://db.internal/x.png",
    "http://\u2460\u2461\u2466.0.0.1/x.png",  # ①②⑦.0.0.1
    # unspecified
    "http://0.0.0.0/x.png",
    "http://0/x.png",
    "http://[::]/x.png",
    # private, shared and special ranges
    "http://10.0.0.8/x.png",
    "http://172.16.5.4/x.png",
    "http://172.31.255.255/x.png",
    "http://192.168.1.1/x.png",
    "http://100.64.0.1/x.png",  # CGNAT
    "http://100.127.255.254/x.png",
    "http://169.254.1.1/x.png",
    "http://198.18.0.1/x.png",
    "http://224.0.0.1/x.png",
    "http://255.255.255.255/x.png",
    "http://[fe80::1]/x.png",
    "http://[fc00::1]/x.png",
    "http://[fd12:3456::1]/x.png",
    "http://[64:ff9b::a9fe:a9fe]/x.png",  # NAT64 of the metadata address
]


@pytest.mark.parametrize("tool", BYTES_TOOLS)
@pytest.mark.parametrize("url", INTERNAL)
async def test_internal_addresses_are_refused_before_any_connection(
    box: Inputs, leaks: Leaks, tool: str, url: str
) -> None:
    _refused(box, await _image_call(box, leaks, tool, url), "only public URLs")


USERINFO = [
    "https://good.example@127.0.0.1/x.png",
    "https://user:pass@cdn.example/x.png",
    "http://cdn.example\\@127.0.0.1/x.png",
    "http://cdn.example:80@169.254.169.254/",
]


@pytest.mark.parametrize("url", USERINFO)
async def test_userinfo_tricks_are_refused(box: Inputs, leaks: Leaks, url: str) -> None:
    box.resolver.table["cdn.example"] = [[PUBLIC]]
    result = await _image_call(box, leaks, "univers_generate", url)
    _refused(box, result)
    assert "user:password" in text(result) or "only public URLs" in text(result)


SCHEMES = [
    "file:///etc/passwd",
    "FILE:///etc/passwd",
    "ftp://cdn.example/x.png",
    "gopher://cdn.example:70/_GET",
    "dict://127.0.0.1:6379/info",
    "ldap://cdn.example/",
    "jar:http://cdn.example/x.jar!/",
    "javascript:alert(1)",
    "data:text/html;base64,PGgxPmhpPC9oMT4=",
]


@pytest.mark.parametrize("tool", BYTES_TOOLS)
@pytest.mark.parametrize("url", SCHEMES)
async def test_only_http_https_and_image_data_urls_are_accepted(box: Inputs, leaks: Leaks, tool: str, url: str) -> None:
    _refused(box, await _image_call(box, leaks, tool, url))
    assert box.resolver.asked == []


async def test_a_name_resolving_to_a_private_address_is_refused(box: Inputs, leaks: Leaks) -> None:
    box.resolver.table["evil.example"] = [["10.1.2.3"]]
    box.resolver.table["mixed.example"] = [[PUBLIC, "127.0.0.1"]]
    for url in ("https://evil.example/a.png", "https://mixed.example/a.png"):
        _refused(box, await _image_call(box, leaks, "univers_generate", url), "resolves to a private")


async def test_the_address_checked_is_the_address_connected_to(box: Inputs, leaks: Leaks) -> None:
    # DNS rebinding: the first answer is public, any later one private. genmcp must connect to what it checked.
    box.resolver.table["rebind.example"] = [[PUBLIC], ["127.0.0.1"], ["127.0.0.1"]]
    result = await _image_call(box, leaks, "kolbo_visual_dna_create", "https://rebind.example/cat.png")
    assert not result.is_error, text(result)
    (request,) = box.fetch.seen
    assert request.url.host == PUBLIC
    assert request.headers["host"] == "rebind.example"
    assert box.resolver.asked.count("rebind.example") == 1


REDIRECTS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://127.0.0.1:8000/artifacts/x",
    "//127.0.0.1/x.png",
    "http://internal.example/x.png",
    "file:///etc/passwd",
    "http://[::1]/x.png",
]


@pytest.mark.parametrize("location", REDIRECTS)
async def test_every_redirect_hop_is_checked_again(box: Inputs, leaks: Leaks, location: str) -> None:
    box.resolver.table["cdn.example"] = [[PUBLIC]]
    box.resolver.table["internal.example"] = [["192.168.0.10"]]
    box.fetch.answers["cdn.example/a.png"] = httpx2.Response(302, headers={"Location": location})
    result = await _image_call(box, leaks, "univers_generate", "http://cdn.example/a.png")
    assert result.is_error, text(result)
    assert error_code(result) == "invalid_input", text(result)
    assert len(box.fetch.seen) == 1
    assert box.fetch.seen[0].url.host == PUBLIC
    assert box.upstream() == 0


async def test_downloads_are_capped_in_size(box: Inputs, leaks: Leaks) -> None:
    async def endless(request: httpx2.Request) -> httpx2.Response:
        async def body() -> AsyncIterator[bytes]:
            for _ in range(10_000):
                yield b"\0" * 4096

        return httpx2.Response(200, content=body(), headers={"content-type": "image/png"})

    box.resolver.table["cdn.example"] = [[PUBLIC]]
    box.fetch.answers["cdn.example/big.png"] = endless
    box.fetch.answers["cdn.example/declared.png"] = httpx2.Response(
        200, content=b"", headers={"content-length": str(10 * MAX_BYTES)}
    )
    for name in ("big", "declared"):
        result = await _image_call(box, leaks, "univers_generate", f"http://cdn.example/{name}.png")
        assert error_code(result) == "invalid_input", text(result)
        assert "byte limit" in text(result), text(result)
    assert box.upstream() == 0


@pytest.mark.parametrize("style", ["hang", "stall"])
async def test_downloads_are_capped_in_time(box: Inputs, leaks: Leaks, style: str) -> None:
    async def slow(request: httpx2.Request) -> httpx2.Response:
        if style == "hang":
            await anyio.sleep_forever()

        async def body() -> AsyncIterator[bytes]:
            yield b"\x89"  # the body starts, then never ends
            await anyio.sleep_forever()

        return httpx2.Response(200, content=body(), headers={"content-type": "image/png"})

    box.resolver.table["slow.example"] = [[PUBLIC]]
    box.fetch.answers["slow.example/a.png"] = slow
    started = anyio.current_time()
    result = await _image_call(box, leaks, "kolbo_visual_dna_create", "http://slow.example/a.png")
    took = anyio.current_time() - started
    assert error_code(result) == "invalid_input", text(result)
    assert "longer than" in text(result), text(result)
    assert took < FETCH_TIMEOUT + 2.0
    assert box.upstream() == 0


def _bomb(side: int = 20_000) -> bytes:
    """A 1-bit PNG of side×side pixels: a few KB on the wire, gigabytes once decoded."""
    return png((side, side), mode="1")


FAKES = [
    pytest.param(b"<html><body>not an image</body></html>", "image/png", id="html-named-png"),
    pytest.param(b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "image/png", id="svg"),
    pytest.param(b"%PDF-1.7 ...", "image/png", id="pdf"),
    pytest.param(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20, "image/png", id="png-header-only"),
    pytest.param(png(), "text/html", id="png-served-as-html"),
]


@pytest.mark.parametrize(("body", "content_type"), FAKES)
async def test_fetched_content_is_sniffed(box: Inputs, leaks: Leaks, body: bytes, content_type: str) -> None:
    box.resolver.table["cdn.example"] = [[PUBLIC]]
    box.fetch.answers["cdn.example/cat.png"] = httpx2.Response(
        200, content=body, headers={"content-type": content_type}
    )
    result = await _image_call(box, leaks, "univers_generate", "http://cdn.example/cat.png")
    if content_type == "text/html" and body.startswith(b"\x89PNG") and not result.is_error:
        # A real PNG mislabelled by the server may be taken for what it is; nothing else may pass.
        assert box.univers.requests.count("POST /api/generate") == 1
        return
    assert error_code(result) == "invalid_input", text(result)
    assert box.upstream() == 0


@pytest.mark.parametrize("side", [8_000, 20_000], ids=["64Mpx", "400Mpx"])
async def test_decompression_bombs_are_refused_by_url_and_inline(box: Inputs, leaks: Leaks, side: int) -> None:
    bomb = _bomb(side)
    assert len(bomb) < MAX_BYTES
    box.resolver.table["cdn.example"] = [[PUBLIC]]
    box.fetch.answers["cdn.example/bomb.png"] = httpx2.Response(
        200, content=bomb, headers={"content-type": "image/png"}
    )
    for tool in BYTES_TOOLS:
        by_url = await _image_call(box, leaks, tool, "http://cdn.example/bomb.png")
        inline = await _image_call(box, leaks, tool, data_url(bomb))
        for result in (by_url, inline):
            assert error_code(result) == "invalid_input", text(result)
            assert "pixels" in text(result) or "damaged" in text(result), text(result)
    assert box.upstream() == 0


# ---------------------------------------------------------------------------------------------------------------------
# inline data


async def test_base64_is_checked_by_length_before_it_is_decoded(
    box: Inputs, leaks: Leaks, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoded: list[int] = []
    real = base64.b64decode

    def counting(value: Any, *args: Any, **kwargs: Any) -> bytes:
        decoded.append(len(value))
        return real(value, *args, **kwargs)

    monkeypatch.setattr("server.inputs.base64.b64decode", counting)
    huge = "iVBORw0KGgo" + "A" * (8 * MAX_BYTES)
    for tool in BYTES_TOOLS:
        for value in (huge, "data:image/png;base64," + huge[11:]):
            result = await _image_call(box, leaks, tool, value)
            assert error_code(result) == "invalid_input", text(result)
            assert "larger than" in text(result), text(result)
    assert decoded == [], "an oversized payload was decoded"
    assert box.upstream() == 0


INLINE = [
    pytest.param("data:image/png;base64,!!!!not-base64!!!!", id="invalid-base64"),
    pytest.param("iVBORw0KGgo%%%%", id="invalid-raw-base64"),
    pytest.param(data_url(png(), "image/jpeg"), id="jpeg-claimed-png-sent"),
    pytest.param(data_url(b"<html>hi</html>", "image/png"), id="html-claimed-png"),
    pytest.param(data_url(png(), "image/svg+xml"), id="svg-data-url"),
    pytest.param("data:image/png," + "A" * 100, id="data-url-without-base64"),
    pytest.param("data:;base64,iVBORw0KGgo=", id="data-url-without-type"),
    pytest.param(base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 64).decode(), id="truncated-png"),
]


@pytest.mark.parametrize("tool", BYTES_TOOLS)
@pytest.mark.parametrize("value", INLINE)
async def test_bad_inline_images_are_refused(box: Inputs, leaks: Leaks, tool: str, value: str) -> None:
    _refused(box, await _image_call(box, leaks, tool, value))


@pytest.mark.parametrize("tool", BYTES_TOOLS)
@pytest.mark.parametrize("mime", ["text/html", "application/octet-stream"])
async def test_a_data_url_whose_type_is_not_the_images_is_refused(
    box: Inputs, leaks: Leaks, tool: str, mime: str
) -> None:
    _refused(box, await _image_call(box, leaks, tool, data_url(png(), mime)))


# ---------------------------------------------------------------------------------------------------------------------
# arguments

TEN_MB = "x" * (10 * 1024 * 1024)

BAD_ARGUMENTS = [
    pytest.param("conceptviz_generate", {"prompt": TEN_MB}, "prompt", id="10MB-prompt"),
    pytest.param("conceptviz_generate", {"prompts": ["a"] * 5}, "prompts", id="too-many-prompts"),
    pytest.param("conceptviz_generate", {"prompt": 42}, "prompt", id="prompt-wrong-type"),
    pytest.param("conceptviz_generate", {"prompt": ["a", "b"]}, "prompt", id="prompt-list"),
    pytest.param("conceptviz_generate", {"prompt": None}, "prompt", id="prompt-null"),
    pytest.param("conceptviz_generate", {}, "prompt", id="nothing"),
    pytest.param("conceptviz_generate", {"prompt": "x", "model": "cv-9"}, "model", id="unknown-model"),
    pytest.param("conceptviz_generate", {"prompt": "x", "model": "cv-2", "quality": "4k"}, "2k", id="quality"),
    pytest.param("conceptviz_generate", {"prompt": "x", "aspect_ratio": "16:9;rm -rf"}, "aspect_ratio", id="ratio"),
    pytest.param("conceptviz_generate", {"prompt": "x", "wait": -1}, "wait", id="negative-wait"),
    pytest.param("conceptviz_generate", {"prompt": "x", "wait": "soon"}, "wait", id="wait-wrong-type"),
    pytest.param("conceptviz_generate", {"prompt": "x", "wait": True}, "wait", id="wait-bool"),
    pytest.param("conceptviz_generate", {"prompt": "x", "api_key": "cvk_stolen_00000"}, "api_key", id="api-key"),
    pytest.param("conceptviz_generate", {"prompt": "x", "base_url": "http://evil.example"}, "base_url", id="base-url"),
    pytest.param("conceptviz_generate", {"prompt": "x", "headers": {"Authorization": "x"}}, "headers", id="headers"),
    pytest.param("conceptviz_generate", {"prompt": "x", "Authorization": "Bearer x"}, "Authorization", id="auth-arg"),
    pytest.param("conceptviz_edit", {"prompt": "x", "images": []}, "images", id="no-images"),
    pytest.param(
        "conceptviz_edit", {"prompt": "x", "images": ["https://a.example/x.png"] * 5}, "images", id="5-images"
    ),
    pytest.param("kolbo_generate_image", {"prompt": "x", "num_images": 99}, "num_images", id="kolbo-99-images"),
    pytest.param("kolbo_generate_image", {"prompt": "x", "base_url": "http://evil"}, "base_url", id="kolbo-base-url"),
    pytest.param("univers_generate", {"image": "https://a.example/x.png", "colors": 30}, "colors", id="univers-colors"),
    pytest.param("univers_generate", {"image": "https://a.example/x.png", "mode": "spiral"}, "mode", id="univers-mode"),
    pytest.param("univers_ai_image", {"prompt": "hi"}, "prompt", id="univers-short-prompt"),
    pytest.param("poll", {"job": "conceptviz:abc", "api_key": "x"}, "api_key: not an accepted", id="poll-extra"),
    pytest.param("poll", {"job": "../../etc/passwd"}, "not a job handle", id="poll-traversal"),
    pytest.param("poll", {"job": "conceptviz:../../etc"}, "not a job handle", id="poll-traversal-id"),
    pytest.param("poll", {"job": f"conceptviz:{CANARIES['conceptviz']}"}, "not a job handle", id="poll-key-as-id"),
    pytest.param("jobs", {"limit": 10_000}, "limit", id="jobs-limit"),
    pytest.param("jobs", {"status": "all'; DROP TABLE jobs;--"}, "status", id="jobs-sql"),
    pytest.param(
        "credits", {"provider": "conceptviz", "base_url": "x"}, "base_url: not an accepted", id="credits-extra"
    ),
]


@pytest.mark.parametrize(("tool", "arguments", "phrase"), BAD_ARGUMENTS)
async def test_bad_arguments_are_refused_with_an_actionable_message_and_cost_nothing(
    box: Inputs, leaks: Leaks, tool: str, arguments: dict[str, Any], phrase: str
) -> None:
    result = await box.client.call_tool(tool, arguments)
    summary = text(result)
    if tool != "conceptviz_generate" or "prompt" not in arguments or len(str(arguments.get("prompt"))) < 1000:
        leaks.result(tool, result)
    assert result.is_error, summary[:500]
    assert error_code(result) == "invalid_input", summary[:500]
    assert phrase in summary, summary[:500]
    assert "Do not retry the same call unchanged" in summary
    assert "No credits were spent" in summary
    assert len(summary) < 4000, "the refusal quotes the oversized input back"
    assert box.upstream() == 0


async def test_a_disabled_provider_and_an_excluded_tool_cannot_be_called_by_name(box: Inputs, leaks: Leaks) -> None:
    names = {tool.name for tool in (await box.client.list_tools()).tools}
    assert not {n for n in names if n.startswith("masko_")}
    assert "cosmiq_create" not in names
    assert "cosmiq_get_board" in names
    calls: list[tuple[str, dict[str, Any]]] = [
        ("masko_list_projects", {}),
        ("masko_generate", {"mascot_id": "m1", "type": "image", "name": "wave"}),
        ("cosmiq_create", {"prompt": "a red fox"}),
        ("poll", {"job": "masko:job_123"}),
        ("credits", {"provider": "masko"}),
        ("jobs", {"provider": "masko"}),
    ]
    for tool, arguments in calls:
        result = leaks.result(tool, await box.client.call_tool(tool, arguments))
        assert result.is_error, (tool, text(result))
    assert box.upstream() == 0


async def test_a_provider_endpoint_serves_only_that_providers_tools(box: Inputs, leaks: Leaks) -> None:
    async with (
        serving(box.runtime) as app,
        asgi_http(app) as http,
        Client(streamable_http_client(f"{IN_PROCESS}/mcp/conceptviz", http_client=http)) as client,
    ):
        names = {tool.name for tool in (await client.list_tools()).tools}
        other = leaks.result("other", await client.call_tool("kolbo_generate_image", {"prompt": "x"}))
    assert names == {"conceptviz_generate", "conceptviz_edit", "poll", "jobs", "credits", "save"}
    assert other.is_error
    assert box.upstream() == 0


async def test_a_refused_input_is_an_error_even_with_wait_0(box: Inputs, leaks: Leaks) -> None:
    for url in ("http://169.254.169.254/latest/meta-data/", "http://[::1]/x.png", "file:///etc/passwd"):
        result = leaks.result("wait0", await box.client.call_tool("univers_generate", {"image": url, "wait": 0}))
        assert result.is_error, text(result)
        assert error_code(result) == "invalid_input", text(result)
    assert box.upstream() == 0
    assert box.fetch.seen == []
