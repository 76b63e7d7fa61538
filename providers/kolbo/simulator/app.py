"""The Kolbo simulator: a Starlette app that behaves like the Kolbo Developer API, assembled from the endpoint groups
of this package, plus the account, catalogue, Visual DNA and moodboard endpoints."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from providers._sandbox.faults import SimulatorMiddleware
from providers.kolbo.simulator.catalogue import models_matching
from providers.kolbo.simulator.chat import ChatEndpoints
from providers.kolbo.simulator.generate import GenerationEndpoints
from providers.kolbo.simulator.http import KolboError, error_response, http_error_response
from providers.kolbo.simulator.library import VisualDna, list_moodboards, list_visual_dnas, read_visual_dna_form
from providers.kolbo.simulator.media import MediaEndpoints
from providers.kolbo.simulator.records import KolboAccount, num

__all__ = ["KolboSimulator"]


class KolboSimulator(GenerationEndpoints, ChatEndpoints, MediaEndpoints):
    """A Starlette app that behaves like the Kolbo Developer API, with inspectable state."""

    def __init__(
        self,
        *,
        accounts: dict[str, KolboAccount] | None = None,
        job_seconds: float = 8.0,
        now: Callable[[], float] = time.monotonic,
        public_url: str = "http://127.0.0.1",
        insufficient_status: int = 402,
        rate_limit: int | None = None,
        refund_on_cancel: bool = True,
    ) -> None:
        """Create the simulator; accounts default to {"kolbo_live_sandbox": KolboAccount()} (see `SimulatorCore`)."""
        super().__init__(
            accounts=accounts,
            job_seconds=job_seconds,
            now=now,
            public_url=public_url,
            insufficient_status=insufficient_status,
            rate_limit=rate_limit,
            refund_on_cancel=refund_on_cancel,
        )
        generate = "/api/v1/generate"
        self.app = Starlette(
            routes=[
                Route(f"{generate}/image", self._image, methods=["POST"]),
                Route(f"{generate}/image-edit", self._image_edit, methods=["POST"]),
                Route(f"{generate}/video", self._video, methods=["POST"]),
                Route(f"{generate}/video/from-image", self._video_from_image, methods=["POST"]),
                Route(f"{generate}/music", self._music, methods=["POST"]),
                Route(f"{generate}/speech", self._speech, methods=["POST"]),
                Route(f"{generate}/sound", self._sound, methods=["POST"]),
                Route(f"{generate}/creative-director", self._creative_director, methods=["POST"]),
                Route(f"{generate}/creative-director/{{id}}/status", self._cd_status, methods=["GET"]),
                Route(f"{generate}/{{id}}/status", self._status, methods=["GET"]),
                Route(f"{generate}/{{id}}/cancel", self._cancel, methods=["POST"]),
                Route("/api/v1/chat", self._chat, methods=["POST"]),
                Route("/api/v1/models", self._models, methods=["GET"]),
                Route("/api/v1/account/credits", self._credits, methods=["GET"]),
                Route("/api/v1/visual-dna", self._create_dna, methods=["POST"]),
                Route("/api/v1/visual-dna", self._list_dnas, methods=["GET"]),
                Route("/api/v1/visual-dna/{id}", self._get_dna, methods=["GET"]),
                Route("/api/v1/visual-dna/{id}", self._delete_dna, methods=["DELETE"]),
                Route("/api/v1/moodboards", self._list_moodboards, methods=["GET"]),
                Route("/api/v1/moodboards/{id}", self._get_moodboard, methods=["GET"]),
                Route("/media/{id}/{name}", self._media, methods=["GET"]),
            ],
            middleware=[Middleware(SimulatorMiddleware, log=self.requests, faults=self.faults)],
            exception_handlers={KolboError: error_response, HTTPException: http_error_response},
        )

    # --- account, models and resources ----------------------------------------------------------

    async def _models(self, request: Request) -> Response:
        self._authenticate(request)
        query = request.query_params
        models = [model.to_json() for model in models_matching(query.get("type"), query.get("provider"))]
        return JSONResponse({"success": True, "models": models, "count": len(models)})

    async def _credits(self, request: Request) -> Response:
        _, account = self._authenticate(request)
        credits = {
            "total": num(account.total),
            "plan_credits": num(account.plan_credits),
            "credit_pack": num(account.credit_pack),
            "redemption": num(account.redemption),
        }
        return JSONResponse({"success": True, "credits": credits})

    async def _create_dna(self, request: Request) -> Response:
        key, _ = self._authenticate(request)
        upload = await read_visual_dna_form(request)
        name, dna_type, helper = upload.name, upload.dna_type, upload.prompt_helper
        description = f"Sandbox analysis of {len(upload.images)} reference image(s) of the {dna_type} {name!r}."
        dna = VisualDna(
            id=secrets.token_hex(12),
            name=name,
            dna_type=dna_type,
            owner=key,
            images=upload.images,
            created_at=self._timestamp(self.now()),
            prompt_helper=helper,
            description=f"{description} {helper}".strip(),
            system_prompt=f"Keep the {dna_type} {name!r} consistent with its reference images. {helper}".strip(),
        )
        self.visual_dnas[dna.id] = dna
        return JSONResponse({"success": True, "visual_dna": dna.to_json(self.public_url)})

    async def _list_dnas(self, request: Request) -> Response:
        key, _ = self._authenticate(request)
        return JSONResponse(list_visual_dnas(self.visual_dnas.values(), key, request.query_params, self.public_url))

    async def _get_dna(self, request: Request) -> Response:
        key, _ = self._authenticate(request)
        dna = self._dna_for(key, request.path_params["id"])
        return JSONResponse({"success": True, "visual_dna": dna.to_json(self.public_url, detail=True)})

    async def _delete_dna(self, request: Request) -> Response:
        key, _ = self._authenticate(request)
        dna = self._dna_for(key, request.path_params["id"])
        if dna.is_global:
            raise KolboError(403, "FORBIDDEN", "Global Visual DNAs cannot be deleted")
        del self.visual_dnas[dna.id]
        return JSONResponse({"success": True, "message": "Visual DNA deleted successfully"})

    async def _list_moodboards(self, request: Request) -> Response:
        key, _ = self._authenticate(request)
        scope = request.query_params.get("scope")
        return JSONResponse(list_moodboards(self.moodboards.values(), key, scope, self.public_url))

    async def _get_moodboard(self, request: Request) -> Response:
        key, _ = self._authenticate(request)
        board = self.moodboards.get(request.path_params["id"])
        if board is None or not board.visible_to(key):
            raise KolboError(404, "NOT_FOUND", "Moodboard not found")
        return JSONResponse({"success": True, "moodboard": board.to_json(self.public_url, detail=True)})
