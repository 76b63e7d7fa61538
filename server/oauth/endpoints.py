"""The OAuth endpoints, from the MCP SDK's handlers: RFC 8414 metadata, `/authorize`, `/token`, `/register`
(RFC 7591, unless turned off) and `/revoke` (RFC 7009).

Two pieces are genmcp's own, because the SDK's assume what genmcp will not do:

- `HashedSecretAuthenticator`: the SDK compares a client secret with the stored one in the clear; genmcp stores only
  a digest, so the presented secret is hashed and compared in constant time.
- `TokenEndpoint`: the SDK's token handler does not hand the request's `resource` (RFC 8707) to the provider; this
  one makes it available (`REQUESTED_RESOURCE`) so a token is never issued for another resource.
- `RevocationEndpoint`: the SDK's revocation request model requires a `client_secret` field, which a public client
  (RFC 7009 §2.1: no secret) does not send; this one reads the same request without requiring it.

The authorization endpoint's error redirects carry `iss` (RFC 9207), as the success ones do.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from mcp.server.auth.errors import stringify_pydantic_error
from mcp.server.auth.handlers.authorize import AuthorizationHandler
from mcp.server.auth.handlers.metadata import MetadataHandler
from mcp.server.auth.handlers.register import RegistrationHandler
from mcp.server.auth.handlers.revoke import RevocationHandler
from mcp.server.auth.handlers.token import TokenHandler
from mcp.server.auth.middleware.client_auth import AuthenticationError, ClientAuthenticator
from mcp.server.auth.provider import AccessToken, RefreshToken, construct_redirect_uri
from mcp.server.auth.routes import cors_middleware
from mcp.server.auth.settings import ClientRegistrationOptions
from mcp.server.transport_security import RequestBodyLimitMiddleware
from mcp.shared.auth import OAuthClientInformationFull, OAuthMetadata
from pydantic import BaseModel, ValidationError
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, request_response
from starlette.types import ASGIApp

from server.oauth import credentials, scopes
from server.oauth.clients import GenmcpClient
from server.oauth.provider import REQUESTED_RESOURCE, BuiltinProvider

__all__ = ["HashedSecretAuthenticator", "RevocationEndpoint", "TokenEndpoint", "authorization_metadata", "oauth_routes"]

AUTH_METHODS = ["none", "client_secret_post", "client_secret_basic"]
_MAX_BODY = 64 * 1024
"""OAuth requests are small forms and JSON documents."""


class HashedSecretAuthenticator(ClientAuthenticator):
    """Client authentication at `/token` and `/revoke` against the stored digest of the client's secret."""

    async def authenticate_request(self, request: Request) -> OAuthClientInformationFull:
        form = await request.form()
        client_id = form.get("client_id")
        if not isinstance(client_id, str) or not client_id:
            raise AuthenticationError("Missing client_id")
        client = await self.provider.get_client(client_id)
        if not isinstance(client, GenmcpClient):
            raise AuthenticationError("Invalid client_id")
        method = client.token_endpoint_auth_method or "client_secret_post"
        presented = self._presented_secret(request, method, client_id, form.get("client_secret"))
        if method == "none":
            return client
        if not client.secret_digest:
            raise AuthenticationError("Client is registered for secret-based authentication but has no secret")
        if not presented or not credentials.matches(presented, client.secret_digest):
            raise AuthenticationError("Invalid client_secret")
        if client.client_secret_expires_at and client.client_secret_expires_at < int(time.time()):
            raise AuthenticationError("Client secret has expired")
        return client

    @staticmethod
    def _presented_secret(request: Request, method: str, client_id: str, posted: Any) -> str | None:
        if method == "client_secret_post":
            return posted if isinstance(posted, str) else None
        if method != "client_secret_basic":
            return None
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic "):
            raise AuthenticationError("Missing or invalid Basic authentication in Authorization header")
        try:
            basic_id, secret = base64.b64decode(header[6:], validate=True).decode("utf-8").split(":", 1)
        except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
            raise AuthenticationError("Invalid Basic authentication header") from exc
        if unquote(basic_id) != client_id:
            raise AuthenticationError("Client ID mismatch in Basic auth")
        return unquote(secret)


class TokenEndpoint(TokenHandler):
    """The SDK's token handler, with the request's `resource` made visible to the provider."""

    async def handle(self, request: Request) -> Response:
        form = await request.form()  # Starlette caches it: the SDK's handler reads the same form
        resource = form.get("resource")
        token = REQUESTED_RESOURCE.set(resource if isinstance(resource, str) else None)
        try:
            response: Response = await super().handle(request)
        finally:
            REQUESTED_RESOURCE.reset(token)
        return response


class _RevocationRequest(BaseModel):
    token: str
    token_type_hint: Literal["access_token", "refresh_token"] | None = None


class RevocationEndpoint(RevocationHandler):
    """RFC 7009 revocation, for confidential and public clients alike (see the module docstring)."""

    async def handle(self, request: Request) -> Response:
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        try:
            client = await self.client_authenticator.authenticate_request(request)
        except AuthenticationError as exc:
            return JSONResponse({"error": "invalid_client", "error_description": exc.message}, 401, headers)
        try:
            asked = _RevocationRequest.model_validate(dict(await request.form()))
        except ValidationError as exc:
            return JSONResponse({"error": "invalid_request", "error_description": stringify_pydantic_error(exc)}, 400)
        loaders: list[Callable[[str], Awaitable[AccessToken | RefreshToken | None]]] = [
            self.provider.load_access_token,
            partial(self.provider.load_refresh_token, client),
        ]
        if asked.token_type_hint == "refresh_token":
            loaders.reverse()
        for load in loaders:
            token = await load(asked.token)
            if token is not None:
                if token.client_id == client.client_id:
                    await self.provider.revoke_token(token)
                break
        return Response(status_code=200, headers=headers)  # also for an unknown token (RFC 7009 §2.2)


def _with_issuer(handler: AuthorizationHandler, issuer: str) -> Any:
    """The authorization endpoint, adding `iss` to the redirects it sends back to a client (RFC 9207)."""

    async def handle(request: Request) -> Response:
        response: Response = await handler.handle(request)
        location = response.headers.get("location")
        if location and urlsplit(location)[:2] != urlsplit(issuer)[:2]:
            response.headers["location"] = construct_redirect_uri(location, iss=issuer)
        return response

    return handle


def authorization_metadata(issuer: str, *, registration: bool, documents: bool) -> OAuthMetadata:
    """The RFC 8414 document (built from strings, so the issuer keeps its exact spelling)."""
    return OAuthMetadata.model_validate(
        {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/authorize",
            "token_endpoint": f"{issuer}/token",
            "registration_endpoint": f"{issuer}/register" if registration else None,
            "revocation_endpoint": f"{issuer}/revoke",
            "scopes_supported": list(scopes.ALL),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_methods_supported": AUTH_METHODS,
            "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
            "code_challenge_methods_supported": ["S256"],
            "client_id_metadata_document_supported": documents,
            "authorization_response_iss_parameter_supported": True,
        }
    )


def _limited(app: ASGIApp) -> ASGIApp:
    return RequestBodyLimitMiddleware(app, _MAX_BODY)


def _cors(app: ASGIApp, methods: list[str]) -> ASGIApp:
    return CORSMiddleware(app=app, allow_origins="*", allow_methods=methods, allow_headers=["mcp-protocol-version"])


def oauth_routes(provider: BuiltinProvider, *, registration: bool, documents: bool) -> list[Route]:
    """The authorization server's protocol routes (the pages are `server.oauth.pages`)."""
    issuer = provider.issuer
    metadata = authorization_metadata(issuer, registration=registration, documents=documents)
    authenticator = HashedSecretAuthenticator(provider)
    token = TokenEndpoint(provider, authenticator)
    revoke = RevocationEndpoint(provider, authenticator)
    routes = [
        Route(
            "/.well-known/oauth-authorization-server",
            cors_middleware(MetadataHandler(metadata).handle, ["GET", "OPTIONS"]),
            methods=["GET", "OPTIONS"],
        ),
        Route(
            "/authorize",
            _limited(request_response(_with_issuer(AuthorizationHandler(provider), issuer))),
            methods=["GET", "POST"],
        ),
        Route(
            "/token", _cors(_limited(request_response(token.handle)), ["POST", "OPTIONS"]), methods=["POST", "OPTIONS"]
        ),
        Route(
            "/revoke",
            _cors(_limited(request_response(revoke.handle)), ["POST", "OPTIONS"]),
            methods=["POST", "OPTIONS"],
        ),
    ]
    if registration:
        options = ClientRegistrationOptions(enabled=True, default_scopes=list(scopes.ALL))
        register = RegistrationHandler(provider, options)
        routes.append(
            Route(
                "/register",
                _cors(_limited(request_response(register.handle)), ["POST", "OPTIONS"]),
                methods=["POST", "OPTIONS"],
            )
        )
    return routes
