"""`genmcp install <client>` prints the right entry and merges it into a config file safely."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from server.cli import main


def test_claude_code_gets_the_http_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["install", "claude-code"]) == 0
    out = capsys.readouterr().out
    assert "claude mcp add --transport http genmcp http://127.0.0.1:8000/mcp" in out


def test_claude_code_over_stdio_passes_the_keys_that_are_set(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KOLBO_API_KEY", "kolbo_live_abc123456")
    assert main(["install", "claude-code", "--transport", "stdio"]) == 0
    out = capsys.readouterr().out
    assert "claude mcp add genmcp --env KOLBO_API_KEY=$KOLBO_API_KEY -- " in out
    assert "serve --stdio" in out
    assert "kolbo_live_abc123456" in out.split("# or run:")[0]  # the JSON entry carries the value for --write


def test_claude_desktop_is_stdio_and_refuses_http(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["install", "claude-desktop"]) == 0
    entry = json.loads(capsys.readouterr().out.split(":\n", 1)[1].split("\n\n")[0])["mcpServers"]["genmcp"]
    assert entry["args"] == ["serve", "--stdio"]
    assert entry["command"].endswith("genmcp")
    assert main(["install", "claude-desktop", "--transport", "http"]) == 2
    assert "only starts local (stdio) servers" in capsys.readouterr().err


def test_write_merges_into_an_existing_config_with_a_backup(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "mcp.json"
    config.write_text(json.dumps({"mcpServers": {"other": {"url": "http://x"}}, "theme": "dark"}))

    assert main(["install", "cursor", "--provider", "kolbo", "--write", "--config-file", str(config)]) == 0

    written = json.loads(config.read_text())
    assert written["theme"] == "dark"
    assert written["mcpServers"]["other"] == {"url": "http://x"}
    assert written["mcpServers"]["genmcp"] == {"url": "http://127.0.0.1:8000/mcp/kolbo"}
    backups = list(tmp_path.glob("mcp.json.bak-*"))
    assert len(backups) == 1
    assert "genmcp" not in backups[0].read_text()
    assert "backup:" in capsys.readouterr().out


def test_an_existing_entry_is_not_clobbered_without_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "mcp.json"
    config.write_text(json.dumps({"servers": {"genmcp": {"type": "http", "url": "http://old"}}}))

    assert main(["install", "vscode", "--write", "--config-file", str(config)]) == 2
    assert "already has a 'genmcp' entry" in capsys.readouterr().err
    assert json.loads(config.read_text())["servers"]["genmcp"]["url"] == "http://old"

    assert main(["install", "vscode", "--write", "--force", "--config-file", str(config)]) == 0
    assert json.loads(config.read_text())["servers"]["genmcp"] == {"type": "http", "url": "http://127.0.0.1:8000/mcp"}


def test_a_new_config_file_is_created_and_a_broken_one_is_left_alone(tmp_path: Path) -> None:
    fresh = tmp_path / "deep" / "claude_desktop_config.json"
    assert main(["install", "claude-desktop", "--write", "--config-file", str(fresh)]) == 0
    assert "genmcp" in json.loads(fresh.read_text())["mcpServers"]

    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert main(["install", "cursor", "--write", "--config-file", str(broken)]) == 2
    assert broken.read_text() == "{not json"


def test_unknown_provider_endpoint_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["install", "cursor", "--provider", "nope"]) == 2
    assert "unknown provider" in capsys.readouterr().err


def test_the_claude_connector_steps_name_the_public_url(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["install", "claude-connector", "--url", "https://genmcp.example.com/mcp"]) == 0
    out = capsys.readouterr().out
    assert "Settings → Connectors → Add custom connector" in out
    assert "Remote MCP server URL: https://genmcp.example.com/mcp" in out
    assert 'mode = "builtin"' in out
    assert "warning" not in out
    assert main(["install", "claude-connector", "--url", "http://10.0.0.5:8000/mcp"]) == 0
    assert "not https" in capsys.readouterr().out
    assert main(["install", "claude-connector"]) == 2
    assert "--url" in capsys.readouterr().err


def test_http_entries_say_how_oauth_sign_in_happens(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["install", "cursor"]) == 0
    assert "opens a browser the first time" in capsys.readouterr().out
