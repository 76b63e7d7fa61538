"""The Tasks extension over the job registry, in process: a spending call from a client that declares the extension
becomes a task that is its job record; tasks/get answers from the registry while the job's one watcher polls the
provider; tasks/cancel is `cancel`; everyone else gets the bounded wait and the `poll` handle as before."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import MISSING_REQUIRED_CLIENT_CAPABILITY

from providers.kolbo.simulator import KolboSimulator
from server.app import Runtime
from server.tasks.wire import CancelTaskRequest, GetTaskRequest, TaskParams
from tests.harness.clock import FakeClock
from tests.harness.results import data, error_code
from tests.harness.tasks_client import CreatedTask, DetailedTask, TasksClient
from tests.providers.kolbo.support import KEY, job_id, kolbo_runtime

pytestmark = pytest.mark.anyio

SEVEN_DAYS_MS = 7 * 24 * 3600 * 1000


async def _created(client: Client, arguments: dict[str, Any] | None = None) -> CreatedTask:
    """Start a 25-credit Kolbo video and return the task it became (without following it)."""
    answer = await client.session.call_tool(
        "kolbo_generate_video", arguments or {"prompt": "a lighthouse at dawn"}, allow_claimed=True
    )
    assert isinstance(answer, CreatedTask), answer
    return answer


async def test_a_spending_call_becomes_a_task_that_is_its_job_record(client: Client, runtime: Runtime) -> None:
    created = await _created(client)

    record = await runtime.store.get(created.task_id)
    assert record is not None, "the task id names the job record"
    assert (record.provider, record.operation, record.kind) == ("kolbo", "generate_video", "spend")
    assert record.status == "running"
    assert record.handle is not None
    assert created.result_type == "task"
    assert created.status == "working"
    assert created.ttl_ms == SEVEN_DAYS_MS
    assert created.poll_interval_ms == round(record.poll_interval * 1000)
    assert created.created_at.endswith("Z")
    assert created.last_updated_at.endswith("Z")
    extra = created.model_extra or {}
    assert not {"result", "error", "inputRequests", "requestState", "ttl", "pollInterval", "task"} & set(extra)


async def test_a_task_is_followed_to_genmcps_usual_result(
    client: Client, tasks: TasksClient, runtime: Runtime, upstream: KolboSimulator
) -> None:
    result = await client.call_tool("kolbo_generate_video", {"prompt": "a lighthouse at dawn"})

    answer = data(result)
    assert answer["status"] == "completed"
    assert answer["assets"][0]["kind"] == "video"
    assert answer["credits"]["charged"] == 25
    assert tasks.log.methods()[0] == "tools/call"
    assert set(tasks.log.methods()[1:]) == {"tasks/get"}
    # The very result `poll` answers for the same job (from the registry: the job is finished).
    polled = await client.call_tool("poll", {"job": answer["job"]})
    assert data(polled) == answer
    assert upstream.accounts[KEY].plan_credits == 975


async def test_tasks_get_never_polls_the_provider_itself(
    client: Client, tasks: TasksClient, runtime: Runtime, upstream: KolboSimulator
) -> None:
    runtime.tasks.parts.watchers.attach(None)  # no watcher may start: whatever reaches the provider, tasks/get sent
    created = await _created(client)

    answers = [await tasks.get(client.session, created.task_id) for _ in range(20)]

    assert {answer.status for answer in answers} == {"working"}
    assert upstream.requests.count("GET", prefix=True) == 0
    assert upstream.requests.total == 1  # the submission


async def test_the_one_watcher_polls_at_the_providers_pace(
    runtime: Runtime, upstream: KolboSimulator, clock: FakeClock
) -> None:
    eager = TasksClient(sleep=lambda seconds: clock.sleep(seconds / 20))  # asks 20 times per suggested interval
    async with Client(runtime.mcp, extensions=[eager]) as impatient:
        result = await impatient.call_tool("kolbo_generate_video", {"prompt": "p"})

    record = await runtime.store.get(eager.log.entries[0][2]["taskId"])
    assert record is not None
    assert record.finished
    polls = [r for r in upstream.requests if r.method == "GET" and job_id(data(result)["job"]) in r.path]
    # An 8-second job polled at the provider's interval: a handful of polls, not one per tasks/get.
    assert 1 <= len(polls) <= 8 / record.poll_interval + 3


async def test_a_finished_task_is_answered_with_zero_upstream_requests(
    client: Client, tasks: TasksClient, upstream: KolboSimulator
) -> None:
    result = await client.call_tool("kolbo_generate_video", {"prompt": "p"})
    task_id = tasks.log.entries[0][2]["taskId"]
    before = upstream.requests.total

    answers = [await tasks.get(client.session, task_id) for _ in range(5)]

    assert upstream.requests.total == before
    assert {answer.status for answer in answers} == {"completed"}
    assert answers[0].result == result.model_dump(by_alias=True, mode="json", exclude_none=True)


async def test_cancelling_a_task_cancels_its_job_and_shows_the_refund(
    client: Client, tasks: TasksClient, runtime: Runtime, upstream: KolboSimulator
) -> None:
    created = await _created(client)
    assert upstream.accounts[KEY].plan_credits == 975

    ack = await tasks.cancel(client.session, created.task_id)
    task = await tasks.get(client.session, created.task_id)

    assert ack.fields() == {"resultType": "complete"}
    assert task.status == "cancelled"
    assert task.status_message is not None
    assert "25 credits refunded" in task.status_message
    assert task.result is None
    assert task.error is None
    assert upstream.accounts[KEY].plan_credits == 1000
    record = await runtime.store.get(created.task_id)
    assert record is not None
    assert record.handle is not None
    assert upstream.requests.count(f"POST /api/v1/generate/{job_id(record.handle)}/cancel") == 1
    polled = data(await client.call_tool("poll", {"job": record.handle}))
    assert (polled["status"], polled["credits"]["refunded_amount"]) == ("cancelled", 25)


async def test_cancelling_a_finished_task_is_the_same_empty_ack(
    client: Client, tasks: TasksClient, upstream: KolboSimulator
) -> None:
    await client.call_tool("kolbo_generate_video", {"prompt": "p"})
    task_id = tasks.log.entries[0][2]["taskId"]

    ack = await tasks.cancel(client.session, task_id)
    task = await tasks.get(client.session, task_id)

    assert ack.fields() == {"resultType": "complete"}
    assert task.status == "completed"
    assert not [r for r in upstream.requests if r.path.endswith("/cancel")]


async def test_the_task_methods_need_the_extension(plain: Client, client: Client) -> None:
    created = await _created(client)
    for request in (
        GetTaskRequest(params=TaskParams(task_id=created.task_id)),
        CancelTaskRequest(params=TaskParams(task_id=created.task_id)),
    ):
        with pytest.raises(MCPError) as refused:
            await plain.session.send_request(request, DetailedTask)
        assert refused.value.code == MISSING_REQUIRED_CLIENT_CAPABILITY
        assert refused.value.data == {"requiredCapabilities": {"extensions": {"io.modelcontextprotocol/tasks": {}}}}


async def test_an_unknown_task_id_is_invalid_params(client: Client, tasks: TasksClient) -> None:
    with pytest.raises(MCPError) as unknown:
        await tasks.get(client.session, "0" * 32)
    assert unknown.value.code == -32602
    assert "not found" in unknown.value.message


async def test_a_client_without_the_extension_gets_the_bounded_wait_and_the_poll_handle(
    plain: Client, runtime: Runtime
) -> None:
    result = await plain.call_tool("kolbo_generate_video", {"prompt": "p", "wait": 0})

    answer = data(result)
    record = (await runtime.store.list(provider="kolbo", limit=1))[0]
    assert answer == {
        "provider": "kolbo",
        "operation": "generate_video",
        "status": "running",
        "job": record.handle,
        "assets": [],
        "credits": record.credits.model_dump() if record.credits else None,
        "details": answer["details"],
        "text": None,
        "progress": record.progress,
        "next": f'Call poll with job="{record.handle}" in ~{round(record.poll_interval)} s; the job keeps running '
        "meanwhile.",
        "error": None,
        "related": [],
        "sandbox": False,
    }
    assert result.is_error is False
    assert (result.model_extra or {}).get("taskId") is None


async def test_refused_input_is_the_usual_error_and_no_task(
    client: Client, tasks: TasksClient, upstream: KolboSimulator
) -> None:
    result = await client.call_tool("kolbo_generate_video", {"prompt": "p", "duration": -3})

    assert result.is_error
    assert error_code(result) == "invalid_input"
    assert tasks.log.entries == []
    assert upstream.requests.total == 0


async def test_a_task_survives_a_genmcp_restart(tmp_path: Path, clock: FakeClock, upstream: KolboSimulator) -> None:
    tasks = TasksClient(sleep=clock.sleep)
    async with kolbo_runtime(tmp_path, clock, upstream.app) as first, Client(first.mcp, extensions=[tasks]) as client:
        first.tasks.parts.watchers.attach(None)  # stopped right after answering the task: nothing watched it
        created = await _created(client)
    # The process stopped (its watcher with it); a new one opens the same registry.
    async with (
        kolbo_runtime(tmp_path, clock, upstream.app) as restarted,
        Client(restarted.mcp, extensions=[tasks]) as again,
    ):
        resumed = await tasks.get(again.session, created.task_id)
        finished = await tasks.follow(again.session, created.task_id, None)

    assert resumed.task_id == created.task_id
    assert resumed.status == "working"
    assert finished.status == "completed"
    assert finished.result is not None
    assert finished.result["structuredContent"]["status"] == "completed"
    assert text_of(finished).startswith("kolbo generate_video completed")
    assert upstream.requests.count("POST /api/v1/generate/video") == 1


def text_of(task: DetailedTask) -> str:
    """The summary line of a task's inlined result."""
    assert task.result is not None
    return str(task.result["content"][0]["text"])


async def test_a_job_genmcp_crashed_on_is_a_failed_task_with_its_genmcp_result(
    client: Client, tasks: TasksClient, runtime: Runtime
) -> None:
    runtime.tasks.parts.watchers.attach(None)  # nothing else writes the record meanwhile
    created = await _created(client)
    record = await runtime.store.get(created.task_id)
    assert record is not None
    await runtime.store.save(record.interrupted(record.updated_at + 1))  # as if its process had died

    task = await tasks.get(client.session, created.task_id)

    assert task.status == "failed"
    assert task.result is None
    assert task.error is not None
    assert task.error["code"] == -32603
    assert "may have been charged" in task.error["message"]
    assert task.error["data"]["result"]["error"]["code"] == "interrupted"


async def test_a_watcher_that_cannot_look_at_the_job_says_why_in_the_status(
    client: Client, tasks: TasksClient, upstream: KolboSimulator
) -> None:
    upstream.faults.add("GET", "/api/v1/generate/", status=401, body={"error": "Invalid API key"}, times=50)
    created = await _created(client)

    answers = [await tasks.get(client.session, created.task_id) for _ in range(3)]

    assert {answer.status for answer in answers} == {"working"}
    assert any("could not check it lately" in (answer.status_message or "") for answer in answers)
