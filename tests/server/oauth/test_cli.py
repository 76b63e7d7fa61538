"""`genmcp users | clients | tokens | auth link`: the operator's commands, on the store `[store] url` names — the
registry's SQLite file, or the shared PostgreSQL database (every test runs on both)."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import anyio
import pytest

from server.cli import main
from server.oauth.server import open_store
from server.oauth.store import CodeRecord, GrantRecord, TokenRecord
from tests.harness.config_file import write_config
from tests.harness.settings import build_settings, settings_data


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest) -> dict[str, str]:
    """The `[store]` section: empty (SQLite), or a fresh PostgreSQL database."""
    return {"url": request.getfixturevalue("postgres_url")} if request.param == "postgres" else {}


@pytest.fixture
def config(tmp_path: Path, store: dict[str, str]) -> Path:
    return write_config(tmp_path / "genmcp.toml", settings_data(tmp_path, auth={"mode": "builtin"}, store=store))


def run(config: Path, *args: str, stdin: str | None = None, monkeypatch: pytest.MonkeyPatch | None = None) -> int:
    if stdin is not None and monkeypatch is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return main([*args, "--config", str(config)])


def test_users_are_added_listed_given_a_new_password_and_removed(
    config: Path,
    tmp_path: Path,
    store: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert (
        run(config, "users", "add", "alice", "--password-stdin", stdin="a long password\n", monkeypatch=monkeypatch)
        == 0
    )
    assert run(config, "users", "add", "bob", "--no-password") == 0
    assert "one-time links only" in capsys.readouterr().out
    assert run(config, "users", "add", "alice", "--no-password") == 2
    assert "exists already" in capsys.readouterr().err
    assert run(config, "users", "add", "carol", "--password-stdin", stdin="short\n", monkeypatch=monkeypatch) == 2
    assert "at least 10 characters" in capsys.readouterr().err
    assert run(config, "users", "add", "../evil", "--no-password") == 2
    capsys.readouterr()
    assert run(config, "users", "list") == 0
    listed = capsys.readouterr().out
    assert re.search(r"^alice\s+password, links", listed, re.M)
    assert re.search(r"^bob\s+links only", listed, re.M)
    assert "a long password" not in listed
    assert (
        run(
            config, "users", "passwd", "alice", "--password-stdin", stdin="another password!\n", monkeypatch=monkeypatch
        )
        == 0
    )
    assert run(config, "users", "remove", "alice") == 0
    assert "tokens are revoked" in capsys.readouterr().out
    assert run(config, "users", "remove", "alice") == 2
    # The commands wrote where the server reads: the registry's file, or PostgreSQL (and then no file at all).
    assert (tmp_path / "jobs.sqlite3").exists() == (not store)


async def _grant(tmp_path: Path, store_section: dict[str, str], user: str) -> str:
    settings = build_settings(tmp_path, store=store_section)
    store = open_store(settings)
    await store.open()
    grant = GrantRecord(
        user=user, client_id="c1", scopes=["genmcp:read"], resource="http://127.0.0.1:8000/mcp", created_at=1.0
    )
    code = CodeRecord(
        digest="d",
        client_id="c1",
        user=user,
        scopes=[],
        resource="",
        redirect_uri="http://127.0.0.1/cb",
        redirect_uri_provided_explicitly=True,
        code_challenge="x",
        expires_at=4e9,
    )
    await store.put_code(code)
    token = TokenRecord(digest="t", grant_id=grant.id, kind="access", expires_at=4e9, created_at=1.0)
    assert await store.redeem_code("d", grant, [token], 2.0)
    await store.close()
    return grant.id


def test_tokens_are_listed_and_revoked(
    config: Path, tmp_path: Path, store: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    grant = anyio.run(_grant, tmp_path, store, "alice")
    assert run(config, "tokens", "list") == 0
    listed = capsys.readouterr().out
    assert grant in listed
    assert "alice" in listed
    assert "resource http://127.0.0.1:8000/mcp" in listed
    assert run(config, "tokens", "revoke", grant) == 0
    assert run(config, "tokens", "revoke", grant) == 2
    assert run(config, "tokens", "list") == 0
    assert "no grants" in capsys.readouterr().out
    assert run(config, "tokens", "list", "--all", "--json") == 0
    assert '"revoked_at"' in capsys.readouterr().out
    assert run(config, "tokens", "revoke") == 2


def test_clients_are_pre_registered_with_a_secret_shown_once(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(config, "clients", "add", "Ops", "--redirect-uri", "https://ops.example/cb") == 0
    out = capsys.readouterr().out
    client_id = re.search(r"client_id:\s+(\S+)", out)
    secret = re.search(r"client_secret:\s+(gmcp_cs_\S+)", out)
    assert client_id
    assert secret
    assert run(config, "clients", "list") == 0
    listed = capsys.readouterr().out
    assert client_id[1] in listed
    assert "operator, confidential" in listed
    assert secret[1] not in listed
    assert run(config, "clients", "add", "Bad", "--redirect-uri", "http://evil.example/cb") == 2
    assert "only loopback may use http" in capsys.readouterr().err
    assert run(config, "clients", "remove", client_id[1]) == 0


def test_a_one_time_link_is_printed_for_an_existing_user(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(config, "auth", "link", "alice") == 2
    assert "no user 'alice'" in capsys.readouterr().err
    assert run(config, "users", "add", "alice", "--no-password") == 0
    assert run(config, "auth", "link", "alice", "--minutes", "5") == 0
    out = capsys.readouterr().out
    assert re.search(r"http://127\.0\.0\.1:8000/oauth/link/gmcp_sl_\S{40,}", out)
    assert "for 5 minutes" in out
