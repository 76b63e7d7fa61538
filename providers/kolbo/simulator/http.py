"""The simulator's HTTP surface: Kolbo's error answers, typed access to JSON request bodies (each accessor answers a
400 the way Kolbo does), and the URLs media files are served at."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

__all__ = [
    "JsonBody",
    "KolboError",
    "error_response",
    "http_error_response",
    "invalid",
    "media_url",
    "missing_field",
    "read_json_body",
]


class KolboError(Exception):
    """An error answered as `{success: false, error, code}` (or as `body`, for the odd 429 shape)."""

    def __init__(self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None) -> None:
        """Describe the error; `body` may be replaced before raising."""
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}
        self.body: dict[str, Any] = {"success": False, "error": message, "code": code}


def missing_field(name: str) -> KolboError:
    """A 400 MISSING_FIELDS error."""
    return KolboError(400, "MISSING_FIELDS", f"Missing required field: {name}")


def invalid(message: str) -> KolboError:
    """A 400 for a present but unacceptable value (the docs name no code for it)."""
    return KolboError(400, "VALIDATION_ERROR", message)


async def error_response(request: Request, exc: Exception) -> Response:
    """Starlette exception handler for KolboError."""
    assert isinstance(exc, KolboError)
    return JSONResponse(exc.body, exc.status, headers=exc.headers)


async def http_error_response(request: Request, exc: Exception) -> Response:
    """Starlette exception handler that answers unknown routes and methods in the Kolbo error shape."""
    assert isinstance(exc, HTTPException)
    code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, "HTTP_ERROR")
    body = {"success": False, "error": str(exc.detail), "code": code}
    return JSONResponse(body, exc.status_code, headers=exc.headers)


class JsonBody:
    """A JSON request body (and the key that sent it) with typed accessors that raise 400 errors."""

    def __init__(self, data: dict[str, Any], key: str) -> None:
        """Wrap an already decoded JSON object."""
        self.data, self.key = data, key

    def text(self, name: str) -> str | None:
        """An optional string field."""
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise invalid(f"{name} must be a string")
        return value

    def required_text(self, name: str) -> str:
        """A string field that must be present and not blank (else MISSING_FIELDS)."""
        value = self.text(name)
        if value is None or not value.strip():
            raise missing_field(name)
        return value

    def flag(self, name: str, default: bool) -> bool:
        """An optional boolean field."""
        value = self.data.get(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise invalid(f"{name} must be true or false")
        return value

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        """An optional integer field within [low, high]."""
        value = self.data.get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise invalid(f"{name} must be an integer from {low} to {high}")
        return value

    def number(self, name: str, low: float, high: float) -> float | None:
        """An optional number field greater than low and at most high."""
        value = self.data.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not low < value <= high:
            raise invalid(f"{name} must be a number greater than {low:g} and at most {high:g}")
        return float(value)

    def strings(self, name: str, max_items: int) -> list[str]:
        """An optional array of non-empty strings with at most max_items items."""
        value = self.data.get(name)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
            raise invalid(f"{name} must be an array of strings")
        if len(value) > max_items:
            raise invalid(f"{name} accepts at most {max_items} items")
        return list(value)

    def urls(self, name: str, max_items: int) -> list[str]:
        """An optional array of http(s) or data:image URLs."""
        values = self.strings(name, max_items)
        for value in values:
            _check_url(name, value)
        return values

    def url(self, name: str) -> str:
        """A required http(s) or data:image URL."""
        value = self.required_text(name)
        _check_url(name, value)
        return value


async def read_json_body(request: Request, key: str) -> JsonBody:
    """Decode the request body, which must be a JSON object."""
    try:
        data = await request.json()
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
        raise invalid("Request body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise invalid("Request body must be a JSON object")
    return JsonBody(data, key)


def _check_url(name: str, value: str) -> None:
    if value.startswith("data:image/"):
        return
    try:
        url = urlsplit(value)
    except ValueError as exc:
        raise invalid(f"{name} must contain http(s) URLs") from exc
    if url.scheme not in ("http", "https") or not url.hostname:
        raise invalid(f"{name} must contain http(s) URLs")


def media_url(base_url: str, item_id: str, index: int, extension: str) -> str:
    """Where the simulator serves file `index` of a generation, Visual DNA or moodboard."""
    return f"{base_url.rstrip('/')}/media/{item_id}/{index}.{extension}"
