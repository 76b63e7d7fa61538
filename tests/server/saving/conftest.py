"""A runtime whose ConceptViz talks to its simulator in process, whose downloads reach that simulator too (as a
public host), and whose results may be saved into `project/`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from providers.conceptviz.simulator import ConceptVizSimulator
from server.app import Runtime
from tests.conftest import make_settings
from tests.harness.clock import FakeClock
from tests.harness.runtime import in_process_runtime


@pytest.fixture
def project(tmp_path: Path) -> Path:
    path = tmp_path / "project"
    path.mkdir()
    return path


@pytest.fixture
async def saving_runtime(
    tmp_path: Path, project: Path, clock: FakeClock, simulator: ConceptVizSimulator
) -> AsyncIterator[Runtime]:
    settings = make_settings(tmp_path, outputs={"dirs": [str(project)], "max_file_bytes": 1_000_000})
    async with in_process_runtime(
        settings, apps={"conceptviz": simulator.app}, clock=clock, fetch_app=simulator.app
    ) as runtime:
        yield runtime
