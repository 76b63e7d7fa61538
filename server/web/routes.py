"""The web page's routes: `/` (jobs, gallery, spend), `/ui/jobs.json` (live progress of running jobs),
`/ui/thumb/<job>/<n>` (thumbnails made by genmcp, so the page loads nothing from elsewhere), `/ui/static/*`, and
sign-in / sign-out when inbound auth is on.

Server-rendered with Jinja2 (autoescaped); the one small script only refreshes the progress of running jobs, and the
page works without it. Every response carries a strict Content-Security-Policy.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import anyio
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from server import __version__
from server.callers import Caller
from server.errors import GenmcpError
from server.results import ToolResult
from server.web.access import COOKIE, Access, Visitor
from server.web.data import Filters, job_row, load_page

if TYPE_CHECKING:
    from server.app import Runtime

__all__ = ["web_routes"]

log = logging.getLogger("genmcp.web")

_HERE = Path(__file__).parent
_TEMPLATES = Jinja2Templates(directory=_HERE / "templates")
_LIVE_AT_ONCE = 20
_BALANCE_REFRESH = 60.0


def _headers(media_origins: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
        f"media-src 'self' {media_origins}; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'",
        "X-Content-Type-Options": "nosniff",
        # same-origin, not no-referrer: with no-referrer a browser sends `Origin: null` on the sign-in form, which
        # the Origin check must refuse; other sites (a provider's file) still get no referrer.
        "Referrer-Policy": "same-origin",
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store",
    }


class WebPage:
    """The page of one runtime."""

    def __init__(self, runtime: Runtime, access: Access) -> None:
        self.runtime = runtime
        self.access = access
        self._balances_at = 0.0

    @property
    def headers(self) -> dict[str, str]:
        """Response headers; media may come from the providers (https) or the sandbox's own loopback server."""
        sandbox = self.runtime.sandbox_server.url if self.runtime.sandbox_server is not None else ""
        return _headers(" ".join(filter(None, ["https:", sandbox])))

    async def _visitor(self, request: Request, *, page: bool = True) -> Visitor | Response:
        """The visitor; else the answer to give: a refusal (host, origin), or — nobody signed in — the way to sign in
        (for the page) or 401 (for its data)."""
        refused = await self.access.refused(request)
        if refused is not None:
            return refused
        visitor = await self.access.visitor(request)
        if visitor is not None:
            return visitor
        if not page:
            return JSONResponse({"error": "sign in"}, status_code=401, headers=self.headers)
        if self.access.sessions is not None:
            return self.access.sessions.sign_in_redirect(request)
        return self._render(request, "signin.html", {"error": None}, status=401)

    def _render(self, request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
        sessions = self.access.sessions
        sign_out: dict[str, str | None] = {"action": "/signout", "csrf": None, "field": None}
        csrf = None
        if sessions is not None:
            from server.oauth.sessions import CSRF_FIELD

            csrf = sessions.csrf_token(request)
            sign_out = {"action": "/oauth/sign-out", "csrf": csrf, "field": CSRF_FIELD}
        context = {
            "version": __version__,
            "sandbox": self.runtime.sandbox,
            "open": self.access.open,
            "sign_out": sign_out,
            **context,
        }
        response = _TEMPLATES.TemplateResponse(request, name, context, status_code=status)
        response.headers.update(self.headers)
        if sessions is not None and csrf is not None:
            sessions.set_csrf(response, csrf)  # the built-in sign-out form is checked against it
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="genmcp"'
        return response

    async def index(self, request: Request) -> Response:
        visitor = await self._visitor(request)
        if isinstance(visitor, Response):
            return visitor
        await self._refresh_balances()
        assembly = self.runtime.assembly
        page = await load_page(
            store=self.runtime.store,
            ledger=self.runtime.ledger,
            policy=assembly.guard.policy,
            artifacts=self.runtime.artifacts,
            providers=sorted(self.runtime.served),
            visitor=Caller(name=visitor.name),
            filters=Filters.of(dict(request.query_params), sorted(self.runtime.served)),
        )
        return self._render(request, "index.html", {"page": page, "visitor": visitor})

    async def _refresh_balances(self) -> None:
        """Live balances (where a provider can say) at most once a minute; the page shows the last ones seen."""
        if time.monotonic() - self._balances_at < _BALANCE_REFRESH:
            return
        self._balances_at = time.monotonic()
        with anyio.move_on_after(3):
            await self.runtime.balances.credits()

    async def live(self, request: Request) -> Response:
        """Status and progress of the running jobs the page shows (each refreshed with one look upstream)."""
        visitor = await self._visitor(request, page=False)
        if isinstance(visitor, Response):
            return visitor
        caller = Caller(name=visitor.name)
        ids = [value for value in request.query_params.get("ids", "").split(",") if value][:_LIVE_AT_ONCE]
        answer: dict[str, Any] = {}
        for job_id in ids:
            job = await self.runtime.store.get(job_id[:64])
            if job is None or not caller.may_see(job) or job.key_ref is not None:
                continue
            if job.status == "running" and job.handle:
                with anyio.move_on_after(5):
                    try:
                        await self.runtime.handles.poll(job.handle, wait=0, progress=None, caller=caller)
                    except GenmcpError as exc:
                        log.debug("live refresh of %s: %s", job.handle, exc.code)
                job = await self.runtime.store.get(job.id) or job
            row = job_row(job)
            files = f"{row.files} file" + ("" if row.files == 1 else "s")
            stage = row.stage if row.status == "running" else files
            answer[job.id] = {"status": row.status, "progress": row.progress, "stage": stage, "cost": row.cost}
        return JSONResponse(answer, headers=self.headers)

    async def thumbnail(self, request: Request) -> Response:
        """A small JPEG of one image of a job the visitor may see."""
        visitor = await self._visitor(request, page=False)
        if isinstance(visitor, Response):
            return visitor
        job = await self.runtime.store.get(str(request.path_params["job_id"])[:64])
        index = request.path_params["index"]
        if job is None or not Caller(name=visitor.name).may_see(job) or not 0 <= index < len(job.assets):
            return Response("not found", status_code=404, headers=self.headers)
        asset = job.assets[index]
        preview = await self.runtime.previews.of(
            ToolResult(provider=job.provider, operation=job.operation, status="completed", assets=[asset])
        )
        if preview is None:
            return Response("no thumbnail", status_code=404, headers=self.headers)
        cached = {**self.headers, "Cache-Control": "private, max-age=3600"}
        return Response(preview.data, media_type=preview.mime_type, headers=cached)

    async def sign_in(self, request: Request) -> Response:
        refused = await self.access.refused(request)
        if refused is not None:
            return refused
        if self.access.sessions is not None:
            # With genmcp's own authorization server, people sign in on its page (and come back here).
            return RedirectResponse(self.access.sessions.sign_in_url("/"), status_code=303)
        if request.method == "GET" or self.access.open:
            return RedirectResponse("/", status_code=303)
        form = await request.form(max_files=0, max_fields=4, max_part_size=16384)
        token = form.get("token")
        address = request.client.host if request.client else "unknown"
        try:
            async with self.runtime.limits.admit(f"signin:{address}"):
                visitor = await self.access.sign_in(token if isinstance(token, str) else "")
        except GenmcpError as exc:
            return self._render(request, "signin.html", {"error": exc.message}, status=429)
        if visitor is None:
            return self._render(request, "signin.html", {"error": "That token is not valid here."}, status=401)
        response = RedirectResponse("/", status_code=303)
        secure = urlsplit(self.runtime.settings.server.public_url).scheme == "https" or request.url.scheme == "https"
        response.set_cookie(
            COOKIE, self.access.cookie(visitor), httponly=True, samesite="strict", secure=secure, path="/"
        )
        return response

    async def icon(self, request: Request) -> Response:
        return FileResponse(
            _HERE / "static" / "favicon.svg", media_type="image/svg+xml", headers={"Cache-Control": "max-age=86400"}
        )

    async def sign_out(self, request: Request) -> Response:
        refused = await self.access.refused(request)
        if refused is not None:
            return refused
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response


def web_routes(runtime: Runtime, access: Access) -> list[BaseRoute]:
    """The page's routes for `runtime`."""
    page = WebPage(runtime, access)
    return [
        Route("/", page.index, methods=["GET"]),
        Route("/ui/jobs.json", page.live, methods=["GET"]),
        Route("/ui/thumb/{job_id}/{index:int}", page.thumbnail, methods=["GET"]),
        Route("/signin", page.sign_in, methods=["GET", "POST"]),
        Route("/signout", page.sign_out, methods=["POST"]),
        # Browsers ask every page of the origin (the sign-in pages too) for /favicon.ico.
        Route("/favicon.ico", page.icon, methods=["GET"]),
        Mount("/ui/static", app=StaticFiles(directory=_HERE / "static"), name="static"),
    ]
