"""Completion push: every job is the resource `job://<handle>` (its current result as JSON); a 2026 listen stream
or a 2025 `resources/subscribe` hears when it changes, a listen stream with task ids gets `notifications/tasks`,
and tool list changes are announced the same way."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.session import IncomingMessage
from mcp.shared.exceptions import MCPError
from mcp.shared.subscriptions import ResourceUpdated, ToolsListChanged
from mcp_types import EmptyResult, SubscriptionFilter, SubscriptionsListenRequest, SubscriptionsListenRequestParams
from starlette.types import ASGIApp, Receive, Scope, Send

from providers.kolbo.simulator import KolboSimulator
from server.app import Runtime
from server.tasks.wire import TASKS
from tests.harness.clock import FakeClock
from tests.harness.results import data
from tests.harness.tasks_client import TasksClient
from tests.providers.kolbo.support import kolbo_runtime

pytestmark = pytest.mark.anyio

BOUND = 20.0
"""Seconds (real) any one wait below may take before the test fails instead of hanging."""


async def _running_video(client: Client) -> str:
    answer = data(await client.call_tool("kolbo_generate_video", {"prompt": "p", "wait": 0}))
    assert answer["status"] == "running"
    return f"job://{answer['job']}"


async def _read(client: Client, uri: str) -> dict[str, Any]:
    contents = (await client.read_resource(uri)).contents
    assert len(contents) == 1
    assert isinstance(contents[0], types.TextResourceContents)
    assert contents[0].mime_type == "application/json"
    loaded: dict[str, Any] = json.loads(contents[0].text)
    return loaded


async def test_every_job_is_a_resource_with_its_current_result(plain: Client, runtime: Runtime) -> None:
    uri = await _running_video(plain)

    resource = await _read(plain, uri)
    polled = data(await plain.call_tool("poll", {"job": uri.removeprefix("job://")}))  # waits until it finishes
    finished = await _read(plain, uri)
    templates = (await plain.list_resource_templates()).resource_templates

    assert (resource["provider"], resource["operation"], resource["status"]) == ("kolbo", "generate_video", "running")
    assert resource["job"] == uri.removeprefix("job://")
    assert finished == polled
    assert finished["status"] == "completed"
    assert "job://{handle}" in [template.uri_template for template in templates]


async def test_an_unknown_job_is_not_a_resource(plain: Client) -> None:
    with pytest.raises(MCPError) as missing:
        await plain.read_resource("job://kolbo:no-such-job")
    assert missing.value.code == -32602


async def test_a_listen_stream_hears_when_a_subscribed_job_finishes(plain: Client) -> None:
    uri = await _running_video(plain)

    heard: list[dict[str, Any]] = []
    with anyio.fail_after(BOUND):
        async with plain.listen(resource_subscriptions=[uri]) as subscription:
            assert subscription.honored.resource_subscriptions == [uri]
            async for event in subscription:
                assert event == ResourceUpdated(uri=uri)
                heard.append(await _read(plain, uri))
                if heard[-1]["status"] == "completed":
                    break

    assert heard[-1]["status"] == "completed"
    assert heard[-1]["assets"][0]["kind"] == "video"


async def test_a_2025_subscription_hears_when_the_job_finishes(runtime: Runtime) -> None:
    updates: list[str] = []
    finished = anyio.Event()

    async def on_message(message: IncomingMessage) -> None:
        if isinstance(message, types.ResourceUpdatedNotification):
            updates.append(message.params.uri)
            finished.set()

    async with Client(runtime.mcp, mode="legacy", message_handler=on_message) as legacy:
        uri = await _running_video(legacy)
        subscribe = types.SubscribeRequest(params=types.SubscribeRequestParams(uri=uri))
        assert isinstance(await legacy.session.send_request(subscribe, EmptyResult), EmptyResult)
        with anyio.fail_after(BOUND):
            while not (finished.is_set() and (await _read(legacy, uri))["status"] == "completed"):
                finished = anyio.Event()
                await finished.wait()
        capabilities = legacy.server_capabilities

    assert set(updates) == {uri}
    assert capabilities.resources is not None
    assert capabilities.resources.subscribe is True


class HeldReads:
    """The simulator, with every GET held until `release` is set: a job can be submitted but not seen finishing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.release = anyio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            await self.release.wait()
        await self.app(scope, receive, send)


async def test_a_listen_stream_with_task_ids_gets_each_task_state(
    tmp_path: Path, clock: FakeClock, tasks: TasksClient, upstream: KolboSimulator
) -> None:
    held = HeldReads(upstream.app)
    async with kolbo_runtime(tmp_path, clock, held) as runtime, Client(runtime.mcp, extensions=[tasks]) as client:
        created = await client.session.call_tool("kolbo_generate_video", {"prompt": "p"}, allow_claimed=True)
        task_id = created.model_dump(by_alias=True)["taskId"]
        params = SubscriptionsListenRequestParams(
            notifications=SubscriptionFilter.model_validate({"taskIds": [task_id]})
        )
        async with anyio.create_task_group() as group:
            group.start_soon(client.session.send_request, SubscriptionsListenRequest(params=params), types.Result)
            with anyio.fail_after(BOUND):
                first = await tasks.next_notice()
                held.release.set()  # the job may finish only once the stream has said where it stands
                while (await tasks.next_notice()).status != "completed":
                    pass
            group.cancel_scope.cancel()

        assert first.status == "working"
        assert tasks.notices[-1].status == "completed"
        last = tasks.notices[-1].model_dump(by_alias=True)
        assert last["taskId"] == task_id
        assert last["result"]["structuredContent"]["status"] == "completed"
        # Identical to what tasks/get answers at that moment.
        got = (await tasks.get(client.session, task_id)).model_dump(by_alias=True, exclude_none=True)
        assert {key: last[key] for key in ("status", "result", "statusMessage")} == {
            key: got[key] for key in ("status", "result", "statusMessage")
        }


async def test_task_ids_need_the_extension(plain: Client) -> None:
    params = SubscriptionsListenRequestParams(notifications=SubscriptionFilter.model_validate({"taskIds": ["x"]}))
    with pytest.raises(MCPError) as refused:
        await plain.session.send_request(SubscriptionsListenRequest(params=params), types.Result)
    assert refused.value.code == -32021
    assert refused.value.data == {"requiredCapabilities": {"extensions": {TASKS: {}}}}


async def test_tool_list_changes_are_announced_on_listen_streams(plain: Client, runtime: Runtime) -> None:
    with anyio.fail_after(BOUND):
        async with plain.listen(tools_list_changed=True) as subscription:
            runtime.mcp.serve_tools([])  # what the runtime does once it has assembled the tools
            event = await subscription.__anext__()

    assert event == ToolsListChanged()
