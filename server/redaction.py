"""Keep secrets out of everything that leaves the process: results, errors, logs, job records."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from types import MappingProxyType

__all__ = ["CLIENT_KEYS", "RedactingFilter", "Redactor", "strip_query"]

_MASK = "[redacted]"
# Credentials in common shapes, even ones we were never told about (e.g. a key echoed by an upstream). Each pattern
# comes with the lower-case text any match must contain: most text has none of them, and one scan for each of those
# is much cheaper than running the pattern.
_PATTERNS = (
    (re.compile(r"(?i)(authorization\s*[:=]\s*)(bearer\s+)?[^\s,;\"']+"), "authorization"),
    (re.compile(r"(?i)(x-api-key\s*[:=]\s*)[^\s,;\"']+"), "x-api-key"),
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"), "bearer"),
    # Secrets genmcp's own authorization server mints carry a prefix (server.oauth.credentials).
    (re.compile(r"()gmcp_(?:at|rt|cs|ac|sl|ss|rq)_[A-Za-z0-9_-]{20,}"), "gmcp_"),
    # The query string of a request line in an access log (codes, states, request ids travel there).
    (re.compile(r'(\b(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) [^\s"?]*\?)[^\s"]+'), "?"),
)


class Redactor:
    """Replaces every configured secret (and credential-shaped text) with a mask."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Register more secret values (short values are ignored: masking them would mangle text)."""
        for secret in secrets:
            if len(secret) >= 6 and secret not in self._secrets:
                self._secrets.append(secret)
        self._secrets.sort(key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in (*_request_secrets(), *self._secrets):
            if secret in text:
                text = text.replace(secret, _MASK)
        # Only ASCII text lower-cases exactly as the patterns' case-insensitive matching folds it.
        lowered = text.lower() if text.isascii() else None
        for pattern, needle in _PATTERNS:
            if lowered is None or needle in lowered:
                text = pattern.sub(lambda m: m.group(1) + _MASK, text)
        return text


class RedactingFilter(logging.Filter):
    """A logging filter that renders each record and scrubs it."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self._redact = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
            record.exc_text = None
        record.msg = self._redact(message)
        record.args = None
        return True


CLIENT_KEYS: ContextVar[Mapping[str, str]] = ContextVar("genmcp_client_keys", default=MappingProxyType({}))
"""Keys callers sent for the current request only (provider name → key): used upstream, masked everywhere,
never stored."""


def _request_secrets() -> tuple[str, ...]:
    return tuple(key for key in CLIENT_KEYS.get().values() if len(key) >= 6)


def strip_query(url: str) -> str:
    """A URL without its query string and fragment (they may carry credentials)."""
    return url.split("?", 1)[0].split("#", 1)[0]
