"""Where genmcp keeps what must outlive a process: jobs, artifacts, last-seen balances, per-caller call counters.

`open_stores(settings, …)` picks the backend from `[store] url`: empty = SQLite (`jobs.db_path`) and artifact files
(`artifacts.dir`), one process; a `postgresql://` URL = PostgreSQL for all of it, shared by every replica. See
`server.store.base` for the interface and `server.store.migrations` for the schemas.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from server.artifacts import ArtifactStore, FileArtifactStore
from server.budget.ledger import SpendLedger, SqliteSpendLedger
from server.saving.pending import PendingSaves, SqlitePendingSaves
from server.store.base import Admission, Lease, Store
from server.store.events import JobEvents

if TYPE_CHECKING:
    from server.config import Settings

__all__ = ["Admission", "JobEvents", "Lease", "Store", "Stores", "build_stores"]


@dataclass(frozen=True)
class Stores:
    """The stores of one runtime (all closed until the runtime opens them)."""

    jobs: Store
    artifacts: ArtifactStore
    spend: SpendLedger
    """What calls spent, per day, provider and caller (the budget's counts)."""
    saves: PendingSaves
    """Saves waiting for their job."""


def build_stores(settings: Settings, *, wall: Callable[[], float], redact: Callable[[str], str]) -> Stores:
    """The stores `settings` ask for; nothing is opened or imported beyond the chosen backend."""
    url = settings.store.postgres_url
    ttl = settings.artifacts.ttl_seconds
    if url is None:
        from server.store.sqlite import SqliteStore

        path = settings.jobs.resolved_db_path()
        return Stores(
            jobs=SqliteStore(path, redact=redact),
            artifacts=FileArtifactStore(settings.artifacts.resolved_dir(), ttl_seconds=ttl, clock=wall, redact=redact),
            spend=SqliteSpendLedger(path),
            saves=SqlitePendingSaves(path),
        )
    from server.store.pg_artifacts import PostgresArtifactStore
    from server.store.pg_spend import PostgresPendingSaves, PostgresSpendLedger
    from server.store.postgres import PostgresStore

    store = PostgresStore(
        url, pool_size=settings.store.pool_size, connect_timeout=settings.upstream.connect_timeout, redact=redact
    )
    return Stores(
        jobs=store,
        artifacts=PostgresArtifactStore(store, ttl_seconds=ttl, clock=wall, redact=redact),
        spend=PostgresSpendLedger(store),
        saves=PostgresPendingSaves(store),
    )
