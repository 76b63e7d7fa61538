"""The benchmark suite's quick variant (what CI runs) still works: every section runs and reports sane figures.

No timing assertions: the figures depend on the machine. The full suite (`make bench`) is run by hand.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.harness.postgres import PostgresServer

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 110
SECTIONS = ["latency", "jobs", "longpoll", "startup"]
"""Run together; the replicas section (it needs PostgreSQL) and the following section run on their own, each within
the suite's time limit."""


def _run_quick(
    tmp_path: Path, sections: list[str] = SECTIONS, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any], str]:
    results, markdown = tmp_path / "results.json", tmp_path / "RESULTS.md"
    only = [argument for section in sections for argument in ("--only", section)]
    completed = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", *only, "--json", str(results), "--output", str(markdown)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, **(env or {})},
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-5000:]
    return completed, json.loads(results.read_text()), markdown.read_text()


def _finite_positive(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


def test_quick_variant_reports_every_section(tmp_path: Path) -> None:
    completed, results, markdown = _run_quick(tmp_path)
    sections = {section["key"]: section for section in results["sections"]}
    assert list(sections) == SECTIONS
    for section in sections.values():
        assert section["title"] in completed.stdout
        assert not (section["skipped"] or "").startswith("FAILED"), section["skipped"]
        if not section["skipped"]:
            assert section["rows"]
            assert section["targets"]
            assert all(target["met"] is not None for target in section["targets"])
    assert "== Targets ==" in completed.stdout

    latency = sections["latency"]["data"]
    assert latency["samples"] == {"genmcp": 5, "baseline": 5, "upstream": 5}
    assert all(_finite_positive(latency["p50_ms"][side]) for side in ("genmcp", "baseline", "upstream"))
    assert _finite_positive(latency["ratio_p50"])
    assert latency["upstream_gets_per_call"] >= 1.0

    (level,) = sections["jobs"]["data"]["levels"]
    assert level["n"] == 10
    assert level["success_rate"] == 1.0, level["errors"]
    assert level["submits"] == 10
    assert level["polls"] >= 10
    assert _finite_positive(level["api_requests_per_job"])
    assert _finite_positive(level["peak_rss_bytes"])
    assert _finite_positive(level["cpu_seconds"])
    assert math.isfinite(level["delay_p95"])

    longpoll = sections["longpoll"]
    if longpoll["skipped"]:
        assert longpoll["skipped"] == "Masko adapter not present"
    else:
        (run,) = longpoll["data"]["runs"]
        assert run["status"] == "completed"
        assert run["api_requests"] >= 2  # the submit and at least one (held) poll

    startup = sections["startup"]["data"]
    assert set(startup["samples"]) == set(startup["median_seconds"])
    assert len(startup["samples"]) == 3
    assert all(len(samples) == 2 for samples in startup["samples"].values()), startup["samples"]
    assert all(all(map(_finite_positive, samples)) for samples in startup["samples"].values()), startup["samples"]
    assert all(_finite_positive(rss) for rss in startup["idle_rss_mb"].values())
    assert startup["import_offenders"]

    assert markdown.startswith("# genmcp benchmark results")
    assert "CPU cores" in markdown
    assert "python -m bench.run --quick" in markdown


def test_quick_replicas_section_compares_the_stores(tmp_path: Path, postgres: PostgresServer) -> None:
    # The session's PostgreSQL (the section would otherwise start a cluster of its own).
    _, results, _ = _run_quick(tmp_path, ["replicas"], env={"GENMCP_BENCH_POSTGRES_URL": postgres.url})
    (section,) = results["sections"]
    assert section["key"] == "replicas"
    assert not section["skipped"], section["skipped"]
    single, hosted = section["data"]["levels"]
    assert (single["setup"], hosted["setup"]) == ("1 × SQLite", "3 × PostgreSQL")
    for level in (single, hosted):
        assert level["n"] == 10
        assert level["success_rate"] == 1.0, level["errors"]
        assert level["submits"] == 10
        assert math.isfinite(level["delay_p95"])
    assert len(hosted["peak_rss_bytes"]) == 3
    assert all(_finite_positive(rss) for rss in hosted["peak_rss_bytes"])
    assert hosted["requests_per_job"] == single["requests_per_job"]  # no extra polls from replicas
    for call in ("poll", "credits"):
        assert _finite_positive(section["data"]["latency_ratio_p50"][call])


def test_quick_following_section_compares_tasks_with_poll(tmp_path: Path) -> None:
    _, results, _ = _run_quick(tmp_path, ["following"])
    (section,) = results["sections"]
    assert section["key"] == "following"
    assert not section["skipped"], section["skipped"]
    ways = {way["name"]: way for way in section["data"]["ways"]}
    assert set(ways) == {"poll", "task + notifications", "task + eager tasks/get"}
    for way in ways.values():
        assert way["completed"] == section["data"]["jobs_per_way"], way["failures"]
        assert _finite_positive(way["api_requests_per_job"])
        assert math.isfinite(way["delay_p95"])
    # However often the eager client asks genmcp, its jobs cost upstream what the others' do.
    assert ways["task + eager tasks/get"]["client_requests_per_job"] > ways["poll"]["client_requests_per_job"]
    assert ways["task + eager tasks/get"]["api_requests_per_job"] <= ways["poll"]["api_requests_per_job"]
