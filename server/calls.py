"""What happens on one call: run an operation, register its job before any money is spent, wait within the budget.

This is the transport-free core behind every provider tool (`server.tools` only adapts it to MCP): a read answers
directly; a spend is written `submitting`, sent once (shielded from the client going away), recorded with what the
provider answered, then awaited; a blocking provider call runs in the background as a job of genmcp's own. Handles,
polls and cancels are `server.handles`; balances `server.credits`.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anyio
from mcp_types import InputRequests, InputResponses

from providers.base import Completed, Operation, OperationContext, OperationInput, Provider, Submitted
from server.artifacts import Files
from server.background import BackgroundRuns, LocalRun
from server.callers import Caller
from server.clock import Clock
from server.config import JobSettings
from server.credits import Balances
from server.errors import GenmcpError, InvalidInput, SubmitUnknown, UpstreamError
from server.inputs import ImageInputs
from server.jobs import JobRecord
from server.leases import Leases
from server.polling import Poller, ProgressFn
from server.redaction import Redactor
from server.results import ErrorInfo, ToolResult
from server.store.base import Store
from server.views import job_result

__all__ = ["Ask", "Calls", "Started"]

log = logging.getLogger("genmcp.calls")

_ADAPTER_FAILED = "genmcp failed while reading the provider's answer."

Ask = Callable[[str, InputRequests], Awaitable[InputResponses]]
"""`(job id, questions)` → the caller's answers: how a background call asks the person following its job."""


@dataclass(frozen=True)
class Started:
    """A job an operation started, and its background run when this process runs the call itself."""

    job: JobRecord
    run: LocalRun | None = None


class Calls:
    """Runs the operations of a set of configured providers."""

    def __init__(
        self,
        *,
        store: Store,
        leases: Leases,
        poller: Poller,
        clock: Clock,
        jobs: JobSettings,
        inputs: ImageInputs,
        files: Files,
        runs: BackgroundRuns,
        balances: Balances,
        sandbox: bool,
        redactor: Redactor,
        ask: Ask | None = None,
    ) -> None:
        self.ask = ask
        """How a background call run as an MCP task asks the person following it (None: such calls cannot ask)."""
        self.store = store
        self.leases = leases
        self.poller = poller
        self.clock = clock
        self.job_settings = jobs
        self.inputs = inputs
        self.files = files
        self.runs = runs
        self.balances = balances
        self.sandbox = sandbox
        self.redact = redactor

    def budget(self, wait: float | None) -> float:
        """Seconds a call may wait: the `wait` argument or the default, capped by `jobs.max_wait_seconds`."""
        chosen = self.job_settings.wait_seconds if wait is None else wait
        return max(0.0, min(chosen, self.job_settings.max_wait_seconds))

    async def run(
        self,
        provider: Provider,
        operation: Operation[OperationInput],
        args: OperationInput,
        *,
        wait: float | None,
        progress: ProgressFn | None,
        caller: Caller,
    ) -> ToolResult:
        """Run one operation: a read answers directly; a spend is registered, submitted once, then awaited."""
        deadline = self.clock.now() + self.budget(wait)
        started = await self.start(provider, operation, args, caller=caller, deadline=deadline)
        if isinstance(started, ToolResult):
            return started
        return await self.follow(started, provider, deadline, progress)

    async def start(
        self,
        provider: Provider,
        operation: Operation[OperationInput],
        args: OperationInput,
        *,
        caller: Caller,
        deadline: float,
        as_task: bool = False,
    ) -> ToolResult | Started:
        """Begin one operation without waiting for its job: a read that answers at once is its result; anything else
        is its registered job (a spend is written before its request and sent once; a blocking call runs in the
        background, returned once it sent its request or — `as_task`, followed by a client that can be asked —
        once it asks its caller something)."""
        await provider.client.breaker.admit(provider.check)
        if operation.blocking:
            return await self._start_blocking(provider, operation, args, caller, self.ask if as_task else None)
        context = OperationContext(inputs=self.inputs, files=self.files, deadline=deadline)
        if operation.kind == "spend":
            return Started(await self._submit(provider, operation, args, context, caller))
        outcome = await operation.handler(args, context)
        if isinstance(outcome, Completed):
            return self._completed(provider, operation, outcome)
        return Started(await self._register(provider, operation, outcome, caller))

    async def follow(
        self, started: Started, provider: Provider, deadline: float, progress: ProgressFn | None = None
    ) -> ToolResult:
        """Wait for a job just started until it finishes or `deadline` passes; its result, or `running` with its
        handle. A blocking call that failed within the budget answers like any failed call (and keeps no record when
        nothing was spent)."""
        job, run = started.job, started.run
        if job.status == "running":
            job = await self.poller.wait(job, provider, deadline, progress, just_submitted=run is None)
        if run is None:
            related = await self.finish_related(job, provider, deadline)
            return job_result(job, related, reports_credits=provider.reports_credits)
        if job.finished and run.error is not None:
            if run.error.charged is False and not isinstance(run.error, SubmitUnknown):
                await self.store.delete(job.id)
            raise run.error
        return job_result(job, reports_credits=provider.reports_credits)

    def _new_record(
        self, provider: Provider, operation: Operation[OperationInput], caller: str | None, key_ref: str | None
    ) -> JobRecord:
        now = self.clock.wall()
        return JobRecord(
            provider=provider.name,
            operation=operation.name,
            kind=operation.kind,
            created_at=now,
            updated_at=now,
            caller=caller,
            key_ref=key_ref,
            sandbox=self.sandbox,
        )

    async def _start_blocking(
        self,
        provider: Provider,
        operation: Operation[OperationInput],
        args: OperationInput,
        caller: Caller,
        ask: Ask | None,
    ) -> Started:
        """A synchronous provider call run in the background, returned once it sent its first request (or asked)."""
        job = self._new_record(provider, operation, caller.name, caller.key_ref(provider.name)).running_here(
            secrets.token_urlsafe(12),
            owner=self.runs.owner,
            expires_at=self.clock.wall() + operation.max_seconds,
            now=self.clock.wall(),
        )
        await self.leases.create(job)  # renewed while the call runs; expires (→ interrupted) if this replica dies
        ready = anyio.Event()

        async def asking(questions: InputRequests) -> InputResponses:
            if ask is None:
                raise InvalidInput(
                    f"{provider.title} {operation.name} needs to ask you something while it runs; call it from a "
                    "client that follows it as an MCP task (io.modelcontextprotocol/tasks)."
                )
            ready.set()  # waiting for an answer: the call can hand back the job now
            return await ask(job.id, questions)

        context = OperationContext(
            inputs=self.inputs,
            files=self.files,
            deadline=self.clock.now() + operation.max_seconds,
            sending=ready.set,
            ask=asking,
        )

        async def attempt() -> GenmcpError | None:
            try:
                outcome = await operation.handler(args, context)
                if not isinstance(outcome, Completed):
                    raise UpstreamError(f"{provider.title} {operation.name} answered a job instead of its result.")
            except GenmcpError as exc:
                error = ErrorInfo.of(exc)
                await self._finish_local(job, lambda current: current.failed(error, self.clock.wall()))
                return exc
            except Exception:
                log.exception("%s %s failed unexpectedly", provider.name, operation.name)
                unknown = SubmitUnknown(_ADAPTER_FAILED, charged=None)
                await self._finish_local(
                    job, lambda current: current.crashed_with(ErrorInfo.of(unknown), self.clock.wall())
                )
                return unknown
            finally:
                ready.set()
            await self._finish_local(job, lambda current: current.completed(outcome, self.clock.wall()))
            return None

        async def work() -> GenmcpError | None:
            try:
                return await attempt()
            finally:
                await self.leases.release(job.id)

        run = self.runs.start(job.id, work)
        # Until the call sends its first request it costs nothing and its inputs may still be refused: wait for that
        # (inputs are checked and fetched with their own time limit) so a refused input is an error, not `running`.
        await self.clock.wait_for(ready, self.inputs.settings.fetch_timeout + 5)
        return Started(await self.store.get(job.id) or job, run)

    async def _finish_local(self, job: JobRecord, finish: Callable[[JobRecord], JobRecord]) -> None:
        """Record the end of a background call, unless it was cancelled meanwhile (while it waited for an answer)."""
        current = await self.store.get(job.id) or job
        if current.status != "cancelled":
            await self.store.save(finish(current))

    async def _submit(
        self,
        provider: Provider,
        operation: Operation[OperationInput],
        args: OperationInput,
        context: OperationContext,
        caller: Caller,
    ) -> JobRecord:
        job = self._new_record(provider, operation, caller.name, caller.key_ref(provider.name))
        # Leased while `submitting`: if this replica dies before the answer is recorded, the lease expires and the
        # record becomes `submit_unknown` (never re-sent). A job that runs on keeps the lease into the wait that
        # follows (which releases it), so no other replica can start watching it in between.
        await self.leases.create(job)
        try:
            job = await self._send(provider, operation, args, context, job)
        except BaseException:
            await self.leases.release(job.id)
            raise
        if job.status != "running":
            await self.leases.release(job.id)
        return job

    async def _send(
        self,
        provider: Provider,
        operation: Operation[OperationInput],
        args: OperationInput,
        context: OperationContext,
        job: JobRecord,
    ) -> JobRecord:
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
                await self._record_failure(job, SubmitUnknown(_ADAPTER_FAILED, charged=None), crashed=True)
                raise
            if isinstance(outcome, Completed):
                job = job.completed(outcome, self.clock.wall())
            elif self.redact(outcome.upstream_id) != outcome.upstream_id:
                leaked = SubmitUnknown(
                    f"{provider.title} answered a job id that contains a configured secret; genmcp will not store "
                    "or show it. The job may have started.",
                    charged=None,
                )
                await self._record_failure(job, leaked)
                raise leaked
            else:
                job = await self._with_related(self._accepted(job, provider, outcome), provider, operation, outcome)
            await self.store.save(job)
            await self.balances.remember(provider.name, job.credits)
        return job

    async def _record_failure(self, job: JobRecord, exc: GenmcpError, *, crashed: bool = False) -> None:
        if exc.charged is False and not isinstance(exc, SubmitUnknown):
            # Refused before anything was spent: not a job, nothing to keep.
            await self.store.delete(job.id)
            return
        error, now = ErrorInfo.of(exc), self.clock.wall()
        await self.store.save(job.crashed_with(error, now) if crashed else job.failed(error, now))

    def _accepted(self, job: JobRecord, provider: Provider, outcome: Submitted) -> JobRecord:
        return job.submitted(outcome, self.clock.wall(), default_interval=provider.poll_interval)

    async def _register(
        self, provider: Provider, operation: Operation[OperationInput], outcome: Submitted, caller: Caller
    ) -> JobRecord:
        """A free operation that started a job upstream (nothing was spent, so nothing was written before)."""
        job = self._accepted(
            self._new_record(provider, operation, caller.name, caller.key_ref(provider.name)), provider, outcome
        )
        job = await self._with_related(job, provider, operation, outcome)
        await self.store.create(job)
        return job

    async def _with_related(
        self, job: JobRecord, provider: Provider, operation: Operation[OperationInput], outcome: Submitted
    ) -> JobRecord:
        """Register the other jobs a request started; the first job's record lists their handles."""
        handles = []
        for extra in outcome.related:
            record = self._new_record(provider, operation, job.caller, job.key_ref)
            record = self._accepted(record, provider, extra).started_by(job.handle)
            await self.store.create(record)
            if record.handle:
                handles.append(record.handle)
        return job.with_related(handles) if handles else job

    async def finish_related(self, job: JobRecord, provider: Provider, deadline: float) -> list[JobRecord]:
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

    def _completed(self, provider: Provider, operation: Operation[OperationInput], outcome: Completed) -> ToolResult:
        return ToolResult(
            provider=provider.name,
            operation=operation.name,
            status="completed",
            assets=outcome.assets,
            credits=outcome.credits,
            details=outcome.details,
            text=outcome.text,
            sandbox=self.sandbox,
        ).with_inline_image(outcome.image)

    async def resolve_stale_submissions(self, submit_grace: float) -> int:
        """Records left `submitting` by a replica that is gone (its lease expired, or — without a lease — long after
        any request could have lasted) become `submit_unknown`: it may have been charged; it is never re-sent."""
        now = self.clock.wall()
        stale = await self.store.list(status="submitting", updated_before=now - submit_grace, limit=100_000)
        orphans = await self.store.orphaned(now=now, exclude_owner=self.leases.owner, limit=100_000)
        stale += [job for job in orphans if job.status == "submitting"]
        resolved: set[str] = set()
        for job in stale:
            if job.id in resolved or job.id in self.leases.held or not await self.leases.claim(job.id):
                continue
            try:
                current = await self.store.get(job.id)
                if current is not None and current.status == "submitting":
                    await self.store.save(current.submit_lost(now))
                    resolved.add(job.id)
            finally:
                await self.leases.release(job.id)
        return len(resolved)

    async def recover(self) -> int:
        """After a start: blocking calls run by a genmcp replica that is gone become `interrupted` (they may have
        charged). Calls whose replica may still be alive are left to `server.orphans` once its lease expires."""
        changed = 0
        for job in await self.store.list(status="running", limit=100_000):
            lost = job.runs_here and await self.poller.lost(job)
            if lost and (await self.poller.interrupt(job)).status == "interrupted":
                changed += 1
        return changed
