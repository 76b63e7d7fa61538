"""What happens on one call: run an operation, register its job before any money is spent, wait within the budget.

This is the transport-free core behind every tool; `server.tools` only adapts it to MCP.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import anyio

from providers.base import Balance, Completed, Operation, OperationContext, OperationInput, Provider, Submitted
from server.artifacts import Files
from server.background import BackgroundRuns
from server.clock import Clock
from server.config import JobSettings
from server.errors import GenmcpError, InvalidInput, JobFinished, NotFoundError, SubmitUnknown
from server.inputs import ImageInputs
from server.jobs import JobRecord, JobStore
from server.polling import INTERRUPTED, Poller, ProgressFn, apply_update
from server.redaction import CLIENT_KEYS, Redactor
from server.results import (
    BalanceEntry,
    CreditsInfo,
    CreditsResult,
    ErrorInfo,
    JobsResult,
    JobSummary,
    RelatedJob,
    Status,
    ToolResult,
    error_info,
)

__all__ = ["Calls"]

log = logging.getLogger("genmcp.calls")

_STATUS_SHOWN: dict[str, Status] = {"completed": "completed", "running": "running", "submitting": "running"}
_HANDLE = re.compile(r"^(?P<provider>[a-z][a-z0-9_]{0,31}):(?P<id>[A-Za-z0-9_-][A-Za-z0-9._~-]{0,199})$")


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


class Calls:
    """Runs operations and the shared job tools for a set of configured providers."""

    def __init__(
        self,
        *,
        providers: Mapping[str, Provider],
        store: JobStore,
        poller: Poller,
        clock: Clock,
        jobs: JobSettings,
        inputs: ImageInputs,
        files: Files,
        runs: BackgroundRuns,
        sandbox: bool,
        redactor: Redactor,
        submit_grace: float = 120.0,
    ) -> None:
        self.submit_grace = submit_grace
        self.files = files
        self.runs = runs
        self.redact = redactor
        self.providers = providers
        self.store = store
        self.poller = poller
        self.clock = clock
        self.job_settings = jobs
        self.inputs = inputs
        self.sandbox = sandbox

    def budget(self, wait: float | None) -> float:
        """Seconds a call may wait: the `wait` argument or the default, capped by `jobs.max_wait_seconds`."""
        chosen = self.job_settings.wait_seconds if wait is None else wait
        return max(0.0, min(chosen, self.job_settings.max_wait_seconds))

    async def run(
        self,
        provider: Provider,
        operation: Operation,
        args: OperationInput,
        *,
        wait: float | None,
        progress: ProgressFn | None,
        caller: str | None = None,
    ) -> ToolResult:
        """Run one operation: a read answers directly; a spend is registered, submitted once, then awaited."""
        deadline = self.clock.now() + self.budget(wait)
        await provider.client.breaker.admit(provider.check)
        context = OperationContext(inputs=self.inputs, files=self.files, deadline=deadline)
        if operation.blocking:
            return await self._run_blocking(provider, operation, args, deadline, progress, caller)
        if operation.kind != "spend":
            outcome = await operation.handler(args, context)
            if isinstance(outcome, Completed):
                return self._completed(provider.name, operation.name, outcome)
            job = await self._register_submitted(provider, operation, outcome, caller)
        else:
            job = await self._submit(provider, operation, args, context, caller)
        if job.status == "running":
            job = await self.poller.wait(job, provider, deadline, progress, just_submitted=True)
        return self.to_result(job, await self._finish_related(job, provider, deadline))

    async def _run_blocking(
        self,
        provider: Provider,
        operation: Operation,
        args: OperationInput,
        deadline: float,
        progress: ProgressFn | None,
        caller: str | None,
    ) -> ToolResult:
        """A synchronous provider call run in the background: answered now if it finishes within the budget."""
        now = self.clock.wall()
        job = self._new_record(provider, operation, caller).model_copy(
            update={
                "status": "running",
                "upstream_id": secrets.token_urlsafe(12),
                "poll_interval": 5.0,
                "poll_state": {"local": True, "owner": self.runs.owner, "expires_at": now + operation.max_seconds},
            }
        )
        await self.store.create(job)
        ready = anyio.Event()
        context = OperationContext(
            inputs=self.inputs, files=self.files, deadline=self.clock.now() + operation.max_seconds, sending=ready.set
        )

        async def work() -> GenmcpError | None:
            try:
                outcome = await operation.handler(args, context)
            except GenmcpError as exc:
                await self._record_outcome_failure(job, exc)
                return exc
            except Exception:
                log.exception("%s %s failed unexpectedly", provider.name, operation.name)
                unknown = SubmitUnknown("genmcp failed while reading the provider's answer.", charged=None)
                await self._record_outcome_failure(job, unknown)
                return unknown
            finally:
                ready.set()
            assert isinstance(outcome, Completed), "a blocking operation answers with its result"
            await self.store.save(self._with_outcome(job, outcome))
            return None

        run = self.runs.start(job.id, work)
        # Until the call sends its first request it costs nothing and its inputs may still be refused: wait for that
        # (inputs are checked and fetched with their own time limit) so a refused input is an error, not `running`.
        await self.clock.wait_for(ready, self.inputs.settings.fetch_timeout + 5)
        job = await self.store.get(job.id) or job
        job = await self.poller.wait(job, provider, deadline, progress)
        if job.finished and run.error is not None:
            # Failed within the budget: answer like any failed call (and keep no record if nothing was spent).
            if run.error.charged is False and not isinstance(run.error, SubmitUnknown):
                await self.store.delete(job.id)
            raise run.error
        return self.to_result(job)

    async def _record_outcome_failure(self, job: JobRecord, exc: GenmcpError) -> None:
        status = "submit_unknown" if isinstance(exc, SubmitUnknown) else "failed"
        await self.store.save(
            job.model_copy(update={"status": status, "error": error_info(exc), "updated_at": self.clock.wall()})
        )

    def _with_outcome(self, job: JobRecord, outcome: Completed) -> JobRecord:
        return job.model_copy(
            update={
                "status": "completed",
                "updated_at": self.clock.wall(),
                "assets": outcome.assets,
                "credits": outcome.credits,
                "details": outcome.details,
                "text": outcome.text,
                "progress": 100.0,
            }
        )

    async def resolve_stale_submissions(self) -> int:
        """Records still `submitting` long after any request could have lasted: their process died mid-submit, so
        they become `submit_unknown` (it may have been charged; it is never re-sent)."""
        now = self.clock.wall()
        return await self.store.mark_interrupted(now, older_than=now - self.submit_grace)

    async def recover(self) -> int:
        """After a start: calls run by a genmcp process that is gone become `interrupted` (they may have charged)."""
        changed = 0
        for job in await self.store.list(status="running", limit=100_000):
            if job.poll_state.get("local") and self.poller.lost(job):
                await self.store.save(
                    job.model_copy(
                        update={"status": "interrupted", "error": INTERRUPTED, "updated_at": self.clock.wall()}
                    )
                )
                changed += 1
        return changed

    def _new_record(self, provider: Provider, operation: Operation, caller: str | None) -> JobRecord:
        now = self.clock.wall()
        return JobRecord(
            provider=provider.name,
            operation=operation.name,
            created_at=now,
            updated_at=now,
            caller=caller,
            key_ref=_key_ref(provider.name),
            sandbox=self.sandbox,
        )

    async def _submit(
        self,
        provider: Provider,
        operation: Operation,
        args: OperationInput,
        context: OperationContext,
        caller: str | None,
    ) -> JobRecord:
        job = self._new_record(provider, operation, caller)
        await self.store.create(job)
        # Shielded: once the paid request is on its way, a client that cancels or disconnects must not stop us
        # from recording what the provider answered. The upstream timeouts bound this block.
        with anyio.CancelScope(shield=True):
            try:
                outcome = await operation.handler(args, context)
            except GenmcpError as exc:
                await self._record_failure(job, exc)
                raise
            except Exception:
                # An adapter bug after the POST may hide an accepted job: say so rather than pretend it failed.
                await self._record_failure(
                    job, SubmitUnknown("genmcp failed while reading the provider's answer.", charged=None)
                )
                raise
            if isinstance(outcome, Completed):
                job = self._with_outcome(job, outcome)
                await self.store.save(job)
            elif self.redact(outcome.upstream_id) != outcome.upstream_id:
                leaked = SubmitUnknown(
                    f"{provider.title} answered a job id that contains a configured secret; genmcp will not store "
                    "or show it. The job may have started.",
                    charged=None,
                )
                await self._record_failure(job, leaked)
                raise leaked
            else:
                job = await self._with_related(self._submitted(job, provider, outcome), provider, operation, outcome)
                await self.store.save(job)
            await self._remember_balance(provider.name, job.credits)
        return job

    async def _record_failure(self, job: JobRecord, exc: GenmcpError) -> None:
        if exc.charged is False and not isinstance(exc, SubmitUnknown):
            # Refused before anything was spent: not a job, nothing to keep.
            await self.store.delete(job.id)
            return
        await self._record_outcome_failure(job, exc)

    def _submitted(self, job: JobRecord, provider: Provider, outcome: Submitted) -> JobRecord:
        return job.model_copy(
            update={
                "status": "running",
                "upstream_id": outcome.upstream_id,
                "updated_at": self.clock.wall(),
                "poll_interval": outcome.poll_interval or provider.poll_interval,
                "poll_state": outcome.poll_state,
                "credits": outcome.credits,
                "details": outcome.details,
                "assets": outcome.assets,
            }
        )

    async def _register_submitted(
        self, provider: Provider, operation: Operation, outcome: Completed | Submitted, caller: str | None
    ) -> JobRecord:
        assert isinstance(outcome, Submitted)
        job = self._submitted(self._new_record(provider, operation, caller), provider, outcome)
        job = await self._with_related(job, provider, operation, outcome)
        await self.store.create(job)
        return job

    async def _with_related(
        self, job: JobRecord, provider: Provider, operation: Operation, outcome: Submitted
    ) -> JobRecord:
        """Register the other jobs a request started; the first job's record lists their handles."""
        handles = []
        for extra in outcome.related:
            record = self._submitted(self._new_record(provider, operation, job.caller), provider, extra)
            record = record.model_copy(update={"part_of": job.handle})
            await self.store.create(record)
            handles.append(record.handle)
        return job.model_copy(update={"related": [h for h in handles if h]}) if handles else job

    async def _remember_balance(self, provider: str, credits: CreditsInfo | None) -> None:
        if credits is not None and credits.remaining is not None:
            await self.store.record_balance(provider, credits.remaining, self.clock.wall())

    def _completed(self, provider: str, operation: str, outcome: Completed) -> ToolResult:
        return ToolResult(
            provider=provider,
            operation=operation,
            status="completed",
            assets=outcome.assets,
            credits=outcome.credits,
            details=outcome.details,
            text=outcome.text,
            sandbox=self.sandbox,
        ).with_inline_image(outcome.image)

    def to_result(self, job: JobRecord, related: Sequence[JobRecord] = ()) -> ToolResult:
        """The client's view of a job record (and of the other jobs its request started)."""
        status: Status = _STATUS_SHOWN.get(job.status, "failed")
        if status == "completed" and any(_STATUS_SHOWN.get(r.status) == "running" for r in related):
            status = "running"
        error = job.error
        if job.status == "cancelled" and error is None:
            spent = job.credits.charged if job.credits else None
            error = ErrorInfo(
                code="cancelled",
                message="The job was cancelled.",
                retryable=False,
                charged=None if spent is None else spent > 0,
                refunded=job.credits.refunded if job.credits else None,
            )
        if job.status == "interrupted" and error is None:
            error = INTERRUPTED
        next_step = None
        if status == "running":
            when = max(1, round(job.poll_interval))
            next_step = (
                f'Call poll with job="{job.handle}" in ~{when} s; the job keeps running meanwhile.'
                if job.handle
                else "The request is still being submitted; call jobs in a few seconds to see its handle."
            )
        return ToolResult(
            provider=job.provider,
            operation=job.operation,
            status=status,
            job=job.handle,
            assets=[*job.assets, *(asset for record in related for asset in record.assets)],
            credits=job.credits,
            details=job.details,
            text=job.text,
            progress=job.progress if job.status == "running" else None,
            next=next_step,
            error=error if status == "failed" else None,
            related=[
                RelatedJob(
                    job=record.handle or record.id,
                    status=_STATUS_SHOWN.get(record.status, "failed"),
                    error=record.error,
                    details=record.details,
                )
                for record in related
            ],
            sandbox=job.sandbox,
        )

    def _provider_for(self, name: str) -> Provider:
        provider = self.providers.get(name)
        if provider is None:
            known = ", ".join(sorted(self.providers)) or "none"
            raise InvalidInput(f"'{name}' is not a configured provider (configured: {known}).")
        return provider

    async def poll(
        self, handle: str, *, wait: float | None, progress: ProgressFn | None, caller: str | None = None
    ) -> ToolResult:
        """Finish (or report on) a job by handle; a finished job is answered from the registry alone."""
        provider, upstream_id = self._parse_handle(handle)
        deadline = self.clock.now() + self.budget(wait)
        job = await self._owned(provider, upstream_id, caller)
        if job is None:
            job = await self._adopt(provider, upstream_id, caller)
        if job.status == "running":
            job = await self.poller.wait(job, provider, deadline, progress)
        return self.to_result(job, await self._finish_related(job, provider, deadline))

    async def _finish_related(self, job: JobRecord, provider: Provider, deadline: float) -> list[JobRecord]:
        """The request's other jobs, waited for side by side within what is left of the budget."""
        records: list[JobRecord | None] = [None] * len(job.related)

        async def finish(index: int, handle: str) -> None:
            record = await self.store.find(provider.name, handle.split(":", 1)[1])
            if record is not None and record.status == "running" and self.clock.now() < deadline:
                record = await self.poller.wait(record, provider, deadline)
            records[index] = record

        async with anyio.create_task_group() as group:
            for index, handle in enumerate(job.related):
                group.start_soon(finish, index, handle)
        return [record for record in records if record is not None]

    async def cancel(self, handle: str, *, caller: str | None = None) -> ToolResult:
        """Cancel a running job (for providers whose API can)."""
        provider, upstream_id = self._parse_handle(handle)
        if not provider.can_cancel:
            raise InvalidInput(f"{provider.title}'s API cannot cancel jobs; the job will run to its end.")
        job = await self._owned(provider, upstream_id, caller) or await self._adopt(provider, upstream_id, caller)
        if job.poll_state.get("local"):
            raise InvalidInput(f"{handle} is one synchronous request to {provider.title}; it cannot be cancelled.")
        if not job.finished:
            try:
                update = await provider.cancel(upstream_id, job.poll_state)
            except JobFinished:
                update = await provider.status(upstream_id, job.poll_state, hold=0.0)
                job = apply_update(job, update, self.clock.wall())
                await self.store.save(job)
            else:
                job = apply_update(job, update, self.clock.wall())
                await self.store.save(job)
                return self.to_result(job)
        raise JobFinished(
            f"Job {handle} had already finished ({job.status}); nothing was cancelled. Call poll to get its result."
        )

    def _parse_handle(self, handle: str) -> tuple[Provider, str]:
        match = _HANDLE.match(handle.strip())
        if not match or self.redact(handle) != handle:
            raise InvalidInput(
                f"'{handle[:80]}' is not a job handle. Handles look like 'conceptviz:abc123' "
                "(the `job` field of a running result, or listed by the `jobs` tool)."
            )
        return self._provider_for(match["provider"]), match["id"]

    async def _owned(self, provider: Provider, upstream_id: str, caller: str | None) -> JobRecord | None:
        job = await self.store.find(provider.name, upstream_id)
        if job is not None and not _visible(job, caller):
            raise NotFoundError(f"No job {provider.name}:{upstream_id} belongs to you.")
        return job

    async def _adopt(self, provider: Provider, upstream_id: str, caller: str | None) -> JobRecord:
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
            caller=caller,
            sandbox=self.sandbox,
            poll_interval=provider.poll_interval,
        )
        job = apply_update(job, update, now)
        await self.store.create(job)
        return job

    async def jobs(
        self, *, provider: str | None, status: str | None, limit: int, caller: str | None = None
    ) -> JobsResult:
        """Recent jobs from the registry (no upstream request)."""
        if provider is not None:
            self._provider_for(provider)
        await self.resolve_stale_submissions()
        records = await self.store.list(provider=provider, status=status, caller=caller, limit=limit)
        records = [r for r in records if _visible(r, caller)]
        return JobsResult(
            jobs=[
                JobSummary(
                    job=r.handle,
                    id=r.id,
                    provider=r.provider,
                    operation=r.operation,
                    status=r.status,
                    created_at=_iso(r.created_at),
                    updated_at=_iso(r.updated_at),
                    assets=len(r.assets),
                    credits=r.credits,
                    error=r.error,
                )
                for r in records
            ]
        )

    async def credits(self, provider: str | None = None) -> CreditsResult:
        """Every configured provider's balance (or one's), live where the API can say, else as last seen."""
        names = [self._provider_for(provider).name] if provider else sorted(self.providers)
        entries = []
        for name in names:
            entries.append(await self._balance(self.providers[name]))
        return CreditsResult(balances=entries, sandbox=self.sandbox)

    async def _balance(self, provider: Provider) -> BalanceEntry:
        stored = await self.store.last_balance(provider.name)
        last = Balance(remaining=stored.remaining, live=False, as_of=stored.as_of) if stored else None
        try:
            balance = await provider.balance(last)
        except GenmcpError as exc:
            return BalanceEntry(provider=provider.name, error=error_info(exc))
        if balance is None:
            return BalanceEntry(
                provider=provider.name,
                note=f"{provider.title} has no balance endpoint and no response has reported one yet.",
            )
        if balance.live:
            await self.store.record_balance(provider.name, balance.remaining, balance.as_of)
        return BalanceEntry(
            provider=provider.name,
            remaining=balance.remaining,
            live=balance.live,
            as_of=_iso(balance.as_of),
            note=None
            if balance.live
            else f"{provider.title} has no balance endpoint: this is the last balance it reported, with when.",
        )


def _key_ref(provider: str) -> str | None:
    """A fingerprint of the caller's own key for this provider (never the key itself)."""
    key = CLIENT_KEYS.get().get(provider)
    return hashlib.sha256(f"{provider}:{key}".encode()).hexdigest()[:24] if key else None


def _visible(job: JobRecord, caller: str | None) -> bool:
    """Whether this caller may see a job: its own (when auth is on), and only with the key that started it."""
    if caller is not None and job.caller not in (None, caller):
        return False
    return job.key_ref is None or job.key_ref == _key_ref(job.provider)
