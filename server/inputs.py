"""Image inputs: what an agent actually has, made safe for a provider.

An image argument may be an http(s) URL, a `data:` URL or raw base64 (size-capped), an artifact reference
(`artifact://<id>` or a genmcp `/artifacts/<id>` link — a file genmcp holds, so one provider's output feeds another),
or a local path (off unless `inputs.allowed_dirs` lists directories, and then only regular image files inside
them). Providers that take URLs get URLs passed through; providers that need bytes get them through the SSRF guard
(`server.fetch`). Inline data is checked by encoded length before decoding, must decode, must sniff as the image
type it claims, and must stay under the pixel limit.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from server.artifacts import ArtifactStore, artifact_id_from
from server.config import InputSettings
from server.errors import InvalidInput
from server.fetch import Fetcher
from server.media import image_pixels, sniff_image

__all__ = ["ImageFile", "ImageInputs", "sniff_image"]

_DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(;[\w-]+=[^;,]*)*)(?P<b64>;base64)?,", re.I)
# How PNG, JPEG, GIF and WebP files begin once base64-encoded: tells raw base64 from a path.
_BASE64_IMAGE_PREFIXES = ("iVBORw0KGgo", "/9j/", "R0lGOD", "UklGR")
_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.3g} MiB" if n >= 1024 * 1024 else f"{n / 1024:.3g} KiB"


@dataclass(frozen=True)
class ImageFile:
    """An image's bytes, its sniffed type and a filename for uploads."""

    data: bytes
    mime_type: str
    filename: str

    def data_url(self) -> str:
        """The image as a data URL."""
        return f"data:{self.mime_type};base64,{base64.b64encode(self.data).decode()}"


class ImageInputs:
    """Turns image arguments into what providers take, refusing anything unsafe before any upstream request.

    Args:
        artifacts: The artifact store (for `artifact://` references).
        fetcher: The SSRF-guarded downloader (for providers that need bytes of a URL).
        public_base: The absolute URL genmcp is reachable at (`server.public_url`), when a provider must be able to
            fetch an artifact itself.
    """

    def __init__(
        self,
        settings: InputSettings,
        *,
        artifacts: ArtifactStore | None = None,
        fetcher: Fetcher | None = None,
        public_base: str | None = None,
    ) -> None:
        self.settings = settings
        self.artifacts = artifacts
        self.fetcher = fetcher
        self.public_base = public_base.rstrip("/") if public_base else None
        self._dirs = [Path(d).expanduser().resolve() for d in settings.allowed_dirs]

    @property
    def _limit(self) -> str:
        return _size(self.settings.max_image_bytes)

    @staticmethod
    def _scheme(text: str) -> str:
        head = text[:16]
        if ":" not in head:
            return ""
        scheme = head.split(":", 1)[0].lower()
        return "" if re.fullmatch(r"[a-z]", scheme) else scheme  # "C:\..." is a Windows path, not a scheme

    async def reference(self, value: str, *, field: str, data_urls: bool = True) -> str:
        """An image as a URL the provider fetches itself, or (when it accepts them) a data URL.

        Raises:
            InvalidInput: saying what was wrong and what is accepted.
        """
        text = value.strip()
        artifact_id = artifact_id_from(text)
        if artifact_id is not None:
            if self.public_base:
                await self._artifact(artifact_id, field)
                return f"{self.public_base}/artifacts/{artifact_id}"
            if not data_urls:
                raise InvalidInput(
                    f"{field}: this provider needs a public URL, and genmcp's files are only reachable when "
                    "server.public_url is set. Give an https:// URL instead."
                )
            return (await self._artifact_file(artifact_id, field)).data_url()
        scheme = self._scheme(text)
        if scheme in {"http", "https"}:
            return self._checked_url(text, field)
        if not data_urls:
            raise InvalidInput(f"{field}: this provider needs a public https:// URL (it fetches the image itself).")
        return self._inline_or_local(text, scheme, field).data_url()

    async def load(self, value: str, *, field: str) -> ImageFile:
        """An image's bytes, for providers that need the file itself (URLs are fetched through the SSRF guard)."""
        text = value.strip()
        artifact_id = artifact_id_from(text)
        if artifact_id is not None:
            return await self._artifact_file(artifact_id, field)
        scheme = self._scheme(text)
        if scheme in {"http", "https"}:
            if self.fetcher is None:
                raise InvalidInput(f"{field}: fetching URLs is not available here; give the image inline.")
            fetched = await self.fetcher.fetch(self._checked_url(text, field), field=field)
            return self._checked_image(fetched.data, field, claimed=fetched.content_type, name=fetched.filename)
        return self._inline_or_local(text, scheme, field)

    def _inline_or_local(self, text: str, scheme: str, field: str) -> ImageFile:
        if scheme == "data":
            return self._data_url(text, field)
        if scheme:
            raise InvalidInput(
                f"{field}: '{scheme}:' inputs are not accepted. Give an https:// URL, a data:image/...;base64 URL, "
                "raw base64, an artifact:// reference, or a local path inside inputs.allowed_dirs."
            )
        if text.startswith(_BASE64_IMAGE_PREFIXES):
            return self._checked_image(self._decode(text, field), field)
        return self._local_file(text, field)

    def _checked_url(self, url: str, field: str) -> str:
        parts = urlsplit(url)
        if not parts.hostname:
            raise InvalidInput(f"{field}: '{url[:80]}' has no host; give a full https:// URL.")
        if parts.username or parts.password:
            raise InvalidInput(f"{field}: URLs with user:password@ are not accepted.")
        return url

    def _data_url(self, text: str, field: str) -> ImageFile:
        match = _DATA_URL.match(text[:256])
        if not match or not match.group("b64"):
            raise InvalidInput(f"{field}: a data URL must look like data:image/png;base64,<data>.")
        claimed = (match.group("mime") or "").lower()
        return self._checked_image(self._decode(text[match.end() :], field), field, claimed=claimed, strict=True)

    def _decode(self, encoded: str, field: str) -> bytes:
        limit = self.settings.max_image_bytes
        # Checked before decoding, so an oversized payload costs no memory.
        if len(encoded) > math.ceil(limit / 3) * 4 + len(encoded) // 76 * 2 + 4:
            raise InvalidInput(
                f"{field}: the image (about {_size(len(encoded) * 3 // 4)}) is larger than the {self._limit} limit "
                "(inputs.max_image_bytes)."
            )
        try:
            return base64.b64decode("".join(encoded.split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidInput(f"{field}: the base64 data is invalid ({exc}).") from exc

    def _checked_image(
        self, data: bytes, field: str, *, claimed: str = "", name: str = "", strict: bool = False
    ) -> ImageFile:
        """Checked image bytes. `strict`: the claimed type (a data URL's) must be the sniffed one; otherwise (a
        download's Content-Type) only a claimed image type must match, since CDNs often say octet-stream."""
        if len(data) > self.settings.max_image_bytes:
            raise InvalidInput(f"{field}: the image is larger than the {self._limit} limit (inputs.max_image_bytes).")
        actual = sniff_image(data)
        if actual is None:
            raise InvalidInput(f"{field}: the data is not a PNG, JPEG, GIF or WebP image.")
        claimed = "image/jpeg" if claimed == "image/jpg" else claimed
        if claimed and claimed != actual and (strict or claimed.startswith("image/") or "html" in claimed):
            raise InvalidInput(f"{field}: the data says {claimed} but the bytes are {actual}.")
        pixels = image_pixels(data)
        if pixels is None:
            raise InvalidInput(f"{field}: the image is damaged or cannot be read.")
        if pixels > self.settings.max_image_pixels:
            raise InvalidInput(
                f"{field}: the image has {pixels:,} pixels, more than the {self.settings.max_image_pixels:,} allowed "
                "(inputs.max_image_pixels)."
            )
        stem = Path(name).stem if name else "image"
        return ImageFile(data=data, mime_type=actual, filename=f"{stem or 'image'}.{_EXTENSIONS[actual]}")

    async def _artifact(self, artifact_id: str, field: str) -> None:
        if self.artifacts is None or await self.artifacts.get(artifact_id) is None:
            raise InvalidInput(f"{field}: no artifact {artifact_id} (it may have expired).")

    async def _artifact_file(self, artifact_id: str, field: str) -> ImageFile:
        artifact = await self.artifacts.get(artifact_id) if self.artifacts is not None else None
        if artifact is None or self.artifacts is None:
            raise InvalidInput(f"{field}: no artifact {artifact_id} (it may have expired).")
        return self._checked_image(await self.artifacts.read(artifact), field, name=artifact.filename)

    def _local_file(self, text: str, field: str) -> ImageFile:
        if not self._dirs:
            raise InvalidInput(
                f"{field}: '{text[:80]}' is not a URL or base64, and local paths are off. Give an https:// URL or a "
                "data URL, or ask the operator to list the directory in inputs.allowed_dirs."
            )
        if "\x00" in text:
            raise InvalidInput(f"{field}: the path contains a NUL byte.")
        try:
            path = Path(text).expanduser().resolve(strict=True)
        except (OSError, RuntimeError) as exc:
            raise InvalidInput(f"{field}: no readable file at '{text[:120]}'.") from exc
        if not any(path.is_relative_to(root) for root in self._dirs):
            raise InvalidInput(f"{field}: '{text[:120]}' is outside the allowed directories (inputs.allowed_dirs).")
        if not path.is_file():
            raise InvalidInput(f"{field}: '{text[:120]}' is not a regular file.")
        if path.stat().st_size > self.settings.max_image_bytes:
            raise InvalidInput(f"{field}: the file is larger than the {self._limit} limit (inputs.max_image_bytes).")
        return self._checked_image(path.read_bytes(), field, name=path.name)
