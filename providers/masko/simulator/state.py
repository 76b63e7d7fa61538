"""The Masko simulator's state: price and limit figures, the records it keeps (accounts, projects, collections,
items, assets, jobs), a validated generate request, and the small helpers that name and charge things."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "MaskoAccount",
    "MaskoAsset",
    "MaskoCollection",
    "MaskoItem",
    "MaskoJob",
    "MaskoProject",
]

COST_IMAGE = 1
COST_EDIT = 1
COST_LOGO = 5
COST_PER_SECOND = 5
COST_REFERENCE = 1
COST_PREVIEW = 1
MIN_DURATION, MAX_DURATION, DEFAULT_DURATION = 3, 10, 4
ANIMATION_SIZES = (720, 480, 360, 240)
MAX_BATCH = 10
MAX_REFERENCES = 6
MAX_PREVIEWS = 4
LOGO_BLOCKED_PLANS = frozenset({"free", "starter"})
WAIT_STEP = 0.5
PAGE_LIMIT, MAX_PAGE_LIMIT = 50, 100
PREVIEW_TTL = 3600.0
FAILED_MESSAGE = "Generation failed. Your credits have been refunded."

GENERATION_TYPES = ("image", "animation", "edit", "logo")
JOB_STATUSES = ("pending", "processing", "completed", "failed")
IMAGE_ASSETS = ("image", "transparent_image")
VIDEO_ASSETS = ("video", "webm", "hevc")
SIZE_VARIANT_ASSETS = ("webm", "hevc", "stacked_video")
EXTENSIONS = {
    "image": "png",
    "transparent_image": "png",
    "video": "mp4",
    "webm": "webm",
    "hevc": "mov",
    "stacked_video": "mp4",
}
# Job `type` as the newer jobs page names it, and as the older one (and the generate request) names it.
NEW_JOB_TYPES = {
    "image": "item_generation",
    "edit": "item_generation",
    "logo": "logo",
    "animation": "animation",
    "reverse": "reverse",
    "reference": "image_generation",
}
OLD_JOB_TYPES = {**{kind: kind for kind in GENERATION_TYPES}, "reverse": "animation", "reference": "image"}


@dataclass
class MaskoAccount:
    """One API key's workspace: plan and its two credit balances."""

    plan: str = "pro"
    subscription_credits: int = 500
    topup_credits: int = 500

    @property
    def total(self) -> int:
        """Credits available right now."""
        return self.subscription_credits + self.topup_credits


@dataclass
class MaskoProject:
    """A project grouping collections."""

    id: str
    key: str
    name: str
    created: float


@dataclass
class MaskoCollection:
    """A collection (= one mascot character)."""

    id: str
    key: str
    project_id: str
    name: str
    prompt: str
    style: str | None
    slug: str
    user_prefix: str
    created: float
    updated: float
    reference_asset_ids: list[str] = field(default_factory=list)
    reference_image_urls: list[str] = field(default_factory=list)
    animation_sizes: list[int] = field(default_factory=lambda: list(ANIMATION_SIZES))
    cdn_enabled: bool = True
    style_card: dict[str, Any] | None = None
    caution_list: list[str] = field(default_factory=list)


@dataclass
class MaskoItem:
    """A pose or action of a mascot; every generation on it adds assets."""

    id: str
    collection_id: str
    name: str
    slug: str
    type: str
    prompt: str
    created: float
    asset_ids: list[str] = field(default_factory=list)


@dataclass
class MaskoAsset:
    """One file: generated (served on the CDN path) or uploaded."""

    id: str
    key: str
    type: str
    created: float
    collection_id: str | None = None
    item_id: str | None = None
    job_id: str | None = None
    path: str | None = None
    size: int | None = None
    data: bytes | None = None
    source_url: str | None = None


@dataclass
class MaskoJob:
    """One generation job; its status follows from the clock."""

    id: str
    key: str
    kind: str
    collection_id: str
    item_id: str | None
    prompt: str
    cost: int
    created: float
    processing_at: float
    ready_at: float
    fails: bool
    duration: int | None = None
    loop: bool | None = None
    sizes: list[int] = field(default_factory=list)
    asset_ids: dict[str, str] = field(default_factory=dict)
    variant_ids: dict[str, str] = field(default_factory=dict)
    charged: tuple[int, int] = (0, 0)
    refunded: bool = False
    reverse_of: str | None = None
    reverse_job_id: str | None = None

    def status_at(self, now: float) -> str:
        """pending, processing, completed or failed at time now."""
        if now < self.processing_at:
            return "pending"
        if now < self.ready_at:
            return "processing"
        return "failed" if self.fails else "completed"

    def changed_at(self, now: float) -> float:
        """When the status last changed."""
        if now >= self.ready_at:
            return self.ready_at
        return self.processing_at if now >= self.processing_at else self.created


@dataclass(frozen=True)
class Caller:
    """Who sent a request: the key and its account."""

    key: str
    account: MaskoAccount


@dataclass
class Plan:
    """A validated generate request, not yet charged."""

    kind: str
    item: MaskoItem | None
    item_name: str
    item_type: str
    prompt: str
    cost: int
    asset_types: tuple[str, ...]
    fails: bool
    duration: int | None = None
    loop: bool | None = None
    sizes: list[int] = field(default_factory=list)
    reverse_name: str | None = None


def new_id() -> str:
    """A fresh id, as Masko's (a UUID)."""
    return str(uuid.uuid4())


def title(text: str) -> str:
    """A name from the first words of a prompt ('waving hello' → 'Waving Hello')."""
    words = re.findall(r"[A-Za-z0-9']+", text)[:4]
    return " ".join(word.capitalize() for word in words) or "Untitled"


def slugify(text: str, fallback: str) -> str:
    """A URL-safe form of a name (`fallback` when nothing is left)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or fallback


def reverse_name(name: str) -> str:
    """The name of a transition's reverse ('Idle to Wave' → 'Wave to Idle')."""
    source, separator, target = name.partition(" to ")
    return f"{target} to {source}" if separator and target else f"{name} (reverse)"


def charge(account: MaskoAccount, cost: int) -> tuple[int, int]:
    """Spend subscription credits first, then top-ups; return how many came from each."""
    from_subscription = min(cost, account.subscription_credits)
    account.subscription_credits -= from_subscription
    account.topup_credits -= cost - from_subscription
    return from_subscription, cost - from_subscription
