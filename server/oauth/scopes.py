"""What a token from the built-in authorization server may do: one scope per kind of tool.

- `genmcp:read`  — see: list tools' data, poll and list your jobs, balances, models (every token has it);
- `genmcp:write` — create for free: projects, mascots, uploads, canvases;
- `genmcp:spend` — start paid generations that use the providers' credits.

A tool call whose kind needs a scope the token lacks is refused before anything is sent upstream, with an answer that
names the missing scope (`ScopeGuard`). Named tokens from the config hold every scope.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from mcp.server.auth.middleware.auth_context import get_access_token

from server.errors import InsufficientScope

__all__ = ["ALL", "READ", "SPEND", "WRITE", "Scope", "ScopeGuard", "describe", "known"]

READ = "genmcp:read"
WRITE = "genmcp:write"
SPEND = "genmcp:spend"
ALL = (READ, WRITE, SPEND)


@dataclass(frozen=True)
class Scope:
    """A scope as the consent page shows it."""

    name: str
    title: str
    description: str
    required: bool


_SCOPES = {
    READ: Scope(
        READ, "See", "Read your jobs, their results and your credit balances, and list models and styles.", True
    ),
    WRITE: Scope(
        WRITE, "Create for free", "Create projects, mascots, uploads and canvases that cost no credits.", False
    ),
    SPEND: Scope(
        SPEND, "Spend credits", "Start paid generations (images, video, music, diagrams) using credits.", False
    ),
}
_FOR_KIND = {"read": READ, "write": WRITE, "spend": SPEND}


def known(scopes: Iterable[str]) -> list[str]:
    """The genmcp scopes among `scopes`, in canonical order (others are ignored, RFC 6749 §3.3)."""
    wanted = set(scopes)
    return [scope for scope in ALL if scope in wanted]


def describe(scopes: Iterable[str]) -> list[Scope]:
    """The consent page's wording for each genmcp scope in `scopes`."""
    return [_SCOPES[scope] for scope in known(scopes)]


class ScopeGuard:
    """Refuses a tool call whose kind needs a scope the current access token lacks."""

    def __call__(self, kind: Literal["read", "write", "spend"]) -> None:
        """Raise `InsufficientScope` naming the missing scope (nothing is sent upstream)."""
        token = get_access_token()
        needed = _FOR_KIND[kind]
        if token is None or needed in token.scopes:
            return
        scope = _SCOPES[needed]
        raise InsufficientScope(
            f"This call needs the OAuth scope {needed} ('{scope.title}'), which this connection was not granted. "
            f"Nothing was sent upstream and nothing was charged. Reconnect genmcp and allow '{scope.title}' on the "
            "consent page to use it."
        )
