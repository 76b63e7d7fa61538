"""A canary key never leaves the process: not in results, errors, logs, the job store or the CLI's output."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client

from providers import PROVIDERS
from providers.conceptviz.simulator import ConceptVizAccount, ConceptVizSimulator
from server import cli
from server.app import Runtime
from server.errors import AuthError
from server.redaction import RedactingFilter, Redactor
from tests.conftest import make_settings
from tests.harness.clock import FakeClock

pytestmark = pytest.mark.anyio

CANARY = "cvk_CANARY_5f1d2e3c4b5a69788796a5b4"


async def test_a_canary_key_echoed_by_the_provider_never_reaches_results_logs_or_the_store(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # Logs leave the process through the handler `genmcp serve` installs, which carries this filter.
    caplog.handler.addFilter(RedactingFilter(Redactor([CANARY])))
    simulator = ConceptVizSimulator(
        accounts={CANARY: ConceptVizAccount()}, job_seconds=10, now=clock.now, echo_key_in_errors=True
    )
    settings = make_settings(tmp_path, providers={"conceptviz": {"api_key": CANARY}})
    simulator.faults.add(
        "POST", "/api/v1/generate", status=400, body={"error": f"bad body for key {CANARY}", "code": "INVALID_BODY"}
    )
    simulator.faults.add(
        "GET", "/api/v1/task/", status=502, body=f"<pre>upstream said Authorization: Bearer {CANARY}</pre>", times=2
    )
    simulator.faults.add(
        "POST", "/api/v1/edit", status=200, body={"taskId": CANARY, "status": "pending"}, after_handling=True
    )
    outputs: list[str] = []
    transport = httpx2.ASGITransport(app=simulator.app)
    async with Runtime(settings, PROVIDERS, clock=clock, transports={"conceptviz": transport}) as runtime:
        async with Client(runtime.mcp) as client:
            calls: list[tuple[str, dict[str, Any]]] = [
                ("conceptviz_generate", {"prompt": "echo"}),
                ("conceptviz_generate", {"prompt": "ok", "wait": 55}),
                ("conceptviz_edit", {"prompt": "p", "images": ["https://example.com/a.png"]}),
                ("poll", {"job": f"conceptviz:{CANARY}"}),
                ("jobs", {}),
                ("credits", {}),
            ]
            for name, args in calls:
                result = await client.call_tool(name, args)
                outputs.append(result.model_dump_json())
        simulator.accounts.clear()  # now the key is unknown upstream, and the simulator quotes it back
        with pytest.raises(AuthError) as refused:
            await runtime.providers["conceptviz"].check()
        outputs.append(str(refused.value))

    assert any("[redacted]" in text for text in outputs), "the echoes were exercised"
    for text in outputs:
        assert CANARY not in text
    assert CANARY not in caplog.text
    async for path in anyio.Path(tmp_path).glob("jobs.sqlite3*"):
        assert CANARY.encode() not in await path.read_bytes()


def test_the_cli_log_handler_masks_keys_and_credentials(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = make_settings(tmp_path, providers={"conceptviz": {"api_key": CANARY}})
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        cli._configure_logging(settings)
        logging.getLogger("genmcp.test").warning("key %s and X-API-Key: kolbo_live_abcdef123456", CANARY)
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    err = capsys.readouterr().err
    assert CANARY not in err
    assert "kolbo_live_abcdef123456" not in err
    assert "key [redacted]" in err


def test_redactor_masks_longest_secret_first_and_ignores_tiny_values() -> None:
    redact = Redactor(["abc", "secret-one", "secret-one-longer"])
    assert redact("x secret-one-longer y secret-one abc") == "x [redacted] y [redacted] abc"
    assert redact("Authorization: Bearer eyJhbGciOi.J9.x") == "Authorization: [redacted]"


@pytest.mark.parametrize(
    "text",
    [
        "AUTHORIZATION = tok_abcdef123456",
        "x-Api-KEY: tok_abcdef123456",
        "BeArEr tok_abcdef123456",
        "authorİzation: tok_abcdef123456",  # İ folds to i in the pattern, but lower-cases to two characters
        "X-API-\u212aEY: tok_abcdef123456",  # the Kelvin sign folds to k
        'GET /callback?code=tok_abcdef123456 HTTP/1.1" 200',
    ],
)
def test_credential_shaped_text_is_masked_in_any_case_and_any_script(text: str) -> None:
    assert "tok_abcdef123456" not in Redactor()(text)


def test_text_with_no_credential_shape_comes_back_as_it_was() -> None:
    text = '{"balances": [{"provider": "kolbo", "remaining": 1000.0, "note": "café"}], "sandbox": false}'
    assert Redactor(["tok_abcdef123456"])(text) == text
