"""Every provider simulator in one process of its own, shared by several genmcp replicas, counting who asks what.

    python -m tests.harness.simhost --replicas 3 --job-seconds 6 --univers-seconds 40

Simulators are served under `/<provider>` (their result links point there) and again under `/r<i>/<provider>` for
replica i, so every request says which replica sent it. `GET /_sim/requests` (not recorded) answers every request
seen so far: `[{"t", "replica", "provider", "method", "path", "overlapping"}]`, where `overlapping` says whether
another request for the same path was in flight at the time (two replicas polling one job at once). With
`?prefix=POST /univers/&count=N&wait=S` (and optionally `&replica=r0`) it answers once N requests whose
"METHOD path" starts with the prefix have been seen, or 408 after S seconds: tests wait on the record, not a timer.
The process prints `simhost listening on <url>` on stderr once it accepts connections.

`SimHost` (for tests) runs it as a subprocess and reads its record.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from providers import PROVIDERS
from providers.base import Simulator
from tests.harness.process import OutputFollower

__all__ = ["REQUESTS_PATH", "SimHost", "main"]

REQUESTS_PATH = "/_sim/requests"


class Recorder:
    """An ASGI wrapper: strips `/r<i>` (the replica), records the request, and tracks requests in flight by path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.seen: list[dict[str, Any]] = []
        self.in_flight: Counter[str] = Counter()
        self.grown = anyio.Event()
        """Set (and replaced) at each request recorded."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == REQUESTS_PATH:
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        replica = "-"
        head, _, rest = path.lstrip("/").partition("/")
        if head.startswith("r") and head[1:].isdigit():
            replica, path = head, "/" + rest
            scope = {**scope, "path": path, "raw_path": path.encode()}
        provider = path.lstrip("/").partition("/")[0]
        self.seen.append(
            {
                "t": time.monotonic(),
                "replica": replica,
                "provider": provider,
                "method": scope["method"],
                "path": path,
                "overlapping": self.in_flight[path] > 0,
            }
        )
        self.grown.set()
        self.grown = anyio.Event()
        self.in_flight[path] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight[path] -= 1


async def _serve(job_seconds: float, univers_seconds: float, sock: socket.socket) -> None:
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    simulators: dict[str, Simulator] = {}
    for provider in PROVIDERS:
        seconds = univers_seconds if provider.name == "univers" else job_seconds
        simulator = provider.simulator(now=time.monotonic, job_seconds=seconds)
        simulator.public_url = f"{url}/{provider.name}"
        simulators[provider.name] = simulator
    recorder: Recorder

    async def requests(request: Request) -> Response:
        if "prefix" not in request.query_params:
            return JSONResponse(recorder.seen)
        prefix, count = request.query_params["prefix"], int(request.query_params["count"])
        replica = request.query_params.get("replica")

        def seen() -> int:
            return sum(
                f"{r['method']} {r['path']}".startswith(prefix) and replica in (None, r["replica"])
                for r in recorder.seen
            )

        with anyio.move_on_after(float(request.query_params["wait"])):
            while seen() < count:
                await recorder.grown.wait()
            return JSONResponse(recorder.seen)
        return JSONResponse(recorder.seen, status_code=408)

    routes: list[Any] = [Route(REQUESTS_PATH, requests, methods=["GET"])]
    routes += [Mount(f"/{name}", app=simulator.app) for name, simulator in simulators.items()]
    recorder = Recorder(Starlette(routes=routes))
    config = uvicorn.Config(recorder, log_level="warning", access_log=False, lifespan="off")
    async with contextlib.AsyncExitStack() as stack:
        for simulator in simulators.values():
            if isinstance(simulator, contextlib.AbstractAsyncContextManager):
                await stack.enter_async_context(simulator)
        print(f"simhost listening on {url}", file=sys.stderr, flush=True)
        await uvicorn.Server(config).serve([sock])


class SimHost:
    """This module run as a subprocess (from the source tree), with its stderr in `<workdir>/simhost.stderr.log`."""

    def __init__(self, workdir: Path, *, job_seconds: float, univers_seconds: float | None = None) -> None:
        self.log = workdir / "simhost.stderr.log"
        command = [sys.executable, "-m", "tests.harness.simhost", "--job-seconds", str(job_seconds)]
        command += ["--univers-seconds", str(univers_seconds if univers_seconds is not None else job_seconds)]
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=Path(__file__).parents[2],
        )
        assert self.process.stderr is not None
        self._follower = OutputFollower(self.process.stderr, self.log, b"simhost listening on ")
        if not self._follower.ready.wait(30) or self._follower.line is None:
            self.stop()
            pytest.fail(f"the simulators did not start: {self.log.read_text(errors='replace')}")
        self.url = self._follower.line.decode().split()[-1]

    def requests(self) -> list[dict[str, Any]]:
        """Every request the simulators have seen (see the module's doc)."""
        response = httpx2.get(self.url + REQUESTS_PATH, timeout=10)
        response.raise_for_status()
        seen: list[dict[str, Any]] = response.json()
        return seen

    async def wait_for(self, prefix: str, count: int, *, replica: str | None = None, seconds: float) -> None:
        """Return once `count` requests starting with `prefix` (from `replica`, if given) have been seen; fail the
        test after `seconds`. The simulators' host answers when its record grows to that, not on a timer."""
        query = {"prefix": prefix, "count": str(count), "wait": str(seconds)}
        if replica is not None:
            query["replica"] = replica
        async with httpx2.AsyncClient(timeout=seconds + 10) as http:
            response = await http.get(self.url + REQUESTS_PATH, params=query)
        if response.status_code == 408:
            pytest.fail(f"{count} × {prefix!r} from {replica or 'any replica'} not seen in {seconds:g} s")
        response.raise_for_status()

    def count(self, prefix: str) -> int:
        """Requests whose "METHOD /provider/path" starts with `prefix`."""
        return sum(f"{r['method']} {r['path']}".startswith(prefix) for r in self.requests())

    def stop(self) -> None:
        """Terminate it and close its pipe."""
        self.process.terminate()
        self.process.wait(10)
        self._follower.join(10)
        if self.process.stderr is not None:
            self.process.stderr.close()


def main(argv: Sequence[str] | None = None) -> None:
    """Serve until terminated."""
    parser = argparse.ArgumentParser(prog="python -m tests.harness.simhost")
    parser.add_argument("--job-seconds", type=float, default=6.0, help="how long a simulated job runs")
    parser.add_argument("--univers-seconds", type=float, default=6.0, help="how long a Univers call takes")
    args = parser.parse_args(argv)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    anyio.run(_serve, args.job_seconds, args.univers_seconds, sock)


if __name__ == "__main__":
    main()
