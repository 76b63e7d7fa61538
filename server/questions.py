"""What a tool call may ask its client: its roots (where results may be saved) and a person's confirmation before
credits are spent.

Asked through the SDK's resolvers (`mcp.server.mcpserver.resolve`), which speak each protocol revision's way: a
2025 client with a back channel gets standalone `roots/list` and `elicitation/create` requests mid-call; a
2026-07-28 client gets an `InputRequiredResult` carrying both questions, answers them, and retries the call (the SDK
seals the echoed `requestState` and binds it to this tool and these arguments). The roots are asked first; the
confirmation is decided once they are known (a `save_to` outside every allowed place is refused before anyone is
asked to approve a spend).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.resolve import (
    AcceptedElicitation,
    Elicit,
    ElicitationResult,
    ListRoots,
    Resolve,
    build_resolver_plans,
    resolve_arguments,
)
from mcp.shared.exceptions import MCPError
from mcp_types import InputRequiredResult, ListRootsResult
from mcp_types.version import is_version_at_least
from pydantic import BaseModel, Field

from server.errors import ConfirmationRequired

__all__ = ["Answers", "Asking", "Questions", "SpendConfirmation"]

_INPUT_REQUIRED_VERSION = "2026-07-28"
_NOT_ASKED = "not asked"


class SpendConfirmation(BaseModel):
    """The form a person answers to let a spending call go ahead."""

    confirm: bool = Field(
        title="Spend the credits", description="Tick to run the call; leave it unticked (or decline) to stop it."
    )


@dataclass(frozen=True)
class Asking:
    """What one call wants to know."""

    roots: bool
    """Ask the client for its roots."""
    question: Callable[[list[str]], Awaitable[str | None]]
    """Given the roots (file URIs), the confirmation to ask — or None when none is needed. It may raise to refuse the
    call (a bad `save_to`, a cap); it can run again on each round of a 2026 call, so it must not change anything."""


@dataclass(frozen=True)
class Answers:
    """What the client answered."""

    roots: list[str]
    confirmed: bool | None
    """True or False when the person was asked; None when no confirmation was needed."""


async def _client_roots(asking: Asking) -> ListRoots | ListRootsResult:
    return ListRoots() if asking.roots else ListRootsResult(roots=[])


async def _confirmation(
    asking: Asking, roots: Annotated[ListRootsResult, Resolve(_client_roots)]
) -> Elicit[SpendConfirmation] | str:
    question = await asking.question([str(root.uri) for root in roots.roots])
    return _NOT_ASKED if question is None else Elicit(question, SpendConfirmation)


_PARAMS: dict[str, tuple[Resolve, bool]] = {
    "roots": (Resolve(_client_roots), False),
    "answer": (Resolve(_confirmation), True),
}


@functools.cache
def _plans() -> dict[Hashable, Any]:
    return dict(build_resolver_plans(_PARAMS, {"asking"}))


class Questions:
    """One tool call's channel to its client (None outside a request: nothing can be asked)."""

    def __init__(self, context: Context[Any, Any] | None) -> None:
        self.context = context

    def _modern(self) -> bool:
        version = self.context.protocol_version if self.context is not None else None
        return version is not None and is_version_at_least(version, _INPUT_REQUIRED_VERSION)

    def _reachable(self) -> bool:
        if self.context is None or self.context.protocol_version is None:
            return False
        # A 2026 client answers in its retry; an older one needs a back channel for a request of ours.
        return self._modern() or self.context.session.can_send_request

    @property
    def can_confirm(self) -> bool:
        """Whether a person can be asked: the client declared form elicitation and can be reached."""
        if self.context is None or not self._reachable():
            return False
        capabilities = self.context.client_capabilities
        elicitation = capabilities.elicitation if capabilities is not None else None
        return elicitation is not None and (elicitation.form is not None or elicitation.url is None)

    @property
    def can_list_roots(self) -> bool:
        """Whether the client declared roots and can be asked for them."""
        if self.context is None or not self._reachable():
            return False
        capabilities = self.context.client_capabilities
        return capabilities is not None and capabilities.roots is not None

    async def ask(self, asking: Asking) -> Answers | InputRequiredResult:
        """Ask what `asking` needs; an `InputRequiredResult` means a 2026 client must answer and call again.

        Raises:
            ConfirmationRequired: the client failed to show the confirmation.
        """
        if self.context is None or not (asking.roots and self.can_list_roots):
            # No roots to ask: most calls have nothing to ask at all, and skip the resolvers.
            asking = Asking(roots=False, question=asking.question)
            if await asking.question([]) is None:
                return Answers(roots=[], confirmed=None)
        if self.context is None:
            raise ConfirmationRequired("This call needs a confirmation, and nothing can be asked outside a request.")
        try:
            resolved = await resolve_arguments(_PARAMS, _plans(), {"asking": asking}, self.context)
        except MCPError as exc:
            raise ConfirmationRequired(
                f"The client could not show the confirmation ({exc.error.message[:120]}); nothing was sent upstream."
            ) from exc
        except ValueError as exc:  # an accepted form without valid content (older clients)
            raise ConfirmationRequired(f"The confirmation came back unreadable ({exc}); nothing was sent.") from exc
        if isinstance(resolved, InputRequiredResult):
            return resolved
        roots: ListRootsResult = resolved["roots"]
        # The outcome holds the person's form when asked, or the plain `_NOT_ASKED` when nothing was to be asked.
        answer: ElicitationResult[Any] = resolved["answer"]
        uris = [str(root.uri) for root in roots.roots]
        if not isinstance(answer, AcceptedElicitation):
            return Answers(roots=uris, confirmed=False)
        data: object = answer.data
        if isinstance(data, SpendConfirmation):
            return Answers(roots=uris, confirmed=data.confirm)
        return Answers(roots=uris, confirmed=None)
