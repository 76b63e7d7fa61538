"""The Masko simulator's helper routes: uploads (multipart or by URL), art styles, website analysis, and character
previews (temporary images, served until they expire)."""

from __future__ import annotations

import hashlib
import re
import secrets

from starlette.requests import Request
from starlette.responses import Response

from providers._sandbox.images import placeholder_png
from providers.masko.simulator.catalog import CHARACTERS, INDUSTRIES, MASCOT_NAMES, STYLES
from providers.masko.simulator.core import SimulatorCore
from providers.masko.simulator.parsing import (
    ApiError,
    http_host,
    json_object,
    multipart_image,
    opt_int,
    opt_str,
    req_str,
)
from providers.masko.simulator.state import COST_PREVIEW, MAX_PREVIEWS, PREVIEW_TTL, Caller, MaskoAsset, charge, new_id

__all__ = ["ExtraRoutes"]


class ExtraRoutes(SimulatorCore):
    """`/upload`, `/styles`, `/analyze-url`, `/generate/preview` and the preview files."""

    async def _upload(self, request: Request, caller: Caller) -> Response:
        asset = MaskoAsset(new_id(), caller.key, "image", self.now())
        if request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
            asset.data = await multipart_image(request)
        else:
            body = await json_object(request)
            asset.source_url = req_str(body, "url")
            http_host(asset.source_url, "url")
        self.assets[asset.id] = asset
        return self._reply({"asset_id": asset.id}, status=201)

    async def _styles(self, request: Request, caller: Caller) -> Response:
        base = self.public_url.rstrip("/")
        styles = [
            {"id": sid, "name": name, "preview_url": f"{base}/v1/previews/style-{sid}.png"} for sid, name in STYLES
        ]
        return self._reply({"styles": styles})

    async def _analyze_url(self, request: Request, caller: Caller) -> Response:
        body = await json_object(request)
        url = req_str(body, "url")
        host = http_host(url if "://" in url else f"https://{url}", "url").removeprefix("www.")
        digest = hashlib.sha256(host.encode()).digest()
        brand = " ".join(part.capitalize() for part in re.split(r"[-_]", host.split(".")[0]) if part) or "Brand"
        colors = [f"#{digest[i]:02x}{digest[i + 1]:02x}{digest[i + 2]:02x}" for i in (0, 3, 6)]
        suggestions = [
            {
                "name": MASCOT_NAMES[(digest[10] + n) % len(MASCOT_NAMES)],
                "prompt": f"A friendly {CHARACTERS[(digest[11] + n) % len(CHARACTERS)]} mascot for {brand}, "
                f"in {colors[0]} and {colors[1]}",
                "style": STYLES[(digest[12] + n) % len(STYLES)][0],
            }
            for n in range(3)
        ]
        data = {"brand": {"name": brand, "colors": colors, "industry": INDUSTRIES[digest[9] % len(INDUSTRIES)]}}
        return self._reply({**data, "suggestions": suggestions})

    async def _preview(self, request: Request, caller: Caller) -> Response:
        body = await json_object(request)
        prompt = req_str(body, "prompt")
        collection_id = opt_str(body, "collection_id")
        if collection_id is not None:
            # Variant B (generation page): a prompt test inside a collection, documented as free.
            collection = self._owned(self.collections, collection_id, caller, "Collection")
            text, count, cost = f"{collection.name}: {prompt}", 1, 0
        else:
            # Variant A (from-text page): "costs 1 credit and gives you 4 options".
            style = self._style(opt_str(body, "preset_id"))
            text, count, cost = f"{prompt} ({style or 'default style'})", opt_int(body, "count", 4), COST_PREVIEW
            if not 1 <= count <= MAX_PREVIEWS:
                raise ApiError(400, f"count must be between 1 and {MAX_PREVIEWS}")
        self._check_funds(caller.account, cost)
        charge(caller.account, cost)
        base = self.public_url.rstrip("/")
        token = secrets.token_hex(8)
        images = []
        for n in range(count):
            self._previews[f"{token}_{n}.png"] = (f"{text} #{n + 1}", self.now() + PREVIEW_TTL)
            images.append({"url": f"{base}/v1/previews/{token}_{n}.png"})
        return self._reply({"images": images, "cost": cost})

    async def _preview_file(self, request: Request) -> Response:
        preview = self._previews.get(request.path_params["name"])
        if preview is None or self.now() >= preview[1]:
            return Response("Not Found", status_code=404, media_type="text/plain")
        return Response(
            placeholder_png(preview[0], width=256, height=256, label="MASKO PREVIEW"), media_type="image/png"
        )
