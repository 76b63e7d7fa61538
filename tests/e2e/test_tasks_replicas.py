"""MCP tasks across replicas: two `genmcp serve` processes on one PostgreSQL (the store's job-change seam is LISTEN/
NOTIFY). A task made on one replica is answered by the other, and a client listening on the other replica hears the
task finish — while only the holder of the job's lease polls the provider.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import Result, SubscriptionFilter, SubscriptionsListenRequest, SubscriptionsListenRequestParams

from tests.e2e.test_replicas import CV_POLL, CV_SUBMIT, start_replicas
from tests.harness.simhost import SimHost
from tests.harness.tasks_client import CreatedTask, TasksClient

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

JOB_SECONDS = 4.0
BOUND = 40.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def simhost(tmp_path: Path) -> Iterator[SimHost]:
    host = SimHost(tmp_path, job_seconds=JOB_SECONDS)
    try:
        yield host
    finally:
        host.stop()


@contextlib.asynccontextmanager
async def _client(url: str, tasks: TasksClient) -> AsyncIterator[Client]:
    http = httpx2.AsyncClient(timeout=httpx2.Timeout(30, read=90), trust_env=False)
    async with http, Client(streamable_http_client(url, http_client=http), extensions=[tasks]) as client:
        yield client


async def test_a_task_made_on_one_replica_is_followed_and_heard_finishing_on_another(
    tmp_path: Path, simhost: SimHost, postgres_url: str
) -> None:
    replicas = start_replicas(tmp_path, 2, simhost.url, postgres_url)
    try:
        maker, other = TasksClient(sleep=anyio.sleep), TasksClient(sleep=anyio.sleep)
        submits = simhost.count(CV_SUBMIT)
        async with _client(replicas[0].mcp_url, maker) as first:
            arguments = {"prompt": "two replicas"}
            created = await first.session.call_tool("conceptviz_generate", arguments, allow_claimed=True)
        assert isinstance(created, CreatedTask)
        async with _client(replicas[1].mcp_url, other) as second:
            seen = await other.get(second.session, created.task_id)
            params = SubscriptionsListenRequestParams(
                notifications=SubscriptionFilter.model_validate({"taskIds": [created.task_id]})
            )
            async with anyio.create_task_group() as group:
                group.start_soon(second.session.send_request, SubscriptionsListenRequest(params=params), Result)
                with anyio.fail_after(BOUND):
                    while (notice := await other.next_notice()).status != "completed":
                        assert notice.status == "working", notice
                group.cancel_scope.cancel()
            final = await other.get(second.session, created.task_id)
    finally:
        for replica in replicas:
            replica.terminate()

    assert seen.status == "working"
    assert final.status == "completed"
    assert final.result is not None
    job = final.result["structuredContent"]["job"]
    polls = [r for r in simhost.requests() if f"{r['method']} {r['path']}" == f"{CV_POLL}{job.split(':', 1)[1]}"]
    assert simhost.count(CV_SUBMIT) == submits + 1
    assert polls
    # One watcher at a time (the lease holder): never two polls of the job in flight at once, however many replicas
    # follow it.
    assert not [poll for poll in polls if poll["overlapping"]]
