"""The real `genmcp` console script as a subprocess of a test.

- `free_port()`, `clean_env()`: a loopback port, and the environment without the developer's provider keys and
  `GENMCP_*` settings (with a work directory: a job registry and artifact store of the test's own under it).
- `start_genmcp()` → `GenmcpProcess`: `genmcp serve` over HTTP, configured by a TOML file written from data or by
  the environment; it is returned once it has logged that it listens and answers `GET /healthz`.
- `start_stdio()` → `StdioProcess`: `genmcp serve --stdio` with pipes; its stdout is read line by line.
- `run_genmcp()`: a command that ends by itself (`genmcp tools`, a `serve` that must refuse to start).
- `pytest_runtest_makereport`: a failed test's report shows the stderr of every genmcp process it used. A conftest
  turns it on with `from tests.harness.process import pytest_runtest_makereport as pytest_runtest_makereport`.

Every wait is bounded and waits on something the process does (a line on stderr or stdout, its exit), never on the
clock: a reader thread per pipe turns the process's output into events and queues.
"""

from __future__ import annotations

import json
import os
import queue
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Generator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any, NoReturn, Self

import httpx2
import pytest

from tests.harness.config_file import write_config

__all__ = [
    "GENMCP",
    "READY_LINE",
    "START_TIMEOUT",
    "STOP_TIMEOUT",
    "Deadline",
    "GenmcpProcess",
    "OutputFollower",
    "ProcessLog",
    "StdioProcess",
    "clean_env",
    "free_port",
    "pytest_runtest_makereport",
    "run_genmcp",
    "start_genmcp",
    "start_stdio",
]

GENMCP = str(Path(sys.executable).parent / "genmcp")
"""The console script installed beside the interpreter running the tests (`pip install -e .`)."""
READY_LINE = b"Uvicorn running on"
"""What uvicorn logs once its socket listens: after "Application startup complete" (the app's lifespan: registry,
sandbox simulators), which is logged before the socket is bound."""
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
REPORT_TAIL = 20_000
"""Characters of a process's stderr shown in a failed test's report (the end of it)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def clean_env(workdir: Path | None = None, **extra: str) -> dict[str, str]:
    """The inherited environment without provider keys (`*_API_KEY`) or genmcp settings (`GENMCP_*`), then `extra`.

    With `workdir`, genmcp's job registry (`jobs.sqlite3`) and artifact store (`artifacts/`) are under it.
    """
    env = {name: value for name, value in os.environ.items() if not _foreign_setting(name)}
    if workdir is not None:
        env["GENMCP_JOBS__DB_PATH"] = str(workdir / "jobs.sqlite3")
        env["GENMCP_ARTIFACTS__DIR"] = str(workdir / "artifacts")
    env.update(extra)
    return env


def _foreign_setting(name: str) -> bool:
    return name.endswith("_API_KEY") or name.startswith("GENMCP_")


def _tail(text: str, limit: int = REPORT_TAIL) -> str:
    return text if len(text) <= limit else f"[… {len(text) - limit} characters cut …]\n{text[-limit:]}"


class Deadline:
    """One time limit shared by several bounded waits: each gets what is left of it."""

    def __init__(self, seconds: float) -> None:
        self._end = time.monotonic() + seconds

    def left(self) -> float:
        """Seconds left (0 once it has passed: a wait given 0 gives up at once)."""
        return max(0.0, self._end - time.monotonic())


# ---------------------------------------------------------------------------------------------------------------------
# stderr, and the failure report


class ProcessLog:
    """A work directory and the file a process started by a test writes its stderr to.

    A failed test's report shows it when the log was made during that test, or its process still runs (a server
    of a module-scoped fixture).
    """

    def __init__(self, workdir: Path, stderr_path: Path) -> None:
        self.workdir = workdir
        self.stderr_path = stderr_path
        _watched.append((self, _current_test()))

    def stderr(self) -> str:
        """What the process has written to stderr so far."""
        try:
            return self.stderr_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def running(self) -> bool:
        """Whether the process is still running (unknown for a process this harness did not start: False)."""
        return False


_watched: list[tuple[ProcessLog, str | None]] = []
"""Every log made under a test that has not yet ended, or whose process still runs, with that test's id."""


def _current_test() -> str | None:
    current = os.environ.get("PYTEST_CURRENT_TEST")  # "<node id> (setup|call|teardown)"
    return current.rsplit(" ", 1)[0] if current else None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach to a failed test's report the stderr of every genmcp process it started or that ran while it did."""
    report = yield
    if report.failed:
        for log, test in _watched:
            if test == item.nodeid or log.running():
                report.sections.append((f"genmcp stderr ({log.stderr_path})", _tail(log.stderr())))
    if report.when == "teardown":
        _watched[:] = [(log, test) for log, test in _watched if log.running()]
    return report


# ---------------------------------------------------------------------------------------------------------------------
# processes


class _Process(ProcessLog):
    """A process of this harness: stopped with bounded waits, and usable as a context manager that stops it."""

    def __init__(self, process: subprocess.Popen[bytes], workdir: Path, stderr_path: Path) -> None:
        super().__init__(workdir, stderr_path)
        self.process = process

    def __repr__(self) -> str:
        state = "running" if self.running() else f"exited {self.process.returncode}"
        return f"<{type(self).__name__} pid {self.process.pid}, {state}, stderr in {self.stderr_path}>"

    def running(self) -> bool:
        return self.process.poll() is None

    def terminate(self, timeout: float = STOP_TIMEOUT) -> float:
        """SIGTERM, and kill if it has not exited after `timeout` seconds; returns the seconds it took to exit."""
        started = time.monotonic()
        if self.running():
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT)
        took = time.monotonic() - started
        self._close()
        return took

    def kill(self) -> None:
        """SIGKILL (kill -9): no clean-up in the process."""
        if self.running():
            self.process.kill()
            self.process.wait(STOP_TIMEOUT)
        self._close()

    def _close(self) -> None:
        """Once the process has exited: end the reader threads and close the pipes."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.terminate()


class OutputFollower:
    """A thread that copies a process's output to a log file line by line; `ready` is set at the first line
    holding `marker` (kept as `line`), or when the output ends (then `line` is None)."""

    def __init__(self, stream: IO[bytes], log: Path, marker: bytes) -> None:
        self.ready = threading.Event()
        self.line: bytes | None = None
        self._thread = threading.Thread(target=self._copy, args=(stream, log, marker), name=f"{log.name}-follower")
        self._thread.daemon = True
        self._thread.start()

    def _copy(self, stream: IO[bytes], log: Path, marker: bytes) -> None:
        with log.open("wb") as sink:
            for line in stream:
                sink.write(line)
                sink.flush()
                if self.line is None and marker in line:
                    self.line = line
                    self.ready.set()
        self.ready.set()

    def join(self, timeout: float = STOP_TIMEOUT) -> None:
        """Once the process has exited (its pipe is at its end)."""
        self._thread.join(timeout)


def _join_and_close(reader: threading.Thread | OutputFollower, *streams: IO[bytes] | None) -> None:
    reader.join(STOP_TIMEOUT)  # the pipe is at its end: the process has exited
    for stream in streams:
        if stream is not None:
            stream.close()


def _serve_command(
    workdir: Path, config: Mapping[str, Any] | None, env: Mapping[str, str] | None, name: str
) -> tuple[list[str], dict[str, str]]:
    """`genmcp serve [--config FILE]` and its environment (the registry from the environment without a config)."""
    workdir.mkdir(parents=True, exist_ok=True)
    if config is None:
        command, environment = [GENMCP, "serve"], clean_env(workdir)
    else:
        path = write_config(workdir / f"{name}.toml", config)
        command, environment = [GENMCP, "serve", "--config", str(path)], clean_env()
    environment.update(env or {})
    return command, environment


class GenmcpProcess(_Process):
    """A server process of genmcp's HTTP app (`genmcp serve`, or a script serving the same app) on a port of
    127.0.0.1 (it may listen on more addresses)."""

    def __init__(
        self,
        command: Sequence[str],
        process: subprocess.Popen[bytes],
        port: int,
        workdir: Path,
        stderr_path: Path,
        tls_ca: Path | None = None,
    ) -> None:
        super().__init__(process, workdir, stderr_path)
        self.command = list(command)
        """The command line it was started with."""
        self.port = port
        self.tls_ca = tls_ca
        """The CA certificate of the server's TLS certificate, when it serves https itself."""
        assert process.stderr is not None
        self._follower = OutputFollower(process.stderr, stderr_path, READY_LINE)

    @classmethod
    def start(
        cls,
        command: Sequence[str],
        *,
        port: int,
        workdir: Path,
        env: Mapping[str, str],
        name: str = "genmcp",
        tls_ca: Path | None = None,
    ) -> GenmcpProcess:
        """Run `command`, which serves genmcp's app on `port`, in `workdir`; return once it serves (or fail the test,
        with its stderr, after `START_TIMEOUT` seconds or when it exits). With `tls_ca` it serves https."""
        workdir.mkdir(parents=True, exist_ok=True)
        process = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=dict(env),
            cwd=workdir,  # so a ./genmcp.toml in the checkout is not picked up
        )
        server = cls(command, process, port, workdir, workdir / f"{name}.stderr.log", tls_ca)
        server._wait_until_serving()
        return server

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls_ca else 'http'}://127.0.0.1:{self.port}"

    def verify(self) -> ssl.SSLContext | bool:
        """What an HTTP client must trust to talk to it (its CA with TLS)."""
        return ssl.create_default_context(cafile=str(self.tls_ca)) if self.tls_ca else True

    @property
    def mcp_url(self) -> str:
        return f"{self.base_url}/mcp"

    def _wait_until_serving(self) -> None:
        if not self._follower.ready.wait(START_TIMEOUT):
            self._give_up(f"did not listen within {START_TIMEOUT:g} s")
        code = self.process.poll()
        if code is not None:
            self._give_up(f"exited with code {code} during start-up")
        try:
            health = httpx2.get(f"{self.base_url}/healthz", timeout=5, verify=self.verify())
        except httpx2.HTTPError as exc:
            self._give_up(f"did not answer GET /healthz ({exc!r})")
        if health.status_code != 200:
            self._give_up(f"answered GET /healthz with {health.status_code}")

    def _give_up(self, why: str) -> NoReturn:
        self.kill()
        pytest.fail(f"{' '.join(self.command)} {why}:\n{_tail(self.stderr())}")

    def _close(self) -> None:
        _join_and_close(self._follower, self.process.stderr)


def start_genmcp(
    workdir: Path,
    *,
    config: Mapping[str, Any] | None = None,
    args: Sequence[str] = (),
    host: str = "127.0.0.1",
    port: int | None = None,
    env: Mapping[str, str] | None = None,
    name: str = "genmcp",
    tls_ca: Path | None = None,
) -> GenmcpProcess:
    """Start `genmcp serve` on `host` and `port` (a free one by default) in `workdir`, and wait until it serves
    (https, trusting `tls_ca`, when the config gives it a certificate).

    With `config` (e.g. `settings_data(...)`), the settings come from `<workdir>/<name>.toml`; without, from the
    environment, with the registry and artifacts under `workdir`. `env` is added to the clean environment either
    way, `args` to the command line (`--sandbox`, `--insecure`). Stderr goes to `<workdir>/<name>.stderr.log`.
    Stop it with `terminate()` or `kill()`, or use it as a context manager.
    """
    command, environment = _serve_command(workdir, config, env, name)
    port = port or free_port()
    command += ["--host", host, "--port", str(port), *args]
    return GenmcpProcess.start(command, port=port, workdir=workdir, env=environment, name=name, tls_ca=tls_ca)


class StdioProcess(_Process):
    """`genmcp serve --stdio`: messages written to its stdin, its stdout read line by line with bounded waits."""

    def __init__(self, process: subprocess.Popen[bytes], workdir: Path, stderr_path: Path) -> None:
        super().__init__(process, workdir, stderr_path)
        assert process.stdin is not None
        assert process.stdout is not None
        self.stdin = process.stdin
        self._lines: queue.Queue[bytes] = queue.Queue()
        self._ended = False
        self._reader = threading.Thread(target=self._pump, args=(process.stdout,), name="stdout-reader", daemon=True)
        self._reader.start()

    def _pump(self, stdout: IO[bytes]) -> None:
        for line in stdout:
            self._lines.put(line)
        self._lines.put(b"")  # end of stdout

    def send(self, message: Mapping[str, Any]) -> None:
        """Write one JSON-RPC message as a line."""
        self.send_bytes(json.dumps(message).encode() + b"\n")

    def send_bytes(self, data: bytes) -> None:
        """Write `data` as it is."""
        self.stdin.write(data)
        self.stdin.flush()

    def close_input(self) -> None:
        """Close stdin: the end of input ends a stdio server."""
        self.stdin.close()

    def read_line(self, timeout: float) -> bytes:
        """The next line of stdout (with its newline), or b"" once stdout has ended; fails the test if none comes
        within `timeout` seconds."""
        if self._ended:
            return b""
        try:
            line: bytes | None = self._lines.get(timeout=timeout)
        except queue.Empty:
            line = None
        if line is None:
            pytest.fail(f"genmcp wrote no line to stdout within {timeout:g} s:\n{_tail(self.stderr())}")
        self._ended = not line
        return line

    def read_rest(self, timeout: float) -> bytes:
        """Everything left on stdout up to its end (read all of it within `timeout` seconds)."""
        deadline = Deadline(timeout)
        rest = b""
        while line := self.read_line(deadline.left()):
            rest += line
        return rest

    def wait(self, timeout: float) -> int:
        """The exit code, once the process has exited; fails the test if it has not within `timeout` seconds."""
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"genmcp did not exit within {timeout:g} s:\n{_tail(self.stderr())}")

    def _close(self) -> None:
        _join_and_close(self._reader, self.process.stdin, self.process.stdout)


def start_stdio(
    workdir: Path,
    *,
    config: Mapping[str, Any] | None = None,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    name: str = "genmcp-stdio",
) -> StdioProcess:
    """Start `genmcp serve --stdio` in `workdir` (settings as for `start_genmcp`); stderr goes to
    `<workdir>/<name>.stderr.log`."""
    command, environment = _serve_command(workdir, config, env, name)
    stderr_path = workdir / f"{name}.stderr.log"
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            [*command, "--stdio", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=environment,
            cwd=workdir,
        )
    return StdioProcess(process, workdir, stderr_path)


def run_genmcp(
    args: Sequence[str],
    *,
    workdir: Path,
    env: Mapping[str, str],
    timeout: float = 30.0,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `genmcp <args>` in `workdir` to its end, its output captured (killed, and the test failed, after
    `timeout` seconds): a command such as `genmcp tools`, or a `serve` that must refuse to start. `input` is its
    standard input (none by default)."""
    try:
        return subprocess.run(
            [GENMCP, *args],
            cwd=workdir,
            env=dict(env),
            input=input,
            stdin=subprocess.DEVNULL if input is None else None,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"genmcp {' '.join(args)} did not end within {timeout:g} s: {exc.stderr!r}")
