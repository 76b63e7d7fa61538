"""The shared long-poll helper: wait for a job within a budget, then hand back a handle instead of an error.

It polls at the provider's hinted interval (with jitter), backs off (capped, honouring `Retry-After`) when a poll
fails transiently, lets an adapter hold the request server-side when its API can (the `hold` argument of
`Provider.status`), reports progress at every poll, and records every observation in the job registry — so a
client that disconnects loses nothing: the next `poll` picks the job up where it is.

Across replicas, only the holder of a job's lease (`server.leases`) polls it upstream; a wait that reaches another
replica follows the record instead (woken by the store's job-change events, bounded by its budget) and takes the
lease over once its holder releases it or stops renewing it.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable

import anyio

from providers.base import JobUpdate, Provider
from server.background import BackgroundRuns
from server.clock import Clock
from server.errors import GenmcpError
from server.jobs import JobRecord
from server.leases import Leases
from server.retry import Backoff
from server.store.base import Store

__all__ = ["Poller", "ProgressFn"]

log = logging.getLogger("genmcp.polling")

ProgressFn = Callable[[float, float | None, str], Awaitable[None]]
"""`(progress, total, message)`: one MCP progress notification."""

_CUTOFF_GRACE = 2.0
"""Seconds a single poll may run past the budget before it is cut off."""
_ERROR_BACKOFF_MAX = 30.0
_LOCAL_TICK = 5.0
"""Seconds between progress notifications while waiting for a call this process runs."""
_FOLLOW_TICK = 5.0
"""Longest wait for a change of a job another replica watches before looking at the record again (a missed or
unsent event — another process on the same SQLite file — costs at most this)."""
_TAKEOVER_SLACK = 0.5
"""Seconds past a lease's expiry before a follower tries to take the job over."""


class Poller:
    """Waits for jobs; one instance serves every provider."""

    def __init__(
        self, store: Store, clock: Clock, runs: BackgroundRuns, leases: Leases, rng: random.Random | None = None
    ) -> None:
        self.store = store
        self.clock = clock
        self.runs = runs
        self.leases = leases
        self.rng = rng or random.Random()
        self.backoff = Backoff(base=1.0, cap=_ERROR_BACKOFF_MAX, factor=1.5, rng=self.rng)

    def _jittered(self, interval: float) -> float:
        return interval * self.rng.uniform(0.9, 1.1)

    async def wait(
        self,
        job: JobRecord,
        provider: Provider,
        deadline: float,
        progress: ProgressFn | None = None,
        *,
        just_submitted: bool = False,
    ) -> JobRecord:
        """Poll `job` until it finishes or `deadline` (monotonic, on the clock) passes; return the latest record.

        A transient poll failure is retried with capped backoff until the deadline. A permanent one (auth, not
        found) is raised and leaves the record as it was. A record another writer finished meanwhile is returned as it
        is. A job `just_submitted` is first looked at after one interval (it cannot be done yet); a job being resumed
        is looked at at once. Only while this replica holds the job's lease does it poll upstream; otherwise it
        follows the record (see the module's doc).
        """
        assert job.upstream_id is not None, "only submitted jobs can be polled"
        reporter = _ProgressReporter(progress, self.clock) if progress is not None else None
        if job.runs_here:
            return await self._wait_local(job, deadline, reporter)
        # A job this replica has just submitted is still leased to it (see `Calls`): no claim to make.
        held = just_submitted and job.id in self.leases.held
        while not held and not await self.leases.claim(job.id):
            job = await self._follow(job, deadline, reporter)
            if job.finished or self.clock.now() >= deadline:
                return job
            just_submitted = False
        try:
            if not just_submitted:
                # Another replica may have moved it on since this caller read it.
                job = await self.store.get(job.id) or job
            return await self._watch(job, provider, deadline, reporter, just_submitted=just_submitted)
        finally:
            await self.leases.release(job.id)

    async def _follow(self, job: JobRecord, deadline: float, reporter: _ProgressReporter | None) -> JobRecord:
        """Wait for a job another replica watches to change (or for its lease to end); return the record then."""
        remaining = deadline - self.clock.now()
        lease = await self.store.lease(job.id)
        if lease is not None and lease.live(self.clock.wall()):
            until_expiry = lease.expires_at - self.clock.wall() + _TAKEOVER_SLACK
            await self.store.events.wait(job.id, max(0.0, min(remaining, until_expiry, _FOLLOW_TICK)), self.clock)
        elif remaining > 0:
            # Free or expired, yet another replica won the claim a moment ago: give it a moment to write.
            await self.store.events.wait(job.id, min(remaining, 1.0), self.clock)
        job = await self.store.get(job.id) or job
        if reporter is not None and not job.finished:
            await reporter.report(job, JobUpdate(state="running", progress=job.progress))
        return job

    async def _watch(
        self,
        job: JobRecord,
        provider: Provider,
        deadline: float,
        reporter: _ProgressReporter | None,
        *,
        just_submitted: bool,
    ) -> JobRecord:
        """Poll a job this replica holds the lease of."""
        assert job.upstream_id is not None
        failures = 0
        if just_submitted and not provider.holds_polls:
            first = self._jittered(job.poll_interval)
            if self.clock.now() + first > deadline:
                return job
            await self.clock.sleep(first)
        while not job.finished:
            remaining = deadline - self.clock.now()
            update: JobUpdate | None = None
            error: GenmcpError | None = None
            asked_at = self.clock.now()
            with anyio.move_on_after(max(0.0, remaining) + _CUTOFF_GRACE):
                try:
                    update = await provider.status(job.upstream_id, job.poll_state, hold=max(0.0, remaining))
                except GenmcpError as exc:
                    if not exc.retryable:
                        raise
                    error = exc
            if update is None:
                delay = self.backoff.from_base(job.poll_interval).delay(
                    failures, retry_after=error.retry_after if error is not None else None
                )
                failures += 1
                log.info("poll of %s failed (%s); next in %.1f s", job.handle, error or "cut off", delay)
            else:
                failures = 0
                # Applied to the record as stored now, not to this wait's copy: another writer (a cancel, another
                # client following the job) may have changed it meanwhile, and its facts must not be lost.
                current = await self.store.get(job.id) or job
                if current.finished:
                    job = current
                    break
                job = current.observed(update, self.clock.wall())
                await self.store.save(job)
                if reporter is not None:
                    await reporter.report(job, update)
                # A held poll that really waited can be repeated at once; one that came straight back cannot.
                held = provider.holds_polls and self.clock.now() - asked_at >= 1.0
                delay = 0.0 if held else self._jittered(job.poll_interval)
            if job.finished:
                break
            remaining = deadline - self.clock.now()
            if remaining <= 0:
                break
            # Sleep to the next poll, or to the deadline for one last look if the next poll falls after it.
            await self.clock.sleep(min(delay, remaining))
        return job

    async def _wait_local(self, job: JobRecord, deadline: float, reporter: _ProgressReporter | None) -> JobRecord:
        """Wait for a call a genmcp process runs itself (this one, or another sharing the registry)."""
        while not job.finished:
            remaining = deadline - self.clock.now()
            if remaining <= 0:
                break
            run = self.runs.get(job.id)
            if run is not None:
                await self.clock.wait_for(run.done, min(remaining, _LOCAL_TICK))
            elif await self.lost(job):
                job = await self.interrupt(job)
                break
            else:
                await self.store.events.wait(job.id, min(remaining, _LOCAL_TICK), self.clock)
            job = await self.store.get(job.id) or job
            if reporter is not None and not job.finished:
                await reporter.report(job, JobUpdate(state="running"))
        return job

    async def lost(self, job: JobRecord) -> bool:
        """Whether a blocking call run by another replica can no longer finish: its runner stopped renewing the
        job's lease (it died), or — a record without a lease — the call is overdue."""
        if self.runs.get(job.id) is not None:
            return False
        lease = await self.store.lease(job.id)
        if lease is not None:
            return not lease.live(self.clock.wall())
        return self.clock.wall() > float(job.poll_state.get("expires_at", 0))

    async def interrupt(self, job: JobRecord) -> JobRecord:
        """Mark a lost blocking call `interrupted` (once: the replica that takes its lease writes it)."""
        if not await self.leases.claim(job.id):
            return await self.store.get(job.id) or job
        try:
            current = await self.store.get(job.id) or job
            if current.finished:
                return current
            job = current.interrupted(self.clock.wall())
            await self.store.save(job)
            return job
        finally:
            await self.leases.release(job.id)


class _ProgressReporter:
    """Progress notifications for one wait: the provider's percentage when it gives one, else seconds elapsed.

    The scale is chosen at the first report and kept, and values only ever increase (as MCP requires).
    """

    def __init__(self, send: ProgressFn, clock: Clock) -> None:
        self.send = send
        self.clock = clock
        self.percent: bool | None = None
        self.last = -1.0

    async def report(self, job: JobRecord, update: JobUpdate) -> None:
        state = job.upstream_status or job.status
        label = f"{job.provider} {job.operation}: {state}"
        if self.percent is None:
            self.percent = update.progress is not None
        if self.percent:
            value = update.progress if update.progress is not None else (100.0 if job.finished else self.last)
            value = min(100.0, max(value, self.last + 0.01))
            total: float | None = 100.0
            message = f"{label}, {value:.0f}%"
        else:
            elapsed = max(0.0, self.clock.wall() - job.created_at)
            value, total, message = max(round(elapsed, 1), self.last + 0.1), None, f"{label}, {elapsed:.0f} s"
        self.last = value
        await self.send(value, total, message)
