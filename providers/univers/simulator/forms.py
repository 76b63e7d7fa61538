"""Requests and answers the way the service's FastAPI app handles them: form fields and their 422 errors, upload
checks, `{"detail": …}` error bodies, and files sent as attachments."""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from providers.univers.simulator.images import sniff_image_type
from providers.univers.simulator.packaging import File

__all__ = [
    "MAX_BULK",
    "ApiError",
    "Fields",
    "api_error_response",
    "file_response",
    "http_exception_response",
    "parse_form",
    "read_upload",
    "stem",
    "unique",
]

ALLOWED_TYPES = frozenset({"image/png", "image/jpeg", "image/webp"})
MAX_IMAGE_BYTES = 10_000_000
MAX_BULK = 50
_UNSAFE_NAME = re.compile(r'[^\x20-\x7e]|["\\/]')


class ApiError(Exception):
    """An error answer: `{"detail": detail}` with this status."""

    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


class Fields:
    """Reads form fields the way FastAPI does, collecting its 422 validation errors."""

    def __init__(self, form: FormData) -> None:
        self.form = form
        self.errors: list[dict[str, Any]] = []

    def _value(self, name: str) -> str | UploadFile | None:
        value = self.form.get(name)
        # FastAPI treats an empty form value as absent.
        return None if value == "" else value

    def text(self, name: str, default: str) -> str:
        value = self._value(name)
        return value if isinstance(value, str) else default

    def required_text(self, name: str) -> str:
        value = self._value(name)
        if isinstance(value, str):
            return value
        self._missing(name)
        return ""

    def integer(self, name: str, default: int) -> int:
        value = self._value(name)
        if not isinstance(value, str):
            return default
        try:
            return int(value.strip())
        except ValueError:
            self.errors.append(
                {
                    "type": "int_parsing",
                    "loc": ["body", name],
                    "msg": "Input should be a valid integer, unable to parse string as an integer",
                    "input": value,
                }
            )
            return default

    def file(self, name: str) -> UploadFile | None:
        value = self._value(name)
        if isinstance(value, UploadFile):
            return value
        if value is None:
            self._missing(name)
        else:
            self.errors.append(
                {
                    "type": "value_error",
                    "loc": ["body", name],
                    "msg": f"Value error, Expected UploadFile, received: {type(value)}",
                    "input": value,
                    "ctx": {"error": {}},
                }
            )
        return None

    def files(self, name: str) -> list[UploadFile | str]:
        values = self.form.getlist(name)
        if not values:
            self._missing(name)
        return values

    def raise_errors(self) -> None:
        if self.errors:
            raise ApiError(422, self.errors)

    def _missing(self, name: str) -> None:
        self.errors.append({"type": "missing", "loc": ["body", name], "msg": "Field required", "input": None})


async def parse_form(request: Request) -> FormData:
    try:
        return await request.form(max_files=MAX_BULK * 20, max_fields=1000)
    except HTTPException as exc:  # raised by Starlette's multipart parser
        raise ApiError(400, "There was an error parsing the body") from exc


async def read_upload(upload: UploadFile) -> bytes:
    """The upload's bytes, checked like the real server (declared type, size) and also by magic bytes."""
    if upload.content_type not in ALLOWED_TYPES:
        raise ApiError(400, f"Unsupported image type: {upload.content_type}")
    data = await upload.read(MAX_IMAGE_BYTES + 1)
    if len(data) > MAX_IMAGE_BYTES:
        raise ApiError(400, "Image too large (max 10 MB)")
    if sniff_image_type(data) is None:
        detail = "file content is not a PNG, JPEG or WebP image"
        raise ApiError(400, f"Unsupported image type: {upload.content_type} ({detail})")
    return data


def file_response(file: File) -> Response:
    """The file as an attachment named like the real server names it."""
    return Response(
        file.content,
        media_type=file.media_type,
        headers={"Content-Disposition": f'attachment; filename="{file.filename}"'},
    )


def stem(filename: str | None) -> str:
    """The upload's file name without directory and extension, made safe for a header and a ZIP path."""
    if not filename:
        return ""
    return _UNSAFE_NAME.sub("_", PurePosixPath(filename).stem)


def unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}-{n}"
    taken.add(candidate)
    return candidate


async def api_error_response(request: Request, exc: Exception) -> Response:
    """The answer to an `ApiError`."""
    assert isinstance(exc, ApiError)
    return JSONResponse({"detail": exc.detail}, exc.status)


async def http_exception_response(request: Request, exc: Exception) -> Response:
    """Starlette's own errors (unknown route, wrong method) in FastAPI's JSON shape."""
    assert isinstance(exc, HTTPException)
    return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)
