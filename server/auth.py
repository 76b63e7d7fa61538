"""Inbound auth for the HTTP transport: named bearer tokens and/or OAuth 2.1 JWT access tokens.

The SDK's pieces do the protocol work (`BearerAuthBackend` reads the header, `RequireAuthMiddleware` answers 401/403
with `WWW-Authenticate`, `AuthContextMiddleware` makes the caller visible to tools, RFC 9728 metadata routes);
this module supplies the verifier. Static tokens are compared in constant time against every configured token;
JWTs are checked against the issuer's JWKS: signature (never `alg: none`), expiry, issuer, audience (this server's
resource URL) and required scopes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Mapping
from typing import Any

import httpx2
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken
from pydantic import SecretStr

__all__ = ["GenmcpTokenVerifier", "current_caller"]

log = logging.getLogger("genmcp.auth")

_JWKS_TTL = 300.0
_JWKS_MIN_REFRESH = 30.0
"""An unknown key id refreshes the key set at most this often (it must not let callers hammer the issuer)."""


def current_caller() -> str | None:
    """Who is calling (the token's name, or the JWT's subject/client), when inbound auth is on."""
    token = get_access_token()
    if token is None:
        return None
    return token.subject or token.client_id


class GenmcpTokenVerifier:
    """Verifies named static tokens and, when an issuer is configured, JWT access tokens.

    Args:
        tokens: name → token.
        issuer: The authorization server's issuer identifier (JWT `iss`).
        jwks_url: Where its signing keys are published.
        audience: This server's resource URL (JWT `aud` must contain it).
        algorithms: Accepted JWS algorithms (asymmetric only).
    """

    def __init__(
        self,
        *,
        tokens: Mapping[str, SecretStr],
        required_scopes: list[str],
        issuer: str | None = None,
        jwks_url: str | None = None,
        audience: str | None = None,
        algorithms: list[str] | None = None,
        http: httpx2.AsyncClient | None = None,
    ) -> None:
        self._tokens = [(name, hashlib.sha256(t.get_secret_value().encode()).digest()) for name, t in tokens.items()]
        self.required_scopes = required_scopes
        self.issuer = issuer
        self.jwks_url = jwks_url
        self.audience = audience
        self.algorithms = [a for a in (algorithms or ["RS256", "ES256"]) if a.lower() != "none"]
        self._http = http
        self._jwks: dict[str, Any] | None = None
        self._jwks_at = 0.0

    async def verify_token(self, token: str) -> AccessToken | None:
        """The token's access info, or None when it is not valid."""
        digest = hashlib.sha256(token.encode()).digest()
        match: str | None = None
        for name, expected in self._tokens:  # every token is compared, so timing does not tell which matched
            if hmac.compare_digest(digest, expected):
                match = name
        if match is not None:
            return AccessToken(token=token, client_id=match, scopes=list(self.required_scopes), subject=match)
        if self.issuer and self.jwks_url and token.count(".") == 2:
            return await self._verify_jwt(token)
        return None

    async def _verify_jwt(self, token: str) -> AccessToken | None:
        import jwt  # imported when a JWT is first seen: most installs never need it, and it is slow to import

        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return None
        if header.get("alg") not in self.algorithms:
            return None
        key = await self._key(str(header.get("kid", "")))
        if key is None:
            return None
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=self.algorithms,
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iss", "aud"]},
                leeway=30,
            )
        except (jwt.PyJWTError, TypeError, ValueError) as exc:
            # A key of the wrong type for the token's algorithm makes PyJWT raise TypeError: still just a bad token.
            log.info("refused a JWT: %s", type(exc).__name__)
            return None
        scopes = _scopes(claims)
        subject = str(claims.get("sub") or claims.get("client_id") or "")
        return AccessToken(
            token=token,
            client_id=str(claims.get("client_id") or claims.get("azp") or subject or "jwt"),
            scopes=scopes,
            expires_at=int(claims["exp"]),
            resource=self.audience,
            subject=subject or None,
            claims={"iss": claims.get("iss")},
        )

    async def _key(self, kid: str) -> Any | None:
        import jwt

        for refresh in (False, True):
            jwks = await self._keys(refresh)
            for entry in jwks.get("keys", []):
                if isinstance(entry, dict) and entry.get("kid", "") == kid:
                    try:
                        return jwt.PyJWK.from_dict(entry).key
                    except (jwt.PyJWTError, TypeError, ValueError):
                        return None
        return None

    async def _keys(self, refresh: bool) -> dict[str, Any]:
        age = time.monotonic() - self._jwks_at
        if self._jwks is not None and (age < _JWKS_MIN_REFRESH or (age < _JWKS_TTL and not refresh)):
            return self._jwks
        assert self.jwks_url is not None
        try:
            if self._http is not None:
                response = await self._http.get(self.jwks_url)
            else:
                async with httpx2.AsyncClient(timeout=10, follow_redirects=False) as client:
                    response = await client.get(self.jwks_url)
            response.raise_for_status()
            document = json.loads(response.content)
        except (httpx2.HTTPError, ValueError) as exc:
            log.warning("could not read the JWKS at %s: %s", self.jwks_url, type(exc).__name__)
            return self._jwks or {}
        self._jwks, self._jwks_at = (document if isinstance(document, dict) else {}), time.monotonic()
        return self._jwks


def _scopes(claims: Mapping[str, Any]) -> list[str]:
    scope = claims.get("scope")
    if isinstance(scope, str):
        return scope.split()
    scp = claims.get("scp")
    if isinstance(scp, list):
        return [str(s) for s in scp]
    return []
