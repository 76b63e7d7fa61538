"""The bearer check in front of the MCP endpoints when genmcp is its own authorization server.

Each endpoint (`/mcp`, `/mcp/<provider>`) is a protected resource of its own, with its RFC 9728 metadata document.
A request needs a token that is valid, issued for that endpoint or one above it (RFC 8707 audience), and holds
`genmcp:read`; otherwise 401 (403 for a missing scope) with a `WWW-Authenticate` challenge naming that endpoint's
metadata and the scopes to ask for. Named tokens from the config are accepted beside the issued ones, with every
scope. The SDK's backend reads the header; its context middleware makes the token visible to the tools.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser, BearerAuthBackend
from mcp.server.auth.provider import AccessToken
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from server.auth import GenmcpTokenVerifier
from server.oauth import scopes
from server.oauth.provider import BuiltinProvider
from server.oauth.resources import Resources

__all__ = ["BuiltinVerifier", "ResourceGate"]

_ENDPOINT = "genmcp.endpoint"


class BuiltinVerifier:
    """Issued access tokens (by digest in the store), then the config's named tokens."""

    def __init__(self, provider: BuiltinProvider, named: GenmcpTokenVerifier | None) -> None:
        self.provider = provider
        self.named = named

    async def verify_token(self, token: str) -> AccessToken | None:
        if token.startswith("gmcp_at_"):
            return await self.provider.load_access_token(token)
        return await self.named.verify_token(token) if self.named is not None else None


class ResourceGate:
    """Guards every path under `prefix`; other paths (the OAuth endpoints, pages, health) pass through.

    Args:
        endpoints: Endpoint path → its resource URL.
        metadata: Endpoint path → the URL of its protected resource metadata.
    """

    def __init__(
        self,
        app: ASGIApp,
        verifier: BuiltinVerifier,
        *,
        prefix: str,
        endpoints: Mapping[str, str],
        metadata: Mapping[str, str],
    ) -> None:
        self.app = app
        self.prefix = prefix.rstrip("/")
        self.endpoints = dict(endpoints)
        self.metadata = dict(metadata)
        self._inner = AuthContextMiddleware(app)
        self._guarded = AuthenticationMiddleware(self._check, backend=BearerAuthBackend(verifier))

    def _endpoint(self, path: str) -> str:
        matches = [p for p in self.endpoints if path == p or path.startswith(p + "/")]
        return max(matches, key=len) if matches else self.prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] == "http" and (path == self.prefix or path.startswith(self.prefix + "/")):
            await self._guarded({**scope, _ENDPOINT: self._endpoint(path)}, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _check(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = scope[_ENDPOINT]
        user = scope.get("user")
        if not isinstance(user, AuthenticatedUser):
            await self._refuse(send, endpoint, 401, "invalid_token", "Authentication required")
            return
        granted = user.access_token.resource
        if granted is not None and not Resources.covers(granted, self.endpoints[endpoint]):
            await self._refuse(send, endpoint, 401, "invalid_token", "This token was issued for another resource")
            return
        if scopes.READ not in user.scopes:
            await self._refuse(send, endpoint, 403, "insufficient_scope", f"Required scope: {scopes.READ}")
            return
        await self._inner(scope, receive, send)

    async def _refuse(self, send: Send, endpoint: str, status: int, error: str, description: str) -> None:
        challenge = (
            f'Bearer error="{error}", error_description="{description}", '
            f'resource_metadata="{self.metadata[endpoint]}", scope="{" ".join(scopes.ALL)}"'
        )
        body = json.dumps({"error": error, "error_description": description}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", challenge.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
