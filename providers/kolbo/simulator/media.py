"""The files the simulator serves under `/media/{id}/{n}.{ext}`: placeholder images, videos and audio drawn for
finished generations (cached), and the reference images of Visual DNAs and moodboards."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response

from providers._sandbox.images import dimensions_for, placeholder_png
from providers._sandbox.media import placeholder_mp3, placeholder_mp4, silent_wav
from providers.kolbo.simulator.core import SimulatorCore
from providers.kolbo.simulator.records import Generation

__all__ = ["MediaEndpoints"]

VIDEO_SHORT_SIDE = {"480p": 480, "720p": 720, "1080p": 1080, "2160p": 2160}
_MEDIA_NAME = re.compile(r"(?P<index>[0-9]+)\.(?P<ext>[a-z0-9]+)")
_CONTENT_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "webp": "image/webp",
    "gif": "image/gif",
    "mp4": "video/mp4",
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
}


class MediaEndpoints(SimulatorCore):
    """`GET /media/{id}/{name}` (no key needed, like a CDN)."""

    async def _media(self, request: Request) -> Response:
        item_id: str = request.path_params["id"]
        match = _MEDIA_NAME.fullmatch(request.path_params["name"])
        content = self._media_bytes(item_id, int(match["index"]), match["ext"]) if match else None
        if match is None or content is None:
            return Response("Not Found", status_code=404, media_type="text/plain")
        return Response(content, media_type=_CONTENT_TYPES[match["ext"]])

    def _media_bytes(self, item_id: str, index: int, ext: str) -> bytes | None:
        cache_key = f"{item_id}/{index}.{ext}"
        if cache_key in self._files:
            return self._files[cache_key]
        dna, board = self.visual_dnas.get(item_id), self.moodboards.get(item_id)
        if dna is not None:
            ok = index < len(dna.images) and dna.image_extension(index) == ext
            return dna.images[index][0] if ok else None
        if board is not None:
            return board.image(index) if index < board.image_count and ext == "png" else None
        generation = self.generations.get(item_id)
        if generation is None:
            return None
        content = self._render(generation, index, ext)
        if content is not None:
            self._files[cache_key] = content
        return content

    def _render(self, generation: Generation, index: int, ext: str) -> bytes | None:
        now = self.now()
        label = f"SANDBOX kolbo {generation.resolved.identifier}"
        if generation.scenes:
            if not 1 <= index <= len(generation.scenes):
                return None
            scene = generation.scenes[index - 1]
            if generation.scene_status_at(scene, now)[0] != "completed":
                return None
            is_video = generation.params["workflow_type"] == "video"
            return self._visual(scene.prompt, generation, ext, label, allow_video=is_video)
        if generation.state_at(now) != "completed":
            return None
        kind, seconds = generation.type, generation.duration or 0.0
        if kind in ("image", "image_edit") and ext == "png" and index < generation.outputs:
            return self._visual(generation.prompt_used, generation, ext, label, allow_video=False)
        if kind == "video" and index == 0:
            return self._visual(generation.prompt_used or "video", generation, ext, label, allow_video=True)
        if kind == "music" and ext == "mp3" and index < generation.outputs:
            return placeholder_mp3(seconds, title=generation.params["title"])
        if kind == "speech" and ext == "mp3" and index == 0:
            return placeholder_mp3(seconds, title=generation.prompt[:60])
        if kind == "sound" and ext == "wav" and index == 0:
            return silent_wav(seconds)
        return None

    def _visual(self, text: str, generation: Generation, ext: str, label: str, *, allow_video: bool) -> bytes | None:
        ratio = generation.aspect_ratio or "1:1"
        if ext == "png":
            width, height = dimensions_for(ratio)
            return placeholder_png(text, width=width, height=height, label=label)
        if ext == "mp4" and allow_video:
            short = VIDEO_SHORT_SIDE[generation.resolution or "720p"]
            width, height = dimensions_for(ratio, long_side=10_000)
            scale = short / min(width, height)
            return placeholder_mp4(
                round(width * scale / 2) * 2, round(height * scale / 2) * 2, generation.duration or 0
            )
        return None
