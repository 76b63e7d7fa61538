"""A tool call with what surrounds it: before, the budget (caps, a person's confirmation) and the check of
`save_to`; after, the spend settled and the result's files saved into the project.

Order matters and is the same for every tool: the client's roots are asked first (they decide where `save_to` may
point), `save_to` is checked, the caps are checked, then the person is asked to confirm — so a bad path or a spent
cap is refused before anyone is asked, and a declined call sends nothing upstream. The estimate is then reserved
(atomically against the caps) and the call runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from mcp_types import InputRequiredResult

from providers.base import Operation, OperationInput, Provider
from server.artifacts import Files, artifact_id_from
from server.budget.guard import SpendGuard
from server.callers import Caller
from server.calls import Calls, Started
from server.errors import ConfirmationRequired, Declined, GenmcpError, InvalidInput
from server.handles import Handles
from server.jobs import JobStore
from server.questions import Asking, Questions
from server.results import Asset, ErrorInfo, ToolResult
from server.saving.places import Target
from server.saving.saves import Saves
from server.tools import Call
from server.views import job_result

__all__ = ["Guarded", "SaveAsk"]


@dataclass(frozen=True)
class SaveAsk:
    """A `save_to` (or the `save` tool's `path`) and whether it may replace files."""

    path: str
    overwrite: bool = False


class SaveFailed(GenmcpError):
    """The `save` tool wrote nothing (or not everything) it was asked to; the report says what and why."""

    code = "save_failed"


class Guarded:
    """Runs operations, polls and saves with the budget before and the saving after."""

    def __init__(
        self, *, calls: Calls, handles: Handles, guard: SpendGuard, saves: Saves, store: JobStore, files: Files
    ) -> None:
        self.calls = calls
        self.handles = handles
        self.guard = guard
        self.saves = saves
        self.store = store
        self.files = files

    async def _prepare(
        self,
        questions: Questions,
        save: SaveAsk | None,
        confirm: Callable[[Questions], Awaitable[str | None]] | None = None,
    ) -> tuple[Target | None, bool | None] | InputRequiredResult:
        """Ask the client what the call needs: its roots (for `save`), then the confirmation `confirm` words."""
        chosen: list[Target] = []

        async def question(roots: list[str]) -> str | None:
            chosen.clear()
            if save is not None:
                chosen.append(self.saves.target(save.path, overwrite=save.overwrite, roots=roots))
            return await confirm(questions) if confirm is not None else None

        wants_roots = save is not None and self.saves.uses_client_roots
        answers = await questions.ask(Asking(roots=wants_roots, question=question))
        if isinstance(answers, InputRequiredResult):
            return answers
        return (chosen[0] if chosen else None), answers.confirmed

    async def run(
        self,
        provider: Provider,
        operation: Operation[OperationInput],
        args: OperationInput,
        *,
        wait: float | None,
        call: Call,
        save: SaveAsk | None,
        as_task: bool = False,
    ) -> ToolResult | InputRequiredResult | Started:
        """One provider operation: budget and confirmation first, then the call, then its spend and its files.

        `as_task` (the MCP task path): the job is handed back once it started instead of being awaited — a job that
        finished at once still answers its result — and its spend and saves are settled when the task's result is
        read (`finished`)."""

        spends = operation.kind == "spend"
        tool = f"{provider.name}_{operation.name}"
        estimate = operation.estimated_cost(args) if spends else 0.0

        async def confirm(questions: Questions) -> str | None:
            await self.guard.check(provider, tool, estimate, call.caller)
            text = await self.guard.question(provider, tool, estimate)
            if text is None or questions.can_confirm:
                return text
            if self.guard.policy.settings.confirm_fallback == "proceed":
                return None
            raise ConfirmationRequired(
                f"{text.split('?', 1)[0]}? needs your confirmation (budget.confirm_above), and this client cannot "
                "ask you (it does not support form elicitation). Nothing was sent upstream. Use a client that can, "
                'or ask the operator to raise budget.confirm_above or set budget.confirm_fallback = "proceed".'
            )

        prepared = await self._prepare(call.questions, save, confirm if spends else None)
        if isinstance(prepared, InputRequiredResult):
            return prepared
        target, confirmed = prepared
        if confirmed is False:
            raise Declined(f"You declined {tool}: nothing was sent to {provider.title} and no credits were spent.")
        reservation = await self.guard.reserve(provider, tool, estimate, call.caller) if spends else None
        try:
            sent = await self._send(provider, operation, args, wait=wait, call=call, as_task=as_task)
        except GenmcpError as exc:
            if reservation is not None:
                await self.guard.failed(reservation, exc)
            raise
        # A started job is settled (and saved) as it stands now: running, tied to its job.
        result = (
            sent if isinstance(sent, ToolResult) else job_result(sent.job, reports_credits=provider.reports_credits)
        )
        if reservation is not None:
            await self.guard.settle(reservation, result)
        if target is not None and save is not None:
            result = await self.saves.deliver(result, target, overwrite=save.overwrite, caller=call.caller)
        return result if isinstance(sent, ToolResult) else sent

    async def _send(
        self,
        provider: Provider,
        operation: Operation[OperationInput],
        args: OperationInput,
        *,
        wait: float | None,
        call: Call,
        as_task: bool,
    ) -> ToolResult | Started:
        if not as_task:
            return await self.calls.run(
                provider, operation, args, wait=wait, progress=call.progress, caller=call.caller
            )
        now = self.calls.clock.now()
        began = await self.calls.start(provider, operation, args, caller=call.caller, deadline=now, as_task=True)
        if isinstance(began, ToolResult) or not began.job.finished:
            return began
        return await self.calls.follow(began, provider, now)

    async def finished(self, result: ToolResult) -> ToolResult:
        """A job's result once it has finished — read by `poll` or as a task's result: what it really cost is
        counted, and the saves waiting for it are written (each once)."""
        await self.guard.settle_job(result)
        waiting = await self.saves.settle(result)
        return result.model_copy(update={"saved": waiting}) if waiting is not None else result

    async def poll(
        self, handle: str, *, wait: float | None, call: Call, save: SaveAsk | None
    ) -> ToolResult | InputRequiredResult:
        """`poll`: finish a job; write the saves waiting for it, and this call's own `save_to`."""
        target: Target | None = None
        if save is not None:
            prepared = await self._prepare(call.questions, save)
            if isinstance(prepared, InputRequiredResult):
                return prepared
            target = prepared[0]
        result = await self.finished(
            await self.handles.poll(handle, wait=wait, progress=call.progress, caller=call.caller)
        )
        if target is not None and save is not None:
            return await self.saves.deliver(result, target, overwrite=save.overwrite, caller=call.caller)
        return result

    async def save(
        self, *, job: str | None, asset: str | None, save: SaveAsk, call: Call
    ) -> ToolResult | InputRequiredResult:
        """`save`: a job's files (written when it completes, if it is still running) or one asset, into a path."""
        if (job is None) == (asset is None):
            raise InvalidInput("Give either `job` (a job handle) or `asset` (one asset's URL or artifact:// URI).")
        prepared = await self._prepare(call.questions, save)
        if isinstance(prepared, InputRequiredResult):
            return prepared
        target = prepared[0]
        assert target is not None
        if job is not None:
            result = await self.handles.poll(job, wait=0, progress=None, caller=call.caller)
            await self.saves.settle(result)
            result = await self.saves.deliver(result, target, overwrite=save.overwrite, caller=call.caller)
        else:
            assert asset is not None
            found = await self._asset(asset, call.caller)
            report = await self.saves.write([found], target, overwrite=save.overwrite, stem="genmcp-save")
            result = ToolResult(provider="genmcp", operation="save", status="completed", assets=[found], saved=report)
        if result.saved is not None and result.saved.status == "failed":
            error = ErrorInfo.of(SaveFailed(result.saved.message), spending=False)
            return result.model_copy(update={"status": "failed", "error": error})
        return result

    async def _asset(self, reference: str, caller: Caller) -> Asset:
        """An asset genmcp knows: a file it holds, or an asset of one of the caller's jobs."""
        artifact_id = artifact_id_from(reference)
        if artifact_id is not None:
            artifact = await self.files.store.get(artifact_id)
            if artifact is None:
                raise InvalidInput(f"{reference[:120]} is not a file genmcp holds (unknown or expired).")
            return self.files.asset(artifact)
        for record in await self.store.list(caller=caller.name, limit=500):
            if not caller.may_see(record):
                continue
            for known in record.assets:
                if reference.strip() in (known.url, known.resource):
                    return known
        raise InvalidInput(
            f"{reference[:120]} is not an asset of one of your jobs; pass a job handle as `job`, or an asset URL or "
            "artifact:// URI from a result."
        )
