"""The Masko simulator as one Starlette app: its route table, authentication and rate limiting in front of every
API route, and the parts it is composed of (collections, generation, canvases, helpers, jobs, the CDN)."""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from providers._sandbox.faults import Faults, RequestLog, SimulatorMiddleware
from providers.masko.simulator.canvas_routes import CanvasRoutes
from providers.masko.simulator.catalog import STYLES
from providers.masko.simulator.cdn import CdnRoutes
from providers.masko.simulator.collections import CollectionRoutes
from providers.masko.simulator.core import Handler
from providers.masko.simulator.extras import ExtraRoutes
from providers.masko.simulator.parsing import ApiError
from providers.masko.simulator.state import Caller, MaskoAccount

__all__ = ["MaskoSimulator"]

DOCUMENTED_RATE_LIMIT = 60
RATE_WINDOW = 60.0


class MaskoSimulator(CanvasRoutes, CollectionRoutes, ExtraRoutes, CdnRoutes):
    """A Starlette app that behaves like the Masko API, with inspectable state."""

    def __init__(
        self,
        *,
        accounts: dict[str, MaskoAccount] | None = None,
        job_seconds: float = 8.0,
        now: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        public_url: str = "http://127.0.0.1",
        envelope: bool = True,
        wait_timeout: float = 120.0,
        rate_limit: int | None = None,
    ) -> None:
        """Create the simulator; accounts default to {"masko_sandbox": MaskoAccount()}."""
        self.accounts = accounts if accounts is not None else {"masko_sandbox": MaskoAccount()}
        self.job_seconds = job_seconds
        self.now = now
        self.sleep = sleep
        self.public_url = public_url
        self.envelope = envelope
        self.wait_timeout = wait_timeout
        self.rate_limit = rate_limit
        self.projects = {}
        self.collections = {}
        self.items = {}
        self.assets = {}
        self.jobs = {}
        self.canvases = {}
        self.requests = RequestLog()
        self.faults = Faults()
        self._epoch = time.time() - now()
        self._cdn_paths = {}
        self._files = {}
        self._previews = {f"style-{sid}.png": (name, math.inf) for sid, name in STYLES}
        self._windows = {}
        canvas = "/v1/collections/{collection_id}/canvases/{canvas_id}"
        api: list[tuple[str, str, Handler]] = [
            ("POST", "/v1/projects", self._create_project),
            ("GET", "/v1/projects", self._list_projects),
            ("POST", "/v1/collections", self._create_collection),
            ("GET", "/v1/collections", self._list_collections),
            ("GET", "/v1/collections/{collection_id}", self._get_collection),
            ("PATCH", "/v1/collections/{collection_id}/settings", self._update_settings),
            ("GET", "/v1/collections/{collection_id}/items", self._list_items),
            ("GET", "/v1/collections/{collection_id}/urls", self._collection_urls),
            ("POST", "/v1/collections/{collection_id}/generate", self._generate),
            ("POST", "/v1/collections/{collection_id}/generate-batch", self._generate_batch),
            ("POST", "/v1/collections/{collection_id}/suggest-actions", self._suggest_actions),
            ("POST", "/v1/collections/{collection_id}/canvases", self._create_canvas),
            ("GET", canvas, self._get_canvas),
            ("POST", canvas + "/from-template", self._canvas_from_template),
            ("POST", canvas + "/generate-all", self._canvas_generate_all),
            ("GET", canvas + "/status", self._canvas_status),
            ("GET", canvas + "/export", self._canvas_export),
            ("GET", "/v1/canvas-templates", self._list_templates),
            ("POST", "/v1/upload", self._upload),
            ("POST", "/v1/analyze-url", self._analyze_url),
            ("GET", "/v1/styles", self._styles),
            ("POST", "/v1/generate/preview", self._preview),
            ("GET", "/v1/jobs", self._list_jobs),
            ("GET", "/v1/jobs/{job_id}", self._get_job),
            ("GET", "/v1/credits", self._credits),
        ]
        routes = [Route(path, self._api(handler), methods=[method]) for method, path, handler in api]
        routes.append(Route("/v1/previews/{name}", self._preview_file, methods=["GET"]))
        routes.append(Route("/cdn/{path:path}", self._cdn, methods=["GET"]))
        self.app = Starlette(
            routes=routes,
            middleware=[Middleware(SimulatorMiddleware, log=self.requests, faults=self.faults)],
            exception_handlers={HTTPException: self._http_error},
        )

    def _api(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """The endpoint of an API route: settle refunds, authenticate, count against the rate limit, answer."""

        async def endpoint(request: Request) -> Response:
            self._settle()
            headers: dict[str, str] = {}
            try:
                caller = self._authenticate(request)
                headers = self._count_request(caller.key)
                response = await handler(request, caller)
            except ApiError as exc:
                response = self._error_response(exc)
            response.headers.update(headers)
            return response

        return endpoint

    def _authenticate(self, request: Request) -> Caller:
        """The caller of a `Bearer masko_…` key the simulator knows (else 401)."""
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise ApiError(401, "Missing or malformed Authorization header (expected: Bearer masko_...)")
        account = self.accounts.get(key)
        if account is None:
            raise ApiError(401, "Invalid API key")
        return Caller(key, account)

    def _count_request(self, key: str) -> dict[str, str]:
        """Count a request in the key's window; the rate-limit headers to send (429 once the window is full)."""
        if self.rate_limit is None:
            return {"X-RateLimit-Remaining": str(DOCUMENTED_RATE_LIMIT), "X-RateLimit-Reset": str(int(RATE_WINDOW))}
        now = self.now()
        start, count = self._windows.get(key, (now, 0))
        if now >= start + RATE_WINDOW:
            start, count = now, 0
        reset = str(max(1, math.ceil(start + RATE_WINDOW - now)))
        if count >= self.rate_limit:
            headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset, "Retry-After": reset}
            raise ApiError(429, f"Rate limit exceeded; retry in {reset} s", headers=headers, retry_after=int(reset))
        self._windows[key] = (start, count + 1)
        return {"X-RateLimit-Remaining": str(self.rate_limit - count - 1), "X-RateLimit-Reset": reset}
