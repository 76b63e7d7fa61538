"""Multi-round-trip questions for the conformance fixtures (test-only): a fixture tool asks for any form by key.

On MCP 2026-07-28 a question is an `InputRequiredResult` carrying `elicitation/create` input requests and the answers
gathered so far as `requestState`; the client retries the call with the answers and the fixture runs again from the
top, now finding them. On 2025-11-25 the question is an `elicitation/create` request on the open session. genmcp's
own tools ask through `server.questions` (the SDK's resolvers), which covers what they need: roots and a spend
confirmation; the scenarios need free-form forms and several rounds, which this gives them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from mcp.server.mcpserver import Context
from mcp.server.session import ServerSession
from mcp_types import ElicitRequest, ElicitRequestFormParams, ElicitResult, InputRequests, InputRequiredResult
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import ValidationError

from server.errors import InvalidInput

__all__ = ["CONFIRM_SCHEMA", "InputNeeded", "Questions", "elicitation"]

CONFIRM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"confirm": {"type": "boolean", "title": "Go ahead", "default": False}},
    "required": ["confirm"],
}
"""A yes/no form."""


def elicitation(message: str, schema: Mapping[str, Any]) -> ElicitRequest:
    """An `elicitation/create` form request."""
    return ElicitRequest(params=ElicitRequestFormParams(message=message, requested_schema=dict(schema)))


class InputNeeded(Exception):
    """Raised by a call that must ask before it goes on; the tool path answers `result()` instead of a result."""

    def __init__(self, requests: InputRequests, answers: Mapping[str, ElicitResult]) -> None:
        super().__init__(f"input required: {', '.join(requests)}")
        self.requests = requests
        self.answers = dict(answers)

    def result(self) -> InputRequiredResult:
        """The MRTR answer: the open questions, and the answers so far to carry into the retry."""
        state = {key: answer.model_dump(mode="json", by_alias=True) for key, answer in self.answers.items()}
        return InputRequiredResult(input_requests=self.requests, request_state=json.dumps(state))


class Questions:
    """What one tool call may ask the person (see the module docstring).

    Args:
        context: The call's SDK context; None outside a request (then nothing can be asked).
    """

    def __init__(self, context: Context[Any, Any] | None) -> None:
        self.context = context

    def _request_context_ok(self) -> bool:
        try:
            return self.context is not None and self.context.request_context is not None
        except ValueError:
            return False

    @property
    def modern(self) -> bool:
        """Whether the call came over MCP 2026-07-28 (questions are input-required results)."""
        return (
            self._request_context_ok()
            and self.context is not None
            and self.context.protocol_version in (MODERN_PROTOCOL_VERSIONS)
        )

    @property
    def can_ask(self) -> bool:
        """Whether the client declared it can answer questions (the elicitation capability)."""
        if not self._request_context_ok() or self.context is None:
            return False
        capabilities = self.context.client_capabilities
        return capabilities is not None and capabilities.elicitation is not None

    def _answers(self) -> dict[str, ElicitResult]:
        """The answers this call already has: carried in the sealed request state, and the retry's responses."""
        assert self.context is not None
        answers: dict[str, ElicitResult] = {}
        if self.context.request_state:
            try:
                carried = json.loads(self.context.request_state)
                answers.update({key: ElicitResult.model_validate(value) for key, value in dict(carried).items()})
            except (ValueError, TypeError, ValidationError) as exc:
                raise InvalidInput("The call's request state is not one genmcp issued; start the call again.") from exc
        responses = self.context.input_responses or {}
        answers.update({key: answer for key, answer in responses.items() if isinstance(answer, ElicitResult)})
        return answers

    async def ask(self, key: str, message: str, schema: Mapping[str, Any]) -> ElicitResult:
        """Ask one form question (`key` names it within this call) and return the person's answer.

        Raises:
            InputNeeded: On 2026-07-28, when the answer is not in yet (the call ends here and is retried).
            InvalidInput: When the client cannot be asked.
        """
        if not self.can_ask or self.context is None:
            raise InvalidInput(
                f"This call needs your answer first ({message}) but your client cannot answer questions (it declared "
                "no elicitation capability). Nothing was sent upstream."
            )
        if not self.modern:
            session: ServerSession = self.context.session
            return await session.elicit_form(message, dict(schema), related_request_id=self.context.request_id)
        answers = self._answers()
        if key in answers:
            return answers[key]
        raise InputNeeded({key: elicitation(message, schema)}, answers)

    async def confirm(self, key: str, message: str) -> bool:
        """Ask a yes/no question; True only when the person accepted and said yes."""
        answer = await self.ask(key, message, CONFIRM_SCHEMA)
        return answer.action == "accept" and bool((answer.content or {}).get("confirm"))
