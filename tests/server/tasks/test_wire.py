"""A job record as a task: the status mapping, the fields each status carries, and the record transitions behind
questions and crashes."""

from __future__ import annotations

import pytest
from mcp_types import CallToolResult, TextContent

from providers.base import JobUpdate
from server.errors import JobFailed
from server.jobs import JobRecord
from server.results import ErrorInfo
from server.tasks.wire import created_task, detailed_task, task_status
from server.views import job_result

NOW = 1_700_000_000.0


def _running() -> JobRecord:
    return JobRecord(
        provider="kolbo",
        operation="generate_video",
        status="running",
        upstream_id="abc123",
        created_at=NOW,
        updated_at=NOW + 1.5,
        poll_interval=4.2,
    )


def test_running_jobs_are_working_and_asking_ones_input_required() -> None:
    job = _running()
    asking = job.asking({"confirm": {"method": "elicitation/create", "params": {}}}, NOW + 2)

    assert task_status(job, job_result(job)) == "working"
    assert task_status(asking, job_result(asking)) == "input_required"
    task = detailed_task(asking, job_result(asking), None, ttl_ms=1000)
    assert task["inputRequests"] == {"confirm": {"method": "elicitation/create", "params": {}}}
    assert "result" not in task
    assert "error" not in task


@pytest.mark.parametrize(
    ("finish", "status"),
    [
        (lambda job: job.observed(JobUpdate(state="completed"), NOW + 9), "completed"),
        (lambda job: job.observed(JobUpdate(state="failed", error=JobFailed("no")), NOW + 9), "completed"),
        (lambda job: job.observed(JobUpdate(state="cancelled"), NOW + 9), "cancelled"),
        (lambda job: job.interrupted(NOW + 9), "failed"),
        (lambda job: job.submit_lost(NOW + 9), "failed"),
        (lambda job: job.crashed_with(ErrorInfo(code="x", message="bug", retryable=False, charged=None), 9), "failed"),
    ],
)
def test_a_finished_job_is_completed_even_when_it_failed_and_failed_only_when_genmcp_broke(
    finish: object, status: str
) -> None:
    job = finish(_running())  # type: ignore[operator]
    assert isinstance(job, JobRecord)
    assert task_status(job, job_result(job)) == status


def test_the_wire_fields_are_integers_in_ms_and_iso_timestamps() -> None:
    job = _running()
    created = created_task(job, job_result(job), ttl_ms=604_800_000)

    assert created["resultType"] == "task"
    assert created["taskId"] == job.id
    assert created["pollIntervalMs"] == 4200
    assert created["ttlMs"] == 604_800_000
    assert created["createdAt"] == "2023-11-14T22:13:20.000Z"
    assert created["lastUpdatedAt"] == "2023-11-14T22:13:21.500Z"
    assert not {"result", "error", "inputRequests", "requestState"} & set(created)


def test_a_completed_task_inlines_its_result_and_says_its_first_line() -> None:
    job = _running().observed(JobUpdate(state="completed"), NOW + 9)
    rendered = CallToolResult(content=[TextContent(text="kolbo generate_video completed: 1 asset.\nmore")])

    task = detailed_task(job, job_result(job), rendered, ttl_ms=None)

    assert task["status"] == "completed"
    assert task["result"]["content"][0]["text"].startswith("kolbo generate_video completed")
    assert task["statusMessage"] == "kolbo generate_video completed: 1 asset."
    assert task["ttlMs"] is None


def test_a_failed_task_carries_a_json_rpc_error_with_genmcps_result() -> None:
    job = _running().interrupted(NOW + 9)

    task = detailed_task(job, job_result(job), None, ttl_ms=1)

    assert task["error"]["code"] == -32603
    assert task["error"]["data"]["result"]["error"]["code"] == "interrupted"
    assert "result" not in task


def test_answers_are_kept_only_for_open_questions_and_taken_once() -> None:
    job = _running().asking({"a": {"method": "elicitation/create"}, "b": {"method": "elicitation/create"}}, NOW)

    answered = job.answered({"a": {"action": "accept"}, "zzz": {"action": "accept"}}, NOW + 1)
    taken = answered.took_answers(["a"], NOW + 2)

    assert set(answered.input_requests) == {"b"}
    assert answered.input_responses == {"a": {"action": "accept"}}
    assert taken.input_responses == {}
    cancelled = taken.cancelled_unsent(NOW + 3)
    assert cancelled.status == "cancelled"
    assert cancelled.input_requests == {}
    assert cancelled.credits is not None
    assert cancelled.credits.charged == 0
