"""The baseline: a bare `MCPServer` with one tool that makes genmcp's upstream request with a plain httpx2 client.

    python -m bench.baseline --upstream http://127.0.0.1:PORT/api/v1/account/credits --header X-API-Key=KEY
    python -m bench.baseline --stdio        (the start-up floor: the same server on stdin/stdout)

It serves streamable HTTP at `/mcp` on a loopback port the OS picks, with the SDK's defaults (no registry, no
redaction, no access log): what any MCP server must pay to answer the same call.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import uvicorn
from mcp.server.mcpserver import MCPServer
from starlette.applications import Starlette

__all__ = ["build_app", "build_server", "main"]


def build_server(upstream: str, clients: list[httpx2.AsyncClient]) -> MCPServer[Any]:
    """The bare server: one tool that GETs `upstream` with `clients[0]` and answers the JSON it gets."""
    server: MCPServer[Any] = MCPServer("baseline", version="0")

    @server.tool(name="credits", description="The account's balance, read live from the provider.")
    async def credits(provider: str | None = None) -> dict[str, Any]:
        response = await clients[0].get(upstream)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    return server


def build_app(upstream: str, headers: dict[str, str]) -> Starlette:
    """The baseline's ASGI app; its one HTTP client lives as long as the app."""
    clients: list[httpx2.AsyncClient] = []
    app = build_server(upstream, clients).streamable_http_app()
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(starlette: Starlette) -> AsyncIterator[None]:
        async with httpx2.AsyncClient(headers=headers, timeout=30) as client, inner(starlette):
            clients.append(client)
            yield

    app.router.lifespan_context = lifespan
    return app


def main(argv: Sequence[str] | None = None) -> None:
    """Serve until terminated."""
    parser = argparse.ArgumentParser(prog="python -m bench.baseline", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--upstream", default="http://127.0.0.1:9/", help="the URL the tool GETs")
    parser.add_argument("--header", action="append", default=[], help="NAME=VALUE sent with every upstream request")
    parser.add_argument("--stdio", action="store_true", help="serve on stdin/stdout (the tool is listed, not used)")
    args = parser.parse_args(argv)
    if args.stdio:
        build_server(args.upstream, []).run()
        return
    headers = dict(item.split("=", 1) for item in args.header)
    config = uvicorn.Config(
        build_app(args.upstream, headers), host="127.0.0.1", port=0, log_level="info", access_log=False
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
