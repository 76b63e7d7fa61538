"""The built-in authorization server, assembled for one runtime: its store, provider, pages and routes, the
protected resource metadata of every MCP endpoint, and the gate in front of them. `server.http` mounts it when
`[auth] mode = "builtin"`; its lifespan opens the store.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from mcp.server.auth.handlers.metadata import ProtectedResourceMetadataHandler
from mcp.server.auth.routes import build_resource_metadata_url, cors_middleware
from mcp.shared.auth import ProtectedResourceMetadata
from pydantic import AnyHttpUrl
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from server.auth import GenmcpTokenVerifier
from server.config import Settings
from server.errors import ConfigError
from server.oauth import scopes
from server.oauth.clients import ClientDocuments
from server.oauth.endpoints import oauth_routes
from server.oauth.gate import BuiltinVerifier, ResourceGate
from server.oauth.pages import Pages
from server.oauth.provider import BuiltinProvider
from server.oauth.resources import Resources
from server.oauth.sessions import Sessions
from server.oauth.sqlite_store import SqliteOAuthStore
from server.oauth.store import OAuthStore
from server.oauth.throttle import SignInThrottle

if TYPE_CHECKING:
    from server.app import Runtime
    from server.store.base import Store

__all__ = ["BuiltinAuthServer", "issuer_of", "open_store"]

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def issuer_of(settings: Settings) -> str:
    """This server's issuer identifier: its origin (https, or http on loopback only).

    Raises:
        ConfigError: the origin cannot be an issuer (plain http on a public address, or a path in `public_url`).
    """
    origin = settings.server.origin()
    parts = urlsplit(origin)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigError(
            f"server.public_url ({origin}) must be an origin (scheme, host and port, no path) for the built-in "
            "authorization server."
        )
    host = parts.hostname or ""
    if parts.scheme != "https" and not (host in _LOOPBACK or host.startswith("127.")):
        raise ConfigError(
            f"the built-in authorization server needs https: clients reach genmcp at {origin}. Set "
            "server.public_url to the https URL of the proxy in front of genmcp, or serve TLS yourself "
            "(server.tls_certfile and server.tls_keyfile)."
        )
    return origin.rstrip("/")


def open_store(settings: Settings, shared: Store | None = None) -> OAuthStore:
    """The store of the authorization server's records, where `[store] url` puts everything else: tables in the
    job registry's SQLite file, or in the shared PostgreSQL database — through `shared`'s pool when it is the
    runtime's `PostgresStore`, else (an operator command) a pool of its own. Nothing is opened yet."""
    url = settings.store.postgres_url
    if url is None:
        return SqliteOAuthStore(settings.jobs.resolved_db_path())
    from server.oauth.pg_store import PostgresOAuthStore
    from server.store.postgres import PostgresStore

    if isinstance(shared, PostgresStore):
        return PostgresOAuthStore(shared, owned=False)
    own = PostgresStore(url, pool_size=2, connect_timeout=settings.upstream.connect_timeout)
    return PostgresOAuthStore(own, owned=True)


class BuiltinAuthServer:
    """Everything `[auth] mode = "builtin"` adds to one runtime's app."""

    def __init__(self, runtime: Runtime) -> None:
        settings = runtime.settings
        builtin, server = settings.auth.builtin, settings.server
        self.issuer = issuer_of(settings)
        base = f"{self.issuer}{server.path}"
        self.endpoints = {server.path: settings.auth.resource_url or base}
        self.endpoints.update({f"{server.path}/{name}": f"{base}/{name}" for name in runtime.served})
        self.resources = Resources(self.endpoints[server.path], list(self.endpoints.values())[1:])
        self.store = open_store(settings, runtime.store)
        documents = (
            ClientDocuments(runtime.fetcher, allow_http_hosts=settings.inputs.allow_hosts)
            if builtin.client_metadata_documents
            else None
        )
        self.provider = BuiltinProvider(
            store=self.store,
            settings=builtin,
            issuer=self.issuer,
            resources=self.resources,
            clock=runtime.clock,
            documents=documents,
        )
        self.sessions = Sessions(self.store, runtime.clock, issuer=self.issuer, lifetime=builtin.session_seconds)
        self.pages = Pages(
            provider=self.provider,
            store=self.store,
            sessions=self.sessions,
            throttle=SignInThrottle(self.store, runtime.clock, builtin),
            settings=builtin,
        )
        self.named = (
            GenmcpTokenVerifier(tokens=settings.auth.tokens, required_scopes=list(scopes.ALL))
            if settings.auth.tokens
            else None
        )
        self.clock = runtime.clock
        self.registration = builtin.dynamic_registration
        self.metadata = {
            path: str(build_resource_metadata_url(AnyHttpUrl(url))) for path, url in self.endpoints.items()
        }

    def routes(self) -> list[BaseRoute]:
        """The OAuth endpoints, the pages, and each MCP endpoint's protected resource metadata."""
        routes: list[BaseRoute] = [
            *oauth_routes(self.provider, registration=self.registration, documents=self.provider.documents is not None),
            *self.pages.routes(),
        ]
        for path, resource in self.endpoints.items():
            document = ProtectedResourceMetadata.model_validate(
                {
                    "resource": resource,
                    "authorization_servers": [self.issuer],
                    "scopes_supported": list(scopes.ALL),
                    "resource_name": "genmcp",
                }
            )
            handler = ProtectedResourceMetadataHandler(document)
            routes.append(
                Route(
                    urlsplit(self.metadata[path]).path,
                    cors_middleware(handler.handle, ["GET", "OPTIONS"]),
                    methods=["GET", "OPTIONS"],
                )
            )
        return routes

    def verifier(self) -> BuiltinVerifier:
        """The check of a bearer token: issued access tokens, then the config's named tokens."""
        return BuiltinVerifier(self.provider, self.named)

    def gate(self, app: ASGIApp, prefix: str) -> ResourceGate:
        """`app` behind the bearer check of its MCP endpoints (everything under `prefix`)."""
        return ResourceGate(app, self.verifier(), prefix=prefix, endpoints=self.endpoints, metadata=self.metadata)

    async def __aenter__(self) -> BuiltinAuthServer:
        await self.store.open()
        await self.store.purge(self.clock.wall())
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.store.close()
