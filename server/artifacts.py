"""Files genmcp holds (binary results, ZIP members), stored by opaque random id and served safely.

`ArtifactStore` is the small async interface every backend implements: `FileArtifactStore` keeps each file and a
JSON sidecar of its metadata under one directory, `server.store.pg_artifacts.PostgresArtifactStore` keeps them in
the shared database (hosted replicas); both with a time-to-live and cleanup. Every artifact is
readable over HTTP at `/artifacts/<id>` and through MCP `resources/read` on `artifact://<id>`.
"""

from __future__ import annotations

import io
import json
import re
import secrets
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Protocol

from pydantic import BaseModel

from server.media import sniff_image
from server.results import Asset, AssetKind

__all__ = [
    "ARTIFACT_URI",
    "Artifact",
    "ArtifactStore",
    "FileArtifactStore",
    "Files",
    "artifact_id_from",
    "kind_of",
    "new_artifact",
    "valid_id",
    "zip_members",
]

ARTIFACT_URI = "artifact://"
_ID = re.compile(r"^[A-Za-z0-9_-]{32}$")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")
_KINDS: dict[str, AssetKind] = {"image": "image", "video": "video", "audio": "audio"}


class Artifact(BaseModel):
    """One stored file's metadata."""

    id: str
    mime_type: str
    filename: str
    size: int
    created_at: float
    expires_at: float
    parent: str | None = None
    """The artifact this one was extracted from (a ZIP member's archive)."""

    @property
    def uri(self) -> str:
        """Its MCP resource URI."""
        return f"{ARTIFACT_URI}{self.id}"


def kind_of(mime_type: str) -> AssetKind:
    """The asset kind for a MIME type."""
    if mime_type == "application/zip":
        return "archive"
    if mime_type == "application/pdf":
        return "document"
    return _KINDS.get(mime_type.split("/", 1)[0], "file")


def artifact_id_from(value: str) -> str | None:
    """The id in an `artifact://<id>` reference or an `/artifacts/<id>` link, if it is one."""
    text = value.strip()
    if text.startswith(ARTIFACT_URI):
        candidate = text[len(ARTIFACT_URI) :].split("/", 1)[0]
    elif "/artifacts/" in text:
        candidate = text.split("/artifacts/", 1)[1].split("/", 1)[0].split("?", 1)[0]
    else:
        return None
    return candidate if _ID.match(candidate) else None


def _safe_filename(name: str, fallback: str) -> str:
    base = PurePosixPath(name.replace("\\", "/")).name
    cleaned = _UNSAFE_NAME.sub("_", base).strip(" .")
    return cleaned[:120] or fallback


def valid_id(artifact_id: str) -> bool:
    """Whether `artifact_id` has the shape of an id this store hands out (anything else is never looked up)."""
    return bool(_ID.match(artifact_id))


def new_artifact(
    data: bytes,
    *,
    mime_type: str,
    filename: str,
    parent: str | None,
    now: float,
    ttl: float,
    redact: Callable[[str], str],
) -> Artifact:
    """The metadata of a file about to be stored: a new random id, a safe name, its expiry."""
    artifact_id = secrets.token_urlsafe(24)
    return Artifact(
        id=artifact_id,
        mime_type=mime_type,
        # Names come from upstream (Content-Disposition, ZIP members): one could carry a key.
        filename=_safe_filename(redact(filename), f"artifact-{artifact_id[:8]}"),
        size=len(data),
        created_at=now,
        expires_at=now + ttl,
        parent=parent,
    )


class ArtifactStore(Protocol):
    """Where artifacts live."""

    async def put(self, data: bytes, *, mime_type: str, filename: str, parent: str | None = None) -> Artifact:
        """Store bytes; return their metadata (with a new random id)."""
        ...

    async def get(self, artifact_id: str) -> Artifact | None:
        """Metadata of an artifact, or None when unknown, expired or malformed."""
        ...

    async def read(self, artifact: Artifact) -> bytes:
        """The bytes of an artifact."""
        ...

    async def cleanup(self) -> int:
        """Delete expired artifacts; return how many (0 when another replica is cleaning up meanwhile)."""
        ...

    async def open(self) -> None:
        """Prepare the store for use (at start-up)."""
        ...

    async def close(self) -> None:
        """Release what `open` took."""
        ...


class FileArtifactStore:
    """Artifacts as files under one directory: `<id>.bin` plus `<id>.json`."""

    def __init__(
        self, root: Path, *, ttl_seconds: float, clock: Callable[[], float], redact: Callable[[str], str] = str
    ) -> None:
        self.root = root
        self.redact = redact
        self.ttl = ttl_seconds
        self.wall = clock

    async def open(self) -> None:
        """Create the directory if needed (at start-up, not at construction)."""
        self.root.mkdir(parents=True, exist_ok=True)

    async def close(self) -> None:
        """Nothing to release."""

    def _paths(self, artifact_id: str) -> tuple[Path, Path]:
        return self.root / f"{artifact_id}.bin", self.root / f"{artifact_id}.json"

    async def put(self, data: bytes, *, mime_type: str, filename: str, parent: str | None = None) -> Artifact:
        artifact = new_artifact(
            data,
            mime_type=mime_type,
            filename=filename,
            parent=parent,
            now=self.wall(),
            ttl=self.ttl,
            redact=self.redact,
        )
        blob, meta = self._paths(artifact.id)
        blob.write_bytes(data)
        meta.write_text(artifact.model_dump_json())
        return artifact

    async def get(self, artifact_id: str) -> Artifact | None:
        if not valid_id(artifact_id):
            return None
        blob, meta = self._paths(artifact_id)
        try:
            artifact = Artifact.model_validate_json(meta.read_text())
        except (OSError, ValueError):
            return None
        if artifact.expires_at < self.wall() or not blob.is_file():
            return None
        return artifact

    async def read(self, artifact: Artifact) -> bytes:
        return self._paths(artifact.id)[0].read_bytes()

    async def cleanup(self) -> int:
        removed = 0
        now = self.wall()
        for meta in self.root.glob("*.json"):
            try:
                expired = json.loads(meta.read_text()).get("expires_at", 0) < now
            except (OSError, ValueError):
                expired = True
            if expired:
                for path in self._paths(meta.stem):
                    path.unlink(missing_ok=True)
                removed += 1
        return removed


class Files:
    """How operations hand files back: stored as artifacts, linked, a ZIP also listed member by member.

    Links point at `/artifacts/<id>` under `base_url` (the public URL or listen address of the HTTP server) or, on
    stdio, at the `artifact://<id>` resource every MCP client can read.
    """

    def __init__(self, store: ArtifactStore, base_url: str | None = None) -> None:
        self.store = store
        self.base_url = base_url.rstrip("/") if base_url else None

    def link(self, artifact: Artifact) -> str:
        """Where a client can get the file."""
        return f"{self.base_url}/artifacts/{artifact.id}" if self.base_url else artifact.uri

    def asset(self, artifact: Artifact, description: str | None = None) -> Asset:
        """The result asset for an artifact."""
        return Asset(
            url=self.link(artifact),
            resource=artifact.uri,
            kind=kind_of(artifact.mime_type),
            mime_type=artifact.mime_type,
            name=artifact.filename,
            description=description,
        )

    async def keep(self, data: bytes, *, mime_type: str, filename: str) -> list[Asset]:
        """Store a result file; a ZIP comes back as the archive followed by each member."""
        artifact = await self.store.put(data, mime_type=mime_type, filename=filename)
        assets = [self.asset(artifact, "the whole archive" if mime_type == "application/zip" else None)]
        if mime_type == "application/zip":
            try:
                members = await zip_members(self.store, artifact, data)
            except zipfile.BadZipFile:
                members = []
            assets += [self.asset(member, f"from {artifact.filename}") for member in members]
        return assets


async def zip_members(store: ArtifactStore, archive: Artifact, data: bytes, *, limit: int = 200) -> list[Artifact]:
    """Store each file of a ZIP as its own artifact (so a client can open one page without unpacking).

    Members are capped in number and in total size (a ZIP bomb stops at the cap); their types are sniffed.
    """
    members: list[Artifact] = []
    budget = 20 * max(len(data), 1024 * 1024)
    with zipfile.ZipFile(io.BytesIO(data)) as archive_file:
        for info in archive_file.infolist()[:limit]:
            if info.is_dir() or info.file_size > budget:
                continue
            content = archive_file.read(info)
            budget -= len(content)
            if budget < 0:
                break
            members.append(
                await store.put(
                    content, mime_type=_member_type(info.filename, content), filename=info.filename, parent=archive.id
                )
            )
    return members


def _member_type(name: str, content: bytes) -> str:
    sniffed = sniff_image(content)
    if sniffed:
        return sniffed
    lower = name.lower()
    if lower.endswith(".svg"):
        return "image/svg+xml"
    if lower.endswith(".pdf") and content.startswith(b"%PDF"):
        return "application/pdf"
    if lower.endswith((".txt", ".csv", ".json")):
        return "text/plain"
    return "application/octet-stream"
