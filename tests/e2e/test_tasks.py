"""MCP tasks and completion push end to end: real `genmcp serve` processes, the Kolbo simulator on a loopback port of
its own (it outlives every genmcp process), and the MCP SDK's `Client` in its default mode (2026-07-28, discovered)
with the Tasks extension declared — every JSON-RPC message recorded by a tap on its HTTP transport.

No test sleeps: they wait on the task notifications and resource updates genmcp sends, each wait bounded.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.session import IncomingMessage
from mcp.client.streamable_http import streamable_http_client
from mcp_types import EmptyResult, SubscriptionFilter, SubscriptionsListenRequest, SubscriptionsListenRequestParams

from providers.kolbo.simulator import KolboAccount, KolboSimulator
from tests.harness.process import start_genmcp
from tests.harness.results import data
from tests.harness.settings import settings_data
from tests.harness.tasks_client import CreatedTask, TaskNotice, TasksClient
from tests.harness.wire import WireTap
from tests.providers.kolbo.support import KEY
from tests.security.conftest import SimHost

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

JOB_SECONDS = 2.0
"""The simulator's unit of job time: a video takes twice that."""
BOUND = 30.0
"""Seconds (real) any one wait may take before the test fails."""
WIRE_LOG = "TASKS_WIRE_LOG"
"""When set, the task test writes its wire exchange to this file (the closing note of issue 16 shows it)."""


@pytest.fixture(scope="module")
def kolbo() -> Iterator[tuple[KolboSimulator, str]]:
    sim = KolboSimulator(accounts={KEY: KolboAccount(plan_credits=1000)}, job_seconds=JOB_SECONDS)
    with SimHost({"kolbo": sim}) as host:
        yield sim, host.urls["kolbo"]


def _config(workdir: Path, kolbo_url: str) -> dict[str, Any]:
    return settings_data(workdir, providers={"kolbo": {"api_key": KEY, "base_url": f"{kolbo_url}/api"}})


@contextlib.asynccontextmanager
async def _client(url: str, tasks: TasksClient, tap: WireTap) -> AsyncIterator[Client]:
    http = httpx2.AsyncClient(transport=tap, timeout=httpx2.Timeout(30, read=90), trust_env=False)
    async with http, Client(streamable_http_client(url, http_client=http), extensions=[tasks]) as client:
        yield client


async def _wait_for_status(client: Client, tasks: TasksClient, task_id: str, final: str) -> TaskNotice:
    """Listen for the task (subscriptions/listen with its id) until a notification says `final`."""
    params = SubscriptionsListenRequestParams(notifications=SubscriptionFilter.model_validate({"taskIds": [task_id]}))
    async with anyio.create_task_group() as group:
        group.start_soon(client.session.send_request, SubscriptionsListenRequest(params=params), types.Result)
        with anyio.fail_after(BOUND):
            while (notice := await tasks.next_notice()).status != final:
                assert notice.status == "working", notice
        group.cancel_scope.cancel()
    return notice


async def test_a_kolbo_video_runs_as_a_task_from_creation_to_result_across_a_restart(
    tmp_path: Path, kolbo: tuple[KolboSimulator, str]
) -> None:
    sim, kolbo_url = kolbo
    config = _config(tmp_path, kolbo_url)
    tasks, tap = TasksClient(sleep=anyio.sleep), WireTap()
    posts = sim.requests.count("POST /api/v1/generate/video")

    with start_genmcp(tmp_path, config=config) as first:
        async with _client(first.mcp_url, tasks, tap) as client:
            assert client.protocol_version == "2026-07-28"
            created = await client.session.call_tool(
                "kolbo_generate_video", {"prompt": "a lighthouse at dawn, waves"}, allow_claimed=True
            )
            assert isinstance(created, CreatedTask)
            working = await tasks.get(client.session, created.task_id)
        first.kill()  # kill -9 while the video renders: the task lives on in the registry

    with start_genmcp(tmp_path, config=config, port=first.port) as second:
        async with _client(second.mcp_url, tasks, tap) as client:
            resumed = await tasks.get(client.session, created.task_id)
            done = await _wait_for_status(client, tasks, created.task_id, "completed")
            final = await tasks.get(client.session, created.task_id)

    assert working.status == resumed.status == "working"
    assert done.task_id == final.task_id == created.task_id
    assert final.result is not None
    result = final.result["structuredContent"]
    assert result["status"] == "completed"
    assert result["assets"][0]["kind"] == "video"
    assert result["credits"]["charged"] == 25  # 5 s at 5 credits/s, the default video
    assert sim.requests.count("POST /api/v1/generate/video") == posts + 1  # sent once, across the restart
    exchange = tap.exchange(methods=frozenset({"tools/call", "tasks/get", "subscriptions/listen"}))
    assert [frame.direction for frame in exchange[:2]] == ["->", "<-"]
    assert exchange[1].message["result"]["resultType"] == "task"
    if os.environ.get(WIRE_LOG):
        lines = "".join(f"{frame.line()}\n" for frame in exchange)
        await anyio.Path(os.environ[WIRE_LOG]).write_text(lines, encoding="utf-8")


async def test_cancelling_a_task_over_http_refunds_it(tmp_path: Path, kolbo: tuple[KolboSimulator, str]) -> None:
    sim, kolbo_url = kolbo
    tasks, tap = TasksClient(sleep=anyio.sleep), WireTap()
    with start_genmcp(tmp_path, config=_config(tmp_path, kolbo_url)) as server:
        async with _client(server.mcp_url, tasks, tap) as client:
            before = sim.accounts[KEY].plan_credits
            created = await client.session.call_tool("kolbo_generate_video", {"prompt": "p"}, allow_claimed=True)
            assert isinstance(created, CreatedTask)
            charged = before - sim.accounts[KEY].plan_credits
            ack = await tasks.cancel(client.session, created.task_id)
            cancelled = await tasks.get(client.session, created.task_id)

    assert charged > 0
    assert ack.fields() == {"resultType": "complete"}
    assert cancelled.status == "cancelled"
    assert f"{charged:g} credits refunded" in (cancelled.status_message or "")
    assert sim.accounts[KEY].plan_credits == before


async def test_a_2025_client_gets_todays_answers_and_hears_its_job_finish(
    tmp_path: Path, kolbo: tuple[KolboSimulator, str]
) -> None:
    _, kolbo_url = kolbo
    finished = anyio.Event()
    heard: list[str] = []

    async def on_message(message: IncomingMessage) -> None:
        if isinstance(message, types.ResourceUpdatedNotification):
            heard.append(message.params.uri)
            finished.set()

    with start_genmcp(tmp_path, config=_config(tmp_path, kolbo_url)) as server:
        async with Client(server.mcp_url, mode="legacy", message_handler=on_message) as legacy:
            answer = data(await legacy.call_tool("kolbo_generate_video", {"prompt": "p", "wait": 0}))
            uri = f"job://{answer['job']}"
            subscribed = await legacy.session.send_request(
                types.SubscribeRequest(params=types.SubscribeRequestParams(uri=uri)), EmptyResult
            )
            with anyio.fail_after(BOUND):
                while True:
                    await finished.wait()
                    finished = anyio.Event()
                    contents = (await legacy.read_resource(uri)).contents[0]
                    assert isinstance(contents, types.TextResourceContents)
                    if '"status": "completed"' in contents.text:
                        break
            polled = data(await legacy.call_tool("poll", {"job": answer["job"]}))

    assert answer["status"] == "running"
    assert answer["next"].startswith(f'Call poll with job="{answer["job"]}"')
    assert isinstance(subscribed, EmptyResult)
    assert set(heard) == {uri}
    assert polled["status"] == "completed"
