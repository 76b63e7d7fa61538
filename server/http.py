"""The HTTP face of a runtime: the Starlette app with the MCP endpoints, `/healthz`, `/artifacts/<id>`, the web page
at `/` (`server.web`, same access rules as `/mcp`), and — with inbound auth — the bearer gate and the RFC 9728
metadata (with `[auth] mode = "builtin"`, genmcp's own authorization server, `server.oauth`, with its gate; the web
page then signs in through its sign-in page).

MCP is served at `server.path` (every tool) and at `server.path/<provider>` (one provider's tools plus the shared
ones, for clients that cap their tool lists). Host and Origin are checked against allow-lists (DNS rebinding).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from mcp.server.auth.middleware.bearer_auth import BearerAuthBackend, RequireAuthMiddleware
from mcp.server.auth.routes import build_resource_metadata_url, create_protected_resource_routes
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import AnyHttpUrl
from starlette.applications import Starlette
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from server import __version__
from server.auth import GenmcpTokenVerifier
from server.routes import artifact_response
from server.web import Access, web_routes

if TYPE_CHECKING:
    from server.app import Runtime
    from server.config import ServerSettings
    from server.oauth.server import BuiltinAuthServer

__all__ = ["BearerGate", "http_app", "transport_security"]


def transport_security(server: ServerSettings) -> TransportSecuritySettings:
    """Host/Origin allow-lists: the listen address, loopback names, the public URL and configured extras."""
    hosts = {f"{server.host}:{server.port}", "127.0.0.1:*", "localhost:*", "[::1]:*", *server.allowed_hosts}
    origins = {"http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*", *server.allowed_origins}
    if server.tls:
        origins |= {"https://127.0.0.1:*", "https://localhost:*", "https://[::1]:*"}
    if server.public_url:
        public = urlsplit(server.public_url)
        hosts.add(public.netloc)
        origins.add(f"{public.scheme}://{public.netloc}")
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=sorted(hosts), allowed_origins=sorted(origins)
    )


def http_app(runtime: Runtime) -> ASGIApp:
    """The ASGI app of a runtime; its lifespan starts and stops the runtime (and the MCP session managers)."""
    server = runtime.settings.server

    async def healthz(request: Request) -> Response:
        return JSONResponse(
            {
                "status": "ok",
                "version": __version__,
                "providers": sorted(runtime.served),
                "sandbox": runtime.sandbox,
            }
        )

    async def artifact(request: Request) -> Response:
        return await artifact_response(runtime.artifacts, request)

    runtime.files.base_url = server.origin()
    runtime.mcp.custom_route("/healthz", methods=["GET"])(healthz)
    runtime.mcp.custom_route("/artifacts/{artifact_id}", methods=["GET"])(artifact)
    options: dict[str, Any] = {
        "transport_security": transport_security(server),
        "max_request_body_size": server.max_body_bytes,
        "host": server.host,
        # No MCP sessions: any replica behind a load balancer can answer any request (README "Running it for a team").
        "stateless_http": server.stateless_http,
    }
    app = runtime.mcp.streamable_http_app(streamable_http_path=server.path, **options)
    managers = [runtime.mcp.session_manager]
    for name in runtime.served:
        single = runtime.server_for([name])
        app.router.routes.extend(
            single.streamable_http_app(streamable_http_path=f"{server.path}/{name}", **options).router.routes
        )
        managers.append(single.session_manager)
    auth = runtime.settings.auth
    resource = auth.resource_url or f"{runtime.files.base_url}{server.path}"
    metadata_url: str | None = None
    builtin: BuiltinAuthServer | None = None
    if auth.mode == "builtin":
        from server.oauth.server import BuiltinAuthServer

        builtin = BuiltinAuthServer(runtime)
        app.router.routes.extend(builtin.routes())
    elif auth.enabled and auth.issuer:
        metadata_url = str(build_resource_metadata_url(AnyHttpUrl(resource)))
        app.router.routes.extend(
            create_protected_resource_routes(
                resource_url=AnyHttpUrl(resource),
                authorization_servers=[AnyHttpUrl(auth.issuer)],
                scopes_supported=auth.required_scopes or None,
            )
        )

    @asynccontextmanager
    async def lifespan(starlette: Starlette) -> AsyncIterator[None]:
        async with runtime, AsyncExitStack() as stack:
            if builtin is not None:
                await stack.enter_async_context(builtin)
            for manager in managers:
                await stack.enter_async_context(manager.run())
            yield

    app.router.lifespan_context = lifespan
    if runtime.settings.web.enabled and server.path.rstrip("/"):
        app.router.routes.extend(web_routes(runtime, _page_access(runtime, builtin, resource)))
    if builtin is not None:
        return builtin.gate(app, server.path)
    if not auth.enabled:
        return app
    verifier = _named_verifier(runtime, resource)
    assert verifier is not None
    return BearerGate(app, verifier, protect=server.path, scopes=auth.required_scopes, metadata_url=metadata_url)


def _named_verifier(runtime: Runtime, resource: str) -> GenmcpTokenVerifier | None:
    """The verifier of named tokens and external JWTs (None without inbound auth)."""
    auth = runtime.settings.auth
    if not auth.enabled:
        return None
    return GenmcpTokenVerifier(
        tokens=auth.tokens,
        required_scopes=auth.required_scopes,
        issuer=auth.issuer or None,
        jwks_url=auth.jwks_url or None,
        audience=resource,
        algorithms=auth.algorithms,
    )


def _page_access(runtime: Runtime, builtin: BuiltinAuthServer | None, resource: str) -> Access:
    """Who may see the web page: the same rules, and the same tokens, as the MCP endpoints; with the built-in
    authorization server, a person signed in on its sign-in page."""
    security = transport_security(runtime.settings.server)
    if builtin is not None:
        return Access(security, builtin.verifier(), sessions=builtin.sessions)
    return Access(security, _named_verifier(runtime, resource))


class BearerGate:
    """Requires a valid bearer token on the MCP endpoints (and only there): 401/403 with `WWW-Authenticate`."""

    def __init__(
        self, app: ASGIApp, verifier: GenmcpTokenVerifier, *, protect: str, scopes: list[str], metadata_url: str | None
    ) -> None:
        self.app = app
        self.prefix = protect.rstrip("/")
        guarded = RequireAuthMiddleware(
            AuthContextMiddleware(app), scopes, AnyHttpUrl(metadata_url) if metadata_url else None
        )
        self.guarded = AuthenticationMiddleware(guarded, backend=BearerAuthBackend(verifier))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] == "http" and (path == self.prefix or path.startswith(self.prefix + "/")):
            await self.guarded(scope, receive, send)
        else:
            await self.app(scope, receive, send)
