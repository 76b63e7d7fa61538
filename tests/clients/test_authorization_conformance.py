"""The official MCP conformance suite's authorization-server scenarios (`conformance authorization`, from
@modelcontextprotocol/conformance 0.2.0-alpha.12, installed as `conformance-auth`) against genmcp's built-in
authorization server — over http on loopback and over https with its own certificate.

The suite reads the metadata, then prints an authorization URL and waits on its own callback server for a person to
sign in; this test is that person, in headless chromium. The client is pre-registered with `genmcp clients add …
--public` (redirect `http://127.0.0.1/callback`, any loopback port). Every check must pass.

Not run: a confidential client (`--client-secret`): the suite authenticates with `none` whenever the server lists
`none` among its token endpoint methods, which genmcp does (public clients are what connectors are), so a secret is
never sent and the run would test nothing genmcp decides.
"""

from __future__ import annotations

import json
import queue
import re
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.clients.test_clients import NODE_MODULES, Finished, _kill_group, node, node_env
from tests.e2e.test_oauth import add_user, oauth_config
from tests.harness.browser import chromium
from tests.harness.config_file import write_config
from tests.harness.oauth import PASSWORD
from tests.harness.process import GenmcpProcess, clean_env, free_port, run_genmcp, start_genmcp
from tests.harness.tls import make_tls

__all__ = ["node"]

pytestmark = [pytest.mark.e2e]

SUITE = NODE_MODULES / "conformance-auth" / "dist" / "index.js"
SCENARIOS = {"authorization-server-metadata-endpoint", "authorization-code-grant"}
TIMEOUT = 120.0


@pytest.fixture(params=["http", "https"])
def issuer(request: pytest.FixtureRequest, node: Path, tmp_path: Path) -> Iterator[tuple[GenmcpProcess, str]]:
    """genmcp with the built-in authorization server, a user, and a public client for the suite."""
    workdir = tmp_path / "genmcp"
    workdir.mkdir()
    tls = make_tls(tmp_path / "tls") if request.param == "https" else None
    config = oauth_config(workdir, **({"tls_certfile": str(tls.cert), "tls_keyfile": str(tls.key)} if tls else {}))
    add_user(workdir, config)
    path = write_config(workdir / "operator.toml", config)
    added = run_genmcp(
        [
            "clients",
            "add",
            "MCP conformance",
            "--redirect-uri",
            "http://127.0.0.1/callback",
            "--public",
            "--config",
            str(path),
        ],
        workdir=workdir,
        env=clean_env(),
    )
    assert added.returncode == 0, added.stderr
    client_id = re.search(r"client_id:\s+(\S+)", added.stdout)
    assert client_id, added.stdout
    with start_genmcp(workdir, config=config, tls_ca=tls.ca if tls else None) as server:
        yield server, client_id[1]


def _sign_in_and_approve(url: str, callback: str) -> None:
    with chromium() as browser:
        context = browser.new_context(ignore_https_errors=True)  # the test CA is not the browser's
        page = context.new_page()
        page.goto(url)
        page.get_by_label("User name").fill("alice")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_label("Password").press("Enter")
        page.wait_for_url("**/oauth/consent?**")
        page.get_by_role("button", name="Approve").click()
        page.wait_for_url(f"{callback}?**")
        context.close()


@pytest.mark.timeout(TIMEOUT + 60)
def test_the_authorization_server_scenarios_pass(issuer: tuple[GenmcpProcess, str], node: Path, tmp_path: Path) -> None:
    server, client_id = issuer
    port = free_port()
    results = tmp_path / "results"
    env = node_env(tmp_path / "home")
    if server.tls_ca:
        env["NODE_EXTRA_CA_CERTS"] = str(server.tls_ca)
    args = [
        str(node),
        str(SUITE),
        "authorization",
        "--url",
        server.base_url,
        "--client-id",
        client_id,
        "--resource",
        server.mcp_url,
        "--port",
        str(port),
        "--output-dir",
        str(results),
    ]
    process = subprocess.Popen(
        args,
        cwd=NODE_MODULES.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    output: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=read, name="conformance-stdout", daemon=True)
    reader.start()
    try:
        while True:
            line = lines.get(timeout=TIMEOUT)
            assert line is not None, "the suite ended without asking for a sign-in:\n" + "".join(output)
            if line.startswith(f"{server.base_url}/authorize?"):
                break
        _sign_in_and_approve(line.strip(), f"http://127.0.0.1:{port}/callback")
        code = process.wait(TIMEOUT)
    except (queue.Empty, subprocess.TimeoutExpired):
        pytest.fail("the conformance suite did not finish:\n" + "".join(output))
    finally:
        _kill_group(process.pid)
        reader.join(10)
        if process.stdout is not None:
            process.stdout.close()
        if process.poll() is None:
            process.wait(10)
    report = Finished(args, code, "".join(output), "").report()
    print(report)
    checks = {}
    for path in sorted(results.glob("*/checks.json")):
        for check in json.loads(path.read_text(encoding="utf-8")):
            checks[check["id"]] = check
    scenarios = {
        re.sub(r"^authorization-server-(.+)-\d{4}-.*$", r"\1", p.parent.name) for p in results.glob("*/checks.json")
    }
    assert scenarios == SCENARIOS, report
    failing = {name: c.get("errorMessage") for name, c in checks.items() if c["status"] != "SUCCESS"}
    assert not failing, f"{failing}\n{report}"
    assert code == 0, report
    assert "Total: 3 passed, 0 failed" in report
