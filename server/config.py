"""Settings: TOML file, then environment, then command-line overrides, validated by pydantic.

Every key can come from `GENMCP_<SECTION>__<KEY>` (e.g. `GENMCP_JOBS__WAIT_SECONDS=30`,
`GENMCP_PROVIDERS__KOLBO__BASE_URL=…`); provider keys also from `<PROVIDER>_API_KEY`. An invalid value stops
start-up with a message naming the key and where it came from.

The layers are merged here rather than with pydantic-settings: an unknown `GENMCP_*` variable must be an error (that
library ignores it), every error must name the variable it came from, and tests hand in their own environment.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from platformdirs import user_data_path
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from server.errors import ConfigError
from server.oauth.settings import BuiltinAuthSettings

__all__ = [
    "ArtifactSettings",
    "AuthSettings",
    "BudgetSettings",
    "InputSettings",
    "JobSettings",
    "LimitSettings",
    "OutputSettings",
    "ProviderBudget",
    "ProviderSettings",
    "SandboxSettings",
    "ServerSettings",
    "Settings",
    "StoreSettings",
    "UpstreamSettings",
    "WebSettings",
    "load_settings",
]

ENV_PREFIX = "GENMCP_"
MiB = 1024 * 1024


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class ServerSettings(_Section):
    """How genmcp is served."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    path: str = Field(default="/mcp", pattern=r"^/[A-Za-z0-9/_-]*$")
    public_url: str = Field(default="", description="Absolute base URL for links when behind a proxy.")
    allowed_hosts: list[str] = Field(default_factory=list, description="Extra Host values (DNS-rebinding guard).")
    allowed_origins: list[str] = Field(default_factory=list, description="Extra Origin values.")
    max_body_bytes: int = Field(default=56 * MiB, ge=1024)
    insecure: bool = Field(default=False, description="Allow a non-loopback bind without inbound auth.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    stateless_http: bool = Field(
        default=False,
        description="No MCP sessions (the SDK's stateless mode): any replica answers any request, no affinity needed.",
    )
    tls_certfile: str = Field(default="", description="Serve HTTPS with this PEM certificate (chain).")
    tls_keyfile: str = Field(default="", description="The certificate's PEM private key.")

    @property
    def tls(self) -> bool:
        """Whether genmcp terminates TLS itself."""
        return bool(self.tls_certfile)

    def origin(self) -> str:
        """Where clients reach this server: `public_url`, else the listen address (https with TLS)."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    @model_validator(mode="after")
    def _tls_pair(self) -> ServerSettings:
        if bool(self.tls_certfile) != bool(self.tls_keyfile):
            raise ValueError("tls_certfile and tls_keyfile go together: set both, or neither")
        return self


class JobSettings(_Section):
    """The job registry and the long-poll budget."""

    db_path: str = Field(default="", description="SQLite file; empty = the user data directory.")
    wait_seconds: float = Field(default=45, ge=0, le=3600)
    max_wait_seconds: float = Field(default=55, ge=0, le=3600)

    def resolved_db_path(self) -> Path:
        """The registry file, defaulting under the user's data directory."""
        return Path(self.db_path).expanduser() if self.db_path else user_data_path("genmcp") / "jobs.sqlite3"


class StoreSettings(_Section):
    """Where jobs, artifacts, balances and limit counters live: empty url = SQLite and files (one process);
    a PostgreSQL URL = shared by every replica pointing at it."""

    url: SecretStr = Field(
        default=SecretStr(""), description="postgresql://user:password@host:5432/db; empty = SQLite and files."
    )
    pool_size: int = Field(default=10, ge=1, le=200, description="PostgreSQL connections per replica.")
    lease_seconds: float = Field(
        default=15, ge=1, le=600, description="A watching replica renews its job leases this often (x 1/3)."
    )

    @field_validator("url")
    @classmethod
    def _postgres_only(cls, url: SecretStr) -> SecretStr:
        value = url.get_secret_value().strip()
        if value and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql:// URL (or empty for SQLite)")
        return SecretStr(value)

    @property
    def postgres_url(self) -> str | None:
        """The PostgreSQL URL, when one is set."""
        return self.url.get_secret_value() or None

    def secrets(self) -> list[str]:
        """The URL and its password, for redaction."""
        url = self.url.get_secret_value()
        if not url:
            return []
        password = urlsplit(url).password
        return [url, password, unquote(password)] if password else [url]


class InputSettings(_Section):
    """Image inputs."""

    max_image_bytes: int = Field(default=10 * MiB, ge=1024)
    max_image_pixels: int = Field(default=40_000_000, ge=1, description="Larger images are refused (bombs).")
    allowed_dirs: list[str] = Field(default_factory=list, description="Local paths allowed as image inputs.")
    allow_hosts: list[str] = Field(default_factory=list, description="Hosts allowed despite the SSRF guard.")
    fetch_timeout: float = Field(default=20, gt=0, description="Seconds a URL download may take in all.")


class ArtifactSettings(_Section):
    """Files genmcp holds."""

    dir: str = Field(default="", description="Where artifacts are stored; empty = the user data directory.")
    ttl_seconds: float = Field(default=7 * 24 * 3600, gt=0)

    def resolved_dir(self) -> Path:
        """The artifact directory, defaulting under the user's data directory."""
        return Path(self.dir).expanduser() if self.dir else user_data_path("genmcp") / "artifacts"


class UpstreamSettings(_Section):
    """HTTP to the providers."""

    connect_timeout: float = Field(default=10, gt=0)
    read_timeout: float = Field(default=60, gt=0)
    max_retries: int = Field(default=3, ge=0, le=10)
    backoff_base: float = Field(default=0.5, gt=0)
    backoff_max: float = Field(default=8, gt=0)


class LimitSettings(_Section):
    """Protection against runaway callers and failing providers (0 turns a limit off)."""

    calls_per_minute: int = Field(default=120, ge=0, description="Tool calls a minute, per caller.")
    concurrent_calls: int = Field(default=16, ge=0, description="Tool calls in flight, per caller.")
    provider_concurrency: int = Field(default=32, ge=1, description="Requests in flight to one provider.")
    breaker_threshold: int = Field(default=5, ge=0, description="Provider failures in a row that open its breaker.")
    breaker_cooldown: float = Field(default=30, gt=0, description="Seconds a breaker stays open before a probe.")


class SandboxSettings(_Section):
    """Local simulators instead of the real providers."""

    mode: Literal["auto", "on", "off"] = Field(
        default="auto", description="auto = use the simulators when no provider key is configured."
    )
    job_seconds: float = Field(default=8, ge=0, le=3600)


class AuthSettings(_Section):
    """Inbound auth for the HTTP transport (required to listen beyond loopback)."""

    mode: Literal["resource", "builtin"] = Field(
        default="resource",
        description="resource: genmcp checks the named tokens and/or an external issuer's JWTs; builtin: genmcp is "
        "its own OAuth 2.1 authorization server (sign-in page, users, tokens) — named tokens still work beside it.",
    )
    builtin: BuiltinAuthSettings = Field(default_factory=BuiltinAuthSettings)
    tokens: dict[str, SecretStr] = Field(
        default_factory=dict, description="Named bearer tokens (name = token); revoke one by removing it."
    )
    issuer: str = Field(default="", description="OAuth: the authorization server whose JWT access tokens we accept.")
    jwks_url: str = Field(default="", description="OAuth: where the issuer publishes its signing keys.")
    resource_url: str = Field(
        default="", description="OAuth: this server's resource URL (the tokens' audience); default public_url + path."
    )
    required_scopes: list[str] = Field(default_factory=list)
    algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256"])

    @property
    def enabled(self) -> bool:
        """Whether any inbound auth is configured."""
        return self.mode == "builtin" or bool(self.tokens) or bool(self.issuer and self.jwks_url)

    @field_validator("tokens")
    @classmethod
    def _tokens_are_long(cls, tokens: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for name, token in tokens.items():
            if len(token.get_secret_value()) < 16:
                raise ValueError(f"token {name!r} is shorter than 16 characters")
        return tokens


class OutputSettings(_Section):
    """Where `save_to` / `save` may write result files (nowhere else, ever)."""

    dirs: list[str] = Field(default_factory=list, description="Directories results may be saved into.")
    use_client_roots: Literal["auto", "on", "off"] = Field(
        default="auto", description="Also the client's declared roots (asked with roots/list); auto = on for stdio."
    )
    max_file_bytes: int = Field(default=200 * MiB, ge=1024, description="Largest file saved.")
    max_files: int = Field(default=200, ge=1, le=10_000, description="Most files one save writes.")
    download_timeout: float = Field(default=300, gt=0, description="Seconds one download of a result may take.")


class ProviderBudget(_Section):
    """One provider's spend limits (credits in that provider's own unit)."""

    daily: float = Field(default=0, ge=0, description="Credits a day for all callers together (0 = no cap).")
    daily_per_caller: float | None = Field(default=None, ge=0, description="Overrides budget.daily_per_caller.")
    confirm_above: float | None = Field(default=None, ge=0, description="Overrides budget.confirm_above.")


class BudgetSettings(_Section):
    """Spend control: daily caps and confirmation before expensive calls."""

    daily_per_caller: float = Field(
        default=0, ge=0, description="Credits each caller may spend a day on each provider (0 = no cap)."
    )
    confirm_above: float | None = Field(
        default=None, ge=0, description="Calls estimated above this many credits ask the person first (unset = never)."
    )
    confirm_fallback: Literal["refuse", "proceed"] = Field(
        default="refuse", description="What a call that needs confirmation does when the client cannot ask."
    )
    unknown_estimate: Literal["confirm", "proceed"] = Field(
        default="confirm", description="Whether a call whose cost cannot be estimated asks (when confirm_above is set)."
    )
    timezone: str = Field(default="UTC", description="The time zone whose midnight starts a new budget day.")
    providers: dict[str, ProviderBudget] = Field(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        if value != "UTC":
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"unknown time zone {value!r} (use an IANA name such as 'Europe/Paris')") from exc
        return value

    def provider(self, name: str) -> ProviderBudget:
        """A provider's limits (the defaults when the file does not mention it)."""
        return self.providers.get(name) or ProviderBudget()


class WebSettings(_Section):
    """The web page at `/`."""

    enabled: bool = Field(default=True, description="Serve the page (same access rules as the MCP endpoint).")


class ProviderSettings(_Section):
    """One provider."""

    api_key: SecretStr | None = None
    base_url: str | None = Field(default=None, pattern=r"^https?://")
    enabled: bool = True
    include_tools: list[str] = Field(default_factory=list, description="Serve only these operations (empty = all).")
    exclude_tools: list[str] = Field(default_factory=list)
    allow_client_keys: bool = Field(
        default=False, description="Let a caller send its own key (X-<Provider>-Api-Key), used for that call only."
    )

    @field_validator("api_key")
    @classmethod
    def _blank_key_is_none(cls, value: SecretStr | None) -> SecretStr | None:
        return value if value is not None and value.get_secret_value().strip() else None

    def serves(self, operation: str) -> bool:
        """Whether the operation's tool is served under include/exclude."""
        if self.include_tools and operation not in self.include_tools:
            return False
        return operation not in self.exclude_tools


class Settings(_Section):
    """All of genmcp's configuration."""

    server: ServerSettings = Field(default_factory=ServerSettings)
    jobs: JobSettings = Field(default_factory=JobSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    inputs: InputSettings = Field(default_factory=InputSettings)
    artifacts: ArtifactSettings = Field(default_factory=ArtifactSettings)
    upstream: UpstreamSettings = Field(default_factory=UpstreamSettings)
    sandbox: SandboxSettings = Field(default_factory=SandboxSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    outputs: OutputSettings = Field(default_factory=OutputSettings)
    budget: BudgetSettings = Field(default_factory=BudgetSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    providers: dict[str, ProviderSettings] = Field(default_factory=dict)

    def provider(self, name: str) -> ProviderSettings:
        """A provider's settings (defaults when the file does not mention it)."""
        return self.providers.get(name) or ProviderSettings()

    def secrets(self) -> list[str]:
        """Every configured secret value, for redaction."""
        keys = [p.api_key.get_secret_value() for p in self.providers.values() if p.api_key is not None]
        return keys + [token.get_secret_value() for token in self.auth.tokens.values()] + self.store.secrets()


def _deep_merge(base: dict[str, Any], layer: Mapping[str, Any]) -> None:
    for key, value in layer.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _deep_merge(base[key], value)
        else:
            base[key] = dict(value) if isinstance(value, Mapping) else value


def _env_value(raw: str) -> Any:
    # Lists and tables arrive as JSON; everything else stays a string for pydantic to coerce.
    if raw.strip().startswith(("[", "{")):
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return raw


def _env_layer(env: Mapping[str, str], provider_names: Iterable[str]) -> tuple[dict[str, Any], dict[str, str]]:
    layer: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for name in provider_names:
        var = f"{name.upper()}_API_KEY"
        if env.get(var):
            _deep_merge(layer, {"providers": {name: {"api_key": env[var]}}})
            origin[f"providers.{name}.api_key"] = var
    for var, raw in env.items():
        if not var.startswith(ENV_PREFIX) or var == f"{ENV_PREFIX}CONFIG":
            continue
        path = [part.lower() for part in var[len(ENV_PREFIX) :].split("__")]
        if not all(path):
            raise ConfigError(f"{var}: malformed variable name; use GENMCP_<SECTION>__<KEY>.")
        nested: dict[str, Any] = {path[-1]: _env_value(raw)}
        for part in reversed(path[:-1]):
            nested = {part: nested}
        _deep_merge(layer, nested)
        origin[".".join(path)] = var
    return layer, origin


def _describe(exc: ValidationError, origin: Mapping[str, str]) -> str:
    lines = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"])
        source = next((f" (from {var})" for k, var in origin.items() if key == k or key.startswith(k + ".")), "")
        message = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
        lines.append(f"  {key}{source}: {message}")
    return "invalid configuration:\n" + "\n".join(lines)


def load_settings(
    path: Path | None,
    *,
    env: Mapping[str, str],
    provider_names: Iterable[str],
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build the settings from a TOML file, the environment and command-line overrides (in rising precedence).

    Raises:
        ConfigError: naming every invalid key, unknown key or unknown provider.
    """
    names = list(provider_names)
    data: dict[str, Any] = {}
    origin: dict[str, str] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"config file {path} does not exist.") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    env_layer, origin = _env_layer(env, names)
    _deep_merge(data, env_layer)
    _deep_merge(data, overrides or {})
    for section, table in (("providers", data), ("budget.providers", data.get("budget") or {})):
        unknown = sorted(set(table.get("providers", {}) or {}) - set(names))
        if unknown:
            raise ConfigError(
                f"invalid configuration:\n  {section}.{unknown[0]}: unknown provider (known: {', '.join(names)})"
            )
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        # Not chained: the pydantic error quotes the rejected values, which may be secrets.
        raise ConfigError(_describe(exc, origin)) from None
