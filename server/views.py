"""The client's view of job records: a job as a tool result, and as a line of the `jobs` list."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from server.jobs import INTERRUPTED, JobRecord
from server.results import CreditsInfo, JobSummary, RelatedJob, Status, ToolResult

__all__ = ["iso", "job_result", "job_summary"]

_SHOWN: dict[str, Status] = {
    "completed": "completed",
    "running": "running",
    "submitting": "running",
    "cancelled": "cancelled",
}


def iso(ts: float) -> str:
    """A Unix time as ISO 8601 (UTC, seconds)."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def _shown(job: JobRecord) -> Status:
    return _SHOWN.get(job.status, "failed")


def _next_step(job: JobRecord) -> str:
    if job.handle is None:
        return "The request is still being submitted; call jobs in a few seconds to see its handle."
    return (
        f'Call poll with job="{job.handle}" in ~{max(1, round(job.poll_interval))} s; the job keeps running meanwhile.'
    )


def job_result(job: JobRecord, related: Sequence[JobRecord] = (), *, reports_credits: bool = True) -> ToolResult:
    """A job (and the other jobs its request started) as the tool result a client sees.

    Args:
        reports_credits: Whether the job's provider says what calls cost (when not, the result says so).
    """
    status = _shown(job)
    if status == "completed" and any(_shown(record) == "running" for record in related):
        status = "running"
    error = job.error
    if job.status == "interrupted" and error is None:
        error = INTERRUPTED
    credits = job.credits
    if credits is None and job.kind == "spend":
        # Spent, amount unknown — never shown as if the call were free.
        credits = CreditsInfo(reported=reports_credits)
    return ToolResult(
        provider=job.provider,
        operation=job.operation,
        status=status,
        job=job.handle,
        assets=[*job.assets, *(asset for record in related for asset in record.assets)],
        credits=credits,
        details=job.details,
        text=job.text,
        progress=job.progress if job.status == "running" else None,
        next=_next_step(job) if status == "running" else None,
        error=error if status == "failed" else None,
        related=[
            RelatedJob(
                job=record.handle or record.id, status=_shown(record), error=record.error, details=record.details
            )
            for record in related
        ],
        sandbox=job.sandbox,
    )


def job_summary(job: JobRecord) -> JobSummary:
    """A job as one line of the `jobs` list."""
    return JobSummary(
        job=job.handle,
        id=job.id,
        provider=job.provider,
        operation=job.operation,
        status=job.status,
        created_at=iso(job.created_at),
        updated_at=iso(job.updated_at),
        assets=len(job.assets),
        credits=job.credits,
        error=job.error,
    )
