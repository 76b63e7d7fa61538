"""What the authorization server keeps, and the small interface every store implements (`OAuthStore`).

Users, clients, pending authorization requests, authorization codes, grants with their access and refresh tokens,
browser sessions, one-time sign-in links and failed sign-in counters. No secret is stored: minted secrets are kept
as SHA-256 digests (`*_digest`), passwords as Argon2id hashes. Every method is one transaction; the ones that spend
something single-use (a code, a refresh token, a link, a request) do so atomically, so two replicas cannot both
spend it. Times are Unix seconds from the caller's clock.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

__all__ = [
    "ClientRecord",
    "CodeRecord",
    "FailureRecord",
    "GrantRecord",
    "LinkRecord",
    "OAuthStore",
    "PendingRequest",
    "SessionRecord",
    "TokenRecord",
    "UserExists",
    "UserRecord",
    "purge_statements",
]


class UserExists(Exception):
    """A user of that name already exists."""


class UserRecord(BaseModel):
    """A person who may sign in; without a password hash, only with one-time links."""

    name: str
    password_hash: str | None = None
    created_at: float


class ClientRecord(BaseModel):
    """An OAuth client: registered itself (RFC 7591), added by the operator, or read from its metadata document."""

    client_id: str
    origin: Literal["registered", "operator", "document"]
    metadata: dict[str, Any]
    """Its client metadata (RFC 7591 §2) as JSON: redirect URIs, name, grant types, auth method, scope."""
    secret_digest: str | None = None
    secret_expires_at: int | None = None
    created_at: float
    fetched_at: float | None = None
    """When its metadata document was last read (origin 'document')."""


class PendingRequest(BaseModel):
    """An authorization request waiting for a person to sign in and approve it."""

    digest: str
    client_id: str
    redirect_uri: str
    redirect_uri_provided_explicitly: bool
    scopes: list[str]
    code_challenge: str
    state: str | None = None
    resource: str
    expires_at: float


class CodeRecord(BaseModel):
    """An authorization code a person's approval produced (single use)."""

    digest: str
    client_id: str
    user: str
    scopes: list[str]
    resource: str
    redirect_uri: str
    redirect_uri_provided_explicitly: bool
    code_challenge: str
    expires_at: float
    used_at: float | None = None
    grant_id: str | None = None
    """The grant its exchange created (revoked if the code is ever presented again)."""


class GrantRecord(BaseModel):
    """What one approval granted: a user, a client, scopes and a resource; its tokens live and die with it."""

    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    user: str
    client_id: str
    scopes: list[str]
    resource: str
    created_at: float
    last_used_at: float | None = None
    revoked_at: float | None = None


class TokenRecord(BaseModel):
    """An access or refresh token of a grant (by digest)."""

    digest: str
    grant_id: str
    kind: Literal["access", "refresh"]
    scopes: list[str] | None = None
    """Narrower than its grant's when a refresh asked for less; None: the grant's."""
    expires_at: float
    created_at: float
    used_at: float | None = None
    """For a refresh token: when it was rotated (presenting it again is a replay)."""


class SessionRecord(BaseModel):
    """A browser's sign-in (the session cookie's digest)."""

    digest: str
    user: str
    created_at: float
    expires_at: float


class LinkRecord(BaseModel):
    """A one-time sign-in link."""

    digest: str
    user: str
    expires_at: float
    used_at: float | None = None


class FailureRecord(BaseModel):
    """Failed sign-ins in a row for one key (a user name or an address)."""

    key: str
    count: int = 0
    locked_until: float = 0.0


class OAuthStore(Protocol):
    """Where the authorization server's records live. Every method is one transaction."""

    async def open(self) -> None:
        """Connect, and bring the schema up to date (versioned, idempotent migrations)."""
        ...

    async def close(self) -> None:
        """Release the store."""
        ...

    # users
    async def add_user(self, user: UserRecord) -> None:
        """Add a user (raises `UserExists`)."""
        ...

    async def set_password(self, name: str, password_hash: str | None) -> bool:
        """Replace a user's password hash; False when there is no such user."""
        ...

    async def get_user(self, name: str) -> UserRecord | None: ...

    async def list_users(self) -> list[UserRecord]: ...

    async def remove_user(self, name: str, now: float) -> bool:
        """Remove a user, revoke their grants and end their sessions and links; False when there was none."""
        ...

    # clients
    async def put_client(self, client: ClientRecord) -> None:
        """Insert or replace a client."""
        ...

    async def get_client(self, client_id: str) -> ClientRecord | None: ...

    async def list_clients(self) -> list[ClientRecord]: ...

    async def remove_client(self, client_id: str, now: float) -> bool:
        """Remove a client and revoke its grants; False when there was none."""
        ...

    # authorization requests and codes
    async def put_request(self, request: PendingRequest) -> None: ...

    async def get_request(self, digest: str, now: float) -> PendingRequest | None:
        """A pending request that has not expired."""
        ...

    async def take_request(self, digest: str, now: float) -> PendingRequest | None:
        """Remove and return a pending request that has not expired (single use)."""
        ...

    async def put_code(self, code: CodeRecord) -> None: ...

    async def get_code(self, digest: str) -> CodeRecord | None:
        """A code, used or not (the caller decides what a used one means)."""
        ...

    async def redeem_code(self, digest: str, grant: GrantRecord, tokens: list[TokenRecord], now: float) -> bool:
        """Atomically: mark an unused, unexpired code used, create its grant and tokens. False if already used."""
        ...

    # grants and tokens
    async def get_token(self, digest: str) -> tuple[TokenRecord, GrantRecord] | None:
        """A token and its grant (revoked or expired ones too: the caller judges)."""
        ...

    async def rotate_refresh(self, digest: str, tokens: list[TokenRecord], now: float) -> bool:
        """Atomically: mark an unused refresh token of a live grant used and add its successors. False if the
        token was already used, or its grant is revoked."""
        ...

    async def touch_grant(self, grant_id: str, now: float) -> None:
        """Remember when a grant's token was last used."""
        ...

    async def list_grants(self, *, user: str | None = None, include_revoked: bool = False) -> list[GrantRecord]:
        """Grants, newest first."""
        ...

    async def revoke_grant(self, grant_id: str, now: float) -> bool:
        """Revoke a grant (every token of it); False when it does not exist or was already revoked."""
        ...

    async def revoke_grants(self, *, user: str | None = None, client_id: str | None = None, now: float) -> int:
        """Revoke every live grant of a user and/or a client; how many."""
        ...

    # browser sessions and one-time links
    async def put_session(self, session: SessionRecord) -> None: ...

    async def get_session(self, digest: str, now: float) -> SessionRecord | None:
        """A session that has not expired (and whose user still exists)."""
        ...

    async def delete_session(self, digest: str) -> None: ...

    async def put_link(self, link: LinkRecord) -> None: ...

    async def redeem_link(self, digest: str, now: float) -> LinkRecord | None:
        """Atomically mark an unused, unexpired link used and return it; None otherwise."""
        ...

    # failed sign-ins
    async def get_failures(self, key: str) -> FailureRecord: ...

    async def record_failure(self, key: str, *, limit: int, lockout: float, now: float) -> FailureRecord:
        """Count one failure; at `limit` in a row, lock the key until `now + lockout` and start counting again."""
        ...

    async def clear_failures(self, key: str) -> None: ...

    async def purge(self, now: float) -> int:
        """Delete what has expired (requests, codes, sessions, links, tokens of revoked or expired grants)."""
        ...


def purge_statements(now: float, placeholder: str) -> list[tuple[str, tuple[float]]]:
    """What `purge` deletes, one statement each, in the backend's parameter style (`?` or `%s`)."""
    statements = (
        ("DELETE FROM oauth_requests WHERE expires_at<=?", now),
        ("DELETE FROM oauth_codes WHERE expires_at<=?", now - 86_400),  # kept a day to spot replays
        ("DELETE FROM oauth_sessions WHERE expires_at<=?", now),
        ("DELETE FROM oauth_links WHERE expires_at<=?", now),
        ("DELETE FROM oauth_failures WHERE count=0 AND locked_until<=?", now),
        (
            "DELETE FROM oauth_tokens WHERE expires_at<=? OR grant_id IN "
            "(SELECT id FROM oauth_grants WHERE revoked_at IS NOT NULL)",
            now,
        ),
    )
    return [(sql.replace("?", placeholder), (value,)) for sql, value in statements]
