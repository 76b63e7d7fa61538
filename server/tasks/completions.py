"""`completion/complete`: values for the workflow prompts' arguments and for the `artifact://` and `job://` resource
templates — the caller's own recent files and jobs, newest first, from the registry (no upstream request).

Anything else (another prompt, an argument without known values) completes to nothing rather than failing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from mcp.server.context import ServerRequestContext
from mcp_types import CompleteRequestParams, CompleteResult, Completion, PromptReference

from server.artifacts import ARTIFACT_URI
from server.callers import Caller
from server.tasks.notify import JOB_URI
from server.tasks.prompts import served_workflows

if TYPE_CHECKING:
    from server.mcp_server import GenmcpServer
    from server.tasks.feature import TasksFeature

__all__ = ["Completions", "install_completions"]

_MAX_VALUES = 100
"""What MCP allows in one answer."""
_RECENT_JOBS = 200
"""Jobs of the caller looked at for recent handles and files."""


def _matching(values: Iterable[str], prefix: str) -> Completion:
    wanted = prefix.strip().lower()
    found = list(dict.fromkeys(value for value in values if value.lower().startswith(wanted)))
    return Completion(values=found[:_MAX_VALUES], total=len(found), has_more=len(found) > _MAX_VALUES)


class Completions:
    """`completion/complete` for one endpoint (serving `providers`)."""

    def __init__(self, feature: TasksFeature, server: GenmcpServer, providers: frozenset[str]) -> None:
        self.feature = feature
        self.server = server
        self.workflows = {workflow.name: workflow for workflow in served_workflows(providers)}

    async def recent(self, caller: Caller) -> tuple[list[str], list[str]]:
        """The caller's recent job handles and the artifact ids their results hold (still held), newest first."""
        records = await self.feature.parts.store.list(caller=caller.name, limit=_RECENT_JOBS)
        handles: list[str] = []
        artifacts: list[str] = []
        for job in records:
            if not caller.may_see(job):
                continue
            if job.handle is not None:
                handles.append(job.handle)
            for asset in job.assets:
                held = (
                    asset.resource[len(ARTIFACT_URI) :]
                    if asset.resource and asset.resource.startswith(ARTIFACT_URI)
                    else None
                )
                if held is not None and await self.server.files.store.get(held) is not None:
                    artifacts.append(held)
        return handles, artifacts

    async def for_prompt(self, name: str, argument: str, value: str, caller: Callable[[], Caller]) -> Completion:
        """A workflow prompt's argument: its choices, or (for a picture) the caller's files."""
        workflow = self.workflows.get(name)
        if workflow is None:
            return Completion(values=[])
        if argument in workflow.choices:
            return _matching(workflow.choices[argument], value)
        if argument in workflow.images:
            _, artifacts = await self.recent(caller())
            return _matching((f"{ARTIFACT_URI}{artifact}" for artifact in artifacts), value)
        return Completion(values=[])

    async def for_template(self, uri: str, argument: str, value: str, caller: Callable[[], Caller]) -> Completion:
        """A resource template's variable: the caller's artifact ids or job handles."""
        if uri == f"{ARTIFACT_URI}{{artifact_id}}" and argument == "artifact_id":
            return _matching((await self.recent(caller()))[1], value)
        if uri == f"{JOB_URI}{{handle}}" and argument == "handle":
            return _matching((await self.recent(caller()))[0], value)
        return Completion(values=[])

    async def __call__(self, ctx: ServerRequestContext[Any, Any], params: CompleteRequestParams) -> CompleteResult:
        await self.feature.ready()
        ref, argument = params.ref, params.argument

        def caller() -> Caller:
            return self.feature.caller(ctx.request)

        if isinstance(ref, PromptReference):
            completion = await self.for_prompt(ref.name, argument.name, argument.value, caller)
        else:
            completion = await self.for_template(ref.uri, argument.name, argument.value, caller)
        return CompleteResult(completion=completion)


def install_completions(feature: TasksFeature, server: GenmcpServer, providers: frozenset[str]) -> None:
    """Serve `completion/complete` on one endpoint's server (serving these providers)."""
    completions = Completions(feature, server, providers)
    server._lowlevel_server.add_request_handler("completion/complete", CompleteRequestParams, completions)
