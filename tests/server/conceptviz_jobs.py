"""A ConceptViz runtime on the fake clock, and a two-image job started on it: what the call and handle tests share."""

from __future__ import annotations

import httpx2

from providers import PROVIDERS
from providers.conceptviz.simulator import ConceptVizSimulator
from server.app import Runtime
from server.callers import LOCAL
from server.config import Settings
from tests.harness.clock import FakeClock


def conceptviz_runtime(settings: Settings, clock: FakeClock, simulator: ConceptVizSimulator) -> Runtime:
    """A runtime whose ConceptViz provider talks to `simulator` in process."""
    return Runtime(settings, PROVIDERS, clock=clock, transports={"conceptviz": httpx2.ASGITransport(app=simulator.app)})


async def start_job(runtime: Runtime) -> str:
    """Start a two-image ConceptViz generation without waiting; its handle."""
    provider = runtime.providers["conceptviz"]
    operation = next(o for o in provider.operations() if o.name == "generate")
    args = operation.input_model.model_validate({"prompts": ["a", "b"]})
    result = await runtime.calls.run(provider, operation, args, wait=0, progress=None, caller=LOCAL)
    assert result.status == "running"
    assert result.job is not None
    return result.job
