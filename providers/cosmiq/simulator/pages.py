"""The plain HTTP pages a client follows after a Cosmiq call, served without a key: `GET /boards/<id>` (HTML),
`GET /images/<id>.png` and `GET /videos/<id>.mp4`."""

from __future__ import annotations

import html
import re

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from providers.cosmiq.simulator.store import BoardStore

__all__ = ["Pages"]

# A minimal MP4 header (an `ftyp` box and an empty `free` box): enough for a client to recognise the file type.
_MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2\x00\x00\x00\x08free"
_IMAGE_FILE = re.compile(r"(?P<id>img_[0-9a-f]+)\.png")
_VIDEO_FILE = re.compile(r"(?P<id>[0-9a-f]+)\.mp4")


def _not_found() -> Response:
    return Response("Not Found", status_code=404, media_type="text/plain")


class Pages(BoardStore):
    """The page handlers (routed by `CosmiqSimulator`)."""

    async def _board_page(self, request: Request) -> Response:
        board = self.boards.get(request.path_params["board_id"])
        if board is None:
            return _not_found()
        esc = html.escape
        nodes = "".join(
            f'<li id="{esc(node.id)}"><b>{esc(node.label or node.role)}</b>: {esc(node.text)}</li>'
            for node in board.nodes
        )
        images = "".join(f'<img src="{esc(self._image_url(image))}" alt="">' for image in board.images)
        video = ""
        if board.video is not None:
            video = f'<video src="{esc(self._base)}/videos/{esc(board.id)}.mp4" controls></video>'
        space = f"<p>Space: {esc(board.space)}</p>" if board.space else ""
        page = (
            f"<!doctype html><html><head><title>{esc(board.title)} - Cosmiq (sandbox)</title></head><body>"
            f"<h1>{esc(board.title)}</h1>{space}<ul>{nodes}</ul>{images}{video}</body></html>"
        )
        return HTMLResponse(page)

    async def _image_file(self, request: Request) -> Response:
        match = _IMAGE_FILE.fullmatch(request.path_params["name"])
        found = self._images.get(match["id"]) if match else None
        if found is None or found[0].id not in self.boards:
            return _not_found()
        return Response(self._png(*found), media_type="image/png")

    async def _video_file(self, request: Request) -> Response:
        match = _VIDEO_FILE.fullmatch(request.path_params["name"])
        board = self.boards.get(match["id"]) if match else None
        if board is None or board.video is None:
            return _not_found()
        return Response(_MP4, media_type="video/mp4")
