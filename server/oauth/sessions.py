"""Who is signed in, in this browser: the session cookie, and the CSRF check of every form.

Reusable by any page of genmcp's app (the consent page is one; a web page at `/` can be another):

    sessions = runtime_auth.sessions
    who = await sessions.current(request)          # SignedIn | None
    if who is None:
        return sessions.sign_in_redirect(request)  # back to this page once signed in

- The session cookie holds a random secret; the store keeps its digest, the user and when it ends. It is
  `HttpOnly`, `SameSite=Lax` (it must come along when a client sends the browser here), and over https `Secure` with
  the `__Host-` prefix (no other site, not even a subdomain, can set it).
- CSRF: every form carries the value of a second cookie (`SameSite=Strict`, `HttpOnly`, `__Host-` over https) — the
  double-submit pattern — and a POST must also come from this origin when the browser says where it came from
  (`Origin`). Neither needs a server secret.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from server.clock import Clock
from server.oauth import credentials
from server.oauth.store import OAuthStore, SessionRecord

__all__ = ["SIGN_IN_PATH", "Sessions", "SignedIn", "safe_next"]

SIGN_IN_PATH = "/oauth/sign-in"
CSRF_FIELD = "csrf"


@dataclass(frozen=True)
class SignedIn:
    """The person signed in in this browser."""

    user: str
    expires_at: float


def safe_next(target: str | None, default: str = "/oauth/signed-in") -> str:
    """A place on this server to go back to (a path, never another site: `//evil`, `https://…` are refused)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


class Sessions:
    """Browser sign-ins and the CSRF cookie (see the module docstring).

    Args:
        issuer: This server's origin (`https://…` makes the cookies `Secure` with the `__Host-` prefix).
        lifetime: Seconds a sign-in lasts.
    """

    def __init__(self, store: OAuthStore, clock: Clock, *, issuer: str, lifetime: float) -> None:
        self.store = store
        self.clock = clock
        self.issuer = issuer.rstrip("/")
        self.lifetime = lifetime
        self.secure = issuer.startswith("https://")
        prefix = "__Host-" if self.secure else ""
        self.cookie = f"{prefix}genmcp_session"
        self.csrf_cookie = f"{prefix}genmcp_csrf"

    # --- the signed-in person ------------------------------------------------------------------------------------

    async def current(self, request: Request) -> SignedIn | None:
        """Who is signed in in the browser that sent `request` (None: nobody, or the sign-in ended)."""
        secret = request.cookies.get(self.cookie)
        if not secret or not secret.startswith("gmcp_ss_"):
            return None
        record = await self.store.get_session(credentials.digest(secret), self.clock.wall())
        return SignedIn(user=record.user, expires_at=record.expires_at) if record else None

    async def start(self, response: Response, user: str) -> None:
        """Sign `user` in: a new session (a new secret: a fixed session cannot be planted) and its cookie."""
        secret = credentials.mint("ss")
        now = self.clock.wall()
        await self.store.put_session(
            SessionRecord(digest=credentials.digest(secret), user=user, created_at=now, expires_at=now + self.lifetime)
        )
        response.set_cookie(
            self.cookie,
            secret,
            max_age=int(self.lifetime),
            path="/",
            secure=self.secure,
            httponly=True,
            samesite="lax",
        )

    async def end(self, request: Request, response: Response) -> None:
        """Sign out: the session is deleted and its cookie cleared."""
        secret = request.cookies.get(self.cookie)
        if secret:
            await self.store.delete_session(credentials.digest(secret))
        response.delete_cookie(self.cookie, path="/", secure=self.secure, httponly=True, samesite="lax")

    def sign_in_url(self, next_path: str) -> str:
        """The sign-in page, coming back to `next_path` afterwards."""
        return f"{SIGN_IN_PATH}?{urlencode({'next': safe_next(next_path)})}"

    def sign_in_redirect(self, request: Request) -> RedirectResponse:
        """Send the browser to sign in, and back to this page (path and query) afterwards."""
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(self.sign_in_url(here), status_code=303, headers={"Cache-Control": "no-store"})

    # --- CSRF ----------------------------------------------------------------------------------------------------

    def csrf_token(self, request: Request) -> str:
        """The value this browser's forms carry (its CSRF cookie's, or a new one: `set_csrf` it on the response)."""
        current = request.cookies.get(self.csrf_cookie, "")
        return current if len(current) >= 32 else secrets.token_urlsafe(32)

    def set_csrf(self, response: Response, token: str) -> None:
        """Set the CSRF cookie the page's forms are checked against."""
        response.set_cookie(self.csrf_cookie, token, path="/", secure=self.secure, httponly=True, samesite="strict")

    def same_origin(self, request: Request) -> bool:
        """Whether a POST came from a page of this server (when the browser says where it came from)."""
        origin = request.headers.get("origin")
        if origin is None:
            return True
        own = {urlsplit(self.issuer).netloc.lower(), request.headers.get("host", "").lower()}
        parts = urlsplit(origin)
        return origin != "null" and parts.scheme in ("http", "https") and parts.netloc.lower() in own

    def csrf_ok(self, request: Request, form: FormData) -> bool:
        """Whether a form POST carries this browser's CSRF value and comes from this origin."""
        cookie = request.cookies.get(self.csrf_cookie, "")
        field = form.get(CSRF_FIELD)
        if not isinstance(field, str) or len(cookie) < 32 or not self.same_origin(request):
            return False
        return hmac.compare_digest(cookie.encode(), field.encode())
