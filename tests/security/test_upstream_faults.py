"""A provider that misbehaves: garbage answers, transient failures with Retry-After, credit exhaustion, answers lost
after a paid POST, hanging connections, and result URLs pointing inside the network. Upstream is the ConceptViz
simulator counting requests (in process with a fake clock, or on a loopback port where real sockets matter).
"""

from __future__ import annotations

import email.utils
import io
import ipaddress
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from PIL import Image

from providers import PROVIDERS
from providers.conceptviz.simulator import ConceptVizAccount, ConceptVizSimulator
from server.app import Runtime
from tests.harness.clock import FakeClock
from tests.harness.settings import build_settings
from tests.security.conftest import (
    CANARIES,
    Hold,
    Leaks,
    RecordingTransport,
    SimHost,
    Wrapped,
    data,
    error_code,
    text,
)

pytestmark = pytest.mark.anyio

GENERATE = "POST /api/v1/generate"
KEY = CANARIES["conceptviz"]


class LostAnswer(httpx2.AsyncBaseTransport):
    """Delivers requests to the simulator; for the next `lose` POSTs, the answer is lost on the way back."""

    def __init__(self, sim: ConceptVizSimulator, error: type[httpx2.TransportError] = httpx2.ReadTimeout) -> None:
        self.inner = httpx2.ASGITransport(app=sim.app)
        self.lose = 0
        self.error = error
        self.fail_gets = 0

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.method == "GET" and self.fail_gets:
            self.fail_gets -= 1
            raise httpx2.ReadError("connection reset by peer", request=request)
        response = await self.inner.handle_async_request(request)
        if request.method == "POST" and self.lose:
            self.lose -= 1
            await response.aread()
            raise self.error("the answer was lost", request=request)
        return response


@dataclass
class Upstream:
    sim: ConceptVizSimulator
    clock: FakeClock
    runtime: Runtime
    client: Client
    transport: LostAnswer
    fetch: RecordingTransport
    leaks: Leaks

    async def call(self, tool: str, arguments: dict[str, Any]) -> Any:
        return self.leaks.result(tool, await self.client.call_tool(tool, arguments))


_resolved: dict[str, list[str]] = {
    "cdn.good.test": ["93.184.216.34"],
    "cdn.evil.test": ["10.0.0.7"],
    "conceptviz.test": ["93.184.216.35"],
}


async def _resolver(host: str, port: int) -> list[str]:
    if host in _resolved:
        return _resolved[host]
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError as exc:
        raise OSError(f"no such host {host}") from exc


@pytest.fixture
async def up(tmp_path: Path, leaks: Leaks) -> AsyncIterator[Upstream]:
    clock = FakeClock()
    sim = ConceptVizSimulator(
        accounts={KEY: ConceptVizAccount(credits=1000)},
        job_seconds=20,
        now=clock.now,
        public_url="https://cdn.good.test",
    )
    transport = LostAnswer(sim)
    fetch = RecordingTransport(default=httpx2.Response(200, content=_png(), headers={"content-type": "image/png"}))
    settings = build_settings(
        tmp_path,
        providers={"conceptviz": {"api_key": KEY, "base_url": "https://conceptviz.test/api/v1"}},
        upstream={"max_retries": 3, "backoff_base": 0.5, "backoff_max": 4},
        limits={"calls_per_minute": 0, "concurrent_calls": 0, "breaker_threshold": 0},
    )
    runtime = Runtime(
        settings,
        PROVIDERS,
        clock=clock,
        transports={"conceptviz": transport},
        fetch_transport=fetch,
        resolver=_resolver,
    )
    async with runtime, Client(runtime.mcp) as client:
        yield Upstream(sim, clock, runtime, client, transport, fetch, leaks)


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 20), "red").save(out, "PNG")
    return out.getvalue()


# ---------------------------------------------------------------------------------------------------------------------
# garbage answers

HTML_PAGE = (
    "<!DOCTYPE html><html><head><title>502 Bad Gateway</title><style>body{color:red}</style>"
    "<script>document.write('x')</script></head><body><h1>Bad Gateway</h1>"
    + "<p>The upstream server is temporarily unavailable. </p>" * 200
    + "</body></html>"
)


async def test_an_html_error_page_is_a_typed_error_with_a_short_clean_excerpt(up: Upstream) -> None:
    up.sim.faults.add("POST", "/api/v1/generate", status=502, body=HTML_PAGE)
    result = await up.call("conceptviz_generate", {"prompt": "x", "wait": 0})
    error = data(result)["error"]
    assert result.is_error
    assert error["code"] == "upstream_error"
    assert "HTTP 502" in error["message"]
    assert "Bad Gateway" in error["message"]
    assert "<" not in error["message"]
    assert ">" not in error["message"]
    assert len(error["message"]) < 300
    assert error["charged"] is None
    assert "may have been charged" in text(result)
    assert up.sim.requests.count(GENERATE) == 1  # a paid POST answered 5xx is not re-sent
    (record,) = await up.runtime.store.list()
    assert record.status == "failed"
    assert record.error is not None
    assert record.upstream_id is None


SUBMIT_GARBAGE = [
    pytest.param(b"{oops this is not json", "application/json", id="invalid-json"),
    pytest.param(HTML_PAGE.encode(), "text/html", id="html-200"),
    pytest.param(b'{"status": "pending"}', "application/json", id="missing-task-id"),
    pytest.param(b'{"taskId": 12345, "status": "pending"}', "application/json", id="wrong-type"),
    pytest.param(b'{"taskId": "../../etc/passwd", "status": "pending"}', "application/json", id="hostile-id"),
    pytest.param(b"", "application/json", id="empty-200"),
    pytest.param(b"[]", "application/json", id="array"),
]


@pytest.mark.parametrize(("body", "content_type"), SUBMIT_GARBAGE)
async def test_garbage_after_a_paid_post_is_submit_unknown_and_never_resent(
    up: Upstream, body: bytes, content_type: str
) -> None:
    up.sim.faults.add(
        "POST", "/api/v1/generate", status=200, body=body, headers={"content-type": content_type}, after_handling=True
    )
    result = await up.call("conceptviz_generate", {"prompt": "x", "wait": 0})
    error = data(result)["error"]
    assert result.is_error, text(result)
    assert error["code"] == "submit_unknown", text(result)
    assert error["charged"] is None
    assert "may have been charged" in text(result)
    assert "<" not in error["message"]
    assert len(error["message"]) < 500
    assert up.sim.requests.count(GENERATE) == 1
    assert len(up.sim.tasks) == 1
    (record,) = await up.runtime.store.list()
    assert record.status == "submit_unknown"
    assert record.error is not None
    assert record.error.code == "submit_unknown"
    listed = data(await up.call("jobs", {}))["jobs"]
    assert [job["status"] for job in listed] == ["submit_unknown"]


POLL_GARBAGE = [
    pytest.param(200, b"{not json", id="invalid-json"),
    pytest.param(200, HTML_PAGE.encode(), id="html-200"),
    pytest.param(200, b'{"images": []}', id="missing-status"),
    pytest.param(200, b'{"status": "exploded"}', id="unknown-status"),
    pytest.param(200, b'{"status": "completed", "images": []}', id="completed-without-images"),
    pytest.param(200, b'{"status": "completed", "images": [{"url": "javascript:alert(1)"}]}', id="bad-url"),
    pytest.param(200, b"", id="empty-200"),
    pytest.param(502, HTML_PAGE.encode(), id="html-502"),
]


@pytest.mark.parametrize(("status", "body"), POLL_GARBAGE)
async def test_garbage_poll_answers_keep_the_job_consistent_and_it_finishes_later(
    up: Upstream, status: int, body: bytes
) -> None:
    started = data(await up.call("conceptviz_generate", {"prompt": "x", "wait": 0}))
    up.clock.advance(25)  # the job is done upstream
    up.sim.faults.add("GET", "/api/v1/task/", status=status, body=body, times=None)
    polled = await up.call("poll", {"job": started["job"], "wait": 20})
    assert not polled.is_error, text(polled)
    assert data(polled)["status"] == "running", text(polled)
    (record,) = await up.runtime.store.list()
    assert record.status == "running"
    assert record.upstream_id == started["job"].split(":", 1)[1]
    assert record.assets == []

    up.sim.faults.clear()
    done = await up.call("poll", {"job": started["job"], "wait": 20})
    assert data(done)["status"] == "completed", text(done)
    assert up.sim.requests.count(GENERATE) == 1


async def test_a_poll_answered_not_found_is_a_typed_error_and_leaves_the_record(up: Upstream) -> None:
    started = data(await up.call("conceptviz_generate", {"prompt": "x", "wait": 0}))
    up.sim.faults.add("GET", "/api/v1/task/", status=404, body={"error": "Task not found", "code": "TASK_NOT_FOUND"})
    polled = await up.call("poll", {"job": started["job"], "wait": 10})
    assert polled.is_error
    assert error_code(polled) == "not_found"
    assert up.sim.requests.count("GET /api/v1/task/", prefix=True) == 1
    (record,) = await up.runtime.store.list()
    assert record.status == "running"


# ---------------------------------------------------------------------------------------------------------------------
# retries


async def test_get_retries_honour_retry_after_in_seconds_and_as_an_http_date(up: Upstream) -> None:
    started = data(await up.call("conceptviz_generate", {"prompt": "x", "wait": 0}))
    up.clock.advance(25)
    when = email.utils.formatdate(time.time() + 12, usegmt=True)
    up.sim.faults.add("GET", "/api/v1/task/", status=503, headers={"Retry-After": "7"})
    up.sim.faults.add("GET", "/api/v1/task/", status=429, headers={"Retry-After": when})
    up.clock.sleeps.clear()
    done = await up.call("poll", {"job": started["job"], "wait": 55})
    assert data(done)["status"] == "completed", text(done)
    assert up.clock.sleeps[0] == 7.0
    assert 10.0 <= up.clock.sleeps[1] <= 12.5, up.clock.sleeps
    assert up.sim.requests.count("GET /api/v1/task/", prefix=True) == 3


async def test_get_retries_back_off_with_a_cap_and_jitter(up: Upstream) -> None:
    started = data(await up.call("conceptviz_generate", {"prompt": "x", "wait": 0}))
    up.clock.advance(25)
    up.sim.faults.add("GET", "/api/v1/task/", status=500, times=3)
    up.clock.sleeps.clear()
    done = await up.call("poll", {"job": started["job"], "wait": 55})
    assert data(done)["status"] == "completed"
    backoff = up.clock.sleeps[:3]
    for attempt, delay in enumerate(backoff):
        ceiling = min(4.0, 0.5 * 2**attempt)
        assert ceiling / 2 <= delay <= ceiling, backoff
    assert up.sim.requests.count("GET /api/v1/task/", prefix=True) == 4


async def test_a_huge_retry_after_is_capped(up: Upstream) -> None:
    started = data(await up.call("conceptviz_generate", {"prompt": "x", "wait": 0}))
    up.clock.advance(25)
    up.sim.faults.add("GET", "/api/v1/task/", status=503, headers={"Retry-After": "999999"})
    up.clock.sleeps.clear()
    await up.call("poll", {"job": started["job"], "wait": 55})
    assert max(up.clock.sleeps) <= 120


async def test_a_connection_reset_on_a_poll_is_retried(up: Upstream) -> None:
    started = data(await up.call("conceptviz_generate", {"prompt": "x", "wait": 0}))
    up.clock.advance(25)
    up.transport.fail_gets = 2
    done = await up.call("poll", {"job": started["job"], "wait": 55})
    assert data(done)["status"] == "completed", text(done)


@pytest.mark.parametrize("where", ["submit", "poll"])
async def test_credit_exhaustion_is_not_retried(up: Upstream, where: str) -> None:
    body = {"error": "Not enough credits", "code": "INSUFFICIENT_CREDITS", "credits_remaining": 0}
    if where == "submit":
        up.sim.faults.add("POST", "/api/v1/generate", status=402, body=body, times=None)
        result = await up.call("conceptviz_generate", {"prompt": "x", "wait": 0})
        assert up.sim.requests.count(GENERATE) == 1
    else:
        started = data(await up.call("conceptviz_generate", {"prompt": "x", "wait": 0}))
        up.sim.faults.add("GET", "/api/v1/task/", status=402, body=body, times=None)
        result = await up.call("poll", {"job": started["job"], "wait": 30})
        assert up.sim.requests.count("GET /api/v1/task/", prefix=True) == 1
    error = data(result)["error"]
    assert result.is_error
    assert error["code"] == "insufficient_credits"
    assert error["retryable"] is False


async def test_a_rate_limited_post_is_resent_only_because_it_was_refused(up: Upstream) -> None:
    up.sim.faults.add("POST", "/api/v1/generate", status=429, headers={"Retry-After": "3"}, body={"code": "x"})
    result = await up.call("conceptviz_generate", {"prompt": "x", "wait": 0})
    assert not result.is_error, text(result)
    assert up.sim.requests.count(GENERATE) == 2
    assert len(up.sim.tasks) == 1


# ---------------------------------------------------------------------------------------------------------------------
# an answer lost after a paid POST


@pytest.mark.parametrize("error", [httpx2.ReadTimeout, httpx2.ReadError, httpx2.RemoteProtocolError])
async def test_a_paid_post_whose_answer_is_lost_is_sent_once_and_is_submit_unknown(
    up: Upstream, error: type[httpx2.TransportError]
) -> None:
    up.transport.lose, up.transport.error = 1, error
    result = await up.call("conceptviz_generate", {"prompt": "x", "wait": 10})
    answer = data(result)
    assert result.is_error, text(result)
    assert answer["error"]["code"] == "submit_unknown", text(result)
    assert answer["error"]["charged"] is None
    assert "may or may not have started" in text(result)
    assert "may have been charged" in text(result)
    assert up.sim.requests.count(GENERATE) == 1
    assert len(up.sim.tasks) == 1
    (record,) = await up.runtime.store.list()
    assert record.status == "submit_unknown"
    assert [job["status"] for job in data(await up.call("jobs", {}))["jobs"]] == ["submit_unknown"]


@dataclass
class Remote:
    sim: ConceptVizSimulator
    hold: Hold
    url: str


@pytest.fixture(scope="module")
def remote() -> Iterator[Remote]:
    sim = ConceptVizSimulator(accounts={KEY: ConceptVizAccount()}, job_seconds=1)
    holder: list[Hold] = []

    def wrap(app: Any) -> Any:
        holder.append(Hold(app, method="POST", prefix="/api/v1/generate"))
        return holder[0]

    with SimHost({"conceptviz": Wrapped(sim, wrap)}) as host:
        try:
            yield Remote(sim, holder[0], host.urls["conceptviz"])
        finally:
            holder[0].release()


async def _remote_runtime(tmp_path: Path, remote: Remote, **upstream: Any) -> Runtime:
    settings = build_settings(
        tmp_path,
        providers={"conceptviz": {"api_key": KEY, "base_url": remote.url + "/api/v1"}},
        upstream={"max_retries": 3, **upstream},
    )
    return Runtime(settings, PROVIDERS)


async def test_a_real_read_timeout_after_a_paid_post_sends_it_exactly_once(
    tmp_path: Path, remote: Remote, leaks: Leaks
) -> None:
    posts = remote.sim.requests.count(GENERATE)
    remote.hold.arm("after")  # the simulator accepts (and charges) the job, its answer never comes
    try:
        async with await _remote_runtime(tmp_path, remote, read_timeout=0.5) as runtime, Client(runtime.mcp) as c:
            with anyio.fail_after(10):
                result = leaks.result("timeout", await c.call_tool("conceptviz_generate", {"prompt": "x", "wait": 5}))
    finally:
        remote.hold.release()
    assert data(result)["error"]["code"] == "submit_unknown", text(result)
    assert "ReadTimeout" in text(result)
    assert remote.sim.requests.count(GENERATE) == posts + 1


async def test_a_hanging_poll_is_cut_off_within_the_budget(tmp_path: Path, remote: Remote, leaks: Leaks) -> None:
    async with await _remote_runtime(tmp_path, remote) as runtime, Client(runtime.mcp) as client:
        started = data(leaks.result("start", await client.call_tool("conceptviz_generate", {"prompt": "x", "wait": 0})))
        get_hold = Hold(remote.hold.app, method="GET", prefix="/api/v1/task/")
        remote.hold.app, get_hold.app = get_hold, remote.hold.app  # hold polls from now on
        get_hold.arm("before")
        try:
            began = time.monotonic()
            with anyio.fail_after(15):
                polled = leaks.result("poll", await client.call_tool("poll", {"job": started["job"], "wait": 1}))
            took = time.monotonic() - began
        finally:
            get_hold.release()
            remote.hold.app = get_hold.app
    assert get_hold.held >= 1
    assert data(polled)["status"] == "running", text(polled)
    assert not polled.is_error, text(polled)
    # The budget (1 s) plus the grace a single poll gets before it is cut off (2 s), plus slack.
    assert took < 1 + 2 + 2.5, f"poll with wait=1 took {took:.1f} s"


# ---------------------------------------------------------------------------------------------------------------------
# result URLs


@pytest.mark.parametrize(
    "public_url",
    ["http://169.254.169.254/latest", "http://127.0.0.1:8000", "http://[::1]", "https://cdn.evil.test", "file:///etc"],
)
async def test_result_urls_are_not_fetched_unless_they_pass_the_ssrf_guard(up: Upstream, public_url: str) -> None:
    up.sim.public_url = public_url
    started = data(await up.call("conceptviz_generate", {"prompt": "x", "wait": 0}))
    up.clock.advance(25)
    done = await up.call("poll", {"job": started["job"], "wait": 10})
    assert data(done)["status"] == "completed" or data(done)["status"] == "running"
    assert up.fetch.seen == [], [str(r.url) for r in up.fetch.seen]
    assert not [block for block in done.content if block.type == "image"]


async def test_a_public_result_url_is_fetched_for_the_preview_at_the_checked_address(up: Upstream) -> None:
    started = data(await up.call("conceptviz_generate", {"prompt": "x", "wait": 0}))
    up.clock.advance(25)
    done = await up.call("poll", {"job": started["job"], "wait": 10})
    assert data(done)["status"] == "completed"
    (request,) = up.fetch.seen
    assert request.url.host == "93.184.216.34"
    assert request.headers["host"] == "cdn.good.test"
    assert [block.type for block in done.content][-1] == "image"
