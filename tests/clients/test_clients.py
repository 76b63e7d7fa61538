"""genmcp against MCP clients nobody here wrote: the official TypeScript SDK client, the MCP Inspector CLI and the
official MCP conformance suite (0.1.16 for 2025-11-25, 0.2.0-alpha.12 — npm alias `conformance-2026` — for
2026-07-28), all run with the Node 22 that `tests/clients/install.sh` installs from the npm registry into
`tests/clients/node_modules` (pinned in `package-lock.json`).

Without `tests/clients/node_modules` these tests skip, saying so, except under CI (`CI` set), where they fail: CI
must run them, never skip them silently.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import pytest
from mcp import Client

from tests.e2e.conftest import TOOLS, sandbox_env
from tests.harness.process import GenmcpProcess, clean_env, free_port, start_genmcp

pytestmark = [pytest.mark.e2e]

HERE = Path(__file__).resolve().parent
NODE_MODULES = HERE / "node_modules"
NODE = NODE_MODULES / "node" / "bin" / "node"
"""Node 22 from the npm `node` package; the system Node is never used."""
BIN = NODE_MODULES / ".bin"
CONFORMANCE = NODE_MODULES / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
"""The pinned suite's entry point (by path: the authorization-server suite, installed under the alias
`conformance-auth`, declares the same `conformance` command)."""
EXPECTED_FAILURES = HERE / "expected_failures.txt"
EXPECTED_FAILURES_2026 = HERE / "expected_failures_2026.txt"
REPO = HERE.parent.parent
PROVIDER_TOOLS = {
    "cosmiq_create",
    "masko_create_project",
    "masko_create_mascot",
    "masko_generate",
    "kolbo_generate_image",
    "univers_ai_image",
    "conceptviz_generate",
}
"""Tools the TypeScript client test drives; every sandbox server serves them."""
JOB_SECONDS = 12
"""Sandbox job length for the client tests: long enough for a call genmcp runs itself to report progress (5 s)."""
TS_CLIENT_TIMEOUT = 180.0
INSPECTOR_TIMEOUT = 60.0
CONFORMANCE_TIMEOUT = 240.0
OUTPUT_TAIL = 12_000
"""Characters of a subprocess's output (and of genmcp's stderr) shown when a test fails."""


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _tail(text: str, limit: int = OUTPUT_TAIL) -> str:
    return text if len(text) <= limit else f"[… {len(text) - limit} characters cut …]\n{text[-limit:]}"


@dataclass
class Finished:
    """A subprocess that exited within its time limit."""

    args: Sequence[str]
    returncode: int
    stdout: str
    stderr: str

    def report(self) -> str:
        command = " ".join(Path(a).name if os.sep in a else a for a in self.args)
        return (
            f"$ {command}\nexit code {self.returncode}\n"
            f"--- stdout ---\n{_tail(self.stdout)}\n--- stderr ---\n{_tail(self.stderr)}"
        )


def run(args: Sequence[str | Path], *, timeout: float, env: dict[str, str]) -> Finished:
    """Run `args` in tests/clients in a process group of its own; kill the whole group if it overruns `timeout`
    (or when the test is interrupted), so no Node child is left behind."""
    argv = [str(arg) for arg in args]
    process = subprocess.Popen(
        argv,
        cwd=HERE,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
        start_new_session=True,
    )
    try:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process.pid)
            stdout, stderr = process.communicate(timeout=10)
            pytest.fail(
                f"did not finish within {timeout:g} s and was killed:\n"
                + Finished(argv, process.returncode, stdout, stderr).report()
            )
    finally:
        _kill_group(process.pid)  # what the command left running in its group (normally nothing)
        if process.poll() is None:
            process.wait(timeout=10)
    return Finished(argv, process.returncode, stdout, stderr)


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def node_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment for a Node client: no provider keys, no colours, and a HOME of its own (the Inspector keeps
    its catalog and client config under ~/.mcp-inspector)."""
    home.mkdir(parents=True, exist_ok=True)
    env = {name: value for name, value in os.environ.items() if not name.endswith("_API_KEY")}
    env.update(HOME=str(home), NO_COLOR="1", FORCE_COLOR="0", **extra)
    env.pop("NODE_OPTIONS", None)
    return env


def _server_log(server: GenmcpProcess) -> str:
    return f"--- genmcp stderr ---\n{_tail(server.stderr())}"


# ---------------------------------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="module")
def node() -> Path:
    """Node 22 from tests/clients/node_modules: skip without it (with the reason), fail without it under CI."""
    if not NODE.is_file():
        why = f"{NODE_MODULES} is not installed (run tests/clients/install.sh)"
        if _in_ci():
            pytest.fail(f"{why}; CI must run the client tests, not skip them")
        pytest.skip(why)
    version = subprocess.run([NODE, "--version"], capture_output=True, text=True, timeout=30, check=True).stdout
    if not re.fullmatch(r"v(2[2-9]|[3-9]\d)\..*", version.strip()):
        pytest.fail(f"{NODE} is Node {version.strip()}; the clients need Node >= 22 (rerun tests/clients/install.sh)")
    return NODE


@pytest.fixture(scope="module")
def sandbox(node: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GenmcpProcess]:
    """`genmcp serve --sandbox` on a free loopback port, as shipped (12-second sandbox jobs)."""
    workdir = tmp_path_factory.mktemp("genmcp-clients")
    env = {"GENMCP_SANDBOX__JOB_SECONDS": str(JOB_SECONDS)}
    with start_genmcp(workdir, args=["--sandbox"], env=env) as server:
        yield server


@pytest.fixture
def conformance_server(node: Path, tmp_path: Path) -> Iterator[GenmcpProcess]:
    """tests/clients/conformance_server.py (genmcp's runtime plus the suite's fixtures) on a free loopback port."""
    workdir = tmp_path / "conformance-server"
    port = free_port()
    command = [sys.executable, "-m", "tests.clients.conformance_server", "--port", str(port)]
    env = clean_env(workdir, **sandbox_env(PYTHONPATH=str(REPO)))
    with GenmcpProcess.start(command, port=port, workdir=workdir, env=env, name="conformance") as server:
        yield server


# ---------------------------------------------------------------------------------------------------------------------
# the TypeScript SDK client and the Inspector


@pytest.mark.timeout(TS_CLIENT_TIMEOUT + 60)
def test_typescript_sdk_client(node: Path, sandbox: GenmcpProcess, tmp_path: Path) -> None:
    """ts_client.test.mjs (node --test): connect, list tools, one generation per provider with progress, a job
    finished with poll after its wait budget, errors read as isError."""
    finished = run(
        [node, "--test", "--test-reporter=tap", "ts_client.test.mjs"],
        timeout=TS_CLIENT_TIMEOUT,
        env=node_env(tmp_path / "home", GENMCP_URL=sandbox.mcp_url),
    )
    counts = {
        key: int(value) for key, value in re.findall(r"^# (tests|pass|fail|cancelled) (\d+)$", finished.stdout, re.M)
    }
    print(f"TypeScript SDK client: {counts}")
    context = f"{finished.report()}\n{_server_log(sandbox)}"
    assert finished.returncode == 0, context
    assert counts.get("pass", 0) > 0, context
    assert counts.get("fail") == 0, context
    assert counts.get("cancelled", 0) == 0, finished.report()


async def _tool_names(url: str) -> list[str]:
    async with Client(url) as client:
        return [tool.name for tool in (await client.list_tools()).tools]


@pytest.mark.timeout(INSPECTOR_TIMEOUT + 60)
def test_inspector_cli_lists_the_tools(node: Path, sandbox: GenmcpProcess, tmp_path: Path) -> None:
    """`inspector --cli URL --method tools/list` sees every tool the server serves, and `--strict` finds no tool
    schema a client could not use."""
    finished = run(
        [
            node,
            BIN / "inspector",
            "--cli",
            sandbox.mcp_url,
            "--method",
            "tools/list",
            "--format",
            "json",
            "--stored-auth-only",  # never start an interactive OAuth flow
            "--strict",  # exit 6 on an error-severity tool-schema portability problem
        ],
        timeout=INSPECTOR_TIMEOUT,
        env=node_env(tmp_path / "home"),
    )
    assert finished.returncode == 0, f"{finished.report()}\n{_server_log(sandbox)}"
    try:
        tools = json.loads(finished.stdout)["result"]["tools"]
    except (ValueError, KeyError, TypeError) as exc:
        pytest.fail(f"no tools in the Inspector's JSON output ({exc!r}):\n{finished.report()}")
    names = [tool["name"] for tool in tools]
    print(f"Inspector tools/list: {len(names)} tools")
    assert set(names) >= (TOOLS | PROVIDER_TOOLS), sorted((TOOLS | PROVIDER_TOOLS) - set(names))
    assert sorted(names) == sorted(anyio.run(_tool_names, sandbox.mcp_url))
    # The conformance fixtures exist only in the conformance harness.
    assert not [name for name in names if name.startswith("test_") or name == "json_schema_2020_12_tool"]


# ---------------------------------------------------------------------------------------------------------------------
# the conformance suite


def read_expected_failures(path: Path = EXPECTED_FAILURES) -> dict[str, str]:
    """`scenario-id  # reason` per line (blank lines and whole-line comments skipped); every entry needs a reason."""
    entries: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        case, hash_sign, reason = line.partition("#")
        case, reason = case.strip(), reason.strip()
        if not hash_sign or not reason or not re.fullmatch(r"[A-Za-z0-9_./-]+", case):
            raise ValueError(f"{path.name}:{number}: expected 'scenario-id  # reason', got {line!r}")
        if case in entries:
            raise ValueError(f"{path.name}:{number}: {case} is listed twice")
        entries[case] = reason
    return entries


@dataclass
class Outcome:
    """One scenario's checks, as the suite wrote them to checks.json."""

    passed: int = 0
    failed: int = 0
    warnings: int = 0
    skipped: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """The suite's own reading (for its baseline): a scenario with a failed check or a warning fails."""
        return self.failed == 0 and self.warnings == 0


_RESULT_DIR = re.compile(r"server-(?P<scenario>.+)-\d{4}-\d{2}-\d{2}T[0-9-]+Z")


def read_outcomes(results: Path) -> dict[str, Outcome]:
    """Each scenario's outcome from the suite's output directory (`server-<scenario>-<timestamp>/checks.json`)."""
    outcomes: dict[str, Outcome] = {}
    for checks_file in sorted(results.glob("*/checks.json")):
        match = _RESULT_DIR.fullmatch(checks_file.parent.name)
        assert match, f"unexpected result directory {checks_file.parent.name}"
        outcome = outcomes.setdefault(match["scenario"], Outcome())
        for check in json.loads(checks_file.read_text(encoding="utf-8")):
            status = check.get("status")
            if status == "SUCCESS":
                outcome.passed += 1
            elif status == "FAILURE":
                outcome.failed += 1
                outcome.problems.append(f"{check.get('id')}: {check.get('errorMessage') or check.get('description')}")
            elif status == "WARNING":
                outcome.warnings += 1
                outcome.problems.append(f"{check.get('id')} (warning): {check.get('errorMessage')}")
            elif status == "SKIPPED":
                outcome.skipped += 1
    return outcomes


@dataclass(frozen=True)
class Suite:
    """One pinned conformance suite and how genmcp is measured with it."""

    revision: str
    entry: Path
    """The suite's CLI (the package's `dist/index.js`)."""
    run_args: tuple[str, ...]
    list_args: tuple[str, ...]
    expected_failures: Path

    def scenarios(self, node: Path, home: Path) -> tuple[list[str], list[str]]:
        """The server scenarios a run covers: (scored, run but not scored)."""
        finished = run([node, self.entry, *self.list_args], timeout=60, env=node_env(home))
        assert finished.returncode == 0, finished.report()
        listing = finished.stdout
        scored_part, _, unscored_part = listing.partition("never scored")
        server_part = scored_part.partition("Server scenarios")[2].partition("Client scenarios")[0]
        scored = re.findall(r"^\s+- (\S+)", server_part or scored_part, re.M)
        unscored = re.findall(r"^\s+- (\S+) \[server\]", unscored_part, re.M)
        assert scored, finished.report()
        return scored, unscored


SUITES = {
    "2025-11-25": Suite(
        revision="2025-11-25",
        entry=CONFORMANCE,
        run_args=("--suite", "all"),
        list_args=("list", "--server"),
        expected_failures=EXPECTED_FAILURES,
    ),
    "2026-07-28": Suite(
        revision="2026-07-28",
        entry=NODE_MODULES / "conformance-2026" / "dist" / "index.js",
        run_args=("--requirements", "2026-07-28"),
        list_args=("list", "--server", "--requirements", "2026-07-28"),
        expected_failures=EXPECTED_FAILURES_2026,
    ),
}


def _count(names: list[str], failing: set[str]) -> str:
    return f"{len([name for name in names if name not in failing])}/{len(names)}"


@pytest.mark.timeout(CONFORMANCE_TIMEOUT + 90)
@pytest.mark.parametrize("revision", sorted(SUITES))
def test_conformance_suite(node: Path, conformance_server: GenmcpProcess, tmp_path: Path, revision: str) -> None:
    """Every scenario of the official suite passes, except those in its expected-failures file, which must still fail
    (for 2026-07-28: every scored scenario and every `tasks-*` extension scenario the requirements run)."""
    suite = SUITES[revision]
    expected = read_expected_failures(suite.expected_failures)
    home = tmp_path / "home"
    scored, unscored = suite.scenarios(node, home)
    scenarios = scored + unscored
    baseline = tmp_path / "baseline.yml"
    listed = "".join(f"\n  - {case}" for case in sorted(expected))
    baseline.write_text(f"server:{listed or ' []'}\n", encoding="utf-8")
    results = tmp_path / "results"
    finished = run(
        [
            node,
            suite.entry,
            "server",
            "--url",
            conformance_server.mcp_url,
            *suite.run_args,
            "--expected-failures",
            baseline,
            "--output-dir",
            results,
        ],
        timeout=CONFORMANCE_TIMEOUT,
        env=node_env(home),
    )
    context = f"{finished.report()}\n{_server_log(conformance_server)}"
    assert "=== SUMMARY ===" in finished.stdout, f"the suite did not finish its run:\n{context}"

    outcomes = read_outcomes(results)
    missing = sorted(set(scenarios) - set(outcomes))
    failing = {name for name, outcome in outcomes.items() if not outcome.ok} | set(missing)
    unexpected = sorted(failing - set(expected))
    now_passing = sorted(set(expected) - failing)
    tasks = [name for name in scenarios if name.startswith("tasks-")]
    others = [name for name in unscored if name not in tasks]
    skipped = sorted(name for name, outcome in outcomes.items() if outcome.skipped and not outcome.passed)
    checks = {
        kind: sum(getattr(outcome, kind) for outcome in outcomes.values())
        for kind in ("passed", "failed", "warnings", "skipped")
    }
    unscored_part = f"; unscored: tasks-* {_count(tasks, failing)}, others {_count(others, failing)}"
    summary = (
        f"conformance {revision} ({suite.entry.parent.parent.name}): scenarios {_count(scored, failing)} passed"
        f"{unscored_part if unscored else ''}; checks: {checks['passed']} passed, {checks['failed']} failed, "
        f"{checks['warnings']} warnings, {checks['skipped']} skipped; skipped by the suite itself: {skipped}; "
        f"expected failures: {sorted(expected)}"
    )
    print(summary)
    for name, outcome in sorted(outcomes.items()):
        for problem in outcome.problems:
            print(f"  {name}: {problem}")

    def detail(names: list[str]) -> str:
        return "\n".join(
            f"  {name}: " + ("; ".join(outcomes[name].problems) if name in outcomes else "no result was written")
            for name in names
        )

    assert not unexpected, f"{summary}\nunexpected failures:\n{detail(unexpected)}\n{context}"
    assert not now_passing, (
        f"{summary}\nlisted in {suite.expected_failures.name} but passing or unknown now (remove them): {now_passing}"
    )
    # The suite's own verdict on the same baseline agrees (exit 0: no regression, no stale entry).
    assert finished.returncode == 0, f"{summary}\nthe suite disagrees with this test's reading:\n{context}"


def test_expected_failures_files_are_well_formed() -> None:
    """Every entry of expected_failures.txt and expected_failures_2026.txt is `scenario-id  # reason`, with a reason
    that says something."""
    entries = read_expected_failures(EXPECTED_FAILURES)
    assert entries
    assert all(len(reason) > 10 for reason in entries.values())
    assert all(len(reason) > 10 for reason in read_expected_failures(EXPECTED_FAILURES_2026).values())
