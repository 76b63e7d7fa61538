"""Section 4 — start-up: spawning `genmcp serve --stdio` until its answer to `initialize`, and idle memory.

Two genmcp configurations: out of the box (no provider key, so the simulators start in process: sandbox) and live
(REST providers' keys set, their base URLs on a closed loopback port, nothing contacted); and, for the floor, a bare
`MCPServer` with one tool. Each sample is a fresh process that gets `initialize` on stdin right after it is spawned
(the configurations take turns); idle RSS is read once it has also answered `tools/list`. One more start under
`python -X importtime` names the packages that take the import time.
"""

from __future__ import annotations

import compileall
import json
import queue
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from bench.measure import MiB, rss_bytes
from bench.plan import Plan
from bench.processes import REPO, bench_env, genmcp_command, genmcp_env, python_module, stop
from bench.report import Section, Target

__all__ = ["import_offenders", "run"]

TARGET_RATIO = 1.15
"""genmcp's median start-up against the bare MCPServer's, measured side by side in the same run."""
TARGET_RSS_MB = 100.0
ANSWER_TIMEOUT = 30.0
TOP = 8
SANDBOX = "genmcp, sandbox (no keys)"
FLOOR = "bare MCPServer (floor)"
CLOSED_PORT = "http://127.0.0.1:9"
"""The discard port: nothing listens, so a live provider that tried to connect would fail at once, locally."""
LIVE_KEYS = {
    "CONCEPTVIZ_API_KEY": "cvk_bench_startup_0123",
    "KOLBO_API_KEY": "kolbo_bench_startup_0123",
    "MASKO_API_KEY": "masko_bench_startup_0123",
    "UNIVERS_API_KEY": "us_bench_startup_0123",
}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "genmcp-bench", "version": "0"},
    },
}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}
LIST_TOOLS = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}


@dataclass
class Sample:
    """One start: seconds to the initialize answer, to the tools/list answer after it, and RSS once idle."""

    seconds: float
    listed: float
    rss: int


def _lines(stream: IO[bytes]) -> tuple[queue.Queue[bytes], threading.Thread]:
    """Lines of `stream`, read on a thread (so reads can time out); the thread ends at end of file."""
    lines: queue.Queue[bytes] = queue.Queue()

    def pump() -> None:
        for line in stream:
            lines.put(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    return lines, reader


def _send(process: subprocess.Popen[bytes], message: dict[str, Any]) -> None:
    assert process.stdin is not None
    process.stdin.write(json.dumps(message).encode() + b"\n")
    process.stdin.flush()


def _answer(lines: queue.Queue[bytes], request_id: int, log: Path) -> dict[str, Any]:
    deadline = time.monotonic() + ANSWER_TIMEOUT
    while True:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise RuntimeError(
                f"no answer to request {request_id} within {ANSWER_TIMEOUT:g} s:\n{log.read_text()[-2000:]}"
            ) from None
        message: dict[str, Any] = json.loads(line)
        if message.get("id") == request_id:
            return message


def start_once(command: list[str], env: dict[str, str], workdir: Path, log: Path) -> Sample:
    """Spawn, time the initialize answer, list the tools, read RSS, then terminate the process."""
    with log.open("ab") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=env, cwd=workdir
        )
        reader: threading.Thread | None = None
        try:
            assert process.stdout is not None
            assert process.stdin is not None
            lines, reader = _lines(process.stdout)
            _send(process, INITIALIZE)
            answer = _answer(lines, 1, log)
            seconds = time.perf_counter() - started
            if "result" not in answer:
                raise RuntimeError(f"initialize failed: {answer}")
            _send(process, INITIALIZED)
            _send(process, LIST_TOOLS)
            _answer(lines, 2, log)
            listed = time.perf_counter() - started
            rss = rss_bytes(process.pid)
        finally:
            stop(process)  # SIGTERM: its shutdown is not measured, so it need not be graceful
            if reader is not None:
                reader.join(timeout=10)  # the pipe is at its end: the process is gone
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    stream.close()
    return Sample(seconds=seconds, listed=listed, rss=rss)


def import_offenders(stderr: str, top: int = TOP) -> tuple[float, list[tuple[str, float]]]:
    """From `-X importtime` output: total import seconds, and the top packages by their modules' own time."""
    by_package: defaultdict[str, float] = defaultdict(float)
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        try:
            own, _cumulative, name = line[len("import time:") :].split("|", 2)
            by_package[name.strip().split(".", 1)[0]] += int(own) / 1e6
        except ValueError:
            continue
    ranked = sorted(by_package.items(), key=lambda item: item[1], reverse=True)
    return sum(by_package.values()), ranked[:top]


def _configurations(workdir: Path) -> dict[str, tuple[list[str], dict[str, str]]]:
    """What is started: genmcp out of the box and live, and the bare SDK server (the floor), with their env."""
    genmcp = [*genmcp_command(), "serve", "--stdio"]
    live = {f"GENMCP_PROVIDERS__{name.split('_', 1)[0]}__BASE_URL": CLOSED_PORT for name in LIVE_KEYS}
    return {
        SANDBOX: (genmcp, genmcp_env(workdir)),
        "genmcp, live (4 REST keys)": (genmcp, genmcp_env(workdir, GENMCP_SANDBOX__MODE="off", **LIVE_KEYS, **live)),
        FLOOR: (python_module("bench.baseline", "--stdio"), bench_env()),
    }


async def run(plan: Plan) -> Section:
    """Median start-up and idle RSS of each configuration (starts interleaved), and the import-time offenders."""
    workdir = plan.workdir / "startup"
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "stdio.log"
    configurations = _configurations(workdir)
    # Byte-compiled as pip leaves an installed package (the SDK's modules are): a machine that sets
    # PYTHONDONTWRITEBYTECODE would otherwise compile genmcp's sources again at every start, and only genmcp's.
    for package in ("server", "providers"):
        compileall.compile_dir(REPO / package, quiet=1)
    if not plan.quick:
        for command, env in configurations.values():
            start_once(command, env, workdir, log)  # warm the OS file cache (and compile any stale .pyc) once
    results: dict[str, list[Sample]] = {name: [] for name in configurations}
    for _ in range(plan.startup_samples):
        for name, (command, env) in configurations.items():
            results[name].append(start_once(command, env, workdir, log))
    importtime_log = workdir / "importtime.log"
    importtime = [sys.executable, "-X", "importtime", "-m", "server.cli", "serve", "--stdio"]
    start_once(importtime, configurations[SANDBOX][1], workdir, importtime_log)
    total, offenders = import_offenders(importtime_log.read_text(errors="replace"))
    return _section(results, total, offenders)


def _section(results: dict[str, list[Sample]], import_total: float, offenders: list[tuple[str, float]]) -> Section:
    rows = []
    medians: dict[str, float] = {}
    idle: dict[str, float] = {}
    for name, samples in results.items():
        seconds = [s.seconds for s in samples]
        medians[name] = statistics.median(seconds)
        idle[name] = statistics.median(s.rss for s in samples) / MiB
        rows.append(
            [
                name,
                f"{medians[name]:.3f}",
                f"{min(seconds):.3f}",
                f"{max(seconds):.3f}",
                f"{statistics.median(s.listed for s in samples):.3f}",
                f"{idle[name]:.1f}",
                str(len(samples)),
            ]
        )
    genmcp = [name for name in results if name != FLOOR]
    slow = max(genmcp, key=lambda name: medians[name])
    big = max(genmcp, key=lambda name: idle[name])
    listed = ", ".join(f"{package} {seconds * 1000:.0f} ms" for package, seconds in offenders)
    return Section(
        key="startup",
        title="4. Start-up (genmcp serve --stdio → initialize answered) and idle RSS",
        headers=["configuration", "median s", "min s", "max s", "tools/list s", "idle RSS MB", "samples"],
        rows=rows,
        targets=[
            Target(
                "start-up to initialize, median, ratio genmcp / bare MCPServer",
                f"≤ {TARGET_RATIO:g}",
                f"{medians[slow] / medians[FLOOR]:.3f} ({medians[slow]:.3f} s, {slow}, vs {medians[FLOOR]:.3f} s)",
                medians[slow] <= TARGET_RATIO * medians[FLOOR],
            ),
            Target("idle RSS", f"≤ {TARGET_RSS_MB:g} MB", f"{idle[big]:.1f} MB ({big})", idle[big] <= TARGET_RSS_MB),
        ],
        notes=[
            f"Import time (python -X importtime, sandbox start): {import_total * 1000:.0f} ms in all; top packages by "
            f"their modules' own time: {listed}.",
            "genmcp's modules are byte-compiled first, as an installed package's are. "
            "tools/list s: median seconds from spawning to the tools/list answer (sent right after initialize): "
            "genmcp answers initialize first and assembles its providers' tools just after, so this is when the "
            "tools are there. Idle RSS is read after initialize and tools/list were answered. The floor is a bare "
            "MCPServer with one tool (bench/baseline.py --stdio): the MCP SDK's own import and start-up, which any "
            "server pays.",
        ],
        data={
            "median_seconds": medians,
            "idle_rss_mb": idle,
            "samples": {name: [s.seconds for s in samples] for name, samples in results.items()},
            "import_seconds": import_total,
            "import_offenders": [{"package": p, "seconds": s} for p, s in offenders],
        },
    )
