"""One genmcp process: the `Runtime`, built from settings and the providers it is given.

Constructing a runtime does no I/O and imports no provider, nor the call machinery (calls, tools, the budget guard,
saving): it holds the settings, the stores (closed), and empty MCP servers, which is all the MCP handshake needs.
Its one lifespan (`async with runtime`) opens the stores, assembles the providers (their adapters, HTTP clients and
tools — in a worker thread, so a stdio server can answer `initialize` meanwhile), starts the simulators in sandbox
mode and the background tasks, and recovers jobs a stopped process left behind. Tool and resource requests wait
until the runtime is ready. The HTTP app is `server.http`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AsyncExitStack
from types import TracebackType
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread
import httpx2
from starlette.types import ASGIApp

from providers import Adapters
from server import __version__
from server.artifacts import Files
from server.background import BackgroundRuns
from server.clock import Clock, SystemClock
from server.errors import ConfigError
from server.fetch import Fetcher, Resolver
from server.leases import Leases, replica_id
from server.limits import CallLimits
from server.mcp_server import GenmcpServer
from server.previews import Previews
from server.redaction import Redactor
from server.sandbox import SandboxServer
from server.store import build_stores
from server.tasks.feature import TasksFeature

if TYPE_CHECKING:
    # The assembly's side (calls, handles, the catalog, every tool) is imported when the runtime starts, in the
    # worker thread that assembles it: a stdio client's handshake does not wait for it.
    from providers.base import Provider
    from server.assembly import Assembly
    from server.calls import Calls
    from server.config import Settings
    from server.credits import Balances
    from server.handles import Handles
    from server.orphans import OrphanSweeper

__all__ = ["Runtime", "is_loopback", "require_safe_bind", "uses_sandbox"]


def _assemble(runtime: Runtime, sandbox_url: str | None) -> Assembly:
    from server.assembly import assemble

    return assemble(runtime, sandbox_url)


log = logging.getLogger("genmcp")

_LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def is_loopback(host: str) -> bool:
    """Whether binding `host` keeps the server on this machine."""
    return host in _LOOPBACK or host.startswith("127.")


def uses_sandbox(settings: Settings, names: Iterable[str]) -> bool:
    """Sandbox when asked, or ('auto') when no enabled provider (of these names) has a key."""
    if settings.sandbox.mode != "auto":
        return settings.sandbox.mode == "on"
    return not any(settings.provider(name).enabled and settings.provider(name).api_key for name in names)


class Runtime:
    """Everything one genmcp process holds. Use as an async context manager around serving.

    Args:
        providers: The provider adapters this runtime may serve (those configured, or all in sandbox mode);
            a registry such as `providers.PROVIDERS` is imported only when the runtime starts.
        transports: Per-provider HTTP transports (tests route a provider to its simulator in process).
        fetch_transport, resolver: Where downloads go and how names resolve (tests).
        stdio: Whether it serves a client over stdin/stdout (then `outputs.use_client_roots = "auto"` is on).
    """

    def __init__(
        self,
        settings: Settings,
        providers: Sequence[type[Provider]],
        *,
        clock: Clock | None = None,
        transports: Mapping[str, httpx2.AsyncBaseTransport] | None = None,
        fetch_transport: httpx2.AsyncBaseTransport | None = None,
        resolver: Resolver | None = None,
        stdio: bool = False,
    ) -> None:
        self.settings = settings
        self.stdio = stdio
        self.adapters = Adapters.of(providers)
        self.clock = clock or SystemClock()
        self.transports = dict(transports or {})
        self.sandbox = uses_sandbox(settings, self.adapters.names)
        self.served = [
            name
            for name in self.adapters.names
            if settings.provider(name).enabled and (self.sandbox or settings.provider(name).api_key is not None)
        ]
        """The providers this runtime serves, by name (known before any adapter is imported)."""
        self.redactor = Redactor(settings.secrets())
        stores = build_stores(settings, wall=self.clock.wall, redact=self.redactor)
        self.store = stores.jobs
        self.artifacts = stores.artifacts
        self.ledger = stores.spend
        self.pending_saves = stores.saves
        self.replica = replica_id()
        """This process's id as a holder of job leases (host, pid, a random token)."""
        self.leases = Leases(self.store, self.clock, seconds=settings.store.lease_seconds, owner=self.replica)
        self.tasks = TasksFeature(clock=self.clock, ready=self.ready, ttl_seconds=settings.artifacts.ttl_seconds)
        """MCP tasks, job resources and subscriptions, prompts and completions (`server.tasks`)."""
        self.files = Files(self.artifacts, settings.server.public_url or None)
        inputs = settings.inputs
        self.fetcher = Fetcher(
            allow_hosts=inputs.allow_hosts,
            max_bytes=inputs.max_image_bytes,
            timeout=inputs.fetch_timeout,
            resolver=resolver,
            transport=fetch_transport,
        )
        self.runs = BackgroundRuns(self.replica)
        self.sandbox_server = SandboxServer() if self.sandbox else None
        self.previews = Previews(artifacts=self.artifacts, fetcher=self.fetcher, max_pixels=inputs.max_image_pixels)
        self.submit_grace = settings.upstream.connect_timeout + settings.upstream.read_timeout + 30
        self.limits = CallLimits(
            per_minute=settings.limits.calls_per_minute,
            concurrent=settings.limits.concurrent_calls,
            counters=self.store,
            wall=self.clock.wall,
            # Longer than any call can last: the slot of a call whose replica died is freed after this.
            slot_seconds=self.submit_grace + settings.jobs.max_wait_seconds + 60,
        )
        self._servers: list[tuple[frozenset[str] | None, GenmcpServer]] = []
        self._assembly: Assembly | None = None
        self._ready = anyio.Event()
        self._failure: BaseException | None = None
        self.mcp = self.server_for(None)
        self._stack: AsyncExitStack | None = None
        self._depth = 0

    # --- what the lifespan assembles -----------------------------------------------------------------------------

    def _assembled(self) -> Assembly:
        if self._assembly is None:
            raise RuntimeError("the runtime has not started (use `async with runtime`)")
        return self._assembly

    @property
    def providers(self) -> dict[str, Provider]:
        """The served providers' adapters, by name."""
        return self._assembled().providers

    @property
    def calls(self) -> Calls:
        """Runs operations."""
        return self._assembled().calls

    @property
    def handles(self) -> Handles:
        """Polls, cancels and lists jobs."""
        return self._assembled().handles

    @property
    def balances(self) -> Balances:
        """Credit balances."""
        return self._assembled().balances

    @property
    def assembly(self) -> Assembly:
        """The parts built once the adapters are loaded (calls, handles, the budget guard, saves …)."""
        return self._assembled()

    @property
    def sweeper(self) -> OrphanSweeper:
        """Renews this replica's leases and takes over the jobs of replicas that died."""
        return self._assembled().sweeper

    def server_for(self, names: Sequence[str] | None) -> GenmcpServer:
        """An MCP server with these providers' tools plus the shared ones (every provider's when None); its tools
        are added when the runtime has assembled them."""
        wanted = frozenset(names) if names is not None else None
        server = GenmcpServer(
            files=self.files,
            ready=self.ready,
            log_level=self.settings.server.log_level,
            version=__version__,
            tasks=self.tasks,
            providers=frozenset(self.served) if wanted is None else wanted,
        )
        self._servers.append((wanted, server))
        if self._assembly is not None:
            server.serve_tools(self._assembly.tools_for(wanted))
        return server

    async def ready(self) -> None:
        """Wait until the runtime has started (raises what stopped it from starting)."""
        if not self._ready.is_set():  # waiting on a set event still yields to the loop once: every call asks
            await self._ready.wait()
        if self._failure is not None:
            raise RuntimeError("genmcp failed to start; see its log") from self._failure

    # --- the lifespan --------------------------------------------------------------------------------------------

    async def __aenter__(self) -> Runtime:
        # Re-entrant: serving the HTTP app inside an already started runtime must not start (or stop) it twice.
        self._depth += 1
        if self._depth > 1:
            return self
        stack = AsyncExitStack()
        await stack.__aenter__()
        self._stack = stack
        try:
            await self._start(stack)
        except BaseException as exc:
            self._failure = exc
            self._ready.set()
            self._depth -= 1
            await stack.__aexit__(None, None, None)
            raise
        self._ready.set()
        return self

    async def _start(self, stack: AsyncExitStack) -> None:
        await self.store.open()
        stack.push_async_callback(self.store.close)
        await self.artifacts.open()
        stack.push_async_callback(self.artifacts.close)
        for side in (self.ledger, self.pending_saves):
            await side.open()
            stack.push_async_callback(side.close)
        sandbox_url = self.sandbox_server.bind() if self.sandbox_server is not None else None
        # Importing the adapters and building their tools is CPU work: off the event loop, which keeps serving.
        assembly = await anyio.to_thread.run_sync(lambda: _assemble(self, sandbox_url))
        self._assembly = assembly
        for provider in assembly.providers.values():
            stack.push_async_callback(provider.client.http.aclose)
        for wanted, server in self._servers:
            server.serve_tools(assembly.tools_for(wanted))
        task_group = await stack.enter_async_context(anyio.create_task_group())
        # Background calls stop with the runtime; their jobs are marked interrupted at the next start.
        stack.callback(task_group.cancel_scope.cancel)
        self.runs.attach(task_group)
        stack.callback(self.runs.attach, None)
        for provider in assembly.providers.values():
            provider.attach(task_group)
            stack.callback(provider.attach, None)
        await self.tasks.start(
            task_group,
            store=self.store,
            calls=assembly.calls,
            handles=assembly.handles,
            providers=assembly.providers,
            renderer=assembly.renderer,
            finished=assembly.guarded.finished,
        )
        stack.callback(self.tasks.stop)
        if self.sandbox_server is not None:
            stack.push_async_callback(self.sandbox_server.stop)
            await self.sandbox_server.start(task_group, assembly.simulators)
        # Job changes from other replicas (LISTEN/NOTIFY on PostgreSQL), before anything waits for one.
        await task_group.start(self.store.listen)
        task_group.start_soon(self._clean_artifacts)
        interrupted = await assembly.calls.resolve_stale_submissions(self.submit_grace)
        if interrupted:
            log.warning("%d job(s) were interrupted while being submitted; marked submit_unknown", interrupted)
        lost = await assembly.calls.recover()
        if lost:
            log.warning("%d background call(s) of a stopped genmcp were marked interrupted", lost)
        waiting = await assembly.saves.recover()
        if waiting:
            log.info("%d save(s) wait for their job again", waiting)
        task_group.start_soon(assembly.sweeper.run, task_group)

    async def _clean_artifacts(self) -> None:
        """Delete expired artifacts now and then every hour, for as long as the runtime lives."""
        while True:
            try:
                removed = await self.artifacts.cleanup()
            except Exception:
                log.exception("artifact clean-up failed; trying again in an hour")
                removed = 0
            if removed:
                log.info("removed %d expired artifact(s)", removed)
            await anyio.sleep(3600)  # real time on purpose: housekeeping must not move a test's fake clock

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._depth -= 1
        if self._depth == 0 and self._stack is not None:
            stack, self._stack = self._stack, None
            await stack.__aexit__(exc_type, exc, tb)

    def http_app(self) -> ASGIApp:
        """The ASGI app serving this runtime (see `server.http`); the runtime lives as long as the app."""
        from server.http import http_app

        return http_app(self)

    def describe(self) -> str:
        """One line on what is served, for the start-up log."""
        mode = "SANDBOX (simulated providers, no keys used)" if self.sandbox else "live"
        names = ", ".join(sorted(self.served)) or "no providers"
        return f"genmcp {__version__}: {mode}; providers: {names}; store {self.store.description}"


def require_safe_bind(settings: Settings) -> None:
    """Refuse a non-loopback bind without inbound auth unless `server.insecure` says so."""
    if not is_loopback(settings.server.host) and not settings.server.insecure and not settings.auth.enabled:
        raise ConfigError(
            f"refusing to listen on {settings.server.host}: without inbound auth anyone who can reach it could spend "
            "your credits. Listen on 127.0.0.1, or pass --insecure (server.insecure = true) if a proxy in front "
            "authenticates callers."
        )
