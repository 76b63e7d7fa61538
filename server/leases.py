"""Job leases: which replica watches a job. The one holding a job's lease polls it upstream (or runs its blocking
call); every other replica waits for the record to change instead.

A lease is an owner (this replica's id) and an expiry. The heartbeat (`server.orphans`) renews every lease this
replica holds each third of `store.lease_seconds`; when a replica dies its leases expire within one lease period,
and another replica takes them over. Leases live in the store, so this works across hosts: no process-id checks.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from typing import TYPE_CHECKING

import anyio

from server.store.base import Lease, Store

if TYPE_CHECKING:
    from server.clock import Clock
    from server.jobs import JobRecord

__all__ = ["Leases", "replica_id"]

log = logging.getLogger("genmcp.leases")


def replica_id() -> str:
    """A new id for this process as a lease owner: readable (host, pid) and unique (a random token)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class Leases:
    """The leases this replica holds, claimed and released through the store and renewed by `heartbeat`."""

    def __init__(self, store: Store, clock: Clock, *, seconds: float, owner: str | None = None) -> None:
        self.store = store
        self.clock = clock
        self.seconds = seconds
        self.owner = owner or replica_id()
        self.held: set[str] = set()

    def until(self) -> float:
        """The expiry of a lease taken or renewed now."""
        return self.clock.wall() + self.seconds

    async def create(self, job: JobRecord) -> None:
        """Insert a new record with this replica's lease on it (nobody else may act on it meanwhile)."""
        await self.store.create_leased(job, Lease(owner=self.owner, expires_at=self.until()))
        self.held.add(job.id)

    async def claim(self, job_id: str) -> bool:
        """Take the job's lease if it is free, expired or already ours."""
        if await self.store.claim(job_id, self.owner, until=self.until(), now=self.clock.wall()):
            self.held.add(job_id)
            return True
        return False

    async def release(self, job_id: str) -> None:
        """Give the lease back (shielded: a cancelled caller must not leave it held until it expires)."""
        self.held.discard(job_id)
        with anyio.CancelScope(shield=True):
            try:
                await self.store.release(job_id, self.owner)
            except Exception:
                # Not renewed any more, so it expires by itself within one lease period.
                log.exception("could not release the lease of job %s", job_id)

    async def renew(self) -> int:
        """Extend every lease this replica holds; return how many the store still had."""
        return await self.store.renew(self.owner, sorted(self.held), until=self.until())
