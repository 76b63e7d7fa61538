"""Playing the person and the OAuth client against genmcp's built-in authorization server, without a browser.

- `FormPage`: an HTML page's forms, read with the standard library's parser (what a browser would submit).
- `Person`: signs in on the sign-in page and answers the consent page over plain HTTP, with a cookie jar of its own
  (the browser tests use a real browser instead; this drives the same forms, for the protocol-level tests).
- `pkce()`, `authorize_url()`: what an OAuth client sends.
- `add_user()`: a user in the store the settings name (as `genmcp users add` would add it).
- `builtin_settings()`, `running_auth_server()` → `AuthServer`: genmcp in process in `[auth] mode = "builtin"` (as if
  on http://127.0.0.1:8000), on SQLite or (`store_url`) PostgreSQL, its ConceptViz on the simulator, a user `alice`,
  and a fake clock whose wall time starts at the real time (the SDK's handlers check expiry on the real clock too:
  `aligned_clock()`).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx2
from starlette.types import ASGIApp

from providers.conceptviz.simulator import ConceptVizAccount, ConceptVizSimulator
from server.app import Runtime
from server.config import Settings
from server.oauth import credentials
from server.oauth.server import open_store
from server.oauth.store import UserRecord
from tests.harness.clock import FakeClock
from tests.harness.runtime import in_process_runtime
from tests.harness.settings import build_settings
from tests.security.conftest import IN_PROCESS, asgi_http, serving

__all__ = [
    "ISSUER",
    "KEY",
    "MCP",
    "PASSWORD",
    "REDIRECT",
    "AuthServer",
    "Form",
    "FormPage",
    "Person",
    "add_user",
    "aligned_clock",
    "authorize_url",
    "builtin_settings",
    "pkce",
    "query_of",
    "running_auth_server",
]

PASSWORD = "correct horse battery staple"
KEY = "cvk_oauth_test_key_0123456789"
ISSUER = IN_PROCESS
MCP = f"{IN_PROCESS}/mcp"
REDIRECT = "http://127.0.0.1:33418/callback"


@dataclass
class Form:
    """One form: where it posts and the values a browser would send (checked boxes, hidden fields, text)."""

    action: str
    method: str
    fields: dict[str, list[str]] = field(default_factory=dict)
    buttons: list[tuple[str, str]] = field(default_factory=list)

    def values(self, **changes: str | list[str] | None) -> list[tuple[str, str]]:
        """The submitted pairs with `changes` applied (None removes a field)."""
        merged = dict(self.fields)
        for name, value in changes.items():
            if value is None:
                merged.pop(name, None)
            else:
                merged[name] = [value] if isinstance(value, str) else list(value)
        return [(name, value) for name, values in merged.items() for value in values]


class FormPage(HTMLParser):
    """The forms of an HTML page."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(action=a.get("action", ""), method=a.get("method", "get").lower()))
        elif self.forms and tag == "input" and a.get("name"):
            if a.get("type") == "checkbox" and "checked" not in a:
                return
            self.forms[-1].fields.setdefault(a["name"], []).append(a.get("value", ""))
        elif self.forms and tag == "button" and a.get("name"):
            self.forms[-1].buttons.append((a["name"], a.get("value", "")))

    def form(self, **having: str) -> Form:
        """The form whose fields include these values (e.g. `method="password"`)."""
        for form in self.forms:
            if all(value in form.fields.get(name, []) for name, value in having.items()):
                return form
        raise AssertionError(f"no form with {having} among {[f.fields for f in self.forms]}")


def pkce() -> tuple[str, str]:
    """A PKCE verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_url(issuer: str, client_id: str, redirect_uri: str, challenge: str, **extra: str) -> str:
    """An authorization request (code, S256, a random state unless given)."""
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": secrets.token_urlsafe(12),
        **extra,
    }
    return f"{issuer}/authorize?{urlencode(params)}"


def query_of(url: str) -> dict[str, str]:
    """A URL's query parameters (each once)."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


async def add_user(settings: Settings, name: str, password: str | None = PASSWORD) -> None:
    """Add a user to the store `settings` name (the registry's SQLite file, or PostgreSQL)."""
    store = open_store(settings)
    await store.open()
    try:
        hashed = await credentials.hash_password(password) if password is not None else None
        await store.add_user(UserRecord(name=name, password_hash=hashed, created_at=0.0))
    finally:
        await store.close()


@dataclass
class Person:
    """Someone with a browser-like HTTP client (its own cookie jar) who signs in and answers consent pages.

    `visited` lists every request it made (method and path), in order.
    """

    http: httpx2.AsyncClient
    user: str = "alice"
    password: str = PASSWORD
    visited: list[str] = field(default_factory=list)

    async def __aenter__(self) -> Person:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    async def get(self, url: str) -> httpx2.Response:
        self.visited.append(f"GET {urlsplit(url).path}")
        return await self.http.get(url, follow_redirects=False)

    async def post(self, url: str, form: Form, **changes: str | list[str] | None) -> httpx2.Response:
        self.visited.append(f"POST {urlsplit(url).path}")
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
        return await self.http.post(
            url,
            content=urlencode(form.values(**changes)).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": origin},
            follow_redirects=False,
        )

    async def open_consent(self, authorization_url: str) -> httpx2.Response:
        """Follow the authorization request to the consent page, signing in with the password on the way."""
        response = await self.get(authorization_url)
        assert response.status_code == 302, response.text
        consent = urljoin(authorization_url, response.headers["location"])
        page = await self.get(consent)
        if "Sign in to genmcp" in page.text:
            signed = await self.sign_in(consent, page)
            assert signed.status_code == 303, signed.text
            page = await self.get(urljoin(consent, signed.headers["location"]))
        return page

    async def sign_in(self, page_url: str, page: httpx2.Response) -> httpx2.Response:
        """Submit the password form of a sign-in page."""
        form = FormPage(page.text).form(method="password")
        return await self.post(urljoin(page_url, form.action), form, user=self.user, password=self.password)

    async def consent(self, authorization_url: str, *, approve: bool = True, scopes: list[str] | None = None) -> str:
        """Approve (or deny) a request; the URL the browser is sent back to (the client's redirect URI).

        `scopes` replaces the optional scopes that stay ticked (None: as the page offers them)."""
        page = await self.open_consent(authorization_url)
        assert page.status_code == 200, page.text
        form = FormPage(page.text).form()
        changes: dict[str, str | list[str] | None] = {"decision": "approve" if approve else "deny"}
        if scopes is not None:
            changes["scope"] = scopes
        answer = await self.post(urljoin(str(page.url), form.action), form, **changes)
        assert answer.status_code == 303, answer.text
        return answer.headers["location"]


def builtin_settings(tmp_path: Path, *, store_url: str | None = None, **builtin: Any) -> Settings:
    """Live settings (ConceptViz with `KEY`) with the built-in authorization server on 127.0.0.1:8000, its records
    in the registry's SQLite file, or in PostgreSQL at `store_url`."""
    return build_settings(
        tmp_path,
        providers={"conceptviz": {"api_key": KEY, "base_url": "https://conceptviz.test/api/v1"}},
        server={"host": "127.0.0.1", "port": 8000},
        auth={"mode": "builtin", "builtin": builtin},
        store={"url": store_url or ""},
    )


def aligned_clock() -> FakeClock:
    """A fake clock whose wall time starts now."""
    fake = FakeClock()
    fake.epoch = time.time() - fake.t
    return fake


@dataclass
class AuthServer:
    """genmcp in process with its authorization server, and what the tests need around it."""

    app: ASGIApp
    runtime: Runtime
    clock: FakeClock
    simulator: ConceptVizSimulator

    def http(self, **headers: str) -> httpx2.AsyncClient:
        """A new HTTP client (its own cookie jar) talking to the app."""
        return asgi_http(self.app, headers)

    def person(self, user: str = "alice", password: str = PASSWORD) -> Person:
        """Someone with a browser-like client of their own (use it with `async with`)."""
        return Person(self.http(), user=user, password=password)


@contextlib.asynccontextmanager
async def running_auth_server(
    settings: Settings, clock: FakeClock, users: tuple[str, ...] = ("alice",), fetch_app: ASGIApp | None = None
) -> AsyncIterator[AuthServer]:
    """Serve `settings` in process (users added first) until the block ends; with `fetch_app`, genmcp's downloads
    (client metadata documents) go to that app, as if its hosts were public."""
    for user in users:
        await add_user(settings, user)
    simulator = ConceptVizSimulator(accounts={KEY: ConceptVizAccount(credits=100)}, job_seconds=5, now=clock.now)
    runtime = in_process_runtime(settings, apps={"conceptviz": simulator.app}, clock=clock, fetch_app=fetch_app)
    async with serving(runtime) as app:
        yield AuthServer(app=app, runtime=runtime, clock=clock, simulator=simulator)
