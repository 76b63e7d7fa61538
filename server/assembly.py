"""What a runtime assembles when it starts: the served providers (adapters with their HTTP clients), their
simulators in sandbox mode, the calls, handles and balances over them, and every tool.

`assemble` imports the adapters and builds the tools' schemas: CPU work the runtime runs in a worker thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx2
from mcp.server.mcpserver.tools import Tool

from providers.base import Provider, Simulator
from server import __version__
from server.budget.guard import SpendGuard
from server.budget.policy import BudgetPolicy
from server.calls import Calls
from server.catalog import Catalog
from server.credits import Balances
from server.guarded import Guarded
from server.handles import Handles
from server.inputs import ImageInputs
from server.limits import CircuitBreaker
from server.orphans import OrphanSweeper
from server.polling import Poller
from server.saving.saves import Saves
from server.saving.sources import AssetSource
from server.tools import Tools
from server.upstream import UpstreamClient

if TYPE_CHECKING:
    from server.app import Runtime

__all__ = ["Assembly", "assemble"]


@dataclass(frozen=True)
class Assembly:
    """The parts of a started runtime that need the provider adapters."""

    providers: dict[str, Provider]
    simulators: dict[str, Simulator]
    calls: Calls
    handles: Handles
    balances: Balances
    guard: SpendGuard
    saves: Saves
    guarded: Guarded
    tools: Sequence[tuple[frozenset[str], Tool]]
    """Every tool, with the providers whose own endpoint serves it too."""
    renderer: Tools
    """How a result reads to a client (a task's result is rendered like the tool's)."""
    sweeper: OrphanSweeper
    """Takes over the jobs of replicas that died."""

    def tools_for(self, wanted: frozenset[str] | None) -> list[Tool]:
        """The tools of an endpoint serving these providers (all of them when None)."""
        return [tool for endpoints, tool in self.tools if wanted is None or endpoints & wanted]


def _clients(runtime: Runtime, sandbox_url: str | None) -> dict[str, Provider]:
    settings = runtime.settings
    upstream, limits = settings.upstream, settings.limits
    # One TLS context for every provider client (each costs ~50 ms to build); none needed for the simulators.
    tls = httpx2.create_ssl_context() if sandbox_url is None else False
    providers: dict[str, Provider] = {}
    for name in runtime.served:
        cls = runtime.adapters.load(name)
        conf = settings.provider(name)
        if sandbox_url is not None:
            key, base_url = cls.sandbox_key, f"{sandbox_url}/{name}{urlsplit(cls.default_base_url).path}"
        elif conf.api_key is not None:
            key, base_url = conf.api_key.get_secret_value(), conf.base_url or cls.default_base_url
        else:
            continue
        http = httpx2.AsyncClient(
            base_url=base_url,
            headers={**cls.auth_headers(key), "User-Agent": f"genmcp/{__version__}"},
            transport=runtime.transports.get(name),
            follow_redirects=False,
            timeout=httpx2.Timeout(upstream.read_timeout, connect=upstream.connect_timeout),
            verify=tls,
        )
        client = UpstreamClient(
            provider=cls.title,
            http=http,
            settings=upstream,
            clock=runtime.clock,
            redactor=runtime.redactor,
            name=name,
            auth_headers=cls.auth_headers,
            breaker=CircuitBreaker(
                provider=cls.title,
                threshold=limits.breaker_threshold,
                cooldown=limits.breaker_cooldown,
                now=runtime.clock.now,
            ),
            concurrency=limits.provider_concurrency,
        )
        providers[name] = cls(conf, client)
    return providers


def assemble(runtime: Runtime, sandbox_url: str | None) -> Assembly:
    """Build the provider-dependent parts of `runtime` (its simulators too, when `sandbox_url` is given)."""
    settings = runtime.settings
    simulators: dict[str, Simulator] = {}
    if sandbox_url is not None:
        runtime.fetcher.allow(urlsplit(sandbox_url).netloc)
        simulators = {
            name: runtime.adapters.load(name).simulator(now=runtime.clock.now, job_seconds=settings.sandbox.job_seconds)
            for name in runtime.served
        }
    providers = _clients(runtime, sandbox_url)
    poller = Poller(runtime.store, runtime.clock, runtime.runs, runtime.leases)
    balances = Balances(providers=providers, store=runtime.store, clock=runtime.clock, sandbox=runtime.sandbox)
    calls = Calls(
        store=runtime.store,
        leases=runtime.leases,
        poller=poller,
        clock=runtime.clock,
        jobs=settings.jobs,
        inputs=ImageInputs(
            settings.inputs,
            artifacts=runtime.artifacts,
            fetcher=runtime.fetcher,
            public_base=settings.server.public_url or None,
        ),
        files=runtime.files,
        runs=runtime.runs,
        balances=balances,
        sandbox=runtime.sandbox,
        redactor=runtime.redactor,
        ask=runtime.tasks.ask,
    )
    handles = Handles(
        providers=providers,
        store=runtime.store,
        poller=poller,
        calls=calls,
        clock=runtime.clock,
        redactor=runtime.redactor,
        sandbox=runtime.sandbox,
        submit_grace=runtime.submit_grace,
    )
    guard = SpendGuard(
        policy=BudgetPolicy(settings.budget, runtime.clock.wall),
        ledger=runtime.ledger,
        store=runtime.store,
        clock=runtime.clock,
    )
    saves = Saves(
        settings=settings.outputs,
        source=AssetSource(
            artifacts=runtime.artifacts,
            fetcher=runtime.fetcher,
            max_bytes=settings.outputs.max_file_bytes,
            timeout=settings.outputs.download_timeout,
        ),
        artifacts=runtime.artifacts,
        pending=runtime.pending_saves,
        runs=runtime.runs,
        clock=runtime.clock,
        client_roots_default=runtime.stdio,
        redact=runtime.redactor,
    )
    saves.poll = lambda handle, caller: handles.poll(handle, wait=None, progress=None, caller=caller)
    guarded = Guarded(calls=calls, handles=handles, guard=guard, saves=saves, store=runtime.store, files=runtime.files)
    catalog = Catalog(
        providers=providers,
        calls=calls,
        handles=handles,
        balances=balances,
        jobs=settings.jobs,
        guarded=guarded,
        guard=guard,
    )
    scope_guard = None
    if settings.auth.mode == "builtin":
        from server.oauth.scopes import ScopeGuard

        scope_guard = ScopeGuard()
    tools = Tools(
        providers=providers,
        limits=runtime.limits,
        redactor=runtime.redactor,
        previews=runtime.previews,
        scope_guard=scope_guard,
    )
    served = [(spec.endpoints, tools.tool(spec, sandbox=runtime.sandbox)) for spec in catalog.specs()]
    return Assembly(
        providers=providers,
        simulators=simulators,
        calls=calls,
        handles=handles,
        balances=balances,
        guard=guard,
        saves=saves,
        guarded=guarded,
        tools=served,
        renderer=tools,
        sweeper=OrphanSweeper(
            store=runtime.store,
            leases=runtime.leases,
            poller=poller,
            calls=calls,
            providers=providers,
            clock=runtime.clock,
            submit_grace=runtime.submit_grace,
        ),
    )
