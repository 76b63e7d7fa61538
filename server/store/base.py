"""What a genmcp store holds and the small transactional interface every backend implements.

A `Store` is the job registry (`server.jobs.JobStore`: records and last-seen balances) plus:

- **leases**: the replica watching a job (polling it upstream, or running its blocking call) holds its lease, an
  owner and an expiry the owner's heartbeat renews. A lease whose expiry has passed belongs to a replica that is
  gone; another replica may take it over (`claim` is one conditional write, so two replicas never both win).
- **call counters**: per-caller calls in the last minute and calls in flight, checked and counted in one
  transaction (`admit_call`), so limits hold across replicas.
- **events**: `JobEvents`, the "a job changed" seam (in process for SQLite, LISTEN/NOTIFY for PostgreSQL).

Every method is one transaction. A new feature that needs a table adds a migration to the backend's list
(`server.store.migrations`) and a method here, implemented by both backends and covered by the contract suite
(`tests/server/test_store_contract.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from anyio.abc import TaskStatus

from server.jobs import JobRecord, JobStore

if TYPE_CHECKING:
    from server.store.events import JobEvents

__all__ = ["Admission", "Lease", "Store", "job_filters"]


@dataclass(frozen=True)
class Lease:
    """Who watches a job, and until when (Unix seconds) unless renewed."""

    owner: str
    expires_at: float

    def live(self, now: float) -> bool:
        """Whether its owner renewed it recently enough to count as alive."""
        return self.expires_at >= now


@dataclass(frozen=True)
class Admission:
    """The answer to one call asking for a slot: admitted (with a slot to release), or refused and why."""

    slot: str | None = None
    refused: Literal["rate", "concurrency"] | None = None
    retry_after: float = 0.0
    """For a rate refusal: seconds until the oldest counted call leaves the one-minute window."""
    running: int = 0
    """For a concurrency refusal: how many of the caller's calls are in flight."""


class Store(JobStore, Protocol):
    """Everything genmcp keeps about jobs, shared by every replica using the same store."""

    events: JobEvents

    @property
    def description(self) -> str:
        """Where the store is, for logs and `genmcp check` (never with a password)."""
        ...

    async def schema_version(self) -> int:
        """The highest migration applied."""
        ...

    async def listen(self, *, task_status: TaskStatus[None]) -> None:
        """Feed `events` from other replicas for as long as the runtime lives (returns at once when there are none).

        Started with `TaskGroup.start`: `task_status.started()` once changes are being received."""
        ...

    async def create_leased(self, job: JobRecord, lease: Lease) -> None:
        """Insert a new record already leased (a submission or a blocking call that this replica runs)."""
        ...

    # --- leases ----------------------------------------------------------------------------------------------------

    async def claim(self, job_id: str, owner: str, *, until: float, now: float) -> bool:
        """Take (or renew) a job's lease when it is free, expired at `now`, or already `owner`'s."""
        ...

    async def release(self, job_id: str, owner: str) -> None:
        """Give up a lease `owner` holds (nothing happens when it holds none)."""
        ...

    async def renew(self, owner: str, job_ids: list[str], *, until: float) -> int:
        """Extend the leases `owner` still holds among `job_ids`; return how many."""
        ...

    async def lease(self, job_id: str) -> Lease | None:
        """A job's lease, if it has one."""
        ...

    async def orphaned(self, *, now: float, exclude_owner: str, limit: int = 1000) -> list[JobRecord]:
        """Unfinished jobs whose lease holder stopped renewing before `now` (not `exclude_owner`'s)."""
        ...

    # --- per-caller call counters ----------------------------------------------------------------------------------

    async def admit_call(
        self, caller: str, slot: str, *, now: float, per_minute: int, concurrent: int, slot_until: float
    ) -> Admission:
        """Count one call of `caller` (as `slot`, in flight until released or `slot_until`) unless it has made
        `per_minute` calls in the last 60 s or has `concurrent` in flight (0 = no such limit)."""
        ...

    async def release_call(self, slot: str) -> None:
        """The call holding `slot` has ended."""
        ...


def job_filters(
    placeholder: str,
    *,
    provider: str | None,
    status: str | None,
    caller: str | None,
    updated_before: float | None,
) -> tuple[str, list[str | float]]:
    """The `WHERE` clause (empty when nothing filters) and its arguments of a job listing, in the backend's
    parameter style (`?` or `%s`)."""
    clauses: list[str] = []
    args: list[str | float] = []
    for column, value in (
        ("provider=", provider),
        ("status=", status),
        ("caller=", caller),
        ("updated_at<", updated_before),
    ):
        if value is not None:
            clauses.append(column + placeholder)
            args.append(value)
    return (f"WHERE {' AND '.join(clauses)}" if clauses else ""), args
