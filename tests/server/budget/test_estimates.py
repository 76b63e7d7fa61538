"""Every spending operation of every provider has a cost estimate beside the figures its description states, so the
budget can price (or knowingly not price) each call before it is sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from providers import PROVIDERS
from server.app import Runtime
from tests.harness.settings import build_settings

pytestmark = pytest.mark.anyio


async def test_every_spending_operation_declares_its_estimate(tmp_path: Path) -> None:
    settings = build_settings(tmp_path, sandbox={"mode": "on"})
    async with Runtime(settings, PROVIDERS) as runtime:
        providers = runtime.providers
        spending = [
            (name, operation)
            for name, provider in providers.items()
            for operation in provider.operations()
            if operation.kind == "spend"
        ]
    assert {name for name, _ in spending} == {cls.name for cls in PROVIDERS}
    missing = [f"{name}_{operation.name}" for name, operation in spending if operation.estimate is None]
    assert missing == []
    assert all(operation.cost.strip() for _, operation in spending)
