"""genmcp's built-in authorization server and the official MCP TypeScript SDK's OAuth client
(`ts_oauth.test.mjs`, run with the Node 22 of tests/clients): discovery from a 401, registration, authorization
(the test approves the consent page), token, a tool call, refresh, revocation → 401."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.clients.test_clients import node, node_env, run
from tests.e2e.test_oauth import add_user, oauth_config
from tests.harness.oauth import PASSWORD
from tests.harness.process import GenmcpProcess, start_genmcp

__all__ = ["node"]

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def server(node: Path, tmp_path: Path) -> Iterator[GenmcpProcess]:
    config = oauth_config(tmp_path)
    add_user(tmp_path, config)
    with start_genmcp(tmp_path, config=config) as running:
        yield running


@pytest.mark.timeout(180)
def test_the_typescript_sdk_oauth_client_signs_in_refreshes_and_is_revoked(
    node: Path, server: GenmcpProcess, tmp_path: Path
) -> None:
    finished = run(
        [node, "--test", "--test-reporter=tap", "ts_oauth.test.mjs"],
        timeout=120,
        env=node_env(tmp_path / "home", GENMCP_URL=server.mcp_url, GENMCP_USER="alice", GENMCP_PASSWORD=PASSWORD),
    )
    counts = dict(re.findall(r"^# (tests|pass|fail) (\d+)$", finished.stdout, re.M))
    print(f"TypeScript SDK OAuth client: {counts}")
    context = f"{finished.report()}\n--- genmcp stderr ---\n{server.stderr()[-8000:]}"
    assert finished.returncode == 0, context
    assert counts == {"tests": "1", "pass": "1", "fail": "0"}, context
