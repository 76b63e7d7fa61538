"""Settings: TOML, then environment, then command-line overrides; invalid values name their key."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from providers import PROVIDERS
from server.app import uses_sandbox
from server.config import load_settings
from server.errors import ConfigError

NAMES = ["conceptviz", "kolbo"]


def test_precedence_is_toml_then_env_then_overrides(tmp_path: Path) -> None:
    path = tmp_path / "genmcp.toml"
    path.write_text("[jobs]\nwait_seconds = 10\nmax_wait_seconds = 20\n[server]\nport = 9000\n")
    env = {"GENMCP_JOBS__WAIT_SECONDS": "12", "GENMCP_SERVER__ALLOWED_HOSTS": '["mcp.example:443"]'}

    settings = load_settings(path, env=env, provider_names=NAMES, overrides={"server": {"port": 9100}})

    assert settings.jobs.wait_seconds == 12
    assert settings.jobs.max_wait_seconds == 20
    assert settings.server.port == 9100
    assert settings.server.allowed_hosts == ["mcp.example:443"]


def test_provider_keys_come_from_their_own_variable_and_stay_secret(tmp_path: Path) -> None:
    settings = load_settings(
        None,
        env={"CONCEPTVIZ_API_KEY": "cvk_secret_value", "GENMCP_PROVIDERS__KOLBO__BASE_URL": "http://127.0.0.1:9/api"},
        provider_names=NAMES,
    )
    key = settings.provider("conceptviz").api_key
    assert key is not None
    assert key.get_secret_value() == "cvk_secret_value"
    assert "cvk_secret_value" not in repr(settings)
    assert "cvk_secret_value" not in settings.model_dump_json()
    assert settings.provider("kolbo").base_url == "http://127.0.0.1:9/api"
    assert settings.secrets() == ["cvk_secret_value"]


@pytest.mark.parametrize(
    ("env", "toml", "expected"),
    [
        ({"GENMCP_JOBS__WAIT_SECONDS": "abc"}, "", "jobs.wait_seconds (from GENMCP_JOBS__WAIT_SECONDS)"),
        ({}, "[server]\nhots = 'x'\n", "server.hots: unknown key"),
        ({}, "[providers.nope]\napi_key = 'x'\n", "providers.nope: unknown provider"),
        ({}, "[providers.kolbo]\nbase_url = 'ftp://x'\n", "providers.kolbo.base_url"),
        ({}, "[jobs]\nwait_seconds = -1\n", "jobs.wait_seconds"),
        ({}, "[sandbox]\nmode = 'maybe'\n", "sandbox.mode"),
        ({}, "[budget.providers.nope]\ndaily = 5\n", "budget.providers.nope: unknown provider"),
        ({}, "[budget]\ntimezone = 'Mars/Olympus'\n", "unknown time zone 'Mars/Olympus'"),
        ({}, "[budget]\nconfirm_fallback = 'ask'\n", "budget.confirm_fallback"),
        ({}, "[outputs]\nuse_client_roots = 'yes'\n", "outputs.use_client_roots"),
        ({"GENMCP_BROKEN__": "1"}, "", "GENMCP_BROKEN__: malformed"),
        ({}, "this is = not toml [", "not valid TOML"),
    ],
)
def test_invalid_config_fails_naming_the_key(tmp_path: Path, env: dict[str, str], toml: str, expected: str) -> None:
    path = tmp_path / "genmcp.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env=env, provider_names=NAMES)
    assert expected in caught.value.message


def test_a_secret_in_an_invalid_value_is_not_echoed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(None, env={"GENMCP_PROVIDERS__KOLBO__ENABLED": "kolbo_live_secret"}, provider_names=NAMES)
    assert "kolbo_live_secret" not in caught.value.message
    assert caught.value.__cause__ is None


def test_a_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "absent.toml", env={}, provider_names=NAMES)


def test_sandbox_auto_turns_on_only_without_any_key() -> None:
    bare = load_settings(None, env={}, provider_names=NAMES)
    keyed = load_settings(None, env={"CONCEPTVIZ_API_KEY": "cvk_x"}, provider_names=NAMES)
    forced = load_settings(
        None, env={"GENMCP_SANDBOX__MODE": "on", "CONCEPTVIZ_API_KEY": "cvk_x"}, provider_names=NAMES
    )
    assert uses_sandbox(bare, NAMES)
    assert not uses_sandbox(keyed, NAMES)
    assert uses_sandbox(forced, NAMES)


def test_the_example_config_documents_every_key_and_is_valid() -> None:
    example = Path(__file__).parents[2] / "config.example.toml"
    settings = load_settings(example, env={}, provider_names=[p.name for p in PROVIDERS])
    text = example.read_text()
    for section, model in [
        ("server", settings.server),
        ("jobs", settings.jobs),
        ("store", settings.store),
        ("inputs", settings.inputs),
        ("artifacts", settings.artifacts),
        ("upstream", settings.upstream),
        ("sandbox", settings.sandbox),
        ("auth", settings.auth),
        ("auth.builtin", settings.auth.builtin),
        ("outputs", settings.outputs),
        ("budget", settings.budget),
        ("web", settings.web),
    ]:
        assert f"[{section}]" in text
        for key in type(model).model_fields:
            if (section, key) == ("budget", "providers"):
                assert "[budget.providers.kolbo]" in text
                continue
            if isinstance(getattr(model, key), BaseModel):
                assert f"[{section}.{key}]" in text, f"{section}.{key} is not documented"
                continue
            assert f"\n{key} = " in text or f"\n# {key} = " in text, f"{section}.{key} is not documented"
    for cls in PROVIDERS:
        assert f"[providers.{cls.name}]" in text
        assert cls.default_base_url in text
    for key in ("api_key", "base_url", "enabled", "include_tools", "exclude_tools", "allow_client_keys"):
        assert f"{key} = " in text
