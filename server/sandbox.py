"""`--sandbox`: every provider served by its local simulator on a loopback port of this process.

The simulators speak the providers' real HTTP, so the adapters run unchanged; their result URLs point at this
loopback server, so a client on this machine can open the files.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Generator, Mapping
from typing import TYPE_CHECKING

import anyio
import uvicorn
from anyio.abc import TaskGroup
from starlette.applications import Starlette
from starlette.routing import Mount

if TYPE_CHECKING:
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
    """Serves simulators under `/<provider>` on a loopback port of this process."""

    def __init__(self) -> None:
        self._socket: socket.socket | None = None
        self._server: _QuietServer | None = None
        self._finished = anyio.Event()
        self.url = ""

    def bind(self) -> str:
        """Take a free loopback port (before the simulators exist: their links need the address); return the URL."""
        # IPPROTO_TCP tells asyncio it is TCP, so it sets TCP_NODELAY (else each kept-alive request waits ~40 ms).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        self._socket = sock
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        return self.url

    def base(self, provider: str) -> str:
        """Where a provider's simulator is served."""
        return f"{self.url}/{provider}"

    async def start(self, task_group: TaskGroup, simulators: Mapping[str, Simulator]) -> None:
        """Serve `simulators` in `task_group`; returns once the port accepts connections."""
        sock = self._socket
        if sock is None:
            raise RuntimeError("bind() the sandbox server before starting it")
        for name, simulator in simulators.items():
            simulator.public_url = self.base(name)
        app = Starlette(routes=[Mount(f"/{name}", app=sim.app) for name, sim in simulators.items()])
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off", timeout_graceful_shutdown=1)
        server = self._server = _QuietServer(config)

        async def serve() -> None:
            try:
                async with contextlib.AsyncExitStack() as stack:
                    # Some simulators (an MCP server) run background machinery that must be started.
                    for simulator in simulators.values():
                        if isinstance(simulator, contextlib.AbstractAsyncContextManager):
                            await stack.enter_async_context(simulator)
                    await server.serve([sock])
            finally:
                sock.close()
                self._finished.set()

        task_group.start_soon(serve)
        with anyio.fail_after(10):
            await server.listening.wait()

    async def stop(self) -> None:
        """Finish serving (bounded) and release the port."""
        if self._server is not None:
            self._server.should_exit = True
            with anyio.move_on_after(5):
                await self._finished.wait()
        if self._socket is not None:
            self._socket.close()
