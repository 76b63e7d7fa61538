"""What the Kolbo simulator keeps: accounts and their credit buckets, charges, generations (chat messages and
Creative Director batches included) with their timelines, and chat sessions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from providers.kolbo.simulator.catalogue import KolboModel

__all__ = ["Charge", "ChatMessage", "ChatSession", "Generation", "KolboAccount", "Scene", "Start", "num"]


@dataclass
class KolboAccount:
    """One API key's credit buckets; charges use plan credits first, then the credit pack, then redemption."""

    plan_credits: float = 1000
    credit_pack: float = 0
    redemption: float = 0

    @property
    def total(self) -> float:
        """All spendable credits."""
        return round(self.plan_credits + self.credit_pack + self.redemption, 2)


@dataclass
class Charge:
    """Credits taken from each bucket for one billed unit (a generation, or one Creative Director scene)."""

    plan: float
    pack: float
    redemption: float
    refunded: bool = False

    @property
    def amount(self) -> float:
        """The credits charged."""
        return round(self.plan + self.pack + self.redemption, 2)


@dataclass
class Scene:
    """One Creative Director scene; scenes run one after another."""

    number: int
    title: str
    prompt: str
    starts_at: float
    ready_at: float
    moodboard_id: str | None = None


@dataclass
class Generation:
    """One started generation (chat messages and Creative Director batches included)."""

    id: str
    key: str
    type: str
    model: str
    resolved: KolboModel
    prompt: str
    prompt_used: str
    created: float
    created_at: str
    processing_at: float
    ready_at: float
    fails: bool
    charges: list[Charge]
    outputs: int = 1
    aspect_ratio: str | None = None
    duration: float | None = None
    resolution: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    scenes: list[Scene] = field(default_factory=list)
    session_id: str | None = None
    cancelled_at: float | None = None

    def _effective(self, now: float) -> float:
        return now if self.cancelled_at is None else min(now, self.cancelled_at)

    def state_at(self, now: float) -> str:
        """pending, processing, completed, failed or cancelled."""
        if self.cancelled_at is not None:
            return "cancelled"
        if now < self.processing_at:
            return "pending"
        if now < self.ready_at:
            return "processing"
        return "failed" if self.fails else "completed"

    def progress_at(self, now: float) -> int:
        """Progress 0–100; a cancelled generation keeps the progress it had."""
        at = self._effective(now)
        if self.scenes:
            done = sum(1 for scene in self.scenes if at >= scene.ready_at)
            return 100 * done // len(self.scenes)
        if at >= self.ready_at:
            return 100
        if at < self.processing_at:
            return 0
        return min(99, max(1, int(100 * (at - self.created) / (self.ready_at - self.created))))

    def scene_status_at(self, scene: Scene, now: float) -> tuple[str, int]:
        """A scene's status and progress."""
        at = self._effective(now)
        if at >= scene.ready_at:
            return ("failed" if self.fails else "completed"), 100
        if self.cancelled_at is not None:
            return "cancelled", 0
        if at < scene.starts_at:
            return "pending", 0
        return "processing", min(99, max(1, int(100 * (at - scene.starts_at) / (scene.ready_at - scene.starts_at))))

    @property
    def credits_charged(self) -> float:
        """Credits taken when the generation started."""
        return round(sum(charge.amount for charge in self.charges), 2)

    @property
    def credits_used(self) -> float:
        """Credits charged and not refunded."""
        return round(sum(charge.amount for charge in self.charges if not charge.refunded), 2)


@dataclass
class ChatMessage:
    """One message of a chat session."""

    message_id: str
    role: str
    content: str


@dataclass
class ChatSession:
    """A chat conversation; every message sent with its session_id sees the earlier ones."""

    id: str
    key: str
    system_prompt: str | None
    created_at: str
    messages: list[ChatMessage] = field(default_factory=list)


@dataclass
class Start:
    """What a generation endpoint checked and priced, for `JobEndpoints._start` to charge and record."""

    type: str
    model: str
    resolved: KolboModel
    prompt: str
    prompt_used: str
    units: list[float]
    checked_text: str
    outputs: int = 1
    aspect_ratio: str | None = None
    duration: float | None = None
    resolution: str | None = None
    params: dict[str, Any] = field(default_factory=dict)


def num(value: float) -> float | int:
    """Credits as JSON numbers: whole amounts without a fraction."""
    return int(value) if float(value).is_integer() else round(value, 2)
