"""Questions a job's background work asks the person following it as an MCP task, and the answers they send.

The work (a blocking provider call genmcp runs itself, before it sends anything) asks through `JobQuestions.ask`:
the questions are written into the job's record, so every `tasks/get` — on any process sharing the registry — shows
the task `input_required` with its `inputRequests`; `tasks/update` writes the answers into the same record
(`answer`), and the waiting work hears of the change through the store's job-change events, takes its answers and
goes on. A task
cancelled while it waits (`cancel_unsent`) ends `cancelled` with nothing spent. Nobody answering within `patience`
fails the call, still before anything was sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mcp_types import (
    CreateMessageResult,
    ElicitResult,
    InputRequests,
    InputResponse,
    InputResponses,
    ListRootsResult,
)
from pydantic import ValidationError

from server.errors import InvalidInput

if TYPE_CHECKING:
    from server.clock import Clock
    from server.jobs import JobRecord, JobStore
    from server.store.events import JobEvents

__all__ = ["JobQuestions"]

_ANSWER_MODELS: dict[str, type[InputResponse]] = {
    "elicitation/create": ElicitResult,
    "sampling/createMessage": CreateMessageResult,
    "roots/list": ListRootsResult,
}
_RECHECK = 30.0
"""Seconds between looks at the record while waiting (a change normally wakes the wait at once)."""


class JobQuestions:
    """Asks and answers for jobs in one registry."""

    def __init__(self, store: JobStore, events: JobEvents, clock: Clock, *, patience: float = 3600.0) -> None:
        self.store = store
        self.events = events
        self.clock = clock
        self.patience = patience

    async def _record(self, job_id: str) -> JobRecord:
        job = await self.store.get(job_id)
        if job is None:
            raise InvalidInput("The job was removed while it waited for an answer; nothing was sent upstream.")
        return job

    async def ask(self, job_id: str, questions: InputRequests) -> InputResponses:
        """Open `questions` on the job and wait for every answer (see the module docstring)."""
        requests = {key: _dumped(asked) for key, asked in questions.items()}
        job = await self._record(job_id)
        if reused := sorted(set(requests) & (set(job.input_requests) | set(job.input_responses))):
            raise ValueError(f"question keys already used by this job: {reused}")
        await self.store.save(job.asking(requests, self.clock.wall()))
        until = self.clock.now() + self.patience
        while True:
            job = await self._record(job_id)
            if job.status == "cancelled":
                raise InvalidInput("The task was cancelled while it waited for your answer; nothing was sent upstream.")
            if all(key in job.input_responses for key in requests):
                answers = {key: _parsed(requests[key], job.input_responses[key]) for key in requests}
                await self.store.save(job.took_answers(list(requests), self.clock.wall()))
                return answers
            remaining = until - self.clock.now()
            if remaining <= 0:
                raise InvalidInput("Nobody answered the task's question in time; nothing was sent upstream.")
            await self.events.wait(job_id, min(remaining, _RECHECK), self.clock)

    async def answer(self, job: JobRecord, responses: Mapping[str, Mapping[str, Any]]) -> JobRecord:
        """Record the answers to the job's open questions (answers to anything else are ignored).

        Raises:
            InvalidInput: an answer to an open question is not what its question asks for.
        """
        kept = {
            key: _parsed(job.input_requests[key], response).model_dump(by_alias=True, mode="json", exclude_none=True)
            for key, response in responses.items()
            if key in job.input_requests
        }
        if not kept:
            return job
        answered = job.answered(kept, self.clock.wall())
        await self.store.save(answered)
        return answered

    async def cancel_unsent(self, job: JobRecord) -> JobRecord:
        """Cancel a job whose work waits for an answer (it sent nothing yet, so it cost nothing)."""
        cancelled = job.cancelled_unsent(self.clock.wall())
        await self.store.save(cancelled)
        return cancelled


def _dumped(request: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = request.model_dump(by_alias=True, mode="json", exclude_none=True)
    return dumped


def _parsed(request: Mapping[str, Any], response: Mapping[str, Any]) -> InputResponse:
    """An answer as the model its question's method expects."""
    model = _ANSWER_MODELS.get(str(request.get("method")), ElicitResult)
    try:
        return model.model_validate(dict(response))
    except ValidationError as exc:
        raise InvalidInput(f"The answer to a {request.get('method')} question is malformed.") from exc
