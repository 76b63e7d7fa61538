"""A genmcp runtime in this process, with providers routed to simulator apps in process (no sockets)."""

from __future__ import annotations

from collections.abc import Mapping

import httpx2
from starlette.types import ASGIApp

from providers import PROVIDERS
from server.app import Runtime
from server.clock import Clock
from server.config import Settings

__all__ = ["in_process_runtime", "public_resolver"]


async def public_resolver(host: str, port: int) -> list[str]:
    """Every name resolves to a public address, so downloads pass the SSRF guard into a simulator app."""
    return ["93.184.216.34"]


def in_process_runtime(
    settings: Settings,
    *,
    apps: Mapping[str, ASGIApp],
    clock: Clock | None = None,
    fetch_app: ASGIApp | None = None,
) -> Runtime:
    """A runtime whose provider `name` talks to `apps[name]`; with `fetch_app`, downloads (previews, image inputs)
    go to that app too, as if its host were public."""
    return Runtime(
        settings,
        PROVIDERS,
        clock=clock,
        transports={name: httpx2.ASGITransport(app=app) for name, app in apps.items()},
        fetch_transport=httpx2.ASGITransport(app=fetch_app) if fetch_app is not None else None,
        resolver=public_resolver if fetch_app is not None else None,
    )
