"""Who is calling: the authenticated identity (or the client's address), and the provider keys it sent.

A caller is read from the request once, when a tool call starts (`Caller.of`), and handed explicitly to everything
that decides visibility, limits and keys. Its own provider keys (`X-<Provider>-Api-Key`, where the operator allows
them) are used for this request only: `keys_in_scope` makes them the upstream clients' keys and the redactor's
secrets for the length of the call, and a job records only their fingerprint.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

from server.auth import current_caller
from server.errors import InvalidInput
from server.redaction import CLIENT_KEYS

if TYPE_CHECKING:
    from starlette.requests import Request

    from providers.base import Provider
    from server.jobs import JobRecord

__all__ = ["LOCAL", "Caller"]

_KEY_VALUE = re.compile(r"^[\x21-\x7e]{6,512}$")


@dataclass(frozen=True)
class Caller:
    """One tool call's caller.

    Args:
        name: The authenticated identity (a token's name, a JWT's subject); None without inbound auth.
        address: Where the call came from (the client's IP, or 'local' for stdio and in-process calls).
        keys: The caller's own provider keys, for this request only (provider name → key).
    """

    name: str | None = None
    address: str = "local"
    keys: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def bucket(self) -> str:
        """What the per-caller limits count against: the identity when there is one, else the address."""
        return self.name or self.address

    def key_ref(self, provider: str) -> str | None:
        """A fingerprint of the caller's own key for `provider` (never the key itself), if it sent one."""
        key = self.keys.get(provider)
        return hashlib.sha256(f"{provider}:{key}".encode()).hexdigest()[:24] if key else None

    def may_see(self, job: JobRecord) -> bool:
        """Its own jobs only (when auth is on), and a job started with a caller's own key only with that key."""
        if self.name is not None and job.caller not in (None, self.name):
            return False
        return job.key_ref is None or job.key_ref == self.key_ref(job.provider)

    @contextmanager
    def keys_in_scope(self) -> Iterator[None]:
        """Use the caller's own keys upstream (and mask them everywhere) for the length of the block."""
        token = CLIENT_KEYS.set(MappingProxyType(dict(self.keys)))
        try:
            yield
        finally:
            CLIENT_KEYS.reset(token)

    @classmethod
    def of(cls, request: Request | None, providers: Mapping[str, Provider]) -> Caller:
        """The caller of the current request: its identity, address and (allowed, well-formed) own keys.

        Raises:
            InvalidInput: a provider key header this server does not take, or one that is not a valid key.
        """
        keys: dict[str, str] = {}
        address = request.client.host if request is not None and request.client else "local"
        for name, provider in providers.items():
            value = request.headers.get(f"x-{name}-api-key") if request is not None else None
            if value is None:
                continue
            if not (provider.settings.allow_client_keys and provider.accepts_client_keys):
                raise InvalidInput(
                    f"This server does not take your own {provider.title} key; remove the X-{name.title()}-Api-Key "
                    "header (its configured key is used)."
                )
            if not _KEY_VALUE.match(value):
                raise InvalidInput(f"The X-{name.title()}-Api-Key header is not a valid key.")
            keys[name] = value
        return cls(name=current_caller(), address=address, keys=MappingProxyType(keys))


LOCAL = Caller()
"""A call from this machine without auth or keys of its own (stdio, in-process, the CLI)."""
