"""Reading a request to the Masko simulator: the JSON body's typed fields, query numbers, URLs and a multipart
image, each refused with Masko's 400 when wrong (`ApiError`, which every handler may raise)."""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request

from providers.masko.simulator.state import ANIMATION_SIZES, DEFAULT_DURATION, MAX_DURATION, MIN_DURATION

__all__ = [
    "ERROR_CODES",
    "ApiError",
    "http_host",
    "json_object",
    "multipart_image",
    "opt_bool",
    "opt_int",
    "opt_str",
    "read_duration",
    "read_number",
    "read_sizes",
    "req_str",
    "str_list",
]

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    402: "insufficient_credits",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    429: "rate_limited",
    500: "internal_error",
}


class ApiError(Exception):
    """A refusal, answered as Masko's error body with this status (and headers)."""

    def __init__(self, status: int, message: str, *, headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, ERROR_CODES[status], message, extra
        self.headers = headers or {}


async def json_object(request: Request, *, optional: bool = False) -> dict[str, Any]:
    """The body as a JSON object (an empty one when `optional` and the body is empty)."""
    raw = await request.body()
    if optional and not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
        raise ApiError(400, "Request body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "Request body must be a JSON object")
    return body


def opt_str(body: dict[str, Any], name: str) -> str | None:
    """A string field, stripped; None when absent or blank."""
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(400, f"{name} must be a string")
    return value.strip() or None


def req_str(body: dict[str, Any], name: str) -> str:
    """A string field that must be there."""
    value = opt_str(body, name)
    if value is None:
        raise ApiError(400, f"{name} is required")
    return value


def opt_bool(body: dict[str, Any], name: str, default: bool) -> bool:
    """A boolean field, `default` when absent."""
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ApiError(400, f"{name} must be true or false")
    return value


def opt_int(body: dict[str, Any], name: str, default: int) -> int:
    """An integer field (not a boolean), `default` when absent."""
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, f"{name} must be an integer")
    return value


def read_duration(body: dict[str, Any]) -> int:
    """An animation's `duration` in seconds, within the documented range."""
    duration = opt_int(body, "duration", DEFAULT_DURATION)
    if not MIN_DURATION <= duration <= MAX_DURATION:
        raise ApiError(400, f"duration must be between {MIN_DURATION} and {MAX_DURATION} seconds, got {duration}")
    return duration


def read_number(text: str, name: str) -> float:
    """A finite non-negative number from a query parameter."""
    try:
        value = float(text)
    except ValueError as exc:
        raise ApiError(400, f"{name} must be a number") from exc
    if not (math.isfinite(value) and value >= 0):
        raise ApiError(400, f"{name} must be a non-negative number")
    return value


def read_sizes(value: Any, name: str, default: list[int]) -> list[int]:
    """A list of animation sizes Masko renders, without repeats."""
    if value is None:
        return default
    allowed = ", ".join(map(str, ANIMATION_SIZES))
    if not isinstance(value, list) or not all(type(s) is int and s in ANIMATION_SIZES for s in value):
        raise ApiError(400, f"{name} must be a list of sizes from {allowed}")
    return list(dict.fromkeys(value))


def str_list(body: dict[str, Any], name: str) -> list[str]:
    """A list of non-empty strings (empty when absent)."""
    value = body.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ApiError(400, f"{name} must be an array of strings")
    return list(value)


def http_host(url: str, name: str) -> str:
    """The host of an http(s) URL."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as exc:
        raise ApiError(400, f"{name} must be an http(s) URL") from exc
    if parts.scheme not in ("http", "https") or not host:
        raise ApiError(400, f"{name} must be an http(s) URL")
    return host


async def multipart_image(request: Request) -> bytes:
    """The `file` of a multipart upload: a PNG, JPEG, WebP or GIF of at most 10 MB."""
    try:
        async with request.form(max_files=1, max_fields=16) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise ApiError(400, "Multipart upload needs a `file` field")
            data = await upload.read(MAX_UPLOAD_BYTES + 1)
    except HTTPException as exc:  # raised by Starlette's multipart parser
        raise ApiError(400, f"Invalid multipart body: {exc.detail}") from exc
    if len(data) > MAX_UPLOAD_BYTES:
        raise ApiError(400, "File exceeds 10 MB")
    png, jpeg = data.startswith(b"\x89PNG\r\n\x1a\n"), data.startswith(b"\xff\xd8\xff")
    webp, gif = data[:4] == b"RIFF" and data[8:12] == b"WEBP", data[:6] in (b"GIF87a", b"GIF89a")
    if not (png or jpeg or webp or gif):
        raise ApiError(400, "File must be a PNG, JPEG, WebP or GIF image")
    return data
