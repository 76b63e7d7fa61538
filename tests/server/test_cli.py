"""The `genmcp` command: check, jobs and config errors (serve and tools are covered end to end in tests/e2e)."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from server.cli import main
from server.jobs import JobRecord
from server.results import CreditsInfo, ErrorInfo
from server.store.sqlite import SqliteStore

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "jobs.sqlite3"
    monkeypatch.setenv("GENMCP_JOBS__DB_PATH", str(path))
    monkeypatch.setenv("GENMCP_ARTIFACTS__DIR", str(tmp_path / "artifacts"))
    monkeypatch.chdir(tmp_path)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level  # main() installs its own stderr handler
    yield path
    root.handlers[:] = handlers
    root.setLevel(level)


def test_check_in_sandbox_proves_each_provider_with_a_read(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--sandbox"]) == 0
    out = capsys.readouterr().out
    assert "config ok" in out
    assert "SANDBOX" in out
    assert "conceptviz: ok — key accepted" in out


def test_check_reports_a_refused_key_and_fails(
    db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A live provider pointed at an address where nothing listens: the reason is printed, not a traceback.
    monkeypatch.setenv("CONCEPTVIZ_API_KEY", "cvk_unreachable_0000")
    monkeypatch.setenv("GENMCP_PROVIDERS__CONCEPTVIZ__BASE_URL", "http://127.0.0.1:9/api/v1")
    monkeypatch.setenv("GENMCP_UPSTREAM__MAX_RETRIES", "0")
    assert main(["check"]) == 1
    out = capsys.readouterr().out
    assert "conceptviz: FAILED — could not connect to ConceptViz" in out
    assert "cvk_unreachable_0000" not in out


async def _seed(path: Path) -> None:
    store = SqliteStore(path)
    await store.open()
    await store.create(
        JobRecord(
            provider="conceptviz",
            operation="generate",
            status="completed",
            upstream_id="task1",
            created_at=1_700_000_000,
            updated_at=1_700_000_100,
            credits=CreditsInfo(charged=2, remaining=98),
        )
    )
    await store.create(
        JobRecord(
            provider="conceptviz",
            operation="edit",
            status="submit_unknown",
            created_at=1_700_000_200,
            updated_at=1_700_000_200,
            error=ErrorInfo(code="submit_unknown", message="lost", retryable=False, charged=None),
        )
    )
    await store.close()


def test_jobs_lists_the_registry_with_filters(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    anyio.run(_seed, db)
    assert main(["jobs"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert "submit_unknown" in lines[0]
    assert "edit" in lines[0]
    assert "conceptviz:task1" in lines[1]
    assert "credits=2.0" in lines[1]

    assert main(["jobs", "--status", "completed", "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    assert '"upstream_id":"task1"' in out[0]


def test_an_invalid_config_exits_2_naming_the_key(
    db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GENMCP_SERVER__PORT", "eighty")
    assert main(["tools"]) == 2
    err = capsys.readouterr().err
    assert "server.port (from GENMCP_SERVER__PORT)" in err


def test_a_runtime_is_built_without_the_call_machinery_so_a_stdio_handshake_does_not_wait_for_it(
    tmp_path: Path,
) -> None:
    # A fresh interpreter: this one has imported everything already.
    program = (
        "import sys\n"
        "from providers import PROVIDERS\n"
        "from server.app import Runtime\n"
        "from server.config import load_settings\n"
        f"env = {{'GENMCP_JOBS__DB_PATH': {str(tmp_path / 'jobs.sqlite3')!r}}}\n"
        "Runtime(load_settings(None, env=env, provider_names=PROVIDERS.names), PROVIDERS, stdio=True)\n"
        "print(' '.join(sorted(name for name in sys.modules if name.startswith(('server', 'providers')))))\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True, cwd=REPO)
    loaded = set(done.stdout.split())
    assert "server.mcp_server" in loaded  # the server that answers the handshake is there
    late = {"providers.base", "server.calls", "server.tools", "server.assembly", "server.budget.guard"}
    late |= {"server.saving.saves", "server.handles", "server.catalog", "server.inputs"}
    assert loaded.isdisjoint(late), sorted(loaded & late)
    assert not any(name.startswith(("providers.kolbo", "providers.masko")) for name in loaded)
