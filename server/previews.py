"""At most one small preview image per result, so an agent can see what it got without opening a link.

The first finished image asset is used: read from the artifact store when genmcp holds it, else downloaded through
the SSRF guard (a result URL is someone else's choice too), bounded in time, then downscaled. Previews are cached
by asset, so polling a finished job again costs no download.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import TYPE_CHECKING

import anyio

from server.artifacts import ArtifactStore, artifact_id_from
from server.errors import GenmcpError
from server.media import preview_of
from server.results import Asset, Preview, ToolResult

if TYPE_CHECKING:
    from server.fetch import Fetcher

__all__ = ["Previews"]

log = logging.getLogger("genmcp.previews")

_RASTER = {"image/png", "image/jpeg", "image/gif", "image/webp"}
_CACHE_SIZE = 128
_AT_ONCE = 8
"""Previews made at the same time; beyond that a result goes without one (its links are what matter) rather than
queueing behind a burst of completions."""


class Previews:
    """Makes and caches result previews."""

    def __init__(self, *, artifacts: ArtifactStore, fetcher: Fetcher, max_pixels: int, timeout: float = 5.0) -> None:
        self.artifacts = artifacts
        self.fetcher = fetcher
        self.max_pixels = max_pixels
        self.timeout = timeout
        self._cache: OrderedDict[str, Preview | None] = OrderedDict()
        self._busy = 0

    @staticmethod
    def _candidate(result: ToolResult) -> Asset | None:
        if result.status != "completed":
            return None
        for asset in result.assets:
            if asset.kind == "image" and not asset.pending and (asset.mime_type or "image/png") in _RASTER:
                return asset
        return None

    async def of(self, result: ToolResult) -> Preview | None:
        """The preview for a result, or None (not an image result, or it could not be made in time)."""
        if result.inline_image is not None:
            return await self._shrink(result.inline_image)
        asset = self._candidate(result)
        if asset is None:
            return None
        key = asset.resource or asset.url
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        if self._busy >= _AT_ONCE:
            return None
        self._busy += 1
        try:
            preview = await self._make(asset)
        finally:
            self._busy -= 1
        self._cache[key] = preview
        if len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        return preview

    async def _make(self, asset: Asset) -> Preview | None:
        data = await self._held(asset)
        if data is None:
            try:
                with anyio.fail_after(self.timeout):
                    data = (await self.fetcher.fetch(asset.url, field="preview")).data
            except (GenmcpError, TimeoutError) as exc:
                log.debug("no preview for %s: %s", asset.name, exc)
                return None
        return await self._shrink(data)

    async def _shrink(self, data: bytes) -> Preview | None:
        made = await anyio.to_thread.run_sync(lambda: preview_of(data, max_pixels=self.max_pixels))
        return Preview(data=made[0], mime_type=made[1]) if made else None

    async def _held(self, asset: Asset) -> bytes | None:
        artifact_id = artifact_id_from(asset.resource or "")
        artifact = await self.artifacts.get(artifact_id) if artifact_id else None
        return await self.artifacts.read(artifact) if artifact is not None else None
