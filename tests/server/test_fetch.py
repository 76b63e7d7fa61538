"""The SSRF guard: refused before a socket opens, pinned to the checked address, re-checked on redirects, capped."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import httpx2
import pytest
from PIL import Image

from server.config import InputSettings
from server.errors import InvalidInput
from server.fetch import Fetcher, Resolver, is_public_address
from server.inputs import ImageInputs

pytestmark = pytest.mark.anyio

PUBLIC = "93.184.216.34"


def _png(size: tuple[int, int] = (16, 16)) -> bytes:
    out = io.BytesIO()
    Image.new("1", size).save(out, "PNG")  # 1-bit: a huge canvas stays small in memory and on the wire
    return out.getvalue()


class _Recorder(httpx2.AsyncBaseTransport):
    """Answers instead of the network, and records where each request was sent."""

    def __init__(self, respond: dict[str, httpx2.Response] | None = None) -> None:
        self.seen: list[httpx2.Request] = []
        self.respond = respond or {}

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.seen.append(request)
        host = request.headers["host"]
        return self.respond.get(f"{host}{request.url.path}", httpx2.Response(200, content=_png()))


def _resolver(table: dict[str, list[str]]) -> Resolver:
    async def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError("no such host")
        return table[host]

    return resolve


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x.png",
        "http://2130706433/x.png",  # decimal
        "http://0x7f000001/x.png",  # hex
        "http://017700000001/x.png",  # octal
        "http://127.1/x.png",
        "http://0.0.0.0/x.png",
        "http://10.0.0.8/x.png",
        "http://172.16.5.4/x.png",
        "http://192.168.1.1/x.png",
        "http://100.64.0.1/x.png",  # CGNAT
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/x.png",
        "http://[::ffff:127.0.0.1]/x.png",
        "http://[fd00:ec2::254]/x.png",
        "http://[fe80::1]/x.png",
        "http://localhost/x.png",
        "http://localhost./x.png",
        "http://LOCALHOST:8080/x.png",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://foo.localhost/x.png",
        "https://good.example@127.0.0.1/x.png",
    ],
)
async def test_private_loopback_and_metadata_addresses_are_refused_before_connecting(url: str) -> None:
    transport = _Recorder()
    fetcher = Fetcher(max_bytes=10_000, transport=transport)  # the system resolver: numeric forms need no DNS
    with pytest.raises(InvalidInput, match="only public URLs"):
        await fetcher.fetch(url, field="image")
    assert transport.seen == []


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/a.png", "gopher://example.com/"])
async def test_only_http_and_https_are_fetched(url: str) -> None:
    with pytest.raises(InvalidInput, match="only http and https"):
        await Fetcher(max_bytes=10_000, transport=_Recorder()).fetch(url, field="image")


async def test_a_name_resolving_to_a_private_address_is_refused() -> None:
    transport = _Recorder()
    fetcher = Fetcher(max_bytes=10_000, transport=transport, resolver=_resolver({"evil.example": [PUBLIC, "10.1.2.3"]}))
    with pytest.raises(InvalidInput, match="resolves to a private"):
        await fetcher.fetch("https://evil.example/a.png", field="image")
    assert transport.seen == []


async def test_the_request_goes_to_the_checked_address_with_the_original_host() -> None:
    transport = _Recorder()
    fetcher = Fetcher(max_bytes=10_000, transport=transport, resolver=_resolver({"cdn.example": [PUBLIC]}))

    fetched = await fetcher.fetch("https://cdn.example/images/a.png?x=1", field="image")

    (request,) = transport.seen
    assert request.url.host == PUBLIC
    assert request.url.path == "/images/a.png"
    assert request.url.query == b"x=1"
    assert request.headers["host"] == "cdn.example"
    assert request.extensions["sni_hostname"] == "cdn.example"
    assert fetched.filename == "a.png"
    assert fetched.data.startswith(b"\x89PNG")


async def test_every_redirect_hop_is_checked_again() -> None:
    redirect = httpx2.Response(302, headers={"Location": "http://internal.example/secret.png"})
    transport = _Recorder({"cdn.example/a.png": redirect})
    resolver = _resolver({"cdn.example": [PUBLIC], "internal.example": ["192.168.0.10"]})
    fetcher = Fetcher(max_bytes=10_000, transport=transport, resolver=resolver)

    with pytest.raises(InvalidInput, match="resolves to a private"):
        await fetcher.fetch("http://cdn.example/a.png", field="image")
    assert len(transport.seen) == 1


async def test_redirect_loops_stop() -> None:
    loop = httpx2.Response(302, headers={"Location": "/a.png"})
    transport = _Recorder({"cdn.example/a.png": loop})
    fetcher = Fetcher(max_bytes=10_000, transport=transport, resolver=_resolver({"cdn.example": [PUBLIC]}))
    with pytest.raises(InvalidInput, match="more than 3 redirects"):
        await fetcher.fetch("http://cdn.example/a.png", field="image")


async def test_downloads_are_capped_in_size_even_without_content_length() -> None:
    async def stream() -> AsyncIterator[bytes]:
        for _ in range(100):
            yield b"x" * 1000

    big = httpx2.Response(200, content=stream())
    transport = _Recorder({"cdn.example/big.png": big})
    fetcher = Fetcher(max_bytes=10_000, transport=transport, resolver=_resolver({"cdn.example": [PUBLIC]}))
    with pytest.raises(InvalidInput, match="larger than the 10000 byte limit"):
        await fetcher.fetch("http://cdn.example/big.png", field="image")


async def test_allowed_hosts_skip_the_address_check() -> None:
    transport = _Recorder()
    fetcher = Fetcher(max_bytes=10_000, transport=transport, allow_hosts=["127.0.0.1:9999"])
    fetched = await fetcher.fetch("http://127.0.0.1:9999/a.png", field="image")
    assert fetched.data.startswith(b"\x89PNG")


async def test_an_html_page_named_png_is_not_an_image() -> None:
    page = httpx2.Response(200, content=b"<html>hi</html>", headers={"content-type": "image/png"})
    transport = _Recorder({"cdn.example/a.png": page})
    fetcher = Fetcher(max_bytes=10_000, transport=transport, resolver=_resolver({"cdn.example": [PUBLIC]}))
    inputs = ImageInputs(InputSettings(), fetcher=fetcher)
    with pytest.raises(InvalidInput, match="not a PNG, JPEG, GIF or WebP"):
        await inputs.load("http://cdn.example/a.png", field="image")


async def test_decompression_bombs_are_refused_by_their_header() -> None:
    bomb = httpx2.Response(200, content=_png((9000, 9000)), headers={"content-type": "image/png"})
    transport = _Recorder({"cdn.example/bomb.png": bomb})
    fetcher = Fetcher(max_bytes=10_000_000, transport=transport, resolver=_resolver({"cdn.example": [PUBLIC]}))
    inputs = ImageInputs(InputSettings(max_image_pixels=1_000_000), fetcher=fetcher)
    with pytest.raises(InvalidInput, match="81,000,000 pixels"):
        await inputs.load("http://cdn.example/bomb.png", field="image")


def test_public_addresses_are_told_from_the_rest() -> None:
    assert is_public_address(PUBLIC)
    assert is_public_address("2606:4700::1111")
    for address in ["127.0.0.1", "10.0.0.1", "::1", "::ffff:10.0.0.1", "224.0.0.1", "240.0.0.1", "nonsense"]:
        assert not is_public_address(address)
