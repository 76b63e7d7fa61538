"""The Kolbo simulator's chat over HTTP: `message_id` answers polled like generations, sessions that remember
earlier messages, deep think and attachments, and the requests it refuses."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from providers.kolbo.simulator import KolboSimulator
from tests.harness.clock import FakeClock
from tests.providers.kolbo.support import OTHER_KEY, assert_error, poll

pytestmark = pytest.mark.anyio


async def test_chat_answers_with_message_id_and_a_continued_session_remembers_earlier_messages(
    api: httpx2.AsyncClient, sim: KolboSimulator, clock: FakeClock
) -> None:
    first = (await api.post("/api/v1/chat", json={"message": "My name is Ada.", "system_prompt": "Be brief."})).json()

    message_id, session_id = first["message_id"], first["session_id"]
    assert first == {
        "success": True,
        "message_id": message_id,
        "session_id": session_id,
        "type": "chat",
        "model": "auto",
        "poll_url": f"/api/v1/generate/{message_id}/status",
        "poll_interval_hint": 2,
    }
    clock.advance(2.5)
    first_status = await poll(api, first)
    assert (first_status["type"], first_status["state"], first_status["session_id"]) == (
        "chat",
        "completed",
        session_id,
    )
    assert "message 1 of this session" in first_status["result"]["content"]
    assert 'system prompt: "Be brief."' in first_status["result"]["content"]

    second = (await api.post("/api/v1/chat", json={"message": "What is my name?", "session_id": session_id})).json()
    assert second["session_id"] == session_id
    clock.advance(2.5)
    content = (await poll(api, second))["result"]["content"]

    assert "message 3 of this session (2 from you)" in content
    assert 'Your previous message was: "My name is Ada."' in content
    assert [m.role for m in sim.chat_sessions[session_id].messages] == ["user", "assistant", "user", "assistant"]


async def test_chat_with_deep_think_media_and_a_chosen_model(api: httpx2.AsyncClient, clock: FakeClock) -> None:
    body = {"message": "describe", "model": "claude-sonnet-4", "deep_think": True, "media_urls": ["https://x.test/a"]}
    started = (await api.post("/api/v1/chat", json=body)).json()
    clock.advance(2.5)

    result = (await poll(api, started))["result"]
    assert result["model"] == "claude-sonnet-4"
    assert "1 attached file" in result["content"]
    assert result["reasoning_content"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"message": ""}, 400, "MISSING_FIELDS"),
        ({}, 400, "MISSING_FIELDS"),
        ({"message": "hi", "model": "gpt-99"}, 400, "INVALID_MODEL"),
        ({"message": "hi", "model": "eleven_v3"}, 400, "INVALID_MODEL"),
        ({"message": "hi", "media_urls": ["https://x.test/a"] * 11}, 400, "VALIDATION_ERROR"),
        ({"message": "hi", "session_id": "0123456789abcdef01234567"}, 404, "NOT_FOUND"),
    ],
)
async def test_invalid_chat_requests_are_rejected(
    api: httpx2.AsyncClient, sim: KolboSimulator, body: dict[str, Any], status: int, code: str
) -> None:
    assert_error(await api.post("/api/v1/chat", json=body), status, code)
    assert sim.chat_sessions == {}


async def test_another_keys_chat_session_is_not_found(api: httpx2.AsyncClient) -> None:
    session_id = (await api.post("/api/v1/chat", json={"message": "secret"})).json()["session_id"]

    response = await api.post(
        "/api/v1/chat", json={"message": "hi", "session_id": session_id}, headers={"X-API-Key": OTHER_KEY}
    )
    assert_error(response, 404, "NOT_FOUND")
