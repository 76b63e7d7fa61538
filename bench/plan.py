"""How big a run is: the full suite (manual, `make bench`) or the quick variant CI runs to keep it working."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["Plan"]


@dataclass(frozen=True)
class Plan:
    """Sizes and durations of every section."""

    quick: bool
    workdir: Path
    latency_samples: int
    latency_warmup: int
    job_levels: tuple[int, ...]
    job_seconds: float
    max_sessions: int
    startup_samples: int
    masko_job_seconds: float
    replica_levels: tuple[int, ...] = (10,)
    """N for the replicas section (three replicas over PostgreSQL against one process over SQLite)."""
    replicas: int = 3
    store_latency_samples: int = 5
    profile_dir: Path | None = None
    """When set, every genmcp server runs under pyinstrument and leaves its report here."""

    def profile(self, name: str) -> Path | None:
        """Where the genmcp server of `name` writes its profile (None: not profiled)."""
        if self.profile_dir is None:
            return None
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        return self.profile_dir / f"genmcp-{name}.txt"

    @classmethod
    def make(cls, *, quick: bool, workdir: Path, profile_dir: Path | None = None) -> Plan:
        """The full plan, or the quick one (N = 10 only, 5 latency samples, 2 start-ups, 1–2 s jobs)."""
        if quick:
            return cls(
                quick=True,
                workdir=workdir,
                latency_samples=5,
                latency_warmup=2,
                job_levels=(10,),
                job_seconds=2.0,
                max_sessions=5,
                startup_samples=2,
                masko_job_seconds=1.0,
                replica_levels=(10,),
                store_latency_samples=5,
                profile_dir=profile_dir,
            )
        return cls(
            quick=False,
            workdir=workdir,
            latency_samples=1000,
            latency_warmup=50,
            job_levels=(10, 100, 500, 1000),
            job_seconds=10.0,
            max_sessions=20,
            startup_samples=10,
            masko_job_seconds=6.0,
            replica_levels=(1000, 3000),
            store_latency_samples=300,
            profile_dir=profile_dir,
        )
