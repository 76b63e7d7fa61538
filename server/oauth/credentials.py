"""Minting and hashing the secrets of the authorization server.

Every secret genmcp mints is random (256 bits) and carries a prefix naming what it is (`gmcp_at_` access token,
`gmcp_rt_` refresh token, `gmcp_cs_` client secret, `gmcp_ac_` authorization code, `gmcp_sl_` sign-in link,
`gmcp_ss_` browser session, `gmcp_rq_` pending authorization request), so the redactor can mask one it was never
told about. Only a SHA-256 digest of such a secret is stored: they are high-entropy, so a fast hash is enough.
Passwords are people's, low-entropy and reused: they are hashed with Argon2id (argon2-cffi), off the event loop.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Literal

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["MINTED", "Kind", "digest", "hash_password", "matches", "mint", "verify_password"]

Kind = Literal["at", "rt", "cs", "ac", "sl", "ss", "rq"]
MINTED = re.compile(r"gmcp_(?:at|rt|cs|ac|sl|ss|rq)_[A-Za-z0-9_-]{20,}")
"""Any secret this server mints (the redactor masks matches)."""

_HASHER = PasswordHasher()
_DUMMY_HASH = _HASHER.hash("a password nobody has")
"""Verified against when the user does not exist, so an unknown name costs the same time as a wrong password."""


def mint(kind: Kind) -> str:
    """A new random secret of this kind."""
    return f"gmcp_{kind}_{secrets.token_urlsafe(32)}"


def digest(secret: str) -> str:
    """What is stored for a minted secret."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def matches(secret: str, stored_digest: str) -> bool:
    """Whether `secret` is the one whose digest was stored (constant time)."""
    return hmac.compare_digest(digest(secret), stored_digest)


async def hash_password(password: str) -> str:
    """An Argon2id hash of a password (computed in a worker thread: it takes tens of milliseconds)."""
    return await anyio.to_thread.run_sync(_HASHER.hash, password)


def _verify(stored: str | None, password: str) -> bool:
    try:
        _HASHER.verify(stored or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    return stored is not None


async def verify_password(stored: str | None, password: str) -> bool:
    """Whether `password` matches the stored hash (None: no such user, checked against a dummy all the same)."""
    return await anyio.to_thread.run_sync(_verify, stored, password)
