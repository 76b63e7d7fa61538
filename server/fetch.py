"""Fetching a URL someone else chose, safely (the SSRF guard).

Only http(s); the host is resolved once and every address it resolves to must be public (no loopback, private,
link-local, CGNAT, multicast, reserved or metadata address, in any spelling — the resolver normalises decimal,
hex and octal forms); the request goes to the checked address (pinned), with the original Host and TLS name;
redirects are re-checked hop by hop; the body is capped in bytes and the whole fetch in time. Hosts the operator
lists in `inputs.allow_hosts` skip the address check (that is how tests reach loopback simulators).
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

import anyio
import httpx2

from server.errors import InvalidInput

__all__ = ["FetchedFile", "Fetcher", "Resolver", "is_public_address"]

Resolver = Callable[[str, int], Awaitable[list[str]]]
_BLOCKED_NAMES = {"localhost", "metadata", "metadata.google.internal", "instance-data"}


async def _system_resolver(host: str, port: int) -> list[str]:
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def is_public_address(address: str) -> bool:
    """Whether an IP address is a public unicast address (IPv4-mapped IPv6 judged by its IPv4)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


@dataclass(frozen=True)
class FetchedFile:
    """A downloaded body and what the server said it was."""

    data: bytes
    content_type: str
    url: str
    filename: str


class Fetcher:
    """Downloads untrusted URLs through the SSRF guard.

    Args:
        allow_hosts: Host names (or `host:port`) allowed even when they resolve to non-public addresses.
        resolver: Name resolution (injectable for tests).
        transport: HTTP transport (injectable for tests; it receives the pinned address).
    """

    def __init__(
        self,
        *,
        allow_hosts: Iterable[str] = (),
        max_bytes: int,
        timeout: float = 20.0,
        max_redirects: int = 3,
        resolver: Resolver | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        self.allow_hosts = {h.lower().rstrip(".") for h in allow_hosts}
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.max_redirects = max_redirects
        self.resolve = resolver or _system_resolver
        self._transport = transport

    @functools.cached_property
    def _tls(self) -> ssl.SSLContext:
        # Built once, at the first download: a TLS context costs ~50 ms of CPU, far more than the download it serves,
        # and nothing else at start-up needs it.
        return httpx2.create_ssl_context(trust_env=False)

    def allow(self, host: str) -> None:
        """Allow one more host (the sandbox's own loopback server)."""
        self.allow_hosts.add(host.lower().rstrip("."))

    async def _pin(self, url: str, field: str) -> tuple[str, dict[str, str], dict[str, str]]:
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"}:
            raise InvalidInput(f"{field}: only http and https URLs can be fetched.")
        host = (parts.hostname or "").rstrip(".").lower()
        if not host:
            raise InvalidInput(f"{field}: the URL has no host.")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise InvalidInput(f"{field}: the URL's port is invalid.") from exc
        allowed = host in self.allow_hosts or f"{host}:{port}" in self.allow_hosts
        if not allowed and (host in _BLOCKED_NAMES or host.endswith((".localhost", ".internal"))):
            raise InvalidInput(f"{field}: {host} is a local or metadata address; only public URLs are fetched.")
        try:
            addresses = await self.resolve(host, port)
        except OSError as exc:
            raise InvalidInput(f"{field}: could not resolve {host}.") from exc
        if not addresses:
            raise InvalidInput(f"{field}: could not resolve {host}.")
        if not allowed and not all(is_public_address(a) for a in addresses):
            raise InvalidInput(
                f"{field}: {host} resolves to a private, loopback or reserved address; only public URLs are fetched."
            )
        pinned = addresses[0]
        literal = f"[{pinned}]" if ":" in pinned else pinned
        netloc = f"{literal}:{port}"
        target = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
        default_port = port == (443 if parts.scheme == "https" else 80)
        host_header = host if default_port else f"{host}:{port}"
        extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
        return target, {"Host": host_header}, extensions

    async def fetch(
        self, url: str, *, field: str, max_bytes: int | None = None, time_limit: float | None = None
    ) -> FetchedFile:
        """Download `url` (following at most `max_redirects` re-checked redirects); `max_bytes` and `time_limit`
        replace the fetcher's own limits for this download (saving a video needs more than an image input).

        Raises:
            InvalidInput: the URL is refused, unreachable, too large, too slow, or answers an error.
        """
        current = url
        limit = self.max_bytes if max_bytes is None else max_bytes
        seconds = self.timeout if time_limit is None else time_limit
        try:
            with anyio.fail_after(seconds):
                async with httpx2.AsyncClient(
                    transport=self._transport,
                    follow_redirects=False,
                    timeout=seconds,
                    trust_env=False,
                    verify=self._tls,
                ) as client:
                    for _ in range(self.max_redirects + 1):
                        target, headers, extensions = await self._pin(current, field)
                        request = client.build_request("GET", target, headers=headers, extensions=extensions)
                        response = await client.send(request, stream=True)
                        try:
                            if response.is_redirect:
                                location = response.headers.get("location", "")
                                current = urljoin(current, location)
                                continue
                            if response.status_code != 200:
                                raise InvalidInput(f"{field}: the URL answered HTTP {response.status_code}.")
                            data = await self._read_capped(response, field, limit)
                            content_type = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
                        finally:
                            await response.aclose()
                        name = urlsplit(current).path.rsplit("/", 1)[-1] or "download"
                        return FetchedFile(data=data, content_type=content_type, url=current, filename=name)
        except TimeoutError as exc:
            raise InvalidInput(f"{field}: the download took longer than {seconds:g} s.") from exc
        except httpx2.HTTPError as exc:
            raise InvalidInput(f"{field}: the URL could not be fetched ({type(exc).__name__}).") from exc
        raise InvalidInput(f"{field}: more than {self.max_redirects} redirects.")

    async def _read_capped(self, response: httpx2.Response, field: str, limit: int) -> bytes:
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise InvalidInput(f"{field}: the file is larger than the {limit} byte limit.")
        chunks: list[bytes] = []
        total = 0
        async for chunk in response.aiter_bytes():
            total += len(chunk)
            if total > limit:
                raise InvalidInput(f"{field}: the file is larger than the {limit} byte limit.")
            chunks.append(chunk)
        return b"".join(chunks)
