"""Jobs whose replica died: found by their expired leases and taken over, so that none is left unwatched.

Every replica runs one `OrphanSweeper` beside its lease heartbeat. Each round it looks for unfinished jobs whose
lease holder stopped renewing, and for each (one replica wins each job's lease):

- `submitting` — the paid request may have been sent: `submit_unknown`, never re-sent;
- a blocking call this replica does not run — it may have reached the provider: `interrupted`;
- a job running upstream — this replica watches it to its end, polling as its holder did.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import anyio
from anyio.abc import TaskGroup

from providers.base import Provider
from server.calls import Calls
from server.clock import Clock
from server.errors import GenmcpError
from server.jobs import JobRecord
from server.leases import Leases
from server.polling import Poller
from server.store.base import Store

__all__ = ["OrphanSweeper"]

log = logging.getLogger("genmcp.orphans")

_WATCH_SECONDS = 6 * 3600.0
"""How long a replica goes on watching a job it took over (a `poll` finishes any job that outlives this)."""


class OrphanSweeper:
    """Finds the jobs of dead replicas and finishes them (see the module's doc)."""

    def __init__(
        self,
        *,
        store: Store,
        leases: Leases,
        poller: Poller,
        calls: Calls,
        providers: Mapping[str, Provider],
        clock: Clock,
        submit_grace: float,
    ) -> None:
        self.store = store
        self.leases = leases
        self.poller = poller
        self.calls = calls
        self.providers = providers
        self.clock = clock
        self.submit_grace = submit_grace
        self.watching: set[str] = set()

    async def run(self, group: TaskGroup) -> None:
        """Renew this replica's leases and sweep, every third of a lease period, for as long as the runtime lives."""
        while True:
            await anyio.sleep(self.leases.seconds / 3)  # real time: a replica's pulse, never a test's fake clock
            try:
                await self.leases.renew()
                await self.sweep(group)
            except Exception:
                log.exception("lease heartbeat or orphan sweep failed; trying again next round")

    async def sweep(self, group: TaskGroup) -> int:
        """One round: resolve or take over every orphaned job; return how many were acted on."""
        acted = await self.calls.resolve_stale_submissions(self.submit_grace)
        if acted:
            log.warning("%d job(s) were interrupted while being submitted; marked submit_unknown", acted)
        orphans = await self.store.orphaned(now=self.clock.wall(), exclude_owner=self.leases.owner)
        for job in orphans:
            if job.status != "running" or job.id in self.watching:
                continue
            if job.runs_here:
                if (await self.poller.interrupt(job)).status == "interrupted":
                    log.warning("background call %s of a stopped genmcp was marked interrupted", job.handle)
                    acted += 1
            elif job.provider in self.providers and await self.leases.claim(job.id):
                self.watching.add(job.id)
                group.start_soon(self._watch, job, self.providers[job.provider])
                acted += 1
        return acted

    async def _watch(self, job: JobRecord, provider: Provider) -> None:
        log.info("taking over job %s from a stopped genmcp", job.handle)
        try:
            await self.poller.wait(job, provider, self.clock.now() + _WATCH_SECONDS)
        except GenmcpError as exc:
            log.warning("watching job %s failed: %s", job.handle, exc.message)
        finally:
            self.watching.discard(job.id)
