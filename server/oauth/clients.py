"""OAuth clients: who they are, where codes may be sent, and what they may ask for.

- `GenmcpClient` is the SDK's client record with genmcp's rules: a redirect URI must be one registered, character
  for character, except that a loopback one (`http://127.0.0.1`, `http://[::1]`, `http://localhost`) matches on any
  port (RFC 8252 §7.3, for native apps that listen on an ephemeral port); scopes outside genmcp's are ignored.
- `check_redirect_uris` is what registration accepts: https, http on loopback only, or a private-use scheme of a
  native app (`cursor://…`); never a fragment, nor `javascript:`, `data:`, `file:` and the like.
- `ClientDocuments` reads a client ID metadata document (the client_id is an https URL whose JSON describes the
  client) through the SSRF guard, checks it, and caches it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from urllib.parse import urlsplit

from mcp.server.auth.provider import RegistrationError
from mcp.shared.auth import InvalidRedirectUriError, InvalidScopeError, OAuthClientInformationFull, OAuthClientMetadata
from pydantic import AnyUrl, Field, ValidationError

from server.errors import InvalidInput
from server.fetch import Fetcher
from server.oauth import scopes
from server.oauth.store import ClientRecord

__all__ = ["ClientDocuments", "GenmcpClient", "check_redirect_uris", "is_loopback_redirect", "record_to_client"]

log = logging.getLogger("genmcp.oauth")

_LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}
_FORBIDDEN_SCHEMES = {"javascript", "data", "file", "vbscript", "about", "blob", "ftp", "ws", "wss", "filesystem"}
_DOCUMENT_MAX_BYTES = 16 * 1024
_DOCUMENT_TTL = 3600.0


def is_loopback_redirect(uri: str) -> bool:
    """An http redirect to this machine (a native app's local listener)."""
    parts = urlsplit(uri)
    return parts.scheme == "http" and (parts.hostname or "") in _LOOPBACK_HOSTS


def _without_port(uri: str) -> tuple[str, str, str, str]:
    parts = urlsplit(uri)
    return parts.scheme, parts.hostname or "", parts.path or "/", parts.query


class GenmcpClient(OAuthClientInformationFull):
    """A client as the SDK's handlers see it, with genmcp's redirect and scope rules."""

    origin: str = Field(default="registered", exclude=True)
    secret_digest: str | None = Field(default=None, exclude=True)

    def validate_redirect_uri(self, redirect_uri: AnyUrl | None) -> AnyUrl:
        registered = [str(uri) for uri in self.redirect_uris or []]
        if redirect_uri is None:
            if len(registered) == 1:
                return AnyUrl(registered[0])
            raise InvalidRedirectUriError("redirect_uri is required: this client registered more than one")
        asked = str(redirect_uri)
        if asked in registered:
            return redirect_uri
        if is_loopback_redirect(asked) and any(
            is_loopback_redirect(uri) and _without_port(uri) == _without_port(asked) for uri in registered
        ):
            return redirect_uri
        raise InvalidRedirectUriError(f"redirect_uri {asked!r} is not registered for this client")

    def validate_scope(self, requested_scope: str | None) -> list[str] | None:
        if requested_scope is None:
            return None
        asked = scopes.known(requested_scope.split())
        allowed = self.allowed_scopes()
        refused = [scope for scope in asked if scope not in allowed]
        if refused:
            raise InvalidScopeError(f"this client was not registered for {' '.join(refused)}")
        return asked or None

    def allowed_scopes(self) -> list[str]:
        """The genmcp scopes this client may ask for: those it registered, or all when it named none."""
        return scopes.known((self.scope or "").split()) or list(scopes.ALL)


def check_redirect_uris(uris: Iterable[AnyUrl | str]) -> None:
    """Raise `RegistrationError(invalid_redirect_uri)` for a redirect URI a client may not register."""
    for uri in map(str, uris):
        parts = urlsplit(uri)
        scheme = parts.scheme.lower()
        problem = None
        if parts.fragment or "#" in uri:
            problem = "must not contain a fragment"
        elif scheme in _FORBIDDEN_SCHEMES or not scheme:
            problem = f"uses a scheme ({scheme or 'none'}) that cannot receive a code"
        elif scheme == "http" and not is_loopback_redirect(uri):
            problem = "uses http on a host other than this machine (only loopback may use http)"
        elif scheme in ("http", "https") and not parts.hostname:
            problem = "has no host"
        if problem:
            raise RegistrationError("invalid_redirect_uri", f"redirect URI {uri!r} {problem}")


def record_to_client(record: ClientRecord) -> GenmcpClient:
    """The client a stored record describes (never with its secret: only the digest is known)."""
    data = {**record.metadata, "client_id": record.client_id, "client_secret": None}
    data["client_secret_expires_at"] = record.secret_expires_at
    client = GenmcpClient.model_validate(data)
    return client.model_copy(update={"origin": record.origin, "secret_digest": record.secret_digest})


class ClientDocuments:
    """Client ID metadata documents: an https URL as client_id, its JSON read through the SSRF guard.

    Args:
        fetcher: The URL fetcher (public addresses only; `inputs.allow_hosts` excepted).
        allow_http_hosts: Hosts whose documents may be served over http (test servers on loopback).
    """

    def __init__(self, fetcher: Fetcher, *, allow_http_hosts: Iterable[str] = ()) -> None:
        self.fetcher = fetcher
        self.allow_http_hosts = {h.lower() for h in allow_http_hosts}

    def is_document_id(self, client_id: str) -> bool:
        """Whether a client_id names a metadata document (an https URL with a path)."""
        parts = urlsplit(client_id)
        if parts.path in ("", "/") or parts.fragment or parts.username or parts.password:
            return False
        if parts.scheme == "https":
            return True
        return parts.scheme == "http" and parts.netloc.lower() in self.allow_http_hosts

    @staticmethod
    def fresh(record: ClientRecord, now: float) -> bool:
        """Whether a cached document may still be used."""
        return record.fetched_at is not None and now - record.fetched_at < _DOCUMENT_TTL

    async def fetch(self, client_id: str, now: float | None = None) -> ClientRecord | None:
        """The client the document at `client_id` describes, or None (logged) when it cannot be used."""
        try:
            fetched = await self.fetcher.fetch(client_id, field="client_id")
        except InvalidInput as exc:
            log.info("client metadata document refused: %s", exc.message)
            return None
        if len(fetched.data) > _DOCUMENT_MAX_BYTES:
            log.info("client metadata document refused: larger than %d bytes", _DOCUMENT_MAX_BYTES)
            return None
        try:
            document = json.loads(fetched.data)
            metadata = OAuthClientMetadata.model_validate(document)
        except (ValueError, ValidationError) as exc:
            log.info("client metadata document refused: not valid client metadata (%s)", type(exc).__name__)
            return None
        problem = None
        if document.get("client_id") != client_id:
            problem = "its client_id is not the URL it was read from"
        elif "client_secret" in document or "client_secret_expires_at" in document:
            problem = "it carries a client secret"
        elif metadata.token_endpoint_auth_method not in (None, "none"):
            problem = "only public clients (token_endpoint_auth_method 'none') can be described by a document"
        if problem is None:
            try:
                check_redirect_uris(metadata.redirect_uris or [])
            except RegistrationError as exc:
                problem = exc.error_description
        if problem:
            log.info("client metadata document refused: %s", problem)
            return None
        stored = metadata.model_dump(mode="json", exclude_none=True)
        stored["token_endpoint_auth_method"] = "none"
        when = now if now is not None else time.time()
        return ClientRecord(client_id=client_id, origin="document", metadata=stored, created_at=when, fetched_at=when)
