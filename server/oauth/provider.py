"""The MCP SDK's `OAuthAuthorizationServerProvider`, implemented over an `OAuthStore`.

The SDK's handlers parse and check each request (PKCE S256, the redirect URI against the client's, the code's
client and expiry, client authentication); this class decides what is granted and keeps it:

- `authorize` checks the resource (RFC 8707: one of this server's endpoints, else `invalid_target`) and the scopes,
  keeps the request and sends the browser to the consent page; `approve` (called by that page) mints the code.
- A code is spent once: presenting it again revokes every token its first use produced (RFC 6749 §4.1.2).
- Refresh tokens rotate: each use returns a new one, and a rotated token presented again revokes its grant.
- Revoking either token of a grant revokes the grant (RFC 7009 §2.1).
- Access tokens are opaque, looked up by digest on every request, so a revocation takes effect at once.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from urllib.parse import urlencode

from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    AuthorizeError,
    OAuthAuthorizationServerProvider,
    RefreshToken,
    RegistrationError,
    TokenError,
    construct_redirect_uri,
)
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken

from server.clock import Clock
from server.oauth import credentials, scopes
from server.oauth.clients import ClientDocuments, GenmcpClient, check_redirect_uris, record_to_client
from server.oauth.resources import Resources
from server.oauth.settings import BuiltinAuthSettings
from server.oauth.store import ClientRecord, CodeRecord, GrantRecord, OAuthStore, PendingRequest, TokenRecord

__all__ = ["REQUESTED_RESOURCE", "BuiltinProvider", "CodeGrant", "RefreshGrant"]

log = logging.getLogger("genmcp.oauth")

REQUESTED_RESOURCE: ContextVar[str | None] = ContextVar("genmcp_requested_resource", default=None)
"""The `resource` of the token request being handled (the SDK's handler does not pass it on)."""

_TOUCH_EVERY = 60.0
"""A grant's last-use time is written at most this often."""
_PURGE_EVERY = 3600.0
"""Expired requests, codes, sessions and links are deleted at most this often (when a new request comes)."""


class CodeGrant(AuthorizationCode):
    """An authorization code as the token handler sees it (the presented code is `code`)."""


class RefreshGrant(RefreshToken):
    """A refresh token as the token handler sees it."""

    grant_id: str


class BuiltinProvider(OAuthAuthorizationServerProvider[CodeGrant, RefreshGrant, AccessToken]):
    """genmcp's authorization server decisions (see the module docstring).

    Args:
        store: Where everything is kept.
        settings: `[auth.builtin]`.
        issuer: This server's issuer identifier (its origin).
        resources: The endpoints tokens may be for.
        clock: Wall time for every expiry (tests drive it).
        documents: Client ID metadata documents (None: not accepted).
    """

    def __init__(
        self,
        *,
        store: OAuthStore,
        settings: BuiltinAuthSettings,
        issuer: str,
        resources: Resources,
        clock: Clock,
        documents: ClientDocuments | None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.issuer = issuer
        self.resources = resources
        self.clock = clock
        self.documents = documents
        self._purged = clock.wall()

    # --- clients -------------------------------------------------------------------------------------------------

    async def get_client(self, client_id: str) -> GenmcpClient | None:
        if len(client_id) > 2048:
            return None
        record = await self.store.get_client(client_id)
        now = self.clock.wall()
        documents = self.documents
        stale = record is None or (
            record.origin == "document" and documents is not None and not documents.fresh(record, now)
        )
        if documents is not None and stale and documents.is_document_id(client_id):
            fetched = await documents.fetch(client_id, now)
            if fetched is None:
                return None
            await self.store.put_client(fetched)
            record = fetched
        return record_to_client(record) if record is not None else None

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        check_redirect_uris(client_info.redirect_uris or [])
        if not client_info.redirect_uris:
            raise RegistrationError("invalid_redirect_uri", "at least one redirect URI is required")
        secret = client_info.client_secret
        metadata = client_info.model_dump(
            mode="json", exclude_none=True, exclude={"client_id", "client_secret", "client_secret_expires_at"}
        )
        await self.store.put_client(
            ClientRecord(
                client_id=client_info.client_id,
                origin="registered",
                metadata=metadata,
                secret_digest=credentials.digest(secret) if secret else None,
                secret_expires_at=client_info.client_secret_expires_at,
                created_at=self.clock.wall(),
            )
        )
        log.info("registered OAuth client %s (%s)", client_info.client_id, client_info.client_name or "unnamed")

    # --- authorization -------------------------------------------------------------------------------------------

    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        resource = self.resources.resolve(params.resource)
        if resource is None:
            raise AuthorizeError(
                "invalid_target", f"resource {params.resource!r} is not served here; ask for {self.resources.default}"
            )
        allowed = client.allowed_scopes() if isinstance(client, GenmcpClient) else list(scopes.ALL)
        granted = scopes.known([*(params.scopes or allowed), scopes.READ])
        now = self.clock.wall()
        if now - self._purged > _PURGE_EVERY:
            self._purged = now
            await self.store.purge(now)
        request_id = credentials.mint("rq")
        await self.store.put_request(
            PendingRequest(
                digest=credentials.digest(request_id),
                client_id=client.client_id,
                redirect_uri=str(params.redirect_uri),
                redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly,
                scopes=granted,
                code_challenge=params.code_challenge,
                state=params.state,
                resource=resource,
                expires_at=self.clock.wall() + self.settings.request_seconds,
            )
        )
        return f"{self.issuer}/oauth/consent?{urlencode({'request': request_id})}"

    async def approve(self, request: PendingRequest, user: str, granted: list[str]) -> str:
        """Mint the code for an approved request; the URL to send the browser to (the client's redirect URI)."""
        code = credentials.mint("ac")
        await self.store.put_code(
            CodeRecord(
                digest=credentials.digest(code),
                client_id=request.client_id,
                user=user,
                scopes=scopes.known([*granted, scopes.READ]),
                resource=request.resource,
                redirect_uri=request.redirect_uri,
                redirect_uri_provided_explicitly=request.redirect_uri_provided_explicitly,
                code_challenge=request.code_challenge,
                expires_at=self.clock.wall() + self.settings.code_seconds,
            )
        )
        log.info("user %s approved client %s", user, request.client_id)
        return construct_redirect_uri(request.redirect_uri, code=code, state=request.state, iss=self.issuer)

    def deny(self, request: PendingRequest) -> str:
        """Where a denied request sends the browser (RFC 6749 §4.1.2.1 `access_denied`)."""
        return construct_redirect_uri(
            request.redirect_uri,
            error="access_denied",
            error_description="The user denied the request.",
            state=request.state,
            iss=self.issuer,
        )

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> CodeGrant | None:
        record = await self.store.get_code(credentials.digest(authorization_code))
        if record is None or record.client_id != client.client_id:
            return None
        if record.used_at is not None:
            if record.grant_id and await self.store.revoke_grant(record.grant_id, self.clock.wall()):
                log.warning(
                    "an authorization code of client %s was used twice: its tokens are revoked", client.client_id
                )
            return None
        if record.expires_at <= self.clock.wall():
            return None
        return CodeGrant(
            code=authorization_code,
            scopes=record.scopes,
            expires_at=record.expires_at,
            client_id=record.client_id,
            code_challenge=record.code_challenge,
            redirect_uri=record.redirect_uri,
            redirect_uri_provided_explicitly=record.redirect_uri_provided_explicitly,
            resource=record.resource,
            subject=record.user,
        )

    def _check_requested_resource(self, granted: str) -> None:
        requested = REQUESTED_RESOURCE.get()
        if requested is None:
            return
        resolved = self.resources.resolve(requested)
        if resolved is None or not self.resources.covers(granted, resolved):
            raise TokenError("invalid_target", f"this grant is for {granted}, not {requested}")

    def _tokens(self, grant: GrantRecord, token_scopes: list[str] | None) -> tuple[OAuthToken, list[TokenRecord]]:
        now = self.clock.wall()
        access, refresh = credentials.mint("at"), credentials.mint("rt")
        records = [
            TokenRecord(
                digest=credentials.digest(access),
                grant_id=grant.id,
                kind="access",
                scopes=token_scopes,
                expires_at=now + self.settings.access_token_seconds,
                created_at=now,
            ),
            TokenRecord(
                digest=credentials.digest(refresh),
                grant_id=grant.id,
                kind="refresh",
                scopes=token_scopes,
                expires_at=now + self.settings.refresh_token_seconds,
                created_at=now,
            ),
        ]
        answer = OAuthToken(
            access_token=access,
            expires_in=self.settings.access_token_seconds,
            scope=" ".join(token_scopes or grant.scopes),
            refresh_token=refresh,
        )
        return answer, records

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: CodeGrant
    ) -> OAuthToken:
        resource = authorization_code.resource or self.resources.default
        self._check_requested_resource(resource)
        grant = GrantRecord(
            user=authorization_code.subject or "",
            client_id=client.client_id,
            scopes=authorization_code.scopes,
            resource=resource,
            created_at=self.clock.wall(),
        )
        answer, tokens = self._tokens(grant, None)
        digest = credentials.digest(authorization_code.code)
        if not await self.store.redeem_code(digest, grant, tokens, self.clock.wall()):
            await self.load_authorization_code(client, authorization_code.code)  # revokes what its first use gave
            raise TokenError("invalid_grant", "authorization code was already used")
        log.info("issued tokens to client %s for user %s", client.client_id, grant.user)
        return answer

    # --- refresh and access tokens -------------------------------------------------------------------------------

    async def load_refresh_token(self, client: OAuthClientInformationFull, refresh_token: str) -> RefreshGrant | None:
        found = await self.store.get_token(credentials.digest(refresh_token))
        if found is None:
            return None
        token, grant = found
        if token.kind != "refresh" or grant.client_id != client.client_id or grant.revoked_at is not None:
            return None
        now = self.clock.wall()
        if token.used_at is not None:
            await self.store.revoke_grant(grant.id, now)
            log.warning(
                "a rotated refresh token of client %s was presented again: its grant is revoked", grant.client_id
            )
            return None
        if token.expires_at <= now:
            return None
        return RefreshGrant(
            token=refresh_token,
            client_id=grant.client_id,
            scopes=token.scopes or grant.scopes,
            expires_at=int(token.expires_at),
            resource=grant.resource,
            subject=grant.user,
            grant_id=grant.id,
        )

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: RefreshGrant, scopes: list[str]
    ) -> OAuthToken:
        self._check_requested_resource(refresh_token.resource or self.resources.default)
        found = await self.store.get_token(credentials.digest(refresh_token.token))
        if found is None:
            raise TokenError("invalid_grant", "refresh token does not exist")
        grant = found[1]
        narrowed = [scope for scope in grant.scopes if scope in scopes] or None
        answer, tokens = self._tokens(grant, narrowed if narrowed != grant.scopes else None)
        if not await self.store.rotate_refresh(credentials.digest(refresh_token.token), tokens, self.clock.wall()):
            await self.store.revoke_grant(grant.id, self.clock.wall())
            raise TokenError("invalid_grant", "refresh token was already used")
        return answer

    async def load_access_token(self, token: str) -> AccessToken | None:
        if not token.startswith("gmcp_at_"):
            return None
        found = await self.store.get_token(credentials.digest(token))
        if found is None:
            return None
        record, grant = found
        now = self.clock.wall()
        if record.kind != "access" or grant.revoked_at is not None or record.expires_at <= now:
            return None
        if grant.last_used_at is None or now - grant.last_used_at > _TOUCH_EVERY:
            await self.store.touch_grant(grant.id, now)
        return AccessToken(
            token=token,
            client_id=grant.client_id,
            scopes=record.scopes or grant.scopes,
            expires_at=int(record.expires_at),
            resource=grant.resource,
            subject=grant.user,
            claims={"iss": self.issuer, "grant": grant.id},
        )

    async def revoke_token(self, token: AccessToken | RefreshToken) -> None:
        found = await self.store.get_token(credentials.digest(token.token))
        if found is not None and await self.store.revoke_grant(found[1].id, self.clock.wall()):
            log.info("client %s revoked a grant of user %s", found[1].client_id, found[1].user)
