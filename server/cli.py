"""`genmcp serve | tools | check | jobs | install`, and (from `server.oauth.cli`) `users | clients | tokens | auth`."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import re
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from providers import PROVIDERS
from server import __version__
from server.config import Settings, load_settings
from server.errors import ConfigError, GenmcpError
from server.redaction import RedactingFilter, Redactor

if TYPE_CHECKING:
    from mcp.server.context import CallNext, HandlerResult, ServerRequestContext

    from server.app import Runtime

__all__ = ["main"]

log = logging.getLogger("genmcp")

_START_ANYWAY = 5.0
"""Seconds after which a stdio runtime starts even if no client has said anything (its jobs go on)."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="genmcp", description="One MCP server for creative-generation providers.")
    parser.add_argument("--version", action="version", version=f"genmcp {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--config", type=Path, help="TOML config file (default: $GENMCP_CONFIG or ./genmcp.toml)")
        sub.add_argument("--sandbox", action="store_true", help="serve every provider from its local simulator")

    serve = commands.add_parser("serve", help="run the MCP server (streamable HTTP, or --stdio)")
    common(serve)
    serve.add_argument("--host", help="listen address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="listen port (default 8000)")
    serve.add_argument("--stdio", action="store_true", help="speak MCP on stdin/stdout (for clients that spawn it)")
    serve.add_argument("--insecure", action="store_true", help="allow a non-loopback address without inbound auth")

    tools = commands.add_parser("tools", help="list the tools that would be served")
    common(tools)

    check = commands.add_parser("check", help="validate the config and test each provider's key")
    common(check)

    install = commands.add_parser("install", help="connect a client: print (or --write) its config entry")
    install.add_argument("client", choices=["claude-code", "claude-desktop", "claude-connector", "cursor", "vscode"])
    install.add_argument("--transport", choices=["http", "stdio"], help="default: http (stdio for claude-desktop)")
    install.add_argument("--url", help="the MCP endpoint (default: http://127.0.0.1:8000/mcp)")
    install.add_argument("--provider", help="connect to one provider's endpoint (/mcp/<provider>): fewer tools")
    install.add_argument("--write", action="store_true", help="merge it into the client's config file (backup kept)")
    install.add_argument("--force", action="store_true", help="replace an existing genmcp entry")
    install.add_argument("--config-file", type=Path, help="the client config file to write (default: the client's)")

    jobs = commands.add_parser("jobs", help="show the job registry")
    common(jobs)
    jobs.add_argument("--provider", help="only this provider")
    jobs.add_argument("--status", help="only this status (running, completed, failed, submit_unknown, …)")
    jobs.add_argument("--limit", type=int, default=20)
    jobs.add_argument("--json", action="store_true", help="print JSON records")

    from server.oauth.commands import add_commands

    add_commands(commands, common)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    path: Path | None = args.config
    if path is None and os.environ.get("GENMCP_CONFIG"):
        path = Path(os.environ["GENMCP_CONFIG"])
    if path is None and Path("genmcp.toml").is_file():
        path = Path("genmcp.toml")
    overrides: dict[str, Any] = {}
    if getattr(args, "host", None):
        overrides.setdefault("server", {})["host"] = args.host
    if getattr(args, "port", None) is not None:
        overrides.setdefault("server", {})["port"] = args.port
    if getattr(args, "insecure", False):
        overrides.setdefault("server", {})["insecure"] = True
    if args.sandbox:
        overrides["sandbox"] = {"mode": "on"}
    return load_settings(path, env=os.environ, provider_names=PROVIDERS.names, overrides=overrides)


def _configure_logging(settings: Settings) -> None:
    # stderr only: on stdio, stdout belongs to the protocol.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(Redactor(settings.secrets())))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.server.log_level)
    logging.captureWarnings(True)
    for noisy in ("httpx2", "httpcore", "mcp.server.streamable_http", "mcp.server.lowlevel.server"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def _started() -> None:
    """Start-up is over: collect from now on, leaving what start-up built (modules, models, tools) out of every
    collection. Start-up allocates much and frees little, so the collector only slowed it down."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


async def _serve(settings: Settings, stdio: bool) -> None:
    gc.disable()  # until `_started`
    import uvicorn

    from server.app import Runtime, require_safe_bind

    if not stdio:
        require_safe_bind(settings)
    runtime = Runtime(settings, PROVIDERS, stdio=stdio)
    log.info(runtime.describe())
    if stdio:
        await _serve_stdio(runtime)
        return
    server = settings.server
    config = uvicorn.Config(
        runtime.http_app(),
        host=server.host,
        port=server.port,
        log_config=None,
        timeout_graceful_shutdown=5,
        lifespan="on",
        ssl_certfile=server.tls_certfile or None,
        ssl_keyfile=server.tls_keyfile or None,
    )
    log.info("MCP endpoint: %s%s", server.origin(), server.path)
    _started()
    await uvicorn.Server(config).serve()


_HANDSHAKE = frozenset({"initialize", "server/discover"})


async def _serve_stdio(runtime: Runtime) -> None:
    """Answer on stdin/stdout at once; the runtime starts once the handshake is answered (or at the first message
    that needs it), so its adapters are not assembled while the client waits for `initialize`. Requests that need
    the runtime wait for it."""
    wanted = anyio.Event()

    async def first_answer(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method not in _HANDSHAKE:
            _started()
            wanted.set()
            return await call_next(ctx)
        try:
            return await call_next(ctx)
        finally:
            _started()
            wanted.set()

    async def live() -> None:
        with anyio.move_on_after(_START_ANYWAY):
            await wanted.wait()
        _started()
        async with runtime:
            await done.wait()

    done = anyio.Event()
    runtime.mcp.middleware.append(first_answer)
    async with anyio.create_task_group() as group:
        group.start_soon(live)
        try:
            await runtime.mcp.run_stdio_async()
        finally:
            done.set()


async def _tools(settings: Settings) -> None:
    from server.app import Runtime
    from server.tools import KIND_META

    async with Runtime(settings, PROVIDERS) as runtime:
        tools = await runtime.mcp.list_tools()
    width = max(len(tool.name) for tool in tools)
    for tool in tools:
        kind = str((tool.meta or {}).get(KIND_META, "read"))
        summary = re.split(r"(?<=[.:])\s+(?=[A-Z`])", (tool.description or "").split("\n", 1)[0])[0].rstrip(".:")
        print(f"{tool.name:<{width}}  {kind:<6}  {summary[:110]}{'…' if len(summary) > 110 else ''}")


async def _check(settings: Settings) -> int:
    from server.app import Runtime

    runtime = Runtime(settings, PROVIDERS)
    print(f"config ok. {runtime.describe()}")
    failures = 0
    async with runtime:
        print(f"store: {runtime.store.description}, schema version {await runtime.store.schema_version()}")
        if not runtime.providers:
            print("no provider is configured: set a key such as CONCEPTVIZ_API_KEY, or use --sandbox.")
            return 1
        for name, provider in sorted(runtime.providers.items()):
            try:
                print(f"{name}: ok — {await provider.check()}")
            except GenmcpError as exc:
                failures += 1
                print(f"{name}: FAILED — {runtime.redactor(exc.message)}")
    return 1 if failures else 0


async def _jobs(settings: Settings, args: argparse.Namespace) -> None:
    from server.store import build_stores

    redactor = Redactor(settings.secrets())
    store = build_stores(settings, wall=time.time, redact=redactor).jobs
    await store.open()
    try:
        records = await store.list(provider=args.provider, status=args.status, limit=args.limit)
    finally:
        await store.close()
    if args.json:
        for record in records:
            print(record.model_dump_json())
        return
    if not records:
        print("no jobs")
        return
    for job in records:
        when = datetime.fromtimestamp(job.created_at, UTC).strftime("%Y-%m-%d %H:%M:%S")
        charged = job.credits.charged if job.credits and job.credits.charged is not None else "-"
        error = f"  {job.error.code}" if job.error else ""
        print(f"{when}  {job.status:<14} {job.handle or job.id:<40} {job.operation:<10} credits={charged}{error}")


def _install(args: argparse.Namespace) -> int:
    from server.install import plan, render, write

    names = [p.name for p in PROVIDERS]
    if args.provider and args.provider not in names:
        raise ConfigError(f"unknown provider {args.provider!r}; choose one of {', '.join(names)}.")
    url = args.url or "http://127.0.0.1:8000/mcp" + (f"/{args.provider}" if args.provider else "")
    if args.client == "claude-connector":
        from server.install import connector_steps

        if not args.url:
            raise ConfigError("pass --url with genmcp's public https URL, e.g. --url https://genmcp.example.com/mcp")
        print(connector_steps(url))
        return 0
    install = plan(
        args.client,
        transport=args.transport,
        url=url,
        key_vars=[p.key_env() for p in PROVIDERS],
        env=os.environ,
        config_file=args.config_file,
    )
    print(render(install))
    if args.write:
        backup = write(install, force=args.force)
        print(f"\nwrote {install.config_file}" + (f" (backup: {backup})" if backup else ""))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `genmcp` command."""
    args = _parser().parse_args(argv)
    if args.command == "install":
        try:
            return _install(args)
        except ConfigError as exc:
            print(f"genmcp: {exc.message}", file=sys.stderr)
            return 2
    try:
        settings = _settings(args)
    except ConfigError as exc:
        print(f"genmcp: {exc.message}", file=sys.stderr)
        return 2
    _configure_logging(settings)
    try:
        if args.command == "serve":
            anyio.run(_serve, settings, args.stdio)
        elif args.command == "tools":
            anyio.run(_tools, settings)
        elif args.command == "check":
            return anyio.run(_check, settings)
        elif args.command == "jobs":
            anyio.run(_jobs, settings, args)
        else:
            from server.oauth.cli import run as run_oauth

            return anyio.run(run_oauth, settings, args)
    except ConfigError as exc:
        print(f"genmcp: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
