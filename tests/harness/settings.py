"""The one settings builder of the test suite: a live (non-sandbox) configuration in a temporary directory."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from providers import PROVIDERS
from server.config import Settings, load_settings

__all__ = ["build_settings", "settings_data"]


def settings_data(
    workdir: Path, *, providers: Mapping[str, Mapping[str, Any]] | None = None, **sections: Mapping[str, Any]
) -> dict[str, Any]:
    """The configuration as data: registry and artifacts under `workdir`, sandbox off, quick backoff, then the
    given providers and sections merged over it (a section's keys are merged, not replaced)."""
    data: dict[str, Any] = {
        "jobs": {"db_path": str(workdir / "jobs.sqlite3"), "wait_seconds": 45, "max_wait_seconds": 55},
        "artifacts": {"dir": str(workdir / "artifacts")},
        "providers": {},
        "sandbox": {"mode": "off"},
        "upstream": {"backoff_base": 0.5, "backoff_max": 4},
    }
    for name, conf in (providers or {}).items():
        data["providers"].setdefault(name, {}).update(conf)
    for section, values in sections.items():
        data.setdefault(section, {}).update(values)
    return data


def build_settings(
    workdir: Path, *, providers: Mapping[str, Mapping[str, Any]] | None = None, **sections: Mapping[str, Any]
) -> Settings:
    """Validated settings from `settings_data` (as `genmcp serve` would load them, without file or environment)."""
    return load_settings(
        None,
        env={},
        provider_names=[p.name for p in PROVIDERS],
        overrides=settings_data(workdir, providers=providers, **sections),
    )
