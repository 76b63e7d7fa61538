"""Who may see the web page: the same rules as the MCP endpoint.

Without inbound auth (loopback, or an operator's `--insecure` behind an authenticating proxy) the page is open, like
`/mcp`. With auth, a request needs a valid bearer token (the verifier `/mcp` uses) or a browser session; otherwise it
gets no data. With genmcp's own authorization server (`[auth] mode = "builtin"`) the session is the one its sign-in
page starts (`server.oauth.sessions`), and a visitor who is not signed in is sent there. With named tokens or an
external issuer, a browser signs in here with such a token: the cookie it gets is HMAC-signed under a key of this
process, holds only the caller's name and an expiry (never the token), and is `HttpOnly`, `SameSite=Strict`. Every
request is first held to the Host/Origin allow-lists of `/mcp` (DNS rebinding).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from mcp.server.transport_security import TransportSecurityMiddleware, TransportSecuritySettings
from starlette.requests import Request
from starlette.responses import Response

if TYPE_CHECKING:
    from mcp.server.auth.provider import AccessToken

    from server.oauth.sessions import Sessions

__all__ = ["COOKIE", "Access", "Visitor"]

COOKIE = "genmcp_session"
_SESSION_SECONDS = 8 * 3600


@dataclass(frozen=True)
class Visitor:
    """Who is looking at the page."""

    name: str | None
    """The signed-in caller; None when the page is open (no auth configured)."""


class Verifier(Protocol):
    """What checks a bearer token (the one `/mcp` uses)."""

    async def verify_token(self, token: str) -> AccessToken | None: ...


class Access:
    """Decides, per request, whether and as whom the page is shown.

    Args:
        verifier: The bearer check of `/mcp` (None without inbound auth).
        sessions: The built-in authorization server's browser sessions (None: sign in here with a token).
    """

    def __init__(
        self, security: TransportSecuritySettings, verifier: Verifier | None, *, sessions: Sessions | None = None
    ) -> None:
        self.guard = TransportSecurityMiddleware(security)
        self.verifier = verifier
        self.sessions = sessions
        self._key = secrets.token_bytes(32)

    @property
    def open(self) -> bool:
        """Whether the page needs no sign-in (no inbound auth configured)."""
        return self.verifier is None and self.sessions is None

    async def refused(self, request: Request) -> Response | None:
        """The answer to a request from a host or origin `/mcp` would refuse too (None when it may proceed)."""
        return await self.guard.validate_request(request, is_post=False)

    async def visitor(self, request: Request) -> Visitor | None:
        """The visitor, or None when auth is on and the request proves no identity."""
        if self.open:
            return Visitor(name=None)
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            return await self.sign_in(header[7:].strip())
        if self.sessions is not None:
            signed_in = await self.sessions.current(request)
            return Visitor(name=signed_in.user) if signed_in is not None else None
        return self._session(request.cookies.get(COOKIE, ""))

    async def sign_in(self, token: str) -> Visitor | None:
        """The visitor a token proves (the same check as `/mcp`), or None."""
        if self.verifier is None:
            return None if self.sessions is not None else Visitor(name=None)
        if not token or len(token) > 8192:
            return None
        access = await self.verifier.verify_token(token)
        if access is None:
            return None
        return Visitor(name=access.subject or access.client_id)

    def cookie(self, visitor: Visitor, *, expires_at: float | None = None) -> str:
        """A signed session value for `visitor` (at most eight hours)."""
        limit = time.time() + _SESSION_SECONDS
        payload = json.dumps({"n": visitor.name, "e": min(limit, expires_at or limit)}, separators=(",", ":"))
        body = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
        return f"{body}.{self._sign(body)}"

    def _sign(self, body: str) -> str:
        return hmac.new(self._key, body.encode(), hashlib.sha256).hexdigest()

    def _session(self, value: str) -> Visitor | None:
        body, _, signature = value.partition(".")
        if not body or not hmac.compare_digest(signature, self._sign(body)):
            return None
        try:
            claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except ValueError:
            return None
        if not isinstance(claims, dict) or not isinstance(claims.get("n"), str):
            return None
        expiry = claims.get("e")
        if not isinstance(expiry, int | float) or expiry < time.time():
            return None
        return Visitor(name=claims["n"])
