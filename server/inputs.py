"""Image inputs: what an agent actually has (a URL, a data URL, raw base64, a local file) made safe for a provider.

Providers that take URLs get URLs passed through untouched; inline data is checked by encoded length before it is
decoded, must decode, and must sniff as an image of the type it claims. Local paths are off unless
`inputs.allowed_dirs` lists directories, and then only regular files inside them are read.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from pathlib import Path
from urllib.parse import urlsplit

from server.config import InputSettings
from server.errors import InvalidInput

__all__ = ["ImageInputs", "sniff_image"]

_DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(;[\w-]+=[^;,]*)*)(?P<b64>;base64)?,", re.I)
# How PNG, JPEG, GIF and WebP files begin once base64-encoded: tells raw base64 from a path.
_BASE64_IMAGE_PREFIXES = ("iVBORw0KGgo", "/9j/", "R0lGOD", "UklGR")
_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
)


def sniff_image(data: bytes) -> str | None:
    """The image MIME type the bytes really are (PNG, JPEG, GIF, WebP), or None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    for magic, offset, mime in _SIGNATURES:
        if data[offset : offset + len(magic)] == magic:
            return mime
    return None


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.3g} MiB" if n >= 1024 * 1024 else f"{n / 1024:.3g} KiB"


class ImageInputs:
    """Turns an image argument into what a provider takes, refusing anything unsafe before any upstream request."""

    def __init__(self, settings: InputSettings) -> None:
        self.settings = settings
        self._dirs = [Path(d).expanduser().resolve() for d in settings.allowed_dirs]

    @property
    def _limit(self) -> str:
        return _size(self.settings.max_image_bytes)

    def reference(self, value: str, *, field: str) -> str:
        """An image as a provider-fetchable URL or a data URL.

        Args:
            value: An http(s) URL, a `data:image/…;base64,…` URL, raw base64, or a local path.
            field: The argument's name, for messages.

        Raises:
            InvalidInput: saying what was wrong and what is accepted.
        """
        text = value.strip()
        scheme = text.split(":", 1)[0].lower() if ":" in text[:12] else ""
        if scheme in {"http", "https"}:
            return self._checked_url(text, field)
        if scheme == "data":
            return self._checked_data_url(text, field)
        if scheme and not re.fullmatch(r"[a-z]", scheme):  # "C:\..." is a Windows path, not a scheme
            raise InvalidInput(
                f"{field}: '{scheme}:' inputs are not accepted. Give an https:// URL, a data:image/...;base64 URL, "
                "raw base64, or a local path inside inputs.allowed_dirs."
            )
        if text.startswith(_BASE64_IMAGE_PREFIXES):
            data = self._decode(text, field)
            return f"data:{self._require_image(data, field)};base64,{base64.b64encode(data).decode()}"
        return self._local_file(text, field)

    def _checked_url(self, url: str, field: str) -> str:
        parts = urlsplit(url)
        if not parts.hostname:
            raise InvalidInput(f"{field}: '{url[:80]}' has no host; give a full https:// URL.")
        if parts.username or parts.password:
            raise InvalidInput(f"{field}: URLs with user:password@ are not accepted.")
        return url

    def _checked_data_url(self, text: str, field: str) -> str:
        match = _DATA_URL.match(text[:256])
        if not match or not match.group("b64"):
            raise InvalidInput(f"{field}: a data URL must look like data:image/png;base64,<data>.")
        claimed = (match.group("mime") or "").lower()
        data = self._decode(text[match.end() :], field)
        actual = self._require_image(data, field)
        if claimed and claimed != actual and not (claimed == "image/jpg" and actual == "image/jpeg"):
            raise InvalidInput(f"{field}: the data URL says {claimed} but the bytes are {actual}.")
        return f"data:{actual};base64,{base64.b64encode(data).decode()}"

    def _decode(self, encoded: str, field: str) -> bytes:
        limit = self.settings.max_image_bytes
        # Checked before decoding, so an oversized payload costs no memory.
        if len(encoded) > math.ceil(limit / 3) * 4 + len(encoded) // 76 * 2 + 4:
            raise InvalidInput(
                f"{field}: the image (about {_size(len(encoded) * 3 // 4)}) is larger than the {self._limit} limit "
                "(inputs.max_image_bytes)."
            )
        try:
            data = base64.b64decode("".join(encoded.split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidInput(f"{field}: the base64 data is invalid ({exc}).") from exc
        if len(data) > limit:
            raise InvalidInput(f"{field}: the image is larger than the {self._limit} limit (inputs.max_image_bytes).")
        return data

    def _require_image(self, data: bytes, field: str) -> str:
        mime = sniff_image(data)
        if mime is None:
            raise InvalidInput(f"{field}: the data is not a PNG, JPEG, GIF or WebP image.")
        return mime

    def _local_file(self, text: str, field: str) -> str:
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
        data = path.read_bytes()
        return f"data:{self._require_image(data, field)};base64,{base64.b64encode(data).decode()}"
