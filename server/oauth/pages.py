"""The pages a person sees: sign in (password or one-time code), approve or deny a client, a one-time link's landing
page, and who is signed in. Server-rendered (Jinja2 through Starlette's templates), no JavaScript, nothing fetched
from elsewhere; every form is CSRF-checked; every page is `no-store`, cannot be framed, and sends a referrer only to
this server.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from server.oauth import credentials, scopes
from server.oauth.provider import BuiltinProvider
from server.oauth.sessions import CSRF_FIELD, Sessions, safe_next
from server.oauth.settings import BuiltinAuthSettings
from server.oauth.store import OAuthStore, PendingRequest
from server.oauth.throttle import SignInThrottle

__all__ = ["Pages"]

log = logging.getLogger("genmcp.oauth")

HERE = Path(__file__).parent
_ORIGIN_WORDS = {
    "operator": "added by the operator of this server",
    "document": "identified by its published metadata at {client_id}",
    "registered": "registered itself: its name is its own claim, check where it sends you",
}


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


class Pages:
    """The sign-in and consent pages of the built-in authorization server."""

    def __init__(
        self,
        *,
        provider: BuiltinProvider,
        store: OAuthStore,
        sessions: Sessions,
        throttle: SignInThrottle,
        settings: BuiltinAuthSettings,
    ) -> None:
        self.provider = provider
        self.store = store
        self.sessions = sessions
        self.throttle = throttle
        self.methods = list(settings.sign_in)
        self.templates = Jinja2Templates(directory=HERE / "templates")

    def routes(self) -> list[Route]:
        """The pages' routes (all under /oauth/)."""
        return [
            Route("/oauth/sign-in", self.sign_in_page, methods=["GET"]),
            Route("/oauth/sign-in", self.sign_in, methods=["POST"]),
            Route("/oauth/consent", self.consent_page, methods=["GET"]),
            Route("/oauth/consent", self.consent, methods=["POST"]),
            Route("/oauth/link/{code}", self.link_page, methods=["GET"]),
            Route("/oauth/signed-in", self.signed_in_page, methods=["GET"]),
            Route("/oauth/sign-out", self.sign_out, methods=["POST"]),
            Route("/oauth/static/genmcp.css", self.stylesheet, methods=["GET"]),
        ]

    # --- rendering -----------------------------------------------------------------------------------------------

    def _render(
        self,
        request: Request,
        template: str,
        context: dict[str, Any],
        *,
        status: int = 200,
        form_targets: tuple[str, ...] = (),
        headers: dict[str, str] | None = None,
    ) -> Response:
        csrf = self.sessions.csrf_token(request)
        # form-action also governs where a form's answer may redirect: the consent form ends at the client.
        form_action = " ".join(("'self'", *form_targets))
        response = self.templates.TemplateResponse(
            request,
            template,
            {"csrf": csrf, "csrf_field": CSRF_FIELD, "methods": self.methods, **context},
            status_code=status,
            headers={
                "Cache-Control": "no-store",
                "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
                f"form-action {form_action}; frame-ancestors 'none'; base-uri 'none'",
                "X-Frame-Options": "DENY",
                "Referrer-Policy": "same-origin",  # no-referrer would make browsers send `Origin: null`
                "X-Content-Type-Options": "nosniff",
                **(headers or {}),
            },
        )
        self.sessions.set_csrf(response, csrf)
        return response

    def _message(self, request: Request, title: str, message: str, status: int) -> Response:
        return self._render(request, "message.html", {"title": title, "message": message}, status=status)

    def _expired(self, request: Request) -> Response:
        return self._message(
            request,
            "This request has ended",
            "It expired or was already answered. Go back to your app and connect to genmcp again.",
            400,
        )

    def _forged(self, request: Request) -> Response:
        log.info("refused a form without a valid CSRF value from %s", _address(request))
        return self._message(
            request,
            "Please try again",
            "This form did not come from this page of genmcp, or it is too old. Reload the page and try again.",
            403,
        )

    async def _pending(self, request_id: str | None) -> PendingRequest | None:
        if not request_id or not request_id.startswith("gmcp_rq_"):
            return None
        return await self.store.get_request(credentials.digest(request_id), self.provider.clock.wall())

    async def _client_name(self, pending: PendingRequest | None) -> str | None:
        if pending is None:
            return None
        client = await self.provider.get_client(pending.client_id)
        return (client.client_name if client else None) or pending.client_id

    async def _sign_in_form(
        self,
        request: Request,
        *,
        next_path: str,
        request_id: str | None,
        error: str | None = None,
        status: int = 200,
        user: str | None = None,
    ) -> Response:
        pending = await self._pending(request_id)
        context = {
            "next": next_path,
            "request_id": request_id if pending else None,
            "client_name": await self._client_name(pending),
            "error": error,
            "user": user or "",
        }
        return self._render(request, "sign_in.html", context, status=status)

    # --- sign in -------------------------------------------------------------------------------------------------

    async def sign_in_page(self, request: Request) -> Response:
        request_id = request.query_params.get("request")
        return await self._sign_in_form(
            request, next_path=safe_next(request.query_params.get("next")), request_id=request_id
        )

    async def sign_in(self, request: Request) -> Response:
        form = await request.form()
        if not self.sessions.csrf_ok(request, form):
            return self._forged(request)
        request_id = str(form.get("request") or "") or None
        next_path = safe_next(str(form.get("next") or ""))
        if request_id:
            next_path = f"/oauth/consent?{urlencode({'request': request_id})}"
        method = str(form.get("method") or "")
        if method not in self.methods:
            return self._message(request, "Sign-in method not available", "Use one of the forms offered.", 400)
        address = _address(request)
        name = str(form.get("user") or "").strip() if method == "password" else None
        wait = await self.throttle.wait(name, address)
        if wait > 0:
            return await self._locked(request, wait, next_path, request_id, name)
        user = await self._check_password(form, name) if method == "password" else await self._check_code(form)
        if user is None:
            wait = await self.throttle.failed(name, address)
            if wait > 0:
                return await self._locked(request, wait, next_path, request_id, name)
            error = (
                "That user name and password do not match."
                if method == "password"
                else "That sign-in code is not valid: it may have expired or been used already."
            )
            return await self._sign_in_form(
                request, next_path=next_path, request_id=request_id, error=error, status=401, user=name
            )
        await self.throttle.succeeded(user, address)
        response = RedirectResponse(next_path, status_code=303, headers={"Cache-Control": "no-store"})
        await self.sessions.start(response, user)
        log.info("user %s signed in (%s)", user, method)
        return response

    async def _check_password(self, form: Any, name: str | None) -> str | None:
        password = form.get("password")
        if not name or not isinstance(password, str) or not password or len(password) > 1024:
            return None
        record = await self.store.get_user(name)
        ok = await credentials.verify_password(record.password_hash if record else None, password)
        return record.name if ok and record is not None else None

    async def _check_code(self, form: Any) -> str | None:
        code = str(form.get("code") or "").strip()
        if not code.startswith("gmcp_sl_"):
            code = f"gmcp_sl_{code}" if code else ""
        if not code:
            return None
        link = await self.store.redeem_link(credentials.digest(code), self.provider.clock.wall())
        return link.user if link else None

    async def _locked(
        self, request: Request, wait: float, next_path: str, request_id: str | None, name: str | None
    ) -> Response:
        minutes = max(1, round(wait / 60))
        log.warning("sign-in refused for a while after repeated failures from %s", _address(request))
        response = await self._sign_in_form(
            request,
            next_path=next_path,
            request_id=request_id,
            error=f"Too many failed sign-ins. Sign-in is paused; try again in {minutes} minute{'s' * (minutes > 1)}.",
            status=429,
            user=name,
        )
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response

    # --- consent -------------------------------------------------------------------------------------------------

    async def consent_page(self, request: Request) -> Response:
        request_id = request.query_params.get("request")
        pending = await self._pending(request_id)
        if pending is None:
            return self._expired(request)
        who = await self.sessions.current(request)
        if who is None:
            return await self._sign_in_form(request, next_path="/oauth/signed-in", request_id=request_id)
        client = await self.provider.get_client(pending.client_id)
        if client is None:
            return self._expired(request)
        redirect = urlsplit(pending.redirect_uri)
        web = redirect.scheme in ("http", "https")
        context = {
            "request_id": request_id,
            "user": who.user,
            "client_name": client.client_name or client.client_id,
            "client_id": client.client_id,
            "client_origin": _ORIGIN_WORDS[client.origin].format(client_id=client.client_id),
            "redirect_host": redirect.hostname if web else f"{redirect.scheme}: (an app on this device)",
            "scopes": scopes.describe(pending.scopes),
            "resource": pending.resource,
        }
        target = f"{redirect.scheme}://{redirect.netloc}" if web else f"{redirect.scheme}:"
        return self._render(request, "consent.html", context, form_targets=(target,))

    async def consent(self, request: Request) -> Response:
        form = await request.form()
        if not self.sessions.csrf_ok(request, form):
            return self._forged(request)
        who = await self.sessions.current(request)
        if who is None:
            return self._message(
                request, "Please sign in again", "Your sign-in ended. Go back to your app and retry.", 401
            )
        request_id = str(form.get("request") or "")
        if not request_id.startswith("gmcp_rq_"):
            return self._expired(request)
        pending = await self.store.take_request(credentials.digest(request_id), self.provider.clock.wall())
        if pending is None:
            return self._expired(request)
        if form.get("decision") != "approve":
            log.info("user %s denied client %s", who.user, pending.client_id)
            return RedirectResponse(self.provider.deny(pending), status_code=303, headers={"Cache-Control": "no-store"})
        chosen = [str(value) for value in form.getlist("scope")]
        granted = [scope for scope in pending.scopes if scope == scopes.READ or scope in chosen]
        url = await self.provider.approve(pending, who.user, granted)
        return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})

    # --- one-time links, who is signed in, sign out --------------------------------------------------------------

    async def link_page(self, request: Request) -> Response:
        # A GET never spends the link (mail and chat previews open links): the button on this page does.
        code = request.path_params["code"]
        return self._render(request, "link.html", {"code": code})

    async def signed_in_page(self, request: Request) -> Response:
        who = await self.sessions.current(request)
        if who is None:
            return self.sessions.sign_in_redirect(request)
        return self._render(request, "signed_in.html", {"user": who.user})

    async def sign_out(self, request: Request) -> Response:
        form = await request.form()
        if not self.sessions.csrf_ok(request, form):
            return self._forged(request)
        response = RedirectResponse(self.sessions.sign_in_url(str(form.get("next") or "")), status_code=303)
        await self.sessions.end(request, response)
        return response

    async def stylesheet(self, request: Request) -> Response:
        return FileResponse(
            HERE / "static" / "genmcp.css", media_type="text/css", headers={"Cache-Control": "max-age=3600"}
        )
