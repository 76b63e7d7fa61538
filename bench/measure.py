"""A process's resident memory and CPU time, and a description of the machine.

psutil is used when installed (`pip install -e ".[bench]"`); without it Linux's `/proc` is read directly, so the
quick variant runs in CI with only the dev dependencies.
"""

from __future__ import annotations

import contextlib
import os
import platform
import threading
from pathlib import Path
from types import TracebackType

try:
    import psutil  # type: ignore[import-untyped,import-not-found,unused-ignore]
except ImportError:  # pragma: no cover - depends on the environment
    psutil = None

__all__ = ["MiB", "PeakRss", "cpu_seconds", "machine", "rss_bytes"]

MiB = 1024 * 1024


def _proc_stat(pid: int) -> list[str]:
    # The command name (field 2) may hold spaces and parentheses: split after its closing one.
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()


def rss_bytes(pid: int) -> int:
    """Resident set size of a process, in bytes."""
    if psutil is not None:
        return int(psutil.Process(pid).memory_info().rss)
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far, in seconds."""
    if psutil is not None:
        times = psutil.Process(pid).cpu_times()
        return float(times.user + times.system)
    fields = _proc_stat(pid)
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime and stime: fields 14 and 15 of the full line


class PeakRss:
    """Samples a process's RSS on a thread while in use; `peak` is the largest value seen.

    A thread (not a task) so that a busy event loop in the measuring process cannot delay the samples.
    """

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid = pid
        self.interval = interval
        self.peak = rss_bytes(pid)
        self.samples = 1
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"rss-{pid}", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.peak = max(self.peak, rss_bytes(self.pid))
            except (OSError, RuntimeError):
                return  # the process is gone
            self.samples += 1

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        with contextlib.suppress(OSError, RuntimeError):  # the process is gone: the peak so far stands
            self.peak = max(self.peak, rss_bytes(self.pid))


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, str]:
    """Cores, memory, CPU, OS and Python of this machine, for the results file."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "CPU cores": str(os.cpu_count()),
        "Memory": f"{memory / 1024**3:.1f} GiB",
        "CPU": _cpu_model(),
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "Load average (1/5/15 min) when written": " / ".join(f"{load:.2f}" for load in os.getloadavg()),
        "psutil": "yes" if psutil is not None else "no (read from /proc)",
    }
