"""What the page shows, read from the registry, the spend ledger and the artifact store (no upstream request):
the recent jobs a visitor may see, the gallery of their finished files, spend per provider per day, and balances.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

from server.artifacts import ArtifactStore, artifact_id_from
from server.budget.ledger import SpendLedger
from server.budget.policy import BudgetPolicy
from server.callers import Caller
from server.jobs import JobRecord, JobStatus, JobStore
from server.web.chart import SpendChart, spend_chart

__all__ = ["Filters", "GalleryItem", "JobRow", "PageData", "load_page", "safe_link", "visible_jobs"]

STATUSES: tuple[JobStatus, ...] = (
    "running",
    "completed",
    "failed",
    "cancelled",
    "submitting",
    "submit_unknown",
    "interrupted",
)
_JOBS = 100
_GALLERY = 60
_DAYS = 14


@dataclass(frozen=True)
class Filters:
    """The page's filters (from the query string; unknown values are ignored, not trusted)."""

    provider: str | None = None
    status: JobStatus | None = None
    caller: str | None = None

    @classmethod
    def of(cls, params: dict[str, str], providers: Sequence[str]) -> Filters:
        provider = params.get("provider") or None
        status = params.get("status") or None
        caller = (params.get("caller") or "").strip()[:200] or None
        return cls(
            provider=provider if provider in providers else None,
            status=next((known for known in STATUSES if known == status), None),
            caller=caller,
        )


def safe_link(url: str | None, resource: str | None = None) -> str | None:
    """A link the page may put in `href`/`src`: genmcp's own `/artifacts/<id>`, or an http(s) URL — never another
    scheme (no `javascript:`, no `data:`)."""
    artifact_id = artifact_id_from(resource or "") or artifact_id_from(url or "")
    if artifact_id is not None:
        return f"/artifacts/{artifact_id}"
    if url and urlsplit(url).scheme in ("http", "https"):
        return url
    return None


@dataclass(frozen=True)
class JobRow:
    """One job in the table."""

    id: str
    handle: str
    provider: str
    operation: str
    status: str
    caller: str
    cost: str
    progress: float | None
    stage: str
    created: str
    files: int
    error: str | None


@dataclass(frozen=True)
class Member:
    """A file inside an archive."""

    name: str
    link: str | None


@dataclass(frozen=True)
class GalleryItem:
    """One finished file."""

    job_id: str
    index: int
    kind: str
    name: str
    link: str | None
    caption: str
    members: list[Member] = field(default_factory=list)


@dataclass(frozen=True)
class Balance:
    """A provider's last known balance."""

    provider: str
    remaining: float | None
    as_of: str | None


@dataclass(frozen=True)
class PageData:
    """Everything the page renders."""

    jobs: list[JobRow]
    gallery: list[GalleryItem]
    chart: SpendChart
    balances: list[Balance]
    providers: list[str]
    callers: list[str]
    statuses: tuple[str, ...]
    filters: Filters


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _cost(job: JobRecord) -> str:
    credits = job.credits
    if credits is not None and credits.charged is None and credits.refunded:
        return "refunded"
    if credits is None or credits.charged is None:
        return "unknown" if job.kind == "spend" else "free"
    return f"{credits.charged:g}" + (" (refunded)" if credits.refunded else "")


def job_row(job: JobRecord) -> JobRow:
    """A job as the table shows it."""
    return JobRow(
        id=job.id,
        handle=job.handle or job.id,
        provider=job.provider,
        operation=job.operation,
        status=job.status,
        caller=job.caller or "—",
        cost=_cost(job),
        progress=job.progress if job.status == "running" else None,
        stage=job.upstream_status or job.status,
        created=_when(job.created_at),
        files=len(job.assets),
        error=job.error.message if job.error else None,
    )


async def visible_jobs(store: JobStore, visitor: Caller, filters: Filters, limit: int = _JOBS) -> list[JobRecord]:
    """The newest jobs the visitor may see, filtered."""
    caller = visitor.name or filters.caller
    records = await store.list(provider=filters.provider, status=filters.status, caller=caller, limit=limit)
    return [record for record in records if visitor.may_see(record) and record.key_ref is None]


async def _gallery(jobs: Sequence[JobRecord], artifacts: ArtifactStore) -> list[GalleryItem]:
    items: list[GalleryItem] = []
    for job in jobs:
        if job.status != "completed":
            continue
        members: dict[str, list[Member]] = {}
        archives: dict[str, int] = {}
        for index, asset in enumerate(job.assets):
            artifact_id = artifact_id_from(asset.resource or "")
            artifact = await artifacts.get(artifact_id) if artifact_id else None
            link = safe_link(asset.url, asset.resource)
            if artifact is not None and artifact.parent:
                members.setdefault(artifact.parent, []).append(Member(name=artifact.filename, link=link))
                continue
            if artifact is not None and asset.kind == "archive":
                archives[artifact.id] = len(items)
            caption = asset.description or f"{job.provider} {job.operation}"
            items.append(
                GalleryItem(
                    job_id=job.id,
                    index=index,
                    kind=asset.kind,
                    name=asset.name or f"{job.operation}-{index + 1}",
                    link=link,
                    caption=caption,
                )
            )
        for parent, listed in members.items():
            if parent in archives:
                item = items[archives[parent]]
                items[archives[parent]] = GalleryItem(**{**item.__dict__, "members": listed})
        if len(items) >= _GALLERY:
            break
    return items[:_GALLERY]


async def load_page(
    *,
    store: JobStore,
    ledger: SpendLedger,
    policy: BudgetPolicy,
    artifacts: ArtifactStore,
    providers: Sequence[str],
    visitor: Caller,
    filters: Filters,
) -> PageData:
    """Read everything the page shows for this visitor and these filters."""
    jobs = await visible_jobs(store, visitor, filters)
    everyone = await store.list(caller=visitor.name, limit=500)
    callers = sorted({job.caller for job in everyone if job.caller and visitor.may_see(job)})
    days = policy.days(_DAYS)
    spend = await ledger.by_day(days, caller=visitor.bucket if visitor.name else None)
    if filters.provider:
        spend = [row for row in spend if row[1] == filters.provider]
    shown = [filters.provider] if filters.provider else list(providers)
    balances = []
    for name in shown:
        stored = await store.last_balance(name)
        balances.append(
            Balance(
                provider=name,
                remaining=stored.remaining if stored else None,
                as_of=_when(stored.as_of) if stored else None,
            )
        )
    return PageData(
        jobs=[job_row(job) for job in jobs],
        gallery=await _gallery(jobs, artifacts),
        chart=spend_chart(days, spend, shown, everyone=providers),
        balances=balances,
        providers=list(providers),
        callers=callers,
        statuses=STATUSES,
        filters=filters,
    )
