"""Who is calling: read once per call — identity, address and the caller's own provider keys."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from starlette.requests import Request

from providers.base import Provider
from server.callers import LOCAL, Caller
from server.errors import InvalidInput
from server.jobs import JobRecord
from server.redaction import CLIENT_KEYS, Redactor


class _Settings:
    def __init__(self, allow: bool) -> None:
        self.allow_client_keys = allow


class _Adapter:
    def __init__(self, title: str, *, allow: bool, accepts: bool = True) -> None:
        self.title = title
        self.settings = _Settings(allow)
        self.accepts_client_keys = accepts


def _request(headers: Mapping[str, str], host: str = "10.1.2.3") -> Request:
    scope: dict[str, Any] = {
        "type": "http",
        "method": "POST",
        "path": "/mcp",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": (host, 50000),
    }
    return Request(scope)


def _providers(**adapters: _Adapter) -> Mapping[str, Provider]:
    return adapters  # type: ignore[return-value]  # only the attributes Caller.of reads


def test_without_a_request_the_caller_is_local_with_no_keys() -> None:
    caller = Caller.of(None, _providers())

    assert caller == LOCAL
    assert caller.bucket == "local"


def test_an_allowed_key_header_is_taken_for_that_provider_only() -> None:
    providers = _providers(conceptviz=_Adapter("ConceptViz", allow=True), kolbo=_Adapter("Kolbo", allow=False))

    caller = Caller.of(_request({"X-Conceptviz-Api-Key": "cvk_mine_123456"}), providers)

    assert dict(caller.keys) == {"conceptviz": "cvk_mine_123456"}
    assert caller.address == "10.1.2.3"
    assert caller.bucket == "10.1.2.3"


@pytest.mark.parametrize(
    ("headers", "phrase"),
    [
        ({"X-Kolbo-Api-Key": "kolbo_live_123456"}, "does not take your own Kolbo key"),
        ({"X-Conceptviz-Api-Key": "short"}, "not a valid key"),
        ({"X-Conceptviz-Api-Key": "has space inside"}, "not a valid key"),
    ],
)
def test_a_key_header_the_server_does_not_take_is_refused(headers: dict[str, str], phrase: str) -> None:
    providers = _providers(conceptviz=_Adapter("ConceptViz", allow=True), kolbo=_Adapter("Kolbo", allow=False))

    with pytest.raises(InvalidInput, match=phrase):
        Caller.of(_request(headers), providers)


def test_a_job_started_with_a_callers_own_key_is_seen_only_with_that_key() -> None:
    mine = Caller(name="alice", keys={"conceptviz": "cvk_alice_123456"})
    job = JobRecord(
        provider="conceptviz",
        operation="generate",
        created_at=0,
        updated_at=0,
        caller="alice",
        key_ref=mine.key_ref("conceptviz"),
    )

    assert mine.may_see(job)
    assert not Caller(name="alice").may_see(job)
    assert not Caller(name="alice", keys={"conceptviz": "cvk_other_123456"}).may_see(job)
    assert not Caller(name="bob", keys=mine.keys).may_see(job)
    assert mine.key_ref("conceptviz") != "cvk_alice_123456"


def test_without_auth_every_job_without_a_key_is_visible() -> None:
    job = JobRecord(provider="kolbo", operation="chat", created_at=0, updated_at=0, caller="alice")

    assert LOCAL.may_see(job)


def test_the_callers_keys_are_masked_while_in_scope_only() -> None:
    redact = Redactor()
    caller = Caller(keys={"conceptviz": "cvk_inscope_1234"})

    with caller.keys_in_scope():
        assert CLIENT_KEYS.get() == {"conceptviz": "cvk_inscope_1234"}
        assert redact("echo cvk_inscope_1234") == "echo [redacted]"
    assert dict(CLIENT_KEYS.get()) == {}
