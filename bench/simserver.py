"""Run one provider simulator in its own process, with counters the suite can read.

    python -m bench.simserver conceptviz --key KEY --job-seconds 10 --credits 100000

The simulator (`providers/<name>/simulator`, unchanged) is served at `/` on a loopback port the OS picks,
with its public URL set to that address. This runner adds two things around it:

- `GET /_bench/stats` (not counted) tells what it saw:
  `{"counts": {"METHOD /path": n, ...}, "ready_at": {job id: t, ...}, "now": t}`. `ready_at` is when each job
  finishes upstream and `now` the current time, on `time.monotonic()` (one clock for every process on the
  machine), so a client can tell how long after a job finished it got the result.
- For ConceptViz, result files are served like a CDN would: one image drawn at start-up (the simulator's own
  placeholder, same size) for every finished task, instead of the simulator drawing each file on its event loop
  (~15 ms of CPU each, which at N = 1000 would stall the simulator and be measured as genmcp's delay). These
  downloads are counted as `GET /files/<name>` like the simulator's own requests.
"""

from __future__ import annotations

import argparse
import collections
import re
import socket
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx2
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp

from providers._sandbox.faults import RequestLog

__all__ = ["PROVIDERS", "Hosted", "Stats", "build", "fetch_stats", "main"]

STATS_PATH = "/_bench/stats"
BACKLOG = 4096
PROVIDERS = ("conceptviz", "kolbo", "masko")
_CV_FILE = re.compile(r"(?P<task>[A-Za-z0-9_-]+)-(?P<index>[0-9]+)\.png")


@dataclass
class Hosted:
    """A simulator as this runner serves it."""

    app: ASGIApp
    requests: RequestLog
    jobs: Callable[[], Mapping[str, Any]]
    set_public_url: Callable[[str], None]
    routes: list[BaseRoute] = field(default_factory=list)
    """Served before the simulator (they count their own requests into `extra_counts`)."""
    extra_counts: collections.Counter[str] = field(default_factory=collections.Counter)


def _conceptviz(key: str, job_seconds: float, credits: int) -> Hosted:
    from providers._sandbox.images import dimensions_for, placeholder_png
    from providers.conceptviz.simulator import ConceptVizAccount, ConceptVizSimulator

    sim = ConceptVizSimulator(accounts={key: ConceptVizAccount(credits=credits)}, job_seconds=job_seconds)
    width, height = dimensions_for("16:9")
    image = placeholder_png("benchmark diagram", width=width, height=height, label="SANDBOX conceptviz cv-2 2k")
    hosted = Hosted(sim.app, sim.requests, lambda: sim.tasks, lambda url: setattr(sim, "public_url", url))

    async def cdn(request: Request) -> Response:
        name: str = request.path_params["name"]
        hosted.extra_counts[f"GET /files/{name}"] += 1
        match = _CV_FILE.fullmatch(name)
        task = sim.tasks.get(match["task"]) if match else None
        if task is None or task.status_at(sim.now()) != "completed":
            return Response("Not Found", status_code=404, media_type="text/plain")
        return Response(image, media_type="image/png")

    hosted.routes.append(Route("/files/{name}", cdn, methods=["GET"]))
    return hosted


def build(provider: str, *, key: str, job_seconds: float, credits: int) -> Hosted:
    """A simulator whose only account is `key`, with `credits` to spend."""
    if provider == "conceptviz":
        return _conceptviz(key, job_seconds, credits)
    if provider == "kolbo":
        from providers.kolbo.simulator import KolboAccount, KolboSimulator

        kb = KolboSimulator(accounts={key: KolboAccount(plan_credits=credits)}, job_seconds=job_seconds)
        return Hosted(kb.app, kb.requests, lambda: kb.generations, lambda url: setattr(kb, "public_url", url))
    if provider == "masko":
        from providers.masko.simulator import MaskoAccount, MaskoSimulator

        mk = MaskoSimulator(
            accounts={key: MaskoAccount(subscription_credits=credits, topup_credits=0)}, job_seconds=job_seconds
        )
        return Hosted(mk.app, mk.requests, lambda: mk.jobs, lambda url: setattr(mk, "public_url", url))
    raise ValueError(f"no simulator runner for {provider!r} (known: {', '.join(PROVIDERS)})")


def app_with_stats(hosted: Hosted) -> Starlette:
    """The stats route, the runner's own routes, then the simulator at `/`."""

    async def stats(request: Request) -> Response:
        ready = {job_id: float(job.ready_at) for job_id, job in hosted.jobs().items() if hasattr(job, "ready_at")}
        counts = hosted.requests.counts + hosted.extra_counts
        return JSONResponse({"counts": dict(counts), "ready_at": ready, "now": time.monotonic()})

    routes: list[BaseRoute] = [Route(STATS_PATH, stats, methods=["GET"]), *hosted.routes, Mount("/", app=hosted.app)]
    return Starlette(routes=routes)


@dataclass(frozen=True)
class Stats:
    """What a simulator saw: requests by "METHOD /path", and when each job finishes (monotonic time)."""

    counts: dict[str, int]
    ready_at: dict[str, float]
    now: float

    def count(self, prefix: str) -> int:
        """Requests whose "METHOD /path" starts with `prefix`."""
        return sum(n for key, n in self.counts.items() if key.startswith(prefix))

    def minus(self, before: Stats) -> dict[str, int]:
        """Requests received since `before`, by "METHOD /path"."""
        delta = {key: n - before.counts.get(key, 0) for key, n in self.counts.items()}
        return {key: n for key, n in delta.items() if n}


async def fetch_stats(base_url: str) -> Stats:
    """Read a running simserver's counters."""
    async with httpx2.AsyncClient(timeout=30) as client:
        response = await client.get(base_url + STATS_PATH)
        response.raise_for_status()
        body = response.json()
    return Stats(counts=body["counts"], ready_at=body["ready_at"], now=body["now"])


def main(argv: Sequence[str] | None = None) -> None:
    """Serve until terminated."""
    parser = argparse.ArgumentParser(prog="python -m bench.simserver", description="Run a simulator with counters.")
    parser.add_argument("provider", choices=PROVIDERS)
    parser.add_argument("--key", required=True, help="the API key the simulator accepts")
    parser.add_argument("--job-seconds", type=float, default=10.0, help="how long each job takes")
    parser.add_argument("--credits", type=int, default=1_000_000, help="credits on the account")
    args = parser.parse_args(argv)
    hosted = build(args.provider, key=args.key, job_seconds=args.job_seconds, credits=args.credits)
    # Listening before uvicorn starts: a client that connects early waits in the backlog instead of being refused.
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and without it every
    # response on a kept-alive connection waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(BACKLOG)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    hosted.set_public_url(url)
    config = uvicorn.Config(
        app_with_stats(hosted), log_level="warning", access_log=False, lifespan="off", backlog=BACKLOG
    )
    print(f"{args.provider} simulator listening on {url}", file=sys.stderr, flush=True)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
