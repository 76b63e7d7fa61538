"""The job registry: every paid job, written before its upstream request and kept until it finishes.

`JobRecord` changes state only through its typed transitions (`submitted`, `running_here`, `observed`, `completed`,
`failed`, `submit_lost`, `interrupted`, and for a job that asks its caller something: `asking`, `answered`,
`took_answers`, `cancelled_unsent`), each returning the new record. `JobStore` is the small transactional interface of
the registry; its backends (SQLite, PostgreSQL) and what else they hold are `server.store`. The store keeps records;
what a record says to a person is decided here.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, Field

from server.results import Asset, CreditsInfo, ErrorInfo

if TYPE_CHECKING:
    from providers.base import Completed, JobUpdate, Submitted

__all__ = ["INTERRUPTED", "TERMINAL", "JobRecord", "JobStatus", "JobStore", "StoredBalance"]

JobStatus = Literal["submitting", "running", "completed", "failed", "submit_unknown", "interrupted", "cancelled"]
TERMINAL: frozenset[str] = frozenset({"completed", "failed", "submit_unknown", "interrupted", "cancelled"})

INTERRUPTED = ErrorInfo(
    code="interrupted",
    message="genmcp stopped while this call was in flight; it may have reached the provider and may have been "
    "charged. It was not sent again.",
    retryable=False,
    charged=None,
)
SUBMIT_LOST = ErrorInfo(
    code="submit_unknown",
    message="genmcp stopped while sending this request; it may have reached the provider and may have been "
    "charged. It was not sent again.",
    retryable=False,
    charged=None,
)


class JobRecord(BaseModel):
    """One job as the registry holds it. Nothing secret is ever stored here."""

    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    provider: str
    operation: str
    kind: Literal["read", "spend", "write"] = "spend"
    """The operation's kind: a spending job's result always says what it cost (or that nobody said)."""
    status: JobStatus = "submitting"
    upstream_id: str | None = None
    created_at: float
    updated_at: float
    caller: str | None = None
    key_ref: str | None = None
    """A fingerprint of the caller's own key when one was used: only that key can poll or cancel the job."""
    sandbox: bool = False
    poll_interval: float = 5.0
    poll_state: dict[str, Any] = Field(default_factory=dict)
    progress: float | None = None
    upstream_status: str | None = None
    assets: list[Asset] = Field(default_factory=list)
    credits: CreditsInfo | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    text: str | None = None
    error: ErrorInfo | None = None
    related: list[str] = Field(default_factory=list)
    """Handles of the other jobs the same request started; polling this one finishes them too."""
    part_of: str | None = None
    """The handle of the job whose request started this one."""
    crashed: bool = False
    """genmcp itself failed while running the call (its process died, or a bug): not the provider's answer. A client
    following the job as an MCP task sees this as a protocol-level failure."""
    input_requests: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Questions the job's work waits on (MCP input requests, e.g. `elicitation/create`), by key."""
    input_responses: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Answers that arrived for those questions and that the work has not taken yet, by key."""

    @property
    def handle(self) -> str | None:
        """`<provider>:<upstream id>`, once the provider has given an id."""
        return f"{self.provider}:{self.upstream_id}" if self.upstream_id else None

    @property
    def finished(self) -> bool:
        """Whether the job reached a terminal state."""
        return self.status in TERMINAL

    @property
    def runs_here(self) -> bool:
        """Whether a genmcp process runs this call itself (a blocking provider call) rather than the provider."""
        return bool(self.poll_state.get("local"))

    def _with(self, now: float, **changes: Any) -> JobRecord:
        return self.model_copy(update={"updated_at": now, **changes})

    # --- transitions ---------------------------------------------------------------------------------------------

    def submitted(self, outcome: Submitted, now: float, *, default_interval: float) -> JobRecord:
        """The provider accepted the job and gave it an id: it is running upstream."""
        return self._with(
            now,
            status="running",
            upstream_id=outcome.upstream_id,
            poll_interval=outcome.poll_interval or default_interval,
            poll_state=outcome.poll_state,
            credits=outcome.credits,
            details=outcome.details,
            assets=outcome.assets,
        )

    def running_here(self, run_id: str, *, owner: str, expires_at: float, now: float) -> JobRecord:
        """A synchronous provider call this process runs in the background, lost if not done by `expires_at`."""
        return self._with(
            now,
            status="running",
            upstream_id=run_id,
            poll_interval=5.0,
            poll_state={"local": True, "owner": owner, "expires_at": expires_at},
        )

    def completed(self, outcome: Completed, now: float) -> JobRecord:
        """The call answered its final result."""
        return self._with(
            now,
            status="completed",
            assets=outcome.assets,
            credits=outcome.credits,
            details=outcome.details,
            text=outcome.text,
            progress=100.0,
        )

    def failed(self, error: ErrorInfo, now: float) -> JobRecord:
        """The call failed; a `submit_unknown` error means it may have started (and been charged) all the same."""
        status: JobStatus = "submit_unknown" if error.code == "submit_unknown" else "failed"
        return self._with(now, status=status, error=error)

    def crashed_with(self, error: ErrorInfo, now: float) -> JobRecord:
        """genmcp failed unexpectedly while running the call (a bug): it may have started all the same."""
        return self.failed(error, now).model_copy(update={"crashed": True})

    def submit_lost(self, now: float) -> JobRecord:
        """Its process died while sending the request: it may have started, and it is never sent again."""
        return self._with(now, status="submit_unknown", error=SUBMIT_LOST, crashed=True)

    def interrupted(self, now: float) -> JobRecord:
        """The process running this call itself died: it may have reached the provider."""
        return self._with(now, status="interrupted", error=INTERRUPTED, crashed=True)

    def asking(self, requests: Mapping[str, dict[str, Any]], now: float) -> JobRecord:
        """The work waits for the caller to answer these questions (keys never reused within one job)."""
        return self._with(now, input_requests={**self.input_requests, **requests})

    def answered(self, responses: Mapping[str, dict[str, Any]], now: float) -> JobRecord:
        """Answers arrived; only those to questions still open are kept (others are ignored, as MCP asks)."""
        kept = {key: value for key, value in responses.items() if key in self.input_requests}
        return self._with(
            now,
            input_requests={key: value for key, value in self.input_requests.items() if key not in kept},
            input_responses={**self.input_responses, **kept},
        )

    def took_answers(self, keys: Sequence[str], now: float) -> JobRecord:
        """The work took these answers."""
        return self._with(now, input_responses={k: v for k, v in self.input_responses.items() if k not in keys})

    def cancelled_unsent(self, now: float) -> JobRecord:
        """Cancelled while it waited for an answer, before any request was sent: nothing was spent."""
        return self._with(
            now,
            status="cancelled",
            input_requests={},
            input_responses={},
            credits=CreditsInfo(charged=0.0, refunded=False),
        )

    def observed(self, update: JobUpdate, now: float) -> JobRecord:
        """The record after one observation of the job upstream (a poll or a cancel)."""
        changes: dict[str, Any] = {"upstream_status": update.upstream_status or update.state, "status": update.state}
        if update.progress is not None:
            changes["progress"] = update.progress
        elif update.state == "completed":
            changes["progress"] = 100.0
        if update.assets:
            changes["assets"] = update.assets
        if update.error is not None:
            changes["error"] = ErrorInfo.of(update.error)
        if update.details:
            changes["details"] = {**self.details, **update.details}
        if update.text is not None:
            changes["text"] = update.text
        if update.poll_state:
            changes["poll_state"] = {**self.poll_state, **update.poll_state}
        if update.poll_interval:
            changes["poll_interval"] = update.poll_interval
        if update.credits is not None:
            changes["credits"] = (self.credits or CreditsInfo()).merged(update.credits)
        return self._with(now, **changes)

    def with_related(self, handles: Sequence[str]) -> JobRecord:
        """The handles of the other jobs the same request started."""
        return self.model_copy(update={"related": list(handles)})

    def started_by(self, handle: str | None) -> JobRecord:
        """Marks this job as one of the jobs the request behind `handle` started."""
        return self.model_copy(update={"part_of": handle})


class StoredBalance(BaseModel):
    """A provider balance as last seen in one of its responses."""

    remaining: float
    as_of: float


class JobStore(Protocol):
    """Where job records live. Every method is one transaction."""

    async def open(self) -> None:
        """Connect (and create or upgrade the schema)."""
        ...

    async def create(self, job: JobRecord) -> None:
        """Insert a new record."""
        ...

    async def save(self, job: JobRecord) -> None:
        """Replace a record (matched by id)."""
        ...

    async def delete(self, job_id: str) -> None:
        """Forget a record (a request refused before anything was spent)."""
        ...

    async def get(self, job_id: str) -> JobRecord | None:
        """A record by its local id."""
        ...

    async def find(self, provider: str, upstream_id: str) -> JobRecord | None:
        """A record by its provider's job id."""
        ...

    async def list(
        self,
        *,
        provider: str | None = None,
        status: str | None = None,
        caller: str | None = None,
        updated_before: float | None = None,
        limit: int = 20,
    ) -> list[JobRecord]:
        """Recent records, newest first."""
        ...

    async def record_balance(self, provider: str, remaining: float, as_of: float) -> None:
        """Remember a balance a provider reported in passing."""
        ...

    async def last_balance(self, provider: str) -> StoredBalance | None:
        """The balance last remembered for a provider."""
        ...

    async def close(self) -> None:
        """Release the store."""
        ...
