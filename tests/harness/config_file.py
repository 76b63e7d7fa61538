"""Writing a configuration as the TOML file `genmcp serve --config` reads (the stdlib reads TOML but cannot write it).

The subset written is what settings hold: tables, strings, integers, floats, booleans and arrays of those (an array's
tables are written inline). What the file says is read back with `tomllib` before it is used, so a value this writer
got wrong fails here, not as a puzzling setting in a subprocess.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["toml_text", "write_config"]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def write_config(path: Path, data: Mapping[str, Any]) -> Path:
    """Write `data` (e.g. from `tests.harness.settings.settings_data`) to `path` as TOML; returns `path`.

    Raises:
        TypeError: for a value TOML cannot hold (`None`, or an object that is not a table, string, number,
            boolean or array).
        ValueError: if the text written would not read back as `data` (a bug of this writer).
    """
    text = toml_text(data)
    if tomllib.loads(text) != _plain(data):
        raise ValueError(f"the TOML written for {path.name} does not read back as the data given:\n{text}")
    path.write_text(text, encoding="utf-8")
    return path


def toml_text(data: Mapping[str, Any]) -> str:
    """`data` as a TOML document: each table's plain values under its header, then its subtables."""
    lines: list[str] = []
    _table(lines, (), data)
    return "\n".join(lines) + "\n"


def _table(lines: list[str], path: tuple[str, ...], table: Mapping[str, Any]) -> None:
    if path:
        lines.append(f"[{'.'.join(path)}]")
    lines.extend(f"{_key(key)} = {_value(value)}" for key, value in table.items() if not isinstance(value, Mapping))
    for key, value in table.items():
        if isinstance(value, Mapping):
            _table(lines, (*path, _key(key)), value)


def _key(key: object) -> str:
    if not isinstance(key, str):
        raise TypeError(f"TOML keys are strings, not {key!r}")
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def _value(value: object) -> str:
    # bool before int: True is an int too.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)  # TOML spells floats as Python does, `inf` and `nan` included
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    raise TypeError(f"TOML cannot hold {value!r} (leave an unset key out)")


def _string(text: str) -> str:
    escaped = "".join(
        _ESCAPES.get(char) or (f"\\u{ord(char):04x}" if ord(char) < 0x20 or ord(char) == 0x7F else char)
        for char in text
    )
    return f'"{escaped}"'


def _plain(value: object) -> object:
    """What `tomllib` reads back for `value`: dicts for mappings, lists for sequences."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes | bytearray):
        return [_plain(item) for item in value]
    return value
