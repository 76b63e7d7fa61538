"""The adversarial security suite's fixtures and helpers.

- **Secrets watch.** A canary key per provider, two named bearer tokens and a caller's own key are the secrets of this
  suite. Every test's log records (captured through the `RedactingFilter`, as `genmcp serve` installs it) and every
  text a test hands to the `leaks` fixture (tool results, HTTP bodies and headers, a server's stderr, files) are
  checked for them when the test ends; the session keeps them all (`leak_log`).
- **Simulators on loopback.** `SimHost` serves provider simulators on their own loopback ports from a thread, so they
  outlive a genmcp process killed by a test, and a test can count their requests and inject faults. `Hold` wraps a
  simulator app so that one request is held (before or after the simulator handled it) until released.
- **genmcp processes.** `tests.harness.process` runs the real console script (`start_genmcp` with a TOML config from
  `tests.harness.settings.settings_data`); `genmcp_server` also checks its stderr for secrets when it stops.
- **In-process HTTP.** `serving` runs a runtime's ASGI app (lifespan included) so the real MCP client can talk to it
  over `httpx2.ASGITransport`, with request headers (tokens, caller keys).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote_to_bytes

import anyio
import httpx2
import pytest
import uvicorn
from anyio.abc import TaskStatus
from anyio.from_thread import start_blocking_portal
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult
from starlette.applications import Starlette
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from providers.conceptviz.simulator import ConceptVizAccount, ConceptVizSimulator
from providers.cosmiq.simulator import CosmiqAccount, CosmiqSimulator
from providers.kolbo.simulator import KolboAccount, KolboSimulator
from providers.masko.simulator import MaskoAccount, MaskoSimulator
from providers.univers.simulator import UniversAccount, UniversSimulator
from server.app import Runtime
from server.http import BearerGate
from server.oauth.gate import ResourceGate
from server.redaction import RedactingFilter, Redactor
from server.sandbox import _QuietServer
from tests.harness.process import START_TIMEOUT, STOP_TIMEOUT, GenmcpProcess, start_genmcp
from tests.harness.results import data as data
from tests.harness.results import error_code as error_code
from tests.harness.results import text as text

ROOT = Path(__file__).resolve().parents[2]
"""The source tree: its paths must never reach a client."""

CANARIES: dict[str, str] = {
    "cosmiq": "csk_CANARY_7f3a91c2e4b65d08",
    "masko": "masko_CANARY_2b8e5f1a9c7d3046",
    "kolbo": "kolbo_live_CANARY_c91d4e7a2f5b8036",
    "univers": "us_live_CANARY_5e2a8c1f9b7d4063",
    "conceptviz": "cvk_CANARY_a4f7c2e9b1d58306",
}
"""One key per provider, configured as that provider's key: it must never leave genmcp."""
TOKENS: dict[str, str] = {"alice": "alice-bearer-8d1f6b3e0c9a7245", "bob": "bob-bearer-4c7e2a9f1d6b3058"}
"""Named inbound bearer tokens."""
CLIENT_KEY = "cvk_CLIENTOWN_3b9e1f7c5a2d8460"
"""A caller's own ConceptViz key (bring your own key): used for one request, never stored or logged."""
SECRETS: tuple[str, ...] = (*CANARIES.values(), *TOKENS.values(), CLIENT_KEY)
CONFIGURED_SECRETS: tuple[str, ...] = (*CANARIES.values(), *TOKENS.values())
"""What `genmcp serve` would know to mask (its settings' secrets); a caller's own key is not among them."""

MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
INITIALIZE: dict[str, Any] = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "genmcp-security", "version": "0"},
    },
}
BASE_PATHS = {
    "cosmiq": "/api/mcp",
    "masko": "/v1",
    "kolbo": "/api",
    "univers": "",
    "conceptviz": "/api/v1",
}
"""Each provider's API path under its host (as in its default base URL)."""


# ---------------------------------------------------------------------------------------------------------------------
# the secrets watch


def secrets_in(text: str, secrets: Sequence[str] = SECRETS) -> list[str]:
    """Which secrets occur in `text`."""
    return [secret for secret in secrets if secret in text]


def _as_text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


@dataclass
class Leaks:
    """What one test produced that must carry no secret; checked when the test ends."""

    texts: list[tuple[str, str]] = field(default_factory=list)
    watched: list[str] = field(default_factory=list)
    """Secrets minted during the test (OAuth tokens, codes, passwords): watched like the configured ones."""

    def watch(self, *secrets: str) -> None:
        """Watch more secrets for the rest of the test (and the session)."""
        self.watched.extend(secret for secret in secrets if secret)

    def add(self, where: str, value: str | bytes) -> str:
        """Keep `value` for the check; returns it as text."""
        text = _as_text(value)
        self.texts.append((where, text))
        return text

    def result(self, where: str, result: CallToolResult) -> CallToolResult:
        """Keep a tool result (structured content and every block)."""
        self.add(where, result.model_dump_json())
        return result

    def response(self, where: str, response: httpx2.Response) -> httpx2.Response:
        """Keep an HTTP response: status line, headers and body."""
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.multi_items())
        self.add(where, f"{response.status_code}\n{headers}\n\n{_as_text(response.content)}")
        return response

    def files(self, where: str, root: Path) -> None:
        """Keep every file under `root` (a job registry with its WAL, an artifact directory)."""
        for path in sorted(root.rglob("*")) if root.is_dir() else [root]:
            if path.is_file():
                self.add(f"{where}:{path.name}", path.read_bytes())

    def found(self) -> list[str]:
        """`where: secret` for every secret seen."""
        secrets = (*SECRETS, *self.watched)
        return [f"{where}: {secret[:12]}…" for where, text in self.texts for secret in secrets_in(text, secrets)]


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture(scope="session")
def leak_log() -> Iterator[list[tuple[str, str, str]]]:
    """Everything every security test produced (test id, where, text); nothing may carry a secret."""
    log: list[tuple[str, str, str]] = []
    yield log
    leaked = [f"{test} {where}" for test, where, text in log if secrets_in(text)]
    assert not leaked, f"secrets leaked: {leaked}"


@pytest.fixture(autouse=True)
def leaks(leak_log: list[tuple[str, str, str]], request: pytest.FixtureRequest) -> Iterator[Leaks]:
    """Per test: log records pass the `RedactingFilter` as in `genmcp serve`; all the test fed in is checked."""
    handler = _Capture()
    handler.addFilter(RedactingFilter(Redactor(CONFIGURED_SECRETS)))
    root = logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in ("", "genmcp", "httpx2", "httpcore", "mcp")}
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.getLogger("genmcp").setLevel(logging.DEBUG)
    for noisy in ("httpx2", "httpcore", "mcp"):
        logging.getLogger(noisy).setLevel(logging.WARNING)  # as `genmcp serve` sets them
    collected = Leaks()
    try:
        yield collected
    finally:
        root.removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name or None).setLevel(level)
    collected.add("logs", "\n".join(handler.lines))
    leak_log.extend((request.node.nodeid, where, text) for where, text in collected.texts)
    found = collected.found()
    assert not found, f"secrets leaked: {found}"


async def wait_event(event: threading.Event, seconds: float, what: str) -> None:
    """Wait (at most `seconds`) for something another thread or process signals; a worker thread blocks on it."""
    if not await anyio.to_thread.run_sync(event.wait, seconds, abandon_on_cancel=True):
        pytest.fail(f"timed out after {seconds:g} s waiting for {what}")


# ---------------------------------------------------------------------------------------------------------------------
# results


# ---------------------------------------------------------------------------------------------------------------------
# simulators


def canary_simulators(
    *,
    now: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    job_seconds: float = 8.0,
) -> dict[str, Any]:
    """One simulator per provider, each knowing only its canary key."""
    return {
        "cosmiq": CosmiqSimulator(accounts={CANARIES["cosmiq"]: CosmiqAccount()}, delay_seconds=0.0, sleep=sleep),
        "masko": MaskoSimulator(
            accounts={CANARIES["masko"]: MaskoAccount()}, job_seconds=job_seconds, now=now, sleep=sleep
        ),
        "kolbo": KolboSimulator(accounts={CANARIES["kolbo"]: KolboAccount()}, job_seconds=job_seconds, now=now),
        "univers": UniversSimulator(accounts={CANARIES["univers"]: UniversAccount()}, sleep=sleep),
        "conceptviz": ConceptVizSimulator(
            accounts={CANARIES["conceptviz"]: ConceptVizAccount()}, job_seconds=job_seconds, now=now
        ),
    }


def canary_providers(bases: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Provider settings: each provider's canary key and base URL (host from `bases` plus its API path)."""
    return {
        name: {"api_key": CANARIES[name], "base_url": base.rstrip("/") + BASE_PATHS[name]}
        for name, base in bases.items()
    }


class Wrapped:
    """A simulator whose app is wrapped (by `Hold`), still exposing the simulator's `public_url`."""

    def __init__(self, sim: Any, wrap: Callable[[ASGIApp], ASGIApp]) -> None:
        self.sim = sim
        self.app = wrap(sim.app)

    @property
    def public_url(self) -> str:
        return cast(str, self.sim.public_url)

    @public_url.setter
    def public_url(self, value: str) -> None:
        self.sim.public_url = value


class SimHost:
    """Simulators served on their own loopback ports by an event loop in a thread of its own, so that they outlive
    the genmcp processes a test kills and answer while the test's own loop waits. A failure of theirs is raised
    when the block is entered or left."""

    def __init__(self, sims: Mapping[str, Any]) -> None:
        self.sims = dict(sims)
        self._sockets: dict[str, socket.socket] = {}
        self.urls: dict[str, str] = {}
        for name, sim in self.sims.items():
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
            sock.bind(("127.0.0.1", 0))
            sock.listen(128)
            self._sockets[name] = sock
            self.urls[name] = f"http://127.0.0.1:{sock.getsockname()[1]}"
            sim.public_url = self.urls[name]
        self._servers = {
            name: _QuietServer(
                uvicorn.Config(sim.app, log_config=None, access_log=False, lifespan="off", timeout_graceful_shutdown=1)
            )
            for name, sim in self.sims.items()
        }
        self._stack = contextlib.ExitStack()

    async def _serve(self, *, task_status: TaskStatus[anyio.Event] = anyio.TASK_STATUS_IGNORED) -> None:
        """Serve every simulator until the event handed to `task_status` is set."""
        try:
            async with contextlib.AsyncExitStack() as stack:
                with anyio.fail_after(START_TIMEOUT):
                    for sim in self.sims.values():
                        target = getattr(sim, "sim", sim)
                        if isinstance(target, contextlib.AbstractAsyncContextManager):
                            await stack.enter_async_context(target)
                stop = anyio.Event()
                async with anyio.create_task_group() as group:
                    for name, server in self._servers.items():
                        group.start_soon(server.serve, [self._sockets[name]])
                    # The sockets already listen: a request sent before uvicorn accepts waits in the backlog.
                    task_status.started(stop)
                    await stop.wait()
                    for server in self._servers.values():
                        server.should_exit = True
        finally:
            for sock in self._sockets.values():
                sock.close()

    def __enter__(self) -> SimHost:
        with contextlib.ExitStack() as stack:  # if the simulators fail to start, their loop is stopped here
            self._portal = stack.enter_context(start_blocking_portal(name="sim-host"))
            self._serving, self._stop = self._portal.start_task(self._serve, name="sim-host")
            self._stack = stack.pop_all()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._stack:  # leaving it stops the loop; with an error in flight, what still runs there is cancelled
            self._portal.call(self._stop.set)
            try:
                self._serving.result(STOP_TIMEOUT)  # raises what failed while they served
            except TimeoutError:
                pytest.fail(f"the simulators did not stop within {STOP_TIMEOUT:g} s")


class Hold:
    """Holds the requests to one method and path prefix while armed.

    mode "before": the request never reaches the simulator (nothing was accepted upstream).
    mode "after": the simulator handles it (the job is accepted and charged) but its answer is never sent.
    Held requests end (unanswered) when `release` is called.
    """

    def __init__(self, app: ASGIApp, *, method: str, prefix: str, mode: str = "before") -> None:
        self.app = app
        self.method = method
        self.prefix = prefix
        self.mode = mode
        self.armed = False
        self.arrived = threading.Event()
        self.released = threading.Event()
        self.held = 0

    def arm(self, mode: str | None = None) -> None:
        self.mode = mode or self.mode
        self.arrived.clear()
        self.released.clear()
        self.armed = True

    def release(self) -> None:
        self.armed = False
        self.released.set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not (
            self.armed
            and scope["type"] == "http"
            and scope["method"] == self.method
            and str(scope["path"]).startswith(self.prefix)
        ):
            await self.app(scope, receive, send)
            return
        self.held += 1
        if self.mode == "after":

            async def swallow(message: Message) -> None:
                return None

            await self.app(scope, receive, swallow)
        self.arrived.set()
        await anyio.to_thread.run_sync(self.released.wait, abandon_on_cancel=True)
        with contextlib.suppress(Exception):
            await send({"type": "http.response.start", "status": 503, "headers": []})
            await send({"type": "http.response.body", "body": b""})


# ---------------------------------------------------------------------------------------------------------------------
# genmcp processes


@contextlib.contextmanager
def genmcp_server(workdir: Path, config: Mapping[str, Any], **options: Any) -> Iterator[GenmcpProcess]:
    """`start_genmcp` with `config`, stopped afterwards; its stderr must carry no secret."""
    with start_genmcp(workdir, config=config, **options) as server:
        yield server
    leaked = secrets_in(server.stderr())
    assert not leaked, f"stderr of genmcp carries secrets: {[s[:12] for s in leaked]}"


@contextlib.asynccontextmanager
async def connect(
    url: str,
    headers: Mapping[str, str] | None = None,
    *,
    transport: httpx2.AsyncBaseTransport | None = None,
    mode: str = "auto",
) -> AsyncIterator[Client]:
    """The real MCP client over streamable HTTP, with extra request headers."""
    http = httpx2.AsyncClient(
        headers=dict(headers or {}), timeout=httpx2.Timeout(30, read=90), transport=transport, trust_env=False
    )
    async with http, Client(streamable_http_client(url, http_client=http), mode=mode) as client:
        yield client


# ---------------------------------------------------------------------------------------------------------------------
# in-process HTTP


IN_PROCESS = "http://127.0.0.1:8000"


@contextlib.asynccontextmanager
async def serving(runtime: Runtime) -> AsyncIterator[ASGIApp]:
    """A runtime's whole ASGI app (bearer gate included) with its lifespan running."""
    app = runtime.http_app()
    inner = cast(Starlette, app.app if isinstance(app, BearerGate | ResourceGate) else app)
    async with inner.router.lifespan_context(inner):
        yield app


def asgi_http(app: ASGIApp, headers: Mapping[str, str] | None = None) -> httpx2.AsyncClient:
    """An HTTP client that talks to `app` in process, as if it listened on 127.0.0.1:8000."""
    return httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=app, raise_app_exceptions=False),
        base_url=IN_PROCESS,
        headers=dict(headers or {}),
        timeout=30,
    )


async def asgi_get(app: ASGIApp, raw_path: bytes) -> tuple[int, dict[str, str], bytes]:
    """One GET with an exact, unnormalised path (HTTP clients remove dot segments; attackers do not)."""
    path = raw_path.split(b"?", 1)[0]
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": unquote_to_bytes(path).decode("latin-1"),
        "raw_path": path,
        "query_string": raw_path.split(b"?", 1)[1] if b"?" in raw_path else b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1:8000")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    status = 0
    headers: dict[str, str] = {}
    body = bytearray()
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            headers.update({k.decode().lower(): v.decode() for k, v in message.get("headers", [])})
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))

    with anyio.fail_after(10):
        await app(scope, receive, send)
    return status, headers, bytes(body)


class RecordingTransport(httpx2.AsyncBaseTransport):
    """Stands in for the network of the URL fetcher: records every request, answers from a table (or a PNG)."""

    def __init__(
        self,
        answers: Mapping[str, Callable[[httpx2.Request], Awaitable[httpx2.Response]] | httpx2.Response] | None = None,
        default: httpx2.Response | None = None,
    ) -> None:
        self.seen: list[httpx2.Request] = []
        self.answers = dict(answers or {})
        self.default = default

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.seen.append(request)
        key = f"{request.headers.get('host', '')}{request.url.path}"
        answer = self.answers.get(key, self.default)
        if answer is None:
            return httpx2.Response(404, content=b"nothing here")
        if isinstance(answer, httpx2.Response):
            return httpx2.Response(answer.status_code, headers=answer.headers, content=answer.content)
        return await answer(request)
