"""The simulator's chat endpoint: sessions that remember earlier messages, answers billed per token, and chat
messages run as generations polled like any other (answering `message_id`, not `generation_id`)."""

from __future__ import annotations

import math
import secrets

from starlette.requests import Request
from starlette.responses import Response

from providers.kolbo.simulator.catalogue import resolve_model
from providers.kolbo.simulator.http import KolboError
from providers.kolbo.simulator.jobs import JobEndpoints
from providers.kolbo.simulator.records import ChatSession, Start

__all__ = ["ChatEndpoints"]

MAX_MEDIA_URLS = 10


class ChatEndpoints(JobEndpoints):
    """`POST /v1/chat`."""

    async def _chat(self, request: Request) -> Response:
        key, account, body = await self._generation_request(request)
        message = body.required_text("message")
        label, model = resolve_model(body, "chat", not_found="INVALID_MODEL")
        media_urls = body.urls("media_urls", MAX_MEDIA_URLS)
        web_search, deep_think = body.flag("web_search", False), body.flag("deep_think", False)
        session_id = body.text("session_id")
        if session_id:
            session = self.chat_sessions.get(session_id)
            if session is None or session.key != key:
                raise KolboError(404, "NOT_FOUND", "Chat session not found")
        else:
            system_prompt = body.text("system_prompt")  # only read for new sessions
            created_at = self._timestamp(self.now())
            session = ChatSession(secrets.token_hex(12), key, system_prompt or None, created_at)
        previous = [m.content for m in session.messages if m.role == "user"]
        count = len(session.messages) + 1
        lines = [f'(sandbox reply from {model.identifier}) You said: "{message}".']
        lines.append(f"This is message {count} of this session ({len(previous) + 1} from you).")
        lines.append(f'Your previous message was: "{previous[-1]}".' if previous else "This is a new conversation.")
        if session.system_prompt:
            lines.append(f'I am following the system prompt: "{session.system_prompt}".')
        if media_urls:
            lines.append(f"I looked at {len(media_urls)} attached file(s).")
        if web_search:
            lines.append("Web search was on (the sandbox has no web results).")
        content = " ".join(lines)
        # Chat is billed per token; the whole history is sent as input (about four characters a token).
        history = sum(len(m.content) for m in session.messages) + len(message)
        cost = math.ceil(history / 4) * _rate(model.input_token_rate) + math.ceil(len(content) / 4) * _rate(
            model.output_token_rate
        )
        params = {
            "content": content,
            "reasoning_content": f"Thinking step by step about: {message}" if deep_think else "",
            "web_search": web_search,
            "media_urls": media_urls,
        }
        units = [float(max(1, math.ceil(cost / 1000)))]
        start = Start("chat", label, model, message, message, units, message, params=params)
        response = self._start(key, account, start, session=session)
        self.chat_sessions[session.id] = session
        return response


def _rate(rate: float | None) -> float:
    return 1.0 if rate is None else rate
