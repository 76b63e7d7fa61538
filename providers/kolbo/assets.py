"""Kolbo's output files as genmcp assets: the kind and MIME type read from each URL's extension."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from server.results import Asset, AssetKind

__all__ = ["GENERATION_KINDS", "asset", "http_urls"]

GENERATION_KINDS: dict[str, AssetKind] = {"music": "audio", "speech": "audio", "sound": "audio", "video": "video"}
"""The asset kind of a generation type's files when their URL does not say (images otherwise)."""
_MIME = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "gif": "image/gif",
    "mp4": "video/mp4",
    "webm": "video/webm",
    "mov": "video/quicktime",
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "m4a": "audio/mp4",
    "aac": "audio/aac",
    "ogg": "audio/ogg",
    "flac": "audio/flac",
}


def asset(url: str, default: AssetKind, name: str, description: str | None = None) -> Asset:
    """An output file, its kind and MIME type read from the URL's extension (else the generation's kind)."""
    path = urlsplit(url).path
    extension = path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
    mime = _MIME.get(extension)
    kind: AssetKind = default
    if mime is not None:
        kind = "image" if mime.startswith("image/") else "video" if mime.startswith("video/") else "audio"
    suffix = f".{extension}" if mime else ""
    return Asset(url=url, kind=kind, mime_type=mime, name=name + suffix, description=description)


def http_urls(urls: Sequence[str]) -> list[str]:
    """The http(s) URLs among `urls` (anything else is never passed on as a link)."""
    return [url for url in urls if url.startswith(("https://", "http://"))]
