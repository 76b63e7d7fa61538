"""Run the suite: `python -m bench.run [--quick] [--only SECTION …] [--output FILE] [--json FILE]`.

The full run (`make bench`) prints the table and writes `bench/RESULTS.md`; `--quick` is the small variant CI runs
to keep the suite working (it writes a results file only when asked with `--output`). Exit status 1 if a section
crashed (a missed target is a finding, not a failure).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import anyio

from bench import following, jobs, latency, longpoll, replicas, startup
from bench.measure import machine
from bench.plan import Plan
from bench.report import Section, render_console, render_markdown

__all__ = ["SECTIONS", "main"]

SECTIONS: dict[str, tuple[str, Callable[[Plan], Awaitable[Section]]]] = {
    "latency": ("1. Added latency per call", latency.run),
    "jobs": ("2. Jobs in flight", jobs.run),
    "longpoll": ("3. Server-side long-poll", longpoll.run),
    "startup": ("4. Start-up", startup.run),
    "replicas": ("5. Hosted: replicas on PostgreSQL", replicas.run),
    "following": ("6. Following a job: tasks against poll", following.run),
}
RESULTS = Path(__file__).with_name("RESULTS.md")
OPEN_FILES = 16_384
"""Soft limit on open files for this process and its children: N = 1000 calls hold ~1000 sockets on each side."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description="genmcp's benchmark suite.")
    parser.add_argument("--quick", action="store_true", help="the small CI variant (N = 10, few samples, short jobs)")
    parser.add_argument("--only", action="append", choices=list(SECTIONS), help="run only this section (repeatable)")
    parser.add_argument("--output", type=Path, help=f"Markdown results file (default for a full run: {RESULTS})")
    parser.add_argument("--json", type=Path, help="also write every figure as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (process logs, registries)")
    parser.add_argument(
        "--profile", type=Path, metavar="DIR", help="run each genmcp server under pyinstrument; reports go to DIR"
    )
    return parser


def _revision() -> str:
    """The checkout's commit, and whether genmcp's code (server/, providers/) differs from it."""
    repo = RESULTS.parent.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--", "server", "providers"],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"
    return f"{commit} (with uncommitted changes in server/ or providers/)" if changed else commit


def _raise_open_files_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = OPEN_FILES if hard == resource.RLIM_INFINITY else min(OPEN_FILES, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def _run_section(key: str, plan: Plan) -> tuple[Section, bool]:
    title, measure = SECTIONS[key]
    print(f"running {title} …", file=sys.stderr, flush=True)
    started = time.monotonic()
    try:
        return anyio.run(measure, plan), True
    except Exception as exc:  # noqa: BLE001 — a failed section is reported with its traceback; the others still run
        traceback.print_exc()
        return Section(key=key, title=title, skipped=f"FAILED: {type(exc).__name__}: {exc}"), False
    finally:
        print(f"  … {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen sections, print the table, write the results."""
    args = _parser().parse_args(argv)
    _raise_open_files_limit()
    workdir = Path(tempfile.mkdtemp(prefix="genmcp-bench-"))
    plan = Plan.make(quick=args.quick, workdir=workdir, profile_dir=args.profile)
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    load_at_start = " / ".join(f"{load:.2f}" for load in os.getloadavg())
    sections: list[Section] = []
    ok = True
    for key in args.only or list(SECTIONS):
        section, finished = _run_section(key, plan)
        sections.append(section)
        ok = ok and finished
    print(render_console(sections))
    command = " ".join(["python -m bench.run", *(argv if argv is not None else sys.argv[1:])])
    output = args.output if args.output is not None else (None if args.quick or args.only else RESULTS)
    host = {"genmcp revision": _revision(), **machine(), "Load average (1/5/15 min) at start": load_at_start}
    if output is not None:
        output.write_text(render_markdown(sections, machine=host, command=command, date=date), encoding="utf-8")
        print(f"\nwrote {output}", file=sys.stderr)
    if args.json is not None:
        body = {"quick": args.quick, "date": date, "machine": host, "sections": [s.to_json() for s in sections]}
        args.json.write_text(json.dumps(body, indent=2), encoding="utf-8")
    if args.keep or not ok:
        print(f"work directory (logs): {workdir}", file=sys.stderr)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
