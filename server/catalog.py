"""Every tool genmcp serves, as `ToolSpec`s: one per provider operation (under include/exclude), plus the shared
`poll`, `jobs`, `credits`, `cancel` and `save`. Each has its argument model; `server.tools` serves them all the same
way, and `server.guarded` runs operations, polls and saves with the budget and the saving around them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from mcp_types import InputRequiredResult, ToolAnnotations
from pydantic import Field, create_model

from providers.base import Operation, OperationInput, Provider
from server.budget.guard import SpendGuard
from server.calls import Calls, Started
from server.config import JobSettings
from server.credits import Balances
from server.guarded import Guarded, SaveAsk
from server.handles import Handles
from server.jobs import JobStatus
from server.results import CreditsResult, JobsResult, ToolResult
from server.tools import Call, StrictArguments, ToolSpec, operation_arguments, save_fields, wait_field, with_wait

__all__ = ["Catalog"]

JobHandle = Field(max_length=240, description="The job handle, e.g. 'conceptviz:vaW29_MJ1wbnyFU4bl_pd'.")


class Catalog:
    """Builds the tool specs of one runtime (argument models depend on its settings and providers)."""

    def __init__(
        self,
        *,
        providers: Mapping[str, Provider],
        calls: Calls,
        handles: Handles,
        balances: Balances,
        jobs: JobSettings,
        guarded: Guarded,
        guard: SpendGuard,
    ) -> None:
        self.providers = providers
        self.calls = calls
        self.handles = handles
        self.balances = balances
        self.jobs = jobs
        self.guarded = guarded
        self.guard = guard

    def specs(self) -> list[ToolSpec[Any]]:
        """Every tool: each provider's operations (under include/exclude), then the shared tools."""
        specs: list[ToolSpec[Any]] = [
            self.operation(provider, operation)
            for provider in self.providers.values()
            for operation in provider.operations()
            if provider.settings.serves(operation.name)
        ]
        listed = sorted(self.providers)
        specs += [self.poll(), self.jobs_list(listed), self.credits(listed), self.save(listed)]
        cancellable = sorted(name for name, provider in self.providers.items() if provider.can_cancel)
        if cancellable:
            specs.append(self.cancel(cancellable))
        return specs

    def _describe(self, operation: Operation[Any]) -> str:
        lines = [operation.summary.strip(), "", f"Cost: {operation.cost}", f"Time: {operation.duration}"]
        if operation.kind == "spend":
            lines.append(
                f"Waits up to `wait` seconds (default {self.jobs.wait_seconds:g}); if the job is still running it "
                "answers status 'running' with a `job` handle instead of failing — call `poll` with that handle. "
                "The job is never lost or re-sent. `save_to` writes the files into your project."
            )
        lines.append(f"Returns: {operation.returns}")
        return "\n".join(lines)

    def operation(self, provider: Provider, operation: Operation[OperationInput]) -> ToolSpec[OperationInput]:
        """A provider operation as a tool: its input model (plus `wait` for a spend), its kind's annotations."""
        spends = operation.kind == "spend"
        arguments = (
            with_wait(operation.input_model, self.jobs.wait_seconds, self.jobs.max_wait_seconds, saving=True)
            if spends
            else operation.input_model
        )

        async def begin(
            args: OperationInput, call: Call, *, as_task: bool
        ) -> ToolResult | InputRequiredResult | Started:
            save_to: str | None = getattr(args, "save_to", None)
            return await self.guarded.run(
                provider,
                operation,
                operation_arguments(operation, args),
                wait=getattr(args, "wait", None) if spends else None,
                call=call,
                save=SaveAsk(save_to, bool(getattr(args, "overwrite", False))) if save_to is not None else None,
                as_task=as_task,
            )

        async def answer(args: OperationInput, call: Call) -> ToolResult | InputRequiredResult:
            answered = await begin(args, call, as_task=False)
            assert not isinstance(answered, Started), "only a task's call is handed back started"
            return answered

        async def start(args: OperationInput, call: Call) -> ToolResult | InputRequiredResult | Started:
            return await begin(args, call, as_task=True)

        title = f"{provider.title}: {operation.title}"
        return ToolSpec(
            name=f"{provider.name}_{operation.name}",
            title=title,
            description=self._describe(operation),
            provider=provider.name,
            operation=operation.name,
            kind=operation.kind,
            arguments=arguments,
            output=ToolResult,
            annotations=ToolAnnotations(
                title=title,
                read_only_hint=operation.kind == "read",
                destructive_hint=False,
                idempotent_hint=operation.kind == "read",
                open_world_hint=True,
            ),
            answer=answer,
            endpoints=frozenset({provider.name}),
            start=start if spends or operation.blocking else None,
        )

    def poll(self) -> ToolSpec[Any]:
        """`poll`: finish a job by handle."""
        arguments = create_model(
            "PollArguments",
            __base__=StrictArguments,
            job=(str, JobHandle),
            wait=(float, wait_field(self.jobs.wait_seconds, self.jobs.max_wait_seconds)),
            **save_fields(),
        )

        async def answer(args: Any, call: Call) -> ToolResult | InputRequiredResult:
            save = SaveAsk(args.save_to, args.overwrite) if args.save_to is not None else None
            return await self.guarded.poll(args.job, wait=args.wait, call=call, save=save)

        return ToolSpec(
            name="poll",
            title="Finish a job",
            description="Wait for a generation job started earlier (by any genmcp tool, or elsewhere with the same "
            "key) and return its result. A finished job answers at once from genmcp's registry, without contacting "
            "the provider. If the job is still running when `wait` runs out, the answer is status 'running' again "
            "with when to ask next — never an error. `save_to` writes the job's files into your project (when it "
            "completes, if it is still running).\n\nCost: free.\nReturns: the same result shape as the tool that "
            "started the job.",
            provider="genmcp",
            operation="poll",
            kind="read",
            arguments=arguments,
            output=ToolResult,
            annotations=ToolAnnotations(
                title="Finish a job", read_only_hint=True, idempotent_hint=True, open_world_hint=True
            ),
            answer=answer,
            endpoints=frozenset(self.providers),
        )

    def cancel(self, providers: Sequence[str]) -> ToolSpec[CancelArguments]:
        """`cancel`: stop a running job where the provider's API can."""

        async def answer(args: CancelArguments, call: Call) -> ToolResult:
            return await self.handles.cancel(args.job, caller=call.caller)

        return ToolSpec(
            name="cancel",
            title="Cancel a job",
            description=f"Cancel a running generation job by handle (providers that can cancel: "
            f"{', '.join(providers)}). Credits are refunded as the provider's policy says. A job that already "
            "finished is reported as such and left alone.\n\nCost: free.\nReturns: the job's result shape with "
            "status 'cancelled' and the refund in `credits` (`refunded`, `refunded_amount`).",
            provider="genmcp",
            operation="cancel",
            kind="write",
            arguments=CancelArguments,
            output=ToolResult,
            annotations=ToolAnnotations(
                title="Cancel a job",
                read_only_hint=False,
                destructive_hint=True,
                idempotent_hint=True,
                open_world_hint=True,
            ),
            answer=answer,
            endpoints=frozenset(providers),
        )

    def jobs_list(self, providers: Sequence[str]) -> ToolSpec[Any]:
        """`jobs`: the registry, newest first."""
        arguments = create_model(
            "JobsArguments",
            __base__=StrictArguments,
            provider=(_one_of(providers) | None, Field(default=None, description="Only this provider's jobs.")),
            status=(JobStatus | None, Field(default=None, description="Only jobs in this state.")),
            limit=(int, Field(default=20, ge=1, le=200)),
        )

        async def answer(args: Any, call: Call) -> JobsResult:
            return await self.handles.jobs(
                provider=args.provider, status=args.status, limit=args.limit, caller=call.caller
            )

        return ToolSpec(
            name="jobs",
            title="List jobs",
            description="List recent generation jobs from genmcp's registry, newest first: handle, provider, "
            "operation, status, credits and errors. Use a handle with `poll`.\n\nCost: free; contacts no provider.",
            provider="genmcp",
            operation="jobs",
            kind="read",
            arguments=arguments,
            output=JobsResult,
            annotations=ToolAnnotations(
                title="List jobs", read_only_hint=True, idempotent_hint=True, open_world_hint=False
            ),
            answer=answer,
            text=jobs_text,
            endpoints=frozenset(providers),
        )

    def credits(self, providers: Sequence[str]) -> ToolSpec[Any]:
        """`credits`: every configured provider's balance."""
        arguments = create_model(
            "CreditsArguments",
            __base__=StrictArguments,
            provider=(_one_of(providers) | None, Field(default=None, description="Only this provider.")),
        )

        async def answer(args: Any, call: Call) -> CreditsResult:
            spend = await self.guard.today(self.balances.names(args.provider), call.caller)
            return await self.balances.credits(args.provider, spend=spend)

        return ToolSpec(
            name="credits",
            title="Credit balances",
            description="Show the credit balance of every configured provider (or one), and today's spend against "
            "the daily caps (yours and everyone's, when each resets). Where a provider has no balance endpoint, "
            "shows the last balance it reported and when.\n\nCost: free.",
            provider="genmcp",
            operation="credits",
            kind="read",
            arguments=arguments,
            output=CreditsResult,
            annotations=ToolAnnotations(
                title="Credit balances", read_only_hint=True, idempotent_hint=True, open_world_hint=True
            ),
            answer=answer,
            text=credits_text,
            endpoints=frozenset(providers),
        )

    def save(self, providers: Sequence[str]) -> ToolSpec[SaveArguments]:
        """`save`: write a job's files, or one asset, into the project."""

        async def answer(args: SaveArguments, call: Call) -> ToolResult | InputRequiredResult:
            return await self.guarded.save(
                job=args.job, asset=args.asset, save=SaveAsk(args.path, args.overwrite), call=call
            )

        return ToolSpec(
            name="save",
            title="Save files into the project",
            description="Write a finished job's files (by `job` handle) or one asset (by its URL or artifact:// URI) "
            "into your project at `path`: a file path, or a directory ending in '/' (a batch is numbered). A job "
            "still running is saved when it completes. Only the configured output directories and your client's "
            "roots can be written; existing files are kept unless `overwrite` is true.\n\nCost: free.\nReturns: "
            "the job's result with `saved`: the paths written (or why not).",
            provider="genmcp",
            operation="save",
            kind="write",
            arguments=SaveArguments,
            output=ToolResult,
            annotations=ToolAnnotations(
                title="Save files into the project",
                read_only_hint=False,
                destructive_hint=False,
                idempotent_hint=True,
                open_world_hint=True,
            ),
            answer=answer,
            endpoints=frozenset(providers),
        )


def _one_of(values: Sequence[str]) -> Any:
    """The type accepting exactly these strings (an enum in the schema); none at all when there are none."""
    return Literal[tuple(values)] if values else type(None)


class CancelArguments(StrictArguments):
    """Arguments of `cancel`."""

    job: str = Field(max_length=240, description="The job handle to cancel.")


class SaveArguments(StrictArguments):
    """Arguments of `save`."""

    job: str | None = Field(default=None, max_length=240, description="A job handle: save all its files.")
    asset: str | None = Field(
        default=None, max_length=4096, description="One asset instead: its URL or artifact:// URI from a result."
    )
    path: str = Field(
        max_length=1024,
        description="Where: a file path (e.g. 'public/icon.png') or a directory ending in '/', inside your project "
        "or a configured output directory.",
    )
    overwrite: bool = Field(default=False, strict=True, description="Replace files that already exist.")


def jobs_text(result: JobsResult) -> str:
    """The `jobs` answer as text."""
    if not result.jobs:
        return "No jobs."
    lines = [f"{len(result.jobs)} job(s), newest first:"]
    for job in result.jobs:
        cost = f", {job.credits.charged:g} credits" if job.credits and job.credits.charged is not None else ""
        error = f", {job.error.code}" if job.error else ""
        lines.append(f"- {job.job or job.id}: {job.operation} {job.status}{cost}{error} ({job.created_at})")
    return "\n".join(lines)


def credits_text(result: CreditsResult) -> str:
    """The `credits` answer as text."""
    lines = []
    for entry in result.balances:
        if entry.error is not None:
            lines.append(f"- {entry.provider}: unavailable ({entry.error.message})")
        elif entry.remaining is None:
            lines.append(f"- {entry.provider}: unknown. {entry.note or ''}".rstrip())
        else:
            seen = "" if entry.live else f" (last reported {entry.as_of})"
            lines.append(f"- {entry.provider}: {entry.remaining:g} credits{seen}")
    for spend in result.spend:
        caps = [f"{spend.spent:g} spent today" + (f" of a {spend.cap:g} cap" if spend.cap is not None else "")]
        if spend.your_cap is not None or spend.yours:
            caps.append(f"yours {spend.yours:g}" + (f" of {spend.your_cap:g}" if spend.your_cap is not None else ""))
        if spend.confirm_above is not None:
            caps.append(f"asks above {spend.confirm_above:g}")
        lines.append(f"- {spend.provider} budget: {', '.join(caps)} (resets {spend.resets_at})")
    if result.sandbox:
        lines.append("(sandbox: simulated balances)")
    return "Credits:\n" + "\n".join(lines)
