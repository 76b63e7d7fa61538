"""How Masko's file URLs become genmcp assets: the kind, MIME type and name follow from Masko's asset type
(`image`, `webm`, sized variants such as `webm_480`, …), and a pending one says it serves a placeholder for now."""

from __future__ import annotations

import re
from collections.abc import Iterable

from server.results import Asset, AssetKind

__all__ = ["asset", "assets", "slug"]

_KEY = re.compile(r"^(?P<base>[a-z_]+?)(?:_(?P<size>\d+))?$")
_FORMATS: dict[str, tuple[AssetKind, str, str, str]] = {
    "image": ("image", "image/png", "png", "PNG with background"),
    "transparent_image": ("image", "image/png", "png", "transparent PNG (background removed)"),
    "video": ("video", "video/mp4", "mp4", "MP4 (H.264), opaque background"),
    "webm": ("video", "video/webm", "webm", "transparent WebM (VP9 + alpha) for Chrome, Firefox, Edge"),
    "hevc": ("video", "video/quicktime", "mov", "transparent MOV (HEVC + alpha) for Safari and iOS"),
    "stacked_video": ("video", "video/mp4", "mp4", "MP4 with colour and alpha stacked, for Android"),
}
_URL_KEYS = {"transparent_video_webm": "webm", "transparent_video_mov": "hevc"}
"""`GET /collections/:id/urls` names an animation's files differently from a job."""


def slug(text: str | None) -> str:
    """A file-name-safe label from an item's name ('' when there is none)."""
    return re.sub(r"[^a-z0-9]+", "-", (text or "").lower()).strip("-")[:60]


def asset(key: str, url: str, label: str, *, pending: bool) -> Asset:
    """One file of Masko's asset type `key`, named `<label>-<key>.<ext>`."""
    key = _URL_KEYS.get(key, key)
    match = _KEY.match(key)
    base, size = (match["base"], match["size"]) if match else (key, None)
    kind, mime, ext, what = _FORMATS.get(base, ("file", "application/octet-stream", "bin", base.replace("_", " ")))
    if size:
        what += f", {size} px"
    if pending:
        what += "; serves a placeholder until the job finishes"
    return Asset(url=url, kind=kind, mime_type=mime, name=f"{label}-{key}.{ext}", pending=pending, description=what)


def assets(urls: Iterable[tuple[str, str | None]], label: str, *, pending: bool) -> list[Asset]:
    """Every file of `urls` (asset type → URL) that has a URL."""
    return [asset(key, url, label, pending=pending) for key, url in urls if url]
