"""`genmcp install <client>`: the exact command or config entry that connects a client to this install.

Prints it by default; with `--write`, merges it into the client's config file (after a backup), refusing to replace
an existing `genmcp` entry unless `--force`.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import shutil
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from server.errors import ConfigError

__all__ = ["CLIENTS", "InstallPlan", "connector_steps", "plan", "write"]

Transport = Literal["http", "stdio"]
CLIENTS = ("claude-code", "claude-desktop", "cursor", "vscode")
ENTRY = "genmcp"


def _genmcp_command() -> str:
    name = "genmcp.exe" if os.name == "nt" else "genmcp"
    beside = Path(sys.executable).parent / name
    return str(beside if beside.exists() else (shutil.which("genmcp") or beside))


def _desktop_config() -> Path:
    system = platform.system()
    if system == "Darwin":
        return Path.home() / "Library" / "Application Support" / "Claude" / "claude_desktop_config.json"
    if system == "Windows":
        return Path(os.environ.get("APPDATA", Path.home())) / "Claude" / "claude_desktop_config.json"
    return Path.home() / ".config" / "Claude" / "claude_desktop_config.json"


@dataclass(frozen=True)
class InstallPlan:
    """What to add where."""

    client: str
    transport: Transport
    config_file: Path
    section: str
    """The JSON object in the config file that holds server entries."""
    entry: dict[str, Any]
    command: str | None
    """A shell command that does the same (Claude Code)."""
    env_to_fill: list[str]


def plan(
    client: str,
    *,
    transport: Transport | None,
    url: str,
    key_vars: list[str],
    env: Mapping[str, str],
    config_file: Path | None = None,
) -> InstallPlan:
    """The entry for `client` (HTTP to `url`, or stdio spawning this install's `genmcp serve --stdio`)."""
    if client not in CLIENTS:
        raise ConfigError(f"unknown client {client!r}; choose one of {', '.join(CLIENTS)}.")
    chosen: Transport = transport or ("stdio" if client == "claude-desktop" else "http")
    if client == "claude-desktop" and chosen == "http":
        raise ConfigError("Claude Desktop's config file only starts local (stdio) servers; use --transport stdio.")
    present = {name: env[name] for name in key_vars if env.get(name)}
    missing = [name for name in key_vars if name not in present]
    executable = _genmcp_command()
    stdio: dict[str, Any] = {"command": executable, "args": ["serve", "--stdio"]}
    if present:
        stdio["env"] = present
    if client == "claude-code":
        entry = {"type": "http", "url": url} if chosen == "http" else {"type": "stdio", **stdio}
        if chosen == "http":
            command = f"claude mcp add --transport http {ENTRY} {url}"
        else:
            env_flags = "".join(f" --env {name}=${name}" for name in present)
            command = f"claude mcp add {ENTRY}{env_flags} -- {shlex.quote(executable)} serve --stdio"
        return InstallPlan(
            client, chosen, config_file or Path.home() / ".claude.json", "mcpServers", entry, command, missing
        )
    if client == "claude-desktop":
        return InstallPlan(client, chosen, config_file or _desktop_config(), "mcpServers", stdio, None, missing)
    if client == "cursor":
        entry = {"url": url} if chosen == "http" else stdio
        path = config_file or Path.home() / ".cursor" / "mcp.json"
        return InstallPlan(client, chosen, path, "mcpServers", entry, None, missing)
    entry = {"type": "http", "url": url} if chosen == "http" else {"type": "stdio", **stdio}
    return InstallPlan(client, chosen, config_file or Path(".vscode") / "mcp.json", "servers", entry, None, missing)


def render(install: InstallPlan) -> str:
    """What `genmcp install` prints."""
    lines = [f"# {install.client} ({install.transport}) — add to {install.config_file}:"]
    snippet = {install.section: {ENTRY: install.entry}}
    lines.append(json.dumps(snippet, indent=2))
    if install.command:
        lines += ["", "# or run:", install.command]
    if install.env_to_fill:
        names = ", ".join(install.env_to_fill)
        lines += [
            "",
            f"# provider keys not set here (add the ones you use to the entry's env, or export them): {names}",
        ]
    if install.transport == "http":
        lines += ["", "# start the server first: genmcp serve   (sandbox mode when no key is configured)"]
        lines += [
            '# with [auth] mode = "builtin" (genmcp\'s own OAuth sign-in), the client opens a browser the first time',
            "# it connects: sign in, approve, done — nothing else to configure (see README: OAuth for remote use).",
        ]
    return "\n".join(lines)


def connector_steps(url: str) -> str:
    """How to add genmcp to Claude (Desktop or claude.ai) as a custom connector at `url`."""
    lines = [
        "# Add genmcp to Claude as a custom connector (Claude Desktop and claude.ai):",
        '#   1. genmcp must run with [auth] mode = "builtin" and be reachable at an https URL',
        "#      (server.public_url behind a TLS proxy, or server.tls_certfile / server.tls_keyfile);",
        "#      add a user: genmcp users add <name>   (or print a one-time link: genmcp auth link <name>)",
        "#   2. In Claude: Settings → Connectors → Add custom connector",
        f"#   3. Name: genmcp    Remote MCP server URL: {url}",
        "#   4. Connect: Claude opens genmcp's sign-in page; sign in, review what Claude may do, Approve.",
        "# Manage access later with: genmcp tokens list   /   genmcp tokens revoke <grant>",
    ]
    if not url.startswith("https://"):
        lines.append(f"# warning: {url} is not https; Claude accepts only https connector URLs.")
    return "\n".join(lines)


def write(install: InstallPlan, *, force: bool) -> Path | None:
    """Merge the entry into the config file; return the backup's path (None when the file did not exist)."""
    path = install.config_file
    document: dict[str, Any] = {}
    if path.exists():
        try:
            loaded = json.loads(path.read_text(encoding="utf-8") or "{}")
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path} is not valid JSON ({exc}); fix it or pass --config-file.") from exc
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path} does not hold a JSON object.")
        document = loaded
    servers = document.setdefault(install.section, {})
    if not isinstance(servers, dict):
        raise ConfigError(f"{path}: '{install.section}' is not an object.")
    if ENTRY in servers and not force:
        raise ConfigError(f"{path} already has a '{ENTRY}' entry; pass --force to replace it (a backup is kept).")
    servers[ENTRY] = install.entry
    backup = None
    if path.exists():
        backup = path.with_name(f"{path.name}.bak-{time.strftime('%Y%m%d-%H%M%S')}")
        shutil.copy2(path, backup)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)
    return backup
