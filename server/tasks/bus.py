"""The subscription bus every endpoint's server shares: the SDK's `SubscriptionBus` contract (events fanned out to
the open `subscriptions/listen` streams of this process), plus `publish_now` for code that is not async (a tool list
changing while the runtime assembles itself).

A deployment of several processes would implement the same two methods over its pub/sub; nothing else changes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import anyio.lowlevel
from mcp.server.subscriptions import ServerEvent

__all__ = ["EventBus"]

log = logging.getLogger("genmcp.tasks")


class EventBus:
    """In-process fan-out of `ServerEvent`s to listeners, in subscription order."""

    def __init__(self) -> None:
        self._listeners: dict[object, Callable[[ServerEvent], None]] = {}

    def publish_now(self, event: ServerEvent) -> None:
        """Deliver `event` to every listener (listeners never block: they queue what they forward)."""
        for listener in list(self._listeners.values()):
            try:
                listener(event)
            except Exception:
                # One broken stream must not keep the event from the others.
                log.exception("a subscription listener failed")

    async def publish(self, event: ServerEvent) -> None:
        """Deliver `event`, then let the streams write it out."""
        self.publish_now(event)
        await anyio.lowlevel.checkpoint()

    def subscribe(self, listener: Callable[[ServerEvent], None]) -> Callable[[], None]:
        """Register `listener`; returns the function that unregisters it."""
        token = object()
        self._listeners[token] = listener

        def unsubscribe() -> None:
            self._listeners.pop(token, None)

        return unsubscribe
