"""The store's password is a secret like a provider key: never in a log, a tool result, the output of `genmcp check`,
`genmcp jobs` or an operator command (`genmcp users`), or any table of the store (the authorization server's
included) — including when the password is wrong and PostgreSQL refuses it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from server.store.migrations import POSTGRES
from tests.harness.postgres import PostgresServer, fresh_database, table_dump
from tests.harness.process import clean_env, run_genmcp, start_genmcp
from tests.harness.settings import settings_data
from tests.security.conftest import Leaks, connect, data

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

PASSWORD = "pg_CANARY_9d2e7b4f1a6c8035"
ROLE = "genmcp_canary"


@pytest.fixture
def canary_url(postgres: PostgresServer) -> Iterator[str]:
    """A database owned by a role whose password is the canary; its URL (with the password)."""
    with psycopg.connect(postgres.url, autocommit=True) as conn:
        conn.execute(f"DROP ROLE IF EXISTS {ROLE}")
        conn.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'")
    with fresh_database(postgres) as url:
        with psycopg.connect(postgres.url, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{urlsplit(url).path.lstrip("/")}" OWNER TO {ROLE}')
        parts = urlsplit(url)
        yield parts._replace(netloc=f"{ROLE}:{PASSWORD}@{parts.hostname}:{parts.port}").geturl()


def _config(workdir: Path, url: str) -> dict[str, object]:
    return settings_data(workdir, store={"url": url}, sandbox={"mode": "on", "job_seconds": 1})


async def test_the_store_password_never_leaves_genmcp(tmp_path: Path, canary_url: str, leaks: Leaks) -> None:
    config = _config(tmp_path, canary_url)
    with start_genmcp(tmp_path, config=config) as server:
        async with connect(server.mcp_url) as client:
            started = leaks.result(
                "generate", await client.call_tool("conceptviz_generate", {"prompt": "p", "wait": 10})
            )
            leaks.result("jobs", await client.call_tool("jobs", {}))
    leaks.add("serve stderr", server.stderr())
    assert data(started)["status"] == "completed"
    env = clean_env(tmp_path, GENMCP_CONFIG=str(tmp_path / "genmcp.toml"))
    for command in (["check"], ["jobs", "--json"], ["users", "add", "carol", "--no-password"], ["users", "list"]):
        done = run_genmcp(command, workdir=tmp_path, env=env, timeout=60)
        leaks.add(" ".join(command), done.stdout + done.stderr)
        assert done.returncode == 0, done.stdout + done.stderr
        if command == ["check"]:
            assert f"postgresql postgresql://{ROLE}@127.0.0.1:" in done.stdout
            assert f"schema version {POSTGRES[-1].version}" in done.stdout
        elif command[0] == "jobs":  # `genmcp jobs` reads the PostgreSQL store
            (record,) = [json.loads(line) for line in done.stdout.splitlines()]
            assert (record["provider"], record["status"]) == ("conceptviz", "completed")
    assert "carol" in done.stdout  # `users` worked on the PostgreSQL store
    for table, rows in table_dump(canary_url).items():
        leaks.add(f"store:{table}", rows)
    assert PASSWORD not in "\n".join(text for _, text in leaks.texts)


def test_a_refused_password_is_a_clear_error_without_the_password(tmp_path: Path, canary_url: str) -> None:
    wrong = canary_url.replace(PASSWORD, PASSWORD[:-4] + "0000")
    (tmp_path / "genmcp.toml").write_text(f'[store]\nurl = "{wrong}"\n[sandbox]\nmode = "on"\n')
    env = clean_env(tmp_path, GENMCP_CONFIG=str(tmp_path / "genmcp.toml"))
    for command in (["check"], ["users", "list"]):  # a server's start, and an operator command
        done = run_genmcp(command, workdir=tmp_path, env=env, timeout=60)
        output = done.stdout + done.stderr
        assert done.returncode != 0
        assert "cannot connect to the store" in output
        assert f"postgresql://{ROLE}@127.0.0.1" in output
        assert PASSWORD[:-4] not in output
        assert "Traceback" not in output
