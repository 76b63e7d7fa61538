"""Local simulator of Cosmiq, whose whole public surface is a remote MCP server (https://www.cosmiq.studio/api/mcp).

The simulator is an MCP server (MCP Python SDK, streamable HTTP, stateful sessions) behind bearer-key auth,
plus the plain HTTP pages a client follows afterwards: `GET /boards/<id>` (HTML), `GET /images/<id>.png` and
`GET /videos/<id>.mp4`, which need no key.

The MCP endpoint needs its session manager running. `sim.app` starts it from its own ASGI lifespan (uvicorn
serving `sim.app` directly), but a mounted sub-app or an `httpx2.ASGITransport` never runs lifespans, so callers
enter the simulator themselves::

    sim = CosmiqSimulator()
    async with sim:                      # or: async with sim.lifespan():
        transport = httpx2.ASGITransport(app=sim.app)
        ...

Entering it while it is already running is a no-op, and it can be entered again after it has been left
(every entry after the first builds a fresh session manager, which also forgets every session).

Like the handshake-era servers it imitates, the simulator does not speak the 2026 stateless protocol: a request
whose `MCP-Protocol-Version` header names a version without the initialize handshake gets 400, so an SDK client in
`mode="auto"` falls back to `initialize` after one probe.

Modules: `app` (the simulator, its MCP endpoint and lifecycle), `building` (the tools that create boards),
`revising` (get_board and update_prompts), `pages` (the keyless pages), `store` (state and shared steps),
`models` (accounts, boards, tool argument models).
"""

from providers.cosmiq.simulator.app import CosmiqSimulator
from providers.cosmiq.simulator.models import (
    Board,
    BoardImage,
    BoardShape,
    Concept,
    CosmiqAccount,
    PromptNode,
    PromptUpdate,
    Slide,
)

__all__ = [
    "Board",
    "BoardImage",
    "BoardShape",
    "Concept",
    "CosmiqAccount",
    "CosmiqSimulator",
    "PromptNode",
    "PromptUpdate",
    "Slide",
]
