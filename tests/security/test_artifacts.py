"""Files genmcp holds, served at /artifacts/<id> and as artifact:// resources: ids cannot be guessed or traversed
(`../` and its encoded forms are 404), served files keep their stored type with nosniff, a Content-Disposition and a
sandboxing CSP, and active content (SVG, HTML) is never served inline.
"""

from __future__ import annotations

import secrets
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from starlette.types import ASGIApp

from providers import PROVIDERS
from server.app import Runtime
from server.artifacts import Artifact, FileArtifactStore
from tests.harness.clock import FakeClock
from tests.harness.process import start_genmcp
from tests.harness.settings import build_settings, settings_data
from tests.security.conftest import (
    CANARIES,
    Leaks,
    asgi_get,
    asgi_http,
)

pytestmark = pytest.mark.anyio

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(document.cookie)"><script>alert(1)</script></svg>'
HTML = b"<html><body><script>fetch('/mcp')</script></body></html>"


@dataclass
class Held:
    runtime: Runtime
    app: ASGIApp
    clock: FakeClock
    files: dict[str, Artifact]


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@asynccontextmanager
async def _held(tmp_path: Path) -> AsyncIterator[Held]:
    clock = FakeClock()
    settings = build_settings(
        tmp_path,
        providers={"conceptviz": {"api_key": CANARIES["conceptviz"], "base_url": "https://conceptviz.test/api/v1"}},
        artifacts={"ttl_seconds": 3600},
    )
    runtime = Runtime(settings, PROVIDERS, clock=clock)
    async with runtime:  # the store is used once the runtime has started (and opened it)
        store = runtime.artifacts
        files = {
            "png": await store.put(PNG, mime_type="image/png", filename="picture.png"),
            "svg": await store.put(SVG, mime_type="image/svg+xml", filename="drawing.svg"),
            "html": await store.put(HTML, mime_type="text/html", filename="page.html"),
            "xml": await store.put(b"<?xml version='1.0'?><x/>", mime_type="application/xml", filename="data.xml"),
            "js": await store.put(b"alert(1)", mime_type="text/javascript", filename="run.js"),
            "zip": await store.put(b"PK\x03\x04", mime_type="application/zip", filename="pages.zip"),
            "pdf": await store.put(b"%PDF-1.7", mime_type="application/pdf", filename="doc.pdf"),
            "evil-name": await store.put(
                PNG, mime_type="image/png", filename="a\"b\r\nSet-Cookie: session=1; x='../../etc/passwd'.png"
            ),
            "unicode-name": await store.put(PNG, mime_type="image/png", filename="Ünïcødé 图像.png"),
        }
        yield Held(runtime, runtime.http_app(), clock, files)


@pytest.fixture(scope="module")
async def held(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Held]:
    async with _held(tmp_path_factory.mktemp("artifacts")) as shared:
        yield shared


SAFE_HEADERS = ("x-content-type-options", "content-disposition", "content-security-policy")


@pytest.mark.parametrize(
    ("kind", "inline"),
    [("png", True), ("svg", False), ("html", False), ("xml", False), ("js", False), ("zip", False), ("pdf", False)],
)
async def test_served_files_keep_their_type_and_are_sandboxed(
    held: Held, leaks: Leaks, kind: str, inline: bool
) -> None:
    artifact = held.files[kind]
    async with asgi_http(held.app) as http:
        response = leaks.response(kind, await http.get(f"/artifacts/{artifact.id}"))
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == artifact.mime_type
    assert response.headers["x-content-type-options"] == "nosniff"
    csp = response.headers["content-security-policy"]
    assert "sandbox" in csp
    assert "default-src 'none'" in csp
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("inline;" if inline else "attachment;"), disposition
    assert f'filename="{artifact.filename}"' in disposition
    assert response.content == await held.runtime.artifacts.read(artifact)


async def test_file_names_cannot_inject_headers(held: Held) -> None:
    for kind in ("evil-name", "unicode-name"):
        status, headers, _body = await asgi_get(held.app, f"/artifacts/{held.files[kind].id}".encode())
        assert status == 200
        disposition = headers["content-disposition"]
        assert "\r" not in disposition
        assert "\n" not in disposition
        assert "set-cookie" not in headers
        assert disposition.count('"') == 2, disposition
        assert "/" not in disposition.split("filename=", 1)[1].split(";", 1)[0]


def _guesses(real: str) -> list[str]:
    return [
        secrets.token_urlsafe(24),
        real.swapcase(),
        real[:-1],
        real + "A",
        real[:-1] + ("B" if real[-1] != "B" else "C"),
        f"{real}.json",
        f"{real}.bin",
        "A" * 32,
        "",
    ]


async def test_unknown_or_guessed_ids_are_404(held: Held, leaks: Leaks) -> None:
    real = held.files["png"].id
    async with asgi_http(held.app) as http:
        for guess in _guesses(real):
            response = leaks.response("guess", await http.get(f"/artifacts/{guess}"))
            assert response.status_code == 404, guess
            assert response.content != PNG


TRAVERSALS = [
    b"/artifacts/../jobs.sqlite3",
    b"/artifacts/..%2Fjobs.sqlite3",
    b"/artifacts/%2e%2e%2fjobs.sqlite3",
    b"/artifacts/%2E%2E/%2E%2E/etc/passwd",
    b"/artifacts/%252e%252e%252fjobs.sqlite3",
    b"/artifacts/..%5c..%5cjobs.sqlite3",
    b"/artifacts/....//....//jobs.sqlite3",
    b"/artifacts/%2e%2e%2f%2e%2e%2fjobs.sqlite3-wal",
    b"/artifacts/..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
    b"/artifacts/%c0%ae%c0%ae%c0%afjobs.sqlite3",
    b"/artifacts/{id}%00.json",
    b"/artifacts/{id}.json",
    b"/artifacts/{id}/../{id}.json",
    b"/artifacts/{id}/..%2f{id}.json",
    b"/artifacts/{id}?../../jobs.sqlite3",
    b"/artifacts/./{id}.bin",
    b"/artifacts//etc/passwd",
    b"/artifacts/%2fetc%2fpasswd",
]


@pytest.mark.parametrize("raw", TRAVERSALS, ids=[t.decode() for t in TRAVERSALS])
async def test_traversal_in_any_encoding_is_404(held: Held, raw: bytes) -> None:
    real = held.files["png"].id
    path = raw.replace(b"{id}", real.encode())
    status, _headers, body = await asgi_get(held.app, path)
    if b"?" in path:  # the query is not part of the id: the real file, nothing else
        assert status == 200
        assert body == PNG
        return
    assert status == 404, (path, status)
    assert b"SQLite format 3" not in body
    assert b"root:" not in body
    assert b'"mime_type"' not in body


async def test_expired_artifacts_are_gone(tmp_path: Path) -> None:
    async with _held(tmp_path) as own:
        real = own.files["png"].id
        assert (await asgi_get(own.app, f"/artifacts/{real}".encode()))[0] == 200
        own.clock.advance(3601)
        assert (await asgi_get(own.app, f"/artifacts/{real}".encode()))[0] == 404


@pytest.mark.parametrize(
    "uri",
    [
        "artifact://../jobs.sqlite3",
        "artifact://..%2Fjobs.sqlite3",
        "artifact://{id}/../../jobs.sqlite3",
        "artifact://{id}.json",
        "artifact://AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "file:///etc/passwd",
    ],
)
async def test_resources_read_cannot_traverse_either(held: Held, uri: str) -> None:
    async with Client(held.runtime.mcp) as client:
        with pytest.raises(MCPError) as refused:
            await client.read_resource(uri.replace("{id}", held.files["png"].id))
    assert "Traceback" not in str(refused.value)
    assert "SQLite" not in str(refused.value)


def _raw_get(port: int, path: bytes) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        response = b""
        while chunk := sock.recv(65536):
            response += chunk
    status = int(response.split(b" ", 2)[1])
    return status, response


@pytest.mark.e2e
async def test_traversal_over_a_real_socket_is_404(tmp_path: Path) -> None:
    config = settings_data(
        tmp_path, providers={"conceptviz": {"api_key": CANARIES["conceptviz"], "base_url": "http://127.0.0.1:9"}}
    )
    with start_genmcp(tmp_path, config=config) as server:
        # A file of the server's store, put beside it once it has started (and made its directory).
        store = FileArtifactStore(tmp_path / "artifacts", ttl_seconds=3600, clock=time.time)
        kept = await store.put(PNG, mime_type="image/png", filename="kept.png")
        assert _raw_get(server.port, f"/artifacts/{kept.id}".encode())[0] == 200
        for raw in [*TRAVERSALS[:10], b"/artifacts/../../../../etc/passwd", f"/artifacts/{kept.id}.json".encode()]:
            status, response = _raw_get(server.port, raw.replace(b"{id}", kept.id.encode()))
            assert status in (400, 404), (raw, status)
            assert b"SQLite format 3" not in response
            assert b"root:" not in response
            assert b'"mime_type"' not in response
