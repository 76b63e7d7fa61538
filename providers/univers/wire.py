"""What Univers answers besides files, as pydantic models: error details, the balance and the preset table."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, RootModel

__all__ = ["BalanceBody", "ErrorBody", "PresetBody", "PresetTable"]


class ErrorBody(BaseModel):
    """A FastAPI error: `detail` is a message, a dict of facts (`error`, `remaining`, `cost`…) or a list of
    validation errors."""

    model_config = ConfigDict(extra="allow")
    detail: Any = None


class BalanceBody(BaseModel):
    """GET /api/credits/balance."""

    balance: float
    monthly_quota: float | None = None
    plan_name: str | None = None
    sub_status: str | None = None


class PresetBody(BaseModel):
    """One entry of GET /api/presets (the mode-specific fields are kept as they come)."""

    model_config = ConfigDict(extra="allow")
    label: str | None = None
    mode: str | None = None
    page: str | None = None
    colors: int | None = None


class PresetTable(RootModel[dict[str, PresetBody]]):
    """GET /api/presets: every preset by name."""
