"""`[auth.builtin]`: genmcp's own OAuth 2.1 authorization server (used when `[auth] mode = "builtin"`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["BuiltinAuthSettings", "SignInMethod"]

SignInMethod = Literal["password", "link"]


def _every_method() -> list[SignInMethod]:
    return ["password", "link"]


class BuiltinAuthSettings(BaseModel):
    """How the built-in authorization server issues tokens and who may sign in."""

    model_config = ConfigDict(extra="forbid", validate_default=True)

    sign_in: list[SignInMethod] = Field(
        default_factory=_every_method,
        min_length=1,
        description="How people sign in: 'password' (users added with `genmcp users add`) and/or 'link' (one-time "
        "links printed by `genmcp auth link <user>`).",
    )
    dynamic_registration: bool = Field(
        default=True,
        description="Let clients register themselves (RFC 7591, what Claude, Cursor and VS Code do). Off: only "
        "clients added with `genmcp clients add` and client ID metadata documents.",
    )
    client_metadata_documents: bool = Field(
        default=True, description="Accept an https URL as client_id and read the client's metadata from it."
    )
    access_token_seconds: int = Field(default=3600, ge=60, le=86_400)
    refresh_token_seconds: int = Field(default=30 * 86_400, ge=300, le=365 * 86_400)
    code_seconds: int = Field(default=300, ge=30, le=600, description="How long an authorization code is valid.")
    session_seconds: int = Field(default=12 * 3600, ge=300, le=30 * 86_400, description="A browser sign-in.")
    link_seconds: int = Field(default=900, ge=60, le=7 * 86_400, description="How long a one-time link is valid.")
    request_seconds: int = Field(
        default=900, ge=60, le=3600, description="How long a person has to sign in and approve a request."
    )
    max_failed_sign_ins: int = Field(
        default=5, ge=1, le=100, description="Wrong passwords in a row (per user name, and 4× that per address)."
    )
    lockout_seconds: int = Field(default=300, ge=10, le=86_400, description="How long sign-in is refused after that.")
