"""The web page in a real headless browser (Debian's chromium, driven by playwright) against the real `genmcp serve
--sandbox`, loaded with jobs of several providers made through a real MCP client: the jobs table with live progress,
the gallery (thumbnails, playable audio and video, ZIP members), the spend chart with balances, the filters, a
phone-sized layout, keyboard use — and, on a non-loopback bind with auth, no data without signing in.

Screenshots are saved in the test run's output folder (`tests/out/web/`, or `$GENMCP_TEST_OUTPUT/web/`).
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from PIL import Image
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Response, expect

from tests.e2e.test_oauth import add_user, oauth_config
from tests.harness.oauth import PASSWORD
from tests.harness.process import GenmcpProcess, start_genmcp
from tests.harness.results import data
from tests.harness.settings import settings_data

pytestmark = pytest.mark.e2e

JOB_SECONDS = 4
TOKENS = {"alice": "alice-web-token-5d2c8e1f7a", "bob": "bob-web-token-9e4b1c7d3f"}


T = TypeVar("T")


def run_async(function: Callable[..., Awaitable[T]], *args: Any) -> T:
    """Run a coroutine function to its end on a thread of its own (playwright's sync API holds this thread's loop);
    what it raises is raised here."""
    with ThreadPoolExecutor(1, thread_name_prefix="mcp-client") as pool:
        return pool.submit(anyio.run, function, *args).result(timeout=120)


def png_data_url(colour: tuple[int, int, int]) -> str:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), colour).save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


@dataclass
class Sandbox:
    server: GenmcpProcess
    results: dict[str, dict[str, Any]]


async def _make_jobs(url: str, headers: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """One job of each kind the page must show, made side by side."""
    calls: dict[str, tuple[str, dict[str, Any]]] = {
        "diagrams": ("conceptviz_generate", {"prompts": ["water cycle", "photosynthesis"], "wait": 30}),
        "failed": ("conceptviz_generate", {"prompt": "[fail] a broken diagram", "wait": 30}),
        "video": ("kolbo_generate_video", {"prompt": "waves at dusk", "wait": 30}),
        "music": ("kolbo_generate_music", {"prompt": "calm piano", "wait": 30}),
        "pages": (
            "univers_bulk",
            {"images": [png_data_url((200, 40, 40)), png_data_url((40, 90, 200))], "mode": "lineart", "wait": 30},
        ),
    }
    results: dict[str, dict[str, Any]] = {}
    http = httpx2.AsyncClient(headers=headers or {}, timeout=httpx2.Timeout(30, read=90))
    async with http, Client(streamable_http_client(url, http_client=http)) as client:

        async def one(name: str, tool: str, arguments: dict[str, Any]) -> None:
            results[name] = data(await client.call_tool(tool, arguments))

        async with anyio.create_task_group() as group:
            for name, (tool, arguments) in calls.items():
                group.start_soon(one, name, tool, arguments)
    return results


async def _start_running(url: str) -> dict[str, Any]:
    async with Client(url) as client:
        return data(await client.call_tool("kolbo_generate_image", {"prompt": "a lighthouse", "wait": 0}))


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    env = {"GENMCP_SANDBOX__JOB_SECONDS": str(JOB_SECONDS)}
    with start_genmcp(tmp_path_factory.mktemp("web"), args=["--sandbox"], env=env) as server:
        results = run_async(_make_jobs, server.mcp_url)
        yield Sandbox(server=server, results=results)


def open_page(browser: Browser, url: str, **context: Any) -> tuple[Page, list[str]]:
    """A fresh page at `url`, with every console error and failed request collected."""
    page = browser.new_context(**context).new_page()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(f"console: {message.text}")

    page.on("console", on_console)

    def on_failed(request: Request) -> None:
        # A request the browser itself abandoned because the page navigated away (a favicon, a progress refresh)
        # is not a failure of the page.
        if request.failure != "net::ERR_ABORTED":
            problems.append(f"failed: {request.url} ({request.failure})")

    page.on("requestfailed", on_failed)

    def on_response(response: Response) -> None:
        if response.status >= 400:
            problems.append(f"{response.status}: {response.url}")

    page.on("response", on_response)
    page.goto(url)
    return page, problems


def test_the_jobs_table_shows_status_provider_operation_cost_and_live_progress(
    sandbox: Sandbox, browser: Browser, screenshots: Path
) -> None:
    for name in ("diagrams", "video", "music", "pages"):
        assert sandbox.results[name]["status"] == "completed", sandbox.results[name]
    running = run_async(_start_running, sandbox.server.mcp_url)
    assert running["status"] == "running"
    page, problems = open_page(browser, sandbox.server.base_url, viewport={"width": 1280, "height": 900})
    expect(page).to_have_title("genmcp — jobs, files and spend")
    rows = page.locator("table.jobs tbody tr")
    expect(rows).to_have_count(6)
    failed = page.locator("tr[data-status='failed']")
    expect(failed).to_have_count(1)
    expect(failed.locator("td[data-label='Provider']")).to_have_text("conceptviz")
    expect(failed).to_contain_text("Image generation failed")
    diagrams = page.locator(f"tr:has(code:text-is('{sandbox.results['diagrams']['job']}'))")
    expect(diagrams.locator("[data-field='cost']")).to_have_text("4")
    expect(diagrams.locator("td[data-label='Operation']")).to_have_text("generate")
    live = page.locator(f"tr:has(code:text-is('{running['job']}'))")
    expect(live.locator("progress")).to_have_count(1)
    page.screenshot(path=screenshots / "jobs-running.png", full_page=True)
    # The script refreshes the running row until it completes — no reload.
    expect(live.locator("[data-field='status']")).to_have_text("completed", timeout=20_000)
    expect(live.locator("progress")).to_have_count(0)
    page.screenshot(path=screenshots / "page-desktop.png", full_page=True)
    assert problems == []


def test_the_gallery_has_thumbnails_playable_media_and_zip_members(sandbox: Sandbox, browser: Browser) -> None:
    page, problems = open_page(browser, sandbox.server.base_url, viewport={"width": 1280, "height": 900})
    images = page.locator(".gallery .item-image img")
    alts = {images.nth(index).get_attribute("alt") for index in range(images.count())}
    assert {"water cycle", "photosynthesis"} <= alts
    for index in range(images.count()):
        image = images.nth(index)
        image.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
        assert (image.get_attribute("src") or "").startswith("/ui/thumb/")
    video = page.locator(".gallery video")
    audio = page.locator(".gallery audio")
    expect(video).to_have_count(1)
    assert audio.count() == len(sandbox.results["music"]["assets"]) >= 1
    assert audio.first.evaluate("a => a.controls && a.canPlayType('audio/mpeg') !== ''")
    assert video.evaluate("v => v.canPlayType('video/mp4') !== '' && v.controls")
    video_src = video.get_attribute("src") or ""
    assert video_src == sandbox.results["video"]["assets"][0]["url"]
    archive = page.locator(".gallery .item-archive")
    expect(archive).to_have_count(1)
    archive.locator("summary").click()
    members = archive.locator(".members li a")
    expected = [asset["name"] for asset in sandbox.results["pages"]["assets"][1:]]
    expect(members).to_have_count(len(expected))
    assert members.all_inner_texts() == expected
    assert all((members.nth(i).get_attribute("href") or "").startswith("/artifacts/") for i in range(len(expected)))
    assert problems == []


def test_the_chart_shows_spend_per_provider_per_day_with_balances(sandbox: Sandbox, browser: Browser) -> None:
    page, problems = open_page(browser, sandbox.server.base_url, viewport={"width": 1280, "height": 900})
    chart = page.locator("svg.chart")
    expect(chart).to_have_attribute("role", "img")
    expect(chart.locator("title").first).to_have_text("Credits spent per provider per day")
    assert chart.locator("rect").count() >= 3  # conceptviz, kolbo and univers spent today
    legend = page.locator("ul.legend li")
    assert {legend.nth(i).inner_text().strip() for i in range(legend.count())} >= {"conceptviz", "kolbo", "univers"}
    page.locator("summary", has_text="Spend as a table").click()
    header = [cell.strip() for cell in page.locator("table.spend thead th").all_inner_texts()]
    today = page.locator("table.spend tbody tr").last
    values = dict(zip(header[1:], [cell.strip() for cell in today.locator("td").all_inner_texts()], strict=True))
    assert float(values["conceptviz"]) == 4  # the failed job was refunded
    assert float(values["kolbo"]) > 0
    assert float(values["univers"]) == 2
    expect(page.locator("ul.balances")).to_contain_text("credits (as of")
    chart.screenshot(path=sandbox.server.workdir / "chart.png")
    assert problems == []


def test_filters_by_provider_status_and_caller(sandbox: Sandbox, browser: Browser, screenshots: Path) -> None:
    page, problems = open_page(browser, sandbox.server.base_url, viewport={"width": 1280, "height": 900})
    for select in ("f-provider", "f-status", "f-caller"):
        expect(page.locator(f"label[for='{select}']")).to_have_count(1)
    page.select_option("#f-provider", "kolbo")
    page.click("text=Apply filters")
    expect(page).to_have_url(f"{sandbox.server.base_url}/?provider=kolbo&status=&caller=")
    providers = page.locator("table.jobs td[data-label='Provider']").all_inner_texts()
    assert providers
    assert set(providers) == {"kolbo"}
    assert page.locator(".gallery audio").count() >= 1
    assert page.locator(".gallery .item-archive").count() == 0
    page.screenshot(path=screenshots / "filtered-kolbo.png", full_page=True)
    page.goto(f"{sandbox.server.base_url}/?status=failed")
    expect(page.locator("table.jobs tbody tr")).to_have_count(1)
    expect(page.locator("#f-status")).to_have_value("failed")
    page.goto(f"{sandbox.server.base_url}/?caller=nobody")
    expect(page.locator("p.empty").first).to_have_text("No jobs match these filters yet.")
    page.goto(f"{sandbox.server.base_url}/?provider=<script>&status=nonsense")
    expect(page.locator("table.jobs tbody tr")).to_have_count(6)
    assert problems == []


def test_the_page_reads_well_on_a_phone_and_works_from_the_keyboard(
    sandbox: Sandbox, browser: Browser, screenshots: Path
) -> None:
    page, problems = open_page(
        browser, sandbox.server.base_url, viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True
    )
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=screenshots / "page-phone.png", full_page=False)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "f-provider"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Apply filters"
    assert problems == []


def test_the_page_sends_a_strict_policy_and_refuses_foreign_hosts(sandbox: Sandbox) -> None:
    page = httpx2.get(sandbox.server.base_url + "/", timeout=10)
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self'" in policy
    assert page.headers["x-frame-options"] == "DENY"
    foreign = httpx2.get(sandbox.server.base_url + "/", headers={"Host": "evil.example"}, timeout=10)
    assert foreign.status_code == 421
    assert "water cycle" not in foreign.text
    live = sandbox.server.base_url + "/ui/jobs.json"
    origin = httpx2.get(live, headers={"Origin": "http://evil.example"}, timeout=10)
    assert origin.status_code == 403


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GenmcpProcess]:
    """A server listening on every address (so auth is required), with two callers."""
    workdir = tmp_path_factory.mktemp("web-auth")
    config = settings_data(workdir, sandbox={"mode": "on", "job_seconds": 1}, auth={"tokens": TOKENS})
    with start_genmcp(workdir, host="0.0.0.0", config=config) as server:
        for who in ("alice", "bob"):
            run_async(_one_diagram, server.mcp_url, who)
        yield server


async def _one_diagram(url: str, who: str) -> None:
    headers = {"Authorization": f"Bearer {TOKENS[who]}"}
    http = httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=90))
    async with http, Client(streamable_http_client(url, http_client=http)) as client:
        result = await client.call_tool("conceptviz_generate", {"prompt": f"{who}'s diagram", "wait": 30})
    assert data(result)["status"] == "completed"


def test_without_signing_in_a_non_loopback_server_shows_no_data(guarded: GenmcpProcess) -> None:
    for path in ("/", "/?provider=conceptviz", "/ui/jobs.json?ids=x", "/ui/thumb/x/0"):
        response = httpx2.get(guarded.base_url + path, timeout=10)
        assert response.status_code == 401, path
        assert "diagram" not in response.text
        assert "conceptviz:" not in response.text
    wrong = httpx2.post(guarded.base_url + "/signin", data={"token": "not-a-token-at-all"}, timeout=10)
    assert wrong.status_code == 401
    assert "not valid" in wrong.text
    assert "set-cookie" not in wrong.headers


def test_signing_in_with_a_token_shows_only_that_callers_jobs(
    guarded: GenmcpProcess, browser: Browser, screenshots: Path
) -> None:
    page, problems = open_page(browser, guarded.base_url, viewport={"width": 1024, "height": 800})
    expect(page.locator("h2")).to_have_text("Sign in")
    page.screenshot(path=screenshots / "signin.png")
    page.fill("#token", TOKENS["bob"])
    page.click("button:text('Sign in')")
    expect(page.locator(".whoami")).to_contain_text("Signed in as bob")
    expect(page.locator("table.jobs tbody tr")).to_have_count(1)
    expect(page.locator("table.jobs td[data-label='Caller']")).to_have_text("bob")
    expect(page.locator(".gallery img")).to_have_attribute("alt", "bob's diagram")
    page.click("button:text('Sign out')")
    expect(page.locator("h2")).to_have_text("Sign in")
    assert [problem for problem in problems if "401" not in problem and "Unauthorized" not in problem] == []


@pytest.fixture(scope="module")
def builtin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GenmcpProcess]:
    """genmcp with its own authorization server (on loopback: it needs https elsewhere): person `alice` signs in on
    its page; named tokens for alice and bob make jobs (a caller's name is the same either way)."""
    workdir = tmp_path_factory.mktemp("web-builtin")
    config = oauth_config(workdir)
    config["auth"]["tokens"] = TOKENS
    add_user(workdir, config, "alice")
    with start_genmcp(workdir, config=config) as server:
        for who in ("alice", "bob"):
            run_async(_one_diagram, server.mcp_url, who)
        yield server


def test_with_the_builtin_authorization_server_the_page_signs_in_through_its_sign_in_page(
    builtin: GenmcpProcess, browser: Browser, screenshots: Path
) -> None:
    anonymous = httpx2.get(builtin.base_url + "/", timeout=10)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/oauth/sign-in?next=%2F"
    assert "diagram" not in anonymous.text
    assert httpx2.get(builtin.base_url + "/ui/jobs.json?ids=x", timeout=10).status_code == 401
    page, problems = open_page(browser, builtin.base_url, viewport={"width": 1024, "height": 800})
    expect(page).to_have_url(f"{builtin.base_url}/oauth/sign-in?next=%2F")
    page.get_by_label("User name").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(f"{builtin.base_url}/")
    expect(page.locator(".whoami")).to_contain_text("Signed in as alice")
    expect(page.locator("table.jobs td[data-label='Caller']")).to_have_text(["alice"])
    page.screenshot(path=screenshots / "builtin-signed-in.png", full_page=True)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/oauth/sign-in"))
    page.goto(builtin.base_url + "/")
    expect(page).to_have_url(re.compile(r"/oauth/sign-in\?next=%2F$"))
    assert problems == []
