"""The Masko simulator's CDN: a job's files at their final URLs, serving a "generating" placeholder until the job
finishes, then the drawn file (a labelled PNG, or a tiny stand-in for a video container)."""

from __future__ import annotations

import io
import struct

from PIL import Image, ImageChops
from starlette.requests import Request
from starlette.responses import Response

from providers._sandbox.images import placeholder_png
from providers.masko.simulator.core import SimulatorCore

__all__ = ["CdnRoutes", "draw"]

CONTENT_TYPES = {"png": "image/png", "mp4": "video/mp4", "webm": "video/webm", "mov": "video/quicktime"}


class CdnRoutes(SimulatorCore):
    """`GET /cdn/<path>`."""

    async def _cdn(self, request: Request) -> Response:
        """A file by its CDN path (no key needed, as on the real CDN)."""
        asset = self.assets.get(self._cdn_paths.get(request.path_params["path"], ""))
        if asset is None or asset.path is None:
            return Response("Not Found", status_code=404, media_type="text/plain")
        job = self.jobs.get(asset.job_id or "")
        item = self.items.get(asset.item_id or "")
        name = item.name if item else "Reference"
        if job is not None and job.status_at(self.now()) != "completed":
            # The real CDN serves a branded "generating" image at the final URL until the file replaces it.
            image = placeholder_png(f"{name}: generating...", width=256, height=256, label="MASKO PLACEHOLDER")
            return Response(image, media_type="image/png", headers={"Cache-Control": "no-store"})
        extension = asset.path.rsplit(".", 1)[1]
        if asset.id not in self._files:
            self._files[asset.id] = draw(asset.type, extension, job.prompt if job else name, name)
        return Response(self._files[asset.id], media_type=CONTENT_TYPES[extension])


def draw(asset_type: str, extension: str, prompt: str, name: str) -> bytes:
    """A finished file's content: a labelled PNG (with alpha for `transparent_image`), else a few bytes that start
    like the video container the extension names."""
    if extension == "png":
        png = placeholder_png(prompt, width=512, height=512, label=f"SANDBOX masko {asset_type}: {name}")
        if asset_type != "transparent_image":
            return png
        rgb = Image.open(io.BytesIO(png)).convert("RGB")
        colour = rgb.getpixel((0, 0))
        assert isinstance(colour, tuple)
        # Whatever differs from the background colour (the text) stays opaque; the background becomes transparent.
        mask = ImageChops.difference(rgb, Image.new("RGB", rgb.size, colour)).convert("L").point([0] + [255] * 255)
        image = rgb.convert("RGBA")
        image.putalpha(mask)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", optimize=True)
        return buffer.getvalue()
    note = f"masko sandbox {asset_type}: {prompt}".encode()[:200]
    if extension == "webm":
        return b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm" + note
    brand = b"qt  " if extension == "mov" else b"isom"
    ftyp = struct.pack(">I", 20) + b"ftyp" + brand + b"\x00\x00\x00\x00" + brand
    return ftyp + struct.pack(">I", 8 + len(note)) + b"free" + note
