"""Tasks and job resources belong to their caller, against a real `genmcp serve` process with two named tokens:
Bob cannot follow, answer, cancel, read, subscribe to or complete Alice's tasks and jobs — a task id or a handle is
not a bearer token between callers — and nothing of Alice's reaches upstream on his behalf."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import anyio
import httpx2
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.session import IncomingMessage, MessageHandlerFnT
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import ResourceTemplateReference

from providers.conceptviz.simulator import ConceptVizAccount, ConceptVizSimulator
from providers.kolbo.simulator import KolboAccount, KolboSimulator
from tests.harness.process import GenmcpProcess
from tests.harness.settings import settings_data
from tests.harness.tasks_client import CreatedTask, TasksClient
from tests.security.conftest import (
    CANARIES,
    CLIENT_KEY,
    TOKENS,
    Leaks,
    SimHost,
    canary_providers,
    genmcp_server,
    secrets_in,
)

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

ALICE = {"Authorization": f"Bearer {TOKENS['alice']}"}
BOB = {"Authorization": f"Bearer {TOKENS['bob']}"}


@dataclass
class Shared:
    kolbo: KolboSimulator
    conceptviz: ConceptVizSimulator
    server: GenmcpProcess


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shared]:
    kolbo = KolboSimulator(accounts={CANARIES["kolbo"]: KolboAccount()}, job_seconds=120)  # jobs run for minutes
    accounts = {CANARIES["conceptviz"]: ConceptVizAccount(), CLIENT_KEY: ConceptVizAccount()}
    conceptviz = ConceptVizSimulator(accounts=accounts, job_seconds=0.5)
    workdir = tmp_path_factory.mktemp("tasks-callers")
    with SimHost({"kolbo": kolbo, "conceptviz": conceptviz}) as host:
        providers = canary_providers(host.urls)
        providers["conceptviz"]["allow_client_keys"] = True
        config = settings_data(workdir, providers=providers, auth={"tokens": TOKENS})
        with genmcp_server(workdir, config) as server:
            yield Shared(kolbo, conceptviz, server)


@contextlib.asynccontextmanager
async def _as(
    url: str,
    headers: dict[str, str],
    tasks: TasksClient | None = None,
    *,
    mode: str = "auto",
    on_message: MessageHandlerFnT | None = None,
) -> AsyncIterator[Client]:
    http = httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=60), trust_env=False)
    transport = streamable_http_client(url, http_client=http)
    extensions = [tasks] if tasks is not None else None
    async with http, Client(transport, extensions=extensions, mode=mode, message_handler=on_message) as client:
        yield client


async def _alices_task(shared: Shared, tasks: TasksClient) -> tuple[str, str]:
    """Alice starts a Kolbo video as a task; its task id and job handle."""
    async with _as(shared.server.mcp_url, ALICE, tasks) as alice:
        created = await alice.session.call_tool("kolbo_generate_video", {"prompt": "alice's film"}, allow_claimed=True)
        assert isinstance(created, CreatedTask)
        task = await tasks.get(alice.session, created.task_id)
    assert task.status == "working"
    handle = (await _alices_handle(shared, created.task_id)) or ""
    return created.task_id, handle


async def _alices_handle(shared: Shared, task_id: str) -> str | None:
    async with _as(shared.server.mcp_url, ALICE) as alice:
        jobs = (await alice.call_tool("jobs", {"limit": 50})).structured_content or {}
    return next((job["job"] for job in jobs.get("jobs", []) if job["id"] == task_id), None)


async def test_bob_cannot_follow_answer_or_cancel_alices_task(shared: Shared, leaks: Leaks) -> None:
    task_id, _ = await _alices_task(shared, TasksClient(sleep=anyio.sleep))
    cancels = shared.kolbo.requests.count("POST /api/v1/generate/", prefix=True)
    bobs = TasksClient(sleep=anyio.sleep)
    async with _as(shared.server.mcp_url, BOB, bobs) as bob:
        for attempt in (
            bobs.get(bob.session, task_id),
            bobs.update(bob.session, task_id, {"x": {"action": "accept"}}),
            bobs.cancel(bob.session, task_id),
        ):
            with pytest.raises(MCPError) as refused:
                await attempt
            assert refused.value.code == -32602
            leaks.add("bob's task request", refused.value.message)
            assert "alice" not in refused.value.message
    assert shared.kolbo.requests.count("POST /api/v1/generate/", prefix=True) == cancels


async def test_bob_cannot_read_subscribe_to_or_complete_alices_job(shared: Shared, leaks: Leaks) -> None:
    task_id, handle = await _alices_task(shared, TasksClient(sleep=anyio.sleep))
    uri = f"job://{handle}"
    acks: list[types.SubscriptionFilter] = []
    acked = anyio.Event()

    async def on_message(message: IncomingMessage) -> None:
        if isinstance(message, types.SubscriptionsAcknowledgedNotification):
            acks.append(message.params.notifications)
            acked.set()

    async with _as(shared.server.mcp_url, ALICE) as alice:
        readable = (await alice.read_resource(uri)).contents
    async with _as(shared.server.mcp_url, BOB, TasksClient(sleep=anyio.sleep), on_message=on_message) as bob:
        with pytest.raises(MCPError) as unread:
            await bob.read_resource(uri)
        async with bob.listen(resource_subscriptions=[uri]) as subscription:
            honored = subscription.honored
        params = types.SubscriptionsListenRequestParams(
            notifications=types.SubscriptionFilter.model_validate({"taskIds": [task_id]})
        )
        async with anyio.create_task_group() as group:
            group.start_soon(bob.session.send_request, types.SubscriptionsListenRequest(params=params), types.Result)
            with anyio.fail_after(20):
                await acked.wait()
            group.cancel_scope.cancel()
        completed = await bob.complete(
            ResourceTemplateReference(uri="job://{handle}"), argument={"name": "handle", "value": ""}
        )
    async with _as(shared.server.mcp_url, BOB, mode="legacy") as legacy_bob:
        subscribe = types.SubscribeRequest(params=types.SubscribeRequestParams(uri=uri))
        with pytest.raises(MCPError) as unsubscribed:
            await legacy_bob.session.send_request(subscribe, types.EmptyResult)

    assert readable
    assert unread.value.code == unsubscribed.value.code == -32602
    assert honored.resource_subscriptions is None
    assert (acks[0].model_extra or {}).get("taskIds") == []
    assert handle not in completed.completion.values
    leaks.add("bob's refusals", f"{unread.value.message} {unsubscribed.value.message}")


async def test_a_task_started_with_the_callers_own_key_is_looked_at_only_with_that_key(
    shared: Shared, leaks: Leaks
) -> None:
    """genmcp keeps no caller's key, so no watcher can poll such a job: the client's own tasks/get (with the key)
    looks at it, at most once per poll interval; without the key the task is not the caller's."""
    own = {**ALICE, "X-Conceptviz-Api-Key": CLIENT_KEY}
    start = len(shared.conceptviz.requests.entries)
    tasks = TasksClient(sleep=anyio.sleep)
    async with _as(shared.server.mcp_url, own, tasks) as alice:
        result = await alice.call_tool("conceptviz_generate", {"prompt": "alice's own-key diagram"})
        task_id = tasks.log.entries[0][2]["taskId"]
    async with _as(shared.server.mcp_url, ALICE, TasksClient(sleep=anyio.sleep)) as keyless:
        with pytest.raises(MCPError) as refused:
            await TasksClient(sleep=anyio.sleep).get(keyless.session, task_id)

    assert (result.structured_content or {}).get("status") == "completed"
    seen = list(shared.conceptviz.requests.entries)[start:]
    assert seen
    assert {request.headers.get("authorization") for request in seen} == {f"Bearer {CLIENT_KEY}"}
    assert refused.value.code == -32602
    for method, _, answer in tasks.log.entries:
        leaks.add(method, str(answer))
    assert not secrets_in(str(tasks.log.entries))
