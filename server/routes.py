"""The HTTP routes beside the MCP endpoint: `/healthz` and `/artifacts/<id>`."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from server.artifacts import ArtifactStore

__all__ = ["artifact_response"]

# Types a browser may show in place; everything else (SVG, HTML, XML, scripts, archives…) is a download.
_INLINE = {"image/png", "image/jpeg", "image/gif", "image/webp", "video/mp4", "video/webm", "audio/mpeg", "audio/wav"}


async def artifact_response(store: ArtifactStore, request: Request) -> Response:
    """Serve an artifact with its stored type, never sniffed, never run: unknown or malformed ids are 404."""
    artifact = await store.get(str(request.path_params.get("artifact_id", "")))
    if artifact is None:
        return PlainTextResponse("not found", status_code=404, headers={"X-Content-Type-Options": "nosniff"})
    disposition = "inline" if artifact.mime_type in _INLINE else "attachment"
    ascii_name = artifact.filename.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    names = f"filename=\"{ascii_name}\"; filename*=UTF-8''{quote(artifact.filename)}"
    return Response(
        await store.read(artifact),
        media_type=artifact.mime_type,
        headers={
            "Content-Disposition": f"{disposition}; {names}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "private, max-age=3600",
        },
    )
