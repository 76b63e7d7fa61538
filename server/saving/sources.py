"""The bytes of a result's assets, and the names they are saved under.

A file genmcp holds is read from its artifact store; anything else is downloaded through the SSRF guard (a result
URL is the provider's choice, not ours), capped in bytes and time. What arrives is checked against what the asset
claims to be: an image must sniff as an image, and an HTML page is never saved as a result.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from server.artifacts import ArtifactStore, artifact_id_from
from server.errors import InvalidInput
from server.fetch import Fetcher
from server.media import sniff_image
from server.results import Asset

__all__ = ["AssetSource", "Fetched", "numbered_names", "saved_assets"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")
_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/webp": ".webp",
    "image/gif": ".gif",
    "image/svg+xml": ".svg",
    "video/mp4": ".mp4",
    "audio/mpeg": ".mp3",
    "audio/wav": ".wav",
    "application/zip": ".zip",
    "application/pdf": ".pdf",
    "application/json": ".json",
}


@dataclass(frozen=True)
class Fetched:
    """One asset's bytes and type."""

    asset: Asset
    data: bytes
    mime_type: str


async def saved_assets(assets: Sequence[Asset], artifacts: ArtifactStore) -> list[Asset]:
    """The assets a save writes: every finished one, except an archive whose members are listed beside it (the
    members are saved instead of the ZIP that holds them)."""
    parents = set()
    for asset in assets:
        artifact_id = artifact_id_from(asset.resource or "")
        artifact = await artifacts.get(artifact_id) if artifact_id else None
        if artifact is not None and artifact.parent:
            parents.add(artifact.parent)
    chosen = []
    for asset in assets:
        if asset.pending:
            continue
        artifact_id = artifact_id_from(asset.resource or "")
        if artifact_id is not None and artifact_id in parents:
            continue
        chosen.append(asset)
    return chosen


class AssetSource:
    """Reads assets for saving: from the artifact store, or downloaded through the SSRF guard."""

    def __init__(self, *, artifacts: ArtifactStore, fetcher: Fetcher, max_bytes: int, timeout: float) -> None:
        self.artifacts = artifacts
        self.fetcher = fetcher
        self.max_bytes = max_bytes
        self.timeout = timeout

    async def read(self, asset: Asset) -> Fetched:
        """The asset's bytes.

        Raises:
            InvalidInput: unknown or expired artifact, a refused or failed download, too large, or not what the
                asset says it is.
        """
        artifact_id = artifact_id_from(asset.resource or asset.url)
        if artifact_id is not None:
            artifact = await self.artifacts.get(artifact_id)
            if artifact is None:
                raise InvalidInput(f"{asset.resource or asset.url} has expired or does not exist; nothing was saved.")
            if artifact.size > self.max_bytes:
                raise InvalidInput(f"{artifact.filename} is larger than outputs.max_file_bytes ({self.max_bytes}).")
            return Fetched(asset=asset, data=await self.artifacts.read(artifact), mime_type=artifact.mime_type)
        fetched = await self.fetcher.fetch(asset.url, field="save", max_bytes=self.max_bytes, time_limit=self.timeout)
        mime = _checked_type(asset, fetched.data, fetched.content_type)
        return Fetched(asset=asset, data=fetched.data, mime_type=mime)


def _checked_type(asset: Asset, data: bytes, served: str) -> str:
    claimed = asset.mime_type or served or "application/octet-stream"
    head = data[:512].lstrip().lower()
    if served == "text/html" or head.startswith((b"<!doctype html", b"<html")):
        raise InvalidInput(f"{asset.name or 'the asset'} downloaded as an HTML page, not a result file; not saved.")
    sniffed = sniff_image(data)
    if asset.kind == "image" and claimed != "image/svg+xml":
        if sniffed is None:
            raise InvalidInput(f"{asset.name or 'the asset'} is not an image (its bytes say otherwise); not saved.")
        return sniffed
    return sniffed or claimed


def _clean(name: str) -> str:
    base = PurePosixPath(name.replace("\\", "/")).name
    return _UNSAFE.sub("_", base).strip(" .")[:120]


def _extension(fetched: Fetched) -> str:
    named = PurePosixPath(_clean(fetched.asset.name or "")).suffix
    own = named or PurePosixPath(urlsplit(fetched.asset.url).path).suffix
    typed = _EXTENSIONS.get(fetched.mime_type) or mimetypes.guess_extension(fetched.mime_type) or ""
    if own and (not typed or mimetypes.guess_type(f"x{own}")[0] == fetched.mime_type):
        return own.lower()
    return typed or own.lower() or ".bin"


def numbered_names(
    files: Sequence[Fetched], *, filename: str | None, stem: str, redact: Callable[[str], str] = str
) -> list[str]:
    """The names files are saved under.

    One file: `filename` as given, or (into a directory) the asset's own name. Several (a batch): numbered,
    `<stem>-1.png`, `<stem>-2.png` … (zero-padded from ten on) where the stem is `filename`'s, or `stem` into a
    directory; each keeps the extension of its own type. A name that comes from upstream passes `redact` (a provider
    may put a key in a file name: it must not become one on disk).
    """
    if len(files) == 1:
        only = files[0]
        if filename is not None:
            return [filename]
        own = _clean(redact(only.asset.name or PurePosixPath(urlsplit(only.asset.url).path).name))
        return [own if own and PurePosixPath(own).suffix else f"{own or stem}{_extension(only)}"]
    base = _clean(PurePosixPath(filename).stem) if filename else stem
    width = len(str(len(files))) if len(files) >= 10 else 1
    return [f"{base}-{index:0{width}d}{_extension(file)}" for index, file in enumerate(files, start=1)]
