"""The protected resources this server's tokens are for (RFC 8707): its MCP endpoints, `/mcp` and `/mcp/<provider>`.

A token is bound to the resource the client asked for when it was authorized. It is accepted at that endpoint and,
for `/mcp`, at the endpoints below it (`/mcp/kolbo`), never at a sibling (`/mcp/masko` for a `/mcp/kolbo` token) or
at another server. URLs are compared after normalising the scheme and host case and a trailing slash.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

__all__ = ["Resources", "normalise"]


def normalise(url: str) -> str:
    """A resource URL in the form it is compared in."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    host = f"[{host}]" if ":" in host else host
    port = parts.port
    netloc = host if port is None or port == {"https": 443, "http": 80}.get(scheme) else f"{host}:{port}"
    return f"{scheme}://{netloc}{parts.path.rstrip('/')}"


class Resources:
    """This server's resource URLs: the default one (`/mcp`) first."""

    def __init__(self, default: str, others: Iterable[str] = ()) -> None:
        self.default = default.rstrip("/")
        self.all = [self.default, *(url.rstrip("/") for url in others)]
        self._known = {normalise(url): url for url in self.all}

    def resolve(self, requested: str | None) -> str | None:
        """The resource a client asked for (the default when it named none), or None when it is not one of ours."""
        if requested is None:
            return self.default
        try:
            return self._known.get(normalise(requested))
        except ValueError:
            return None

    @staticmethod
    def covers(granted: str, endpoint: str) -> bool:
        """Whether a token for `granted` may be used at `endpoint` (itself, or an endpoint below it)."""
        granted_n, endpoint_n = normalise(granted), normalise(endpoint)
        return endpoint_n == granted_n or endpoint_n.startswith(granted_n + "/")
