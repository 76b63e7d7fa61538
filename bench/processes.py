"""Starting and stopping the processes a section measures: genmcp, a simulator, the baseline server.

Every HTTP process listens on a loopback port the OS picks (`--port 0`) and is ready when uvicorn logs
"Uvicorn running on http://127.0.0.1:<port>" (a simserver: "... listening on <url>"); its stderr is copied to a
log file in the section's work directory (shown when it fails to start).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Service", "bench_env", "genmcp_command", "genmcp_env", "genmcp_server", "python_module", "service", "stop"]

REPO = Path(__file__).resolve().parent.parent
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
PROFILE_INTERVAL = 0.005
"""Seconds between pyinstrument's samples: coarse, to keep its overhead (and report) small under load."""
PROFILE_GRACE = 120.0
"""Seconds a profiled genmcp gets to stop: pyinstrument renders its report on the way out."""
NO_CALLER_LIMITS = {"GENMCP_LIMITS__CALLS_PER_MINUTE": "0", "GENMCP_LIMITS__CONCURRENT_CALLS": "0"}
"""genmcp's per-caller limits, off: every session of the suite is one caller (127.0.0.1), and the suite measures
capacity, not that policy. Provider concurrency and the circuit breaker keep their defaults."""
_READY = re.compile(rb"(?:Uvicorn running on|listening on) (http://127\.0\.0\.1:\d+)")


@dataclass
class Service:
    """A running HTTP process on loopback."""

    name: str
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])


def genmcp_command() -> list[str]:
    """The `genmcp` console script beside this interpreter, else `python -m server.cli`."""
    script = Path(sys.executable).parent / "genmcp"
    return [str(script)] if script.exists() else [sys.executable, "-m", "server.cli"]


def genmcp_env(workdir: Path, **extra: str) -> dict[str, str]:
    """This environment without provider keys or genmcp settings, plus a private registry and artifact store."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not (name.endswith("_API_KEY") or name.startswith("GENMCP_"))
    }
    env["GENMCP_JOBS__DB_PATH"] = str(workdir / "jobs.sqlite3")
    env["GENMCP_ARTIFACTS__DIR"] = str(workdir / "artifacts")
    env.update(extra)
    return env


def _follow(process: subprocess.Popen[bytes], path: Path, ready: threading.Event, found: list[str]) -> None:
    """Copy stderr to `path`; signal `ready` at the listening line (or when the process ends)."""
    assert process.stderr is not None
    with path.open("wb") as sink:
        for line in process.stderr:
            sink.write(line)
            sink.flush()
            match = _READY.search(line)
            if match and not found:
                found.append(match[1].decode())
                ready.set()
    ready.set()


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, grace: float = STOP_TIMEOUT) -> None:
    """Send `sig`, wait up to `grace` seconds, then kill; always reaps the process."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)


@contextmanager
def service(
    name: str,
    command: Sequence[str],
    *,
    workdir: Path,
    env: dict[str, str] | None = None,
    stop_signal: int = signal.SIGTERM,
    stop_grace: float = STOP_TIMEOUT,
) -> Iterator[Service]:
    """Run `command` (an HTTP server on a loopback port it picks) until the block ends, then send `stop_signal`."""
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / f"{name}.log"
    process = subprocess.Popen(
        list(command),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env if env is not None else bench_env(),
        cwd=workdir,  # so a ./genmcp.toml in the checkout is not picked up
    )
    ready, found = threading.Event(), list[str]()
    follower = threading.Thread(target=_follow, args=(process, log, ready, found), daemon=True)
    follower.start()
    try:
        if not ready.wait(START_TIMEOUT) or not found:
            follower.join(timeout=STOP_TIMEOUT)
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            what = "exited" if process.poll() is not None else f"did not start within {START_TIMEOUT:g} s"
            raise RuntimeError(f"{name} {what} (exit code {process.poll()}):\n{tail}")
        yield Service(name=name, process=process, url=found[0], log=log)
    finally:
        stop(process, stop_signal, stop_grace)
        follower.join(timeout=STOP_TIMEOUT)
        if process.stderr is not None:
            process.stderr.close()


def profiled(module: str, profile: Path) -> list[str]:
    """`python -m module` under pyinstrument, writing its report to `profile` (text, or HTML for *.html)."""
    return [sys.executable, "-m", "pyinstrument", "-i", str(PROFILE_INTERVAL), "-o", str(profile), "-m", module]


@contextmanager
def genmcp_server(workdir: Path, *, profile: Path | None = None, **env: str) -> Iterator[Service]:
    """`genmcp serve` over streamable HTTP on a free loopback port, with `env` added to a clean environment.

    With `profile`, genmcp runs under pyinstrument and writes its report there when it stops.
    """
    program = profiled("server.cli", profile) if profile is not None else genmcp_command()
    command = [*program, "serve", "--host", "127.0.0.1", "--port", "0"]
    # SIGINT: uvicorn shuts down, then genmcp returns normally (a SIGTERM is re-raised and would end the process
    # before pyinstrument writes its report).
    environment = genmcp_env(workdir, **{**NO_CALLER_LIMITS, **env})  # a section may turn the limits back on
    grace = STOP_TIMEOUT if profile is None else PROFILE_GRACE
    with service(
        "genmcp", command, workdir=workdir, env=environment, stop_signal=signal.SIGINT, stop_grace=grace
    ) as running:
        yield running


def python_module(module: str, *args: str) -> list[str]:
    """The command that runs `python -m module args…` with this interpreter (run it with `bench_env()`)."""
    return [sys.executable, "-m", module, *args]


def bench_env() -> dict[str, str]:
    """This environment, with the checkout on `PYTHONPATH` so `bench.*` modules run from any directory."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    return env
