"""The benchmark suite's quick variant (what CI runs) still works: every section runs and reports sane figures.

No timing assertions: the figures depend on the machine. The full suite (`make bench`) is run by hand.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 110
SECTIONS = ["latency", "jobs", "longpoll", "startup", "following"]


def _run_quick(tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, Any], str]:
    results, markdown = tmp_path / "results.json", tmp_path / "RESULTS.md"
    completed = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--json", str(results), "--output", str(markdown)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
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
