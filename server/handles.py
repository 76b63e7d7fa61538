"""Jobs by handle: `poll`, `cancel`, adopting a job started elsewhere, who may see which job, and the `jobs` list.

A handle is `<provider>:<upstream id>` (for a blocking call genmcp runs itself, the id is genmcp's own). A finished
job is answered from the registry alone; a job the registry does not know is adopted after one look upstream (the
provider checks it belongs to the key).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from providers.base import Provider
from server.callers import Caller
from server.calls import Calls
from server.clock import Clock
from server.credits import provider_named
from server.errors import InvalidInput, JobFinished, NotFoundError
from server.jobs import JobRecord, JobStore
from server.polling import Poller, ProgressFn
from server.redaction import Redactor
from server.results import JobsResult, ToolResult
from server.views import job_result, job_summary

__all__ = ["Handles"]

_HANDLE = re.compile(r"^(?P<provider>[a-z][a-z0-9_]{0,31}):(?P<id>[A-Za-z0-9_-][A-Za-z0-9._~-]{0,199})$")


class Handles:
    """Polls, cancels and lists jobs of the configured providers."""

    def __init__(
        self,
        *,
        providers: Mapping[str, Provider],
        store: JobStore,
        poller: Poller,
        calls: Calls,
        clock: Clock,
        redactor: Redactor,
        sandbox: bool,
        submit_grace: float,
    ) -> None:
        self.providers = providers
        self.store = store
        self.poller = poller
        self.calls = calls
        self.clock = clock
        self.redact = redactor
        self.sandbox = sandbox
        self.submit_grace = submit_grace

    def parse(self, handle: str) -> tuple[Provider, str]:
        """The provider and upstream id a handle names, or `InvalidInput` saying what a handle looks like."""
        match = _HANDLE.match(handle.strip())
        if not match or self.redact(handle) != handle:
            raise InvalidInput(
                f"'{handle[:80]}' is not a job handle. Handles look like 'conceptviz:abc123' "
                "(the `job` field of a running result, or listed by the `jobs` tool)."
            )
        return provider_named(self.providers, match["provider"]), match["id"]

    async def _owned(self, provider: Provider, upstream_id: str, caller: Caller) -> JobRecord | None:
        job = await self.store.find(provider.name, upstream_id)
        if job is not None and not caller.may_see(job):
            raise NotFoundError(f"No job {provider.name}:{upstream_id} belongs to you.")
        return job

    async def _adopt(self, provider: Provider, upstream_id: str, caller: Caller) -> JobRecord:
        """Register a job started elsewhere (another process, the provider's own UI) after one look at it."""
        update = await provider.status(upstream_id, {}, hold=0.0)
        now = self.clock.wall()
        job = JobRecord(
            provider=provider.name,
            operation="external",
            status="running",
            upstream_id=upstream_id,
            created_at=now,
            updated_at=now,
            caller=caller.name,
            sandbox=self.sandbox,
            poll_interval=provider.poll_interval,
        ).observed(update, now)
        await self.store.create(job)
        return job

    async def _job(self, provider: Provider, upstream_id: str, caller: Caller) -> JobRecord:
        return await self._owned(provider, upstream_id, caller) or await self._adopt(provider, upstream_id, caller)

    async def poll(self, handle: str, *, wait: float | None, progress: ProgressFn | None, caller: Caller) -> ToolResult:
        """Finish (or report on) a job by handle; a finished job is answered from the registry alone."""
        provider, upstream_id = self.parse(handle)
        deadline = self.clock.now() + self.calls.budget(wait)
        job = await self._job(provider, upstream_id, caller)
        if job.status == "running":
            job = await self.poller.wait(job, provider, deadline, progress)
        related = await self.calls.finish_related(job, provider, deadline)
        return job_result(job, related, reports_credits=provider.reports_credits)

    async def cancel(self, handle: str, *, caller: Caller) -> ToolResult:
        """Cancel a running job (for providers whose API can); a cancelled job answers `cancelled`, not an error."""
        provider, upstream_id = self.parse(handle)
        if not provider.can_cancel:
            raise InvalidInput(f"{provider.title}'s API cannot cancel jobs; the job will run to its end.")
        job = await self._job(provider, upstream_id, caller)
        if job.runs_here:
            raise InvalidInput(f"{handle} is one synchronous request to {provider.title}; it cannot be cancelled.")
        if not job.finished:
            try:
                update = await provider.cancel(upstream_id, job.poll_state)
            except JobFinished:
                update = await provider.status(upstream_id, job.poll_state, hold=0.0)
                job = job.observed(update, self.clock.wall())
                await self.store.save(job)
            else:
                job = job.observed(update, self.clock.wall())
                await self.store.save(job)
                return job_result(job, reports_credits=provider.reports_credits)
        raise JobFinished(
            f"Job {handle} had already finished ({job.status}); nothing was cancelled. Call poll to get its result."
        )

    async def jobs(self, *, provider: str | None, status: str | None, limit: int, caller: Caller) -> JobsResult:
        """Recent jobs from the registry (no upstream request)."""
        if provider is not None:
            provider_named(self.providers, provider)
        await self.calls.resolve_stale_submissions(self.submit_grace)
        records = await self.store.list(provider=provider, status=status, caller=caller.name, limit=limit)
        return JobsResult(jobs=[job_summary(record) for record in records if caller.may_see(record)])
