"""`--sandbox`: every provider served by its local simulator on a loopback port of this process.

The simulators speak the providers' real HTTP, so the adapters run unchanged; their result URLs point at this
loopback server, so a client on this machine can open the files.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Generator, Mapping

import anyio
import uvicorn
from anyio.abc import TaskGroup
from starlette.applications import Starlette
from starlette.routing import Mount

from providers.base import Simulator

__all__ = ["SandboxServer"]


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the process's main server and says when it listens."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.listening = anyio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.listening.set()


class SandboxServer:
    """Serves simulators under `/<provider>` on a loopback port chosen at construction."""

    def __init__(self, simulators: Mapping[str, Simulator]) -> None:
        self.simulators = dict(simulators)
        # IPPROTO_TCP tells asyncio it is TCP, so it sets TCP_NODELAY (else each kept-alive request waits ~40 ms).
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        for name, simulator in self.simulators.items():
            simulator.public_url = self.base(name)
        app = Starlette(routes=[Mount(f"/{name}", app=sim.app) for name, sim in self.simulators.items()])
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off", timeout_graceful_shutdown=1)
        self._server = _QuietServer(config)
        self._finished = anyio.Event()

    def base(self, provider: str) -> str:
        """Where a provider's simulator is served."""
        return f"{self.url}/{provider}"

    async def start(self, task_group: TaskGroup) -> None:
        """Start serving in `task_group`; returns once the port accepts connections."""

        async def serve() -> None:
            try:
                async with contextlib.AsyncExitStack() as stack:
                    # Some simulators (an MCP server) run background machinery that must be started.
                    for simulator in self.simulators.values():
                        if isinstance(simulator, contextlib.AbstractAsyncContextManager):
                            await stack.enter_async_context(simulator)
                    await self._server.serve([self._socket])
            finally:
                self._socket.close()
                self._finished.set()

        task_group.start_soon(serve)
        with anyio.fail_after(10):
            await self._server.listening.wait()

    async def stop(self) -> None:
        """Finish serving (bounded) and release the port."""
        self._server.should_exit = True
        with anyio.move_on_after(5):
            await self._finished.wait()
        self._socket.close()
