"""A job record changes only through its typed transitions, each saying what happened."""

from __future__ import annotations

from providers.base import Completed, JobUpdate, Submitted
from server.errors import JobFailed, SubmitUnknown
from server.jobs import INTERRUPTED, JobRecord
from server.results import Asset, CreditsInfo, ErrorInfo


def _new() -> JobRecord:
    return JobRecord(provider="kolbo", operation="generate_video", created_at=10.0, updated_at=10.0)


def test_a_new_record_is_submitting_and_has_no_handle() -> None:
    job = _new()

    assert job.status == "submitting"
    assert job.handle is None
    assert not job.finished


def test_submitted_records_the_upstream_id_poll_facts_and_charge() -> None:
    outcome = Submitted(
        upstream_id="gen1",
        poll_interval=0,
        credits=CreditsInfo(charged=25),
        poll_state={"path": "x"},
        details={"model": "m"},
    )

    job = _new().submitted(outcome, 20.0, default_interval=8.0)

    assert job.status == "running"
    assert job.handle == "kolbo:gen1"
    assert job.poll_interval == 8.0
    assert job.credits == CreditsInfo(charged=25)
    assert job.poll_state == {"path": "x"}
    assert job.updated_at == 20.0
    assert job.created_at == 10.0


def test_observations_merge_details_poll_state_and_credits() -> None:
    job = _new().submitted(
        Submitted(upstream_id="g", poll_interval=5, credits=CreditsInfo(charged=25, remaining=975), details={"a": 1}),
        11.0,
        default_interval=5,
    )

    seen = job.observed(
        JobUpdate(state="running", progress=40, details={"b": 2}, poll_state={"p": 1}, credits=CreditsInfo()), 12.0
    )
    done = seen.observed(JobUpdate(state="completed", assets=[Asset(url="https://x/1.mp4", kind="video")]), 13.0)

    assert seen.progress == 40
    assert seen.details == {"a": 1, "b": 2}
    assert seen.poll_state == {"p": 1}
    assert seen.credits == CreditsInfo(charged=25, remaining=975)
    assert done.status == "completed"
    assert done.finished
    assert done.progress == 100.0
    assert [a.url for a in done.assets] == ["https://x/1.mp4"]


def test_a_cancel_observation_keeps_the_charge_and_adds_the_refund() -> None:
    job = _new().submitted(
        Submitted(upstream_id="g", poll_interval=5, credits=CreditsInfo(charged=25)), 11.0, default_interval=5
    )

    cancelled = job.observed(JobUpdate(state="cancelled", credits=CreditsInfo(refunded=True, refunded_amount=25)), 12.0)

    assert cancelled.status == "cancelled"
    assert cancelled.credits == CreditsInfo(charged=25, refunded=True, refunded_amount=25)


def test_a_failed_observation_carries_the_error_facts() -> None:
    failure = JobFailed("it broke", charged=True, refunded=True)

    job = _new().observed(JobUpdate(state="failed", error=failure), 12.0)

    assert job.status == "failed"
    assert job.error == ErrorInfo.of(failure)


def test_completed_takes_the_outcome() -> None:
    job = _new().completed(Completed(text="hello", details={"x": 1}, credits=CreditsInfo(charged=1)), 12.0)

    assert job.status == "completed"
    assert job.text == "hello"
    assert job.progress == 100.0


def test_a_failure_that_may_have_started_the_job_is_submit_unknown() -> None:
    unknown = _new().failed(ErrorInfo.of(SubmitUnknown("lost", charged=None)), 12.0)
    refused = _new().failed(ErrorInfo.of(JobFailed("no")), 12.0)

    assert unknown.status == "submit_unknown"
    assert refused.status == "failed"


def test_a_lost_submission_and_an_interrupted_call_say_they_may_have_been_charged() -> None:
    lost = _new().submit_lost(20.0)
    interrupted = _new().running_here("run1", owner="h:1:t", expires_at=99.0, now=11.0).interrupted(20.0)

    assert lost.status == "submit_unknown"
    assert lost.error is not None
    assert lost.error.charged is None
    assert "may have been charged" in lost.error.message
    assert interrupted.status == "interrupted"
    assert interrupted.error == INTERRUPTED


def test_a_call_genmcp_runs_itself_is_marked_as_such() -> None:
    job = _new().running_here("run1", owner="h:1:t", expires_at=99.0, now=11.0)

    assert job.runs_here
    assert job.status == "running"
    assert job.poll_state == {"local": True, "owner": "h:1:t", "expires_at": 99.0}
