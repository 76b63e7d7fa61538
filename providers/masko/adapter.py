"""Masko: mascots — poses, animations, transitions, edits, logos — and interactive canvases of them.

API: REST under `https://api.masko.ai/v1`, Bearer `masko_…` key. A generation answers at once with a job id and the
CDN URLs its files will have (they serve a placeholder until the job finishes); `GET /jobs/:id?wait=true` holds the
request server-side until the job finishes or the wait runs out, so genmcp asks once with a timeout inside its own
budget instead of polling. Credits are charged when a job starts and refunded automatically when it fails;
`GET /credits` gives the balance. Every response shape the sources document is read (`providers.masko.wire*`);
genmcp sends `prompt` (not `description`) for a mascot's character, `requests` (not `items`) for a batch, and
`timeout=<seconds>` with `wait=true` (the CLI's `--timeout`; a server that ignores it is cut off by the read timeout).

The operations are declared by concept in the mixins this class is composed of: `mascots` (projects, mascots,
uploads, styles, ideas, previews), `generation` (generate, batches, jobs, pose ideas) and `canvas`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from providers.base import Balance, JobUpdate, Simulator, compact
from providers.masko.assets import assets, slug
from providers.masko.canvas import MaskoCanvas
from providers.masko.generation import MaskoGeneration
from providers.masko.mascots import MaskoMascots
from providers.masko.wire import CreditsBody
from providers.masko.wire_jobs import Job
from server.errors import JobFailed
from server.results import CreditsInfo

__all__ = ["Masko"]

_MAX_HOLD = 120
"""Longest server-side wait asked for (the CLI's documented ceiling)."""
_HOLD_GRACE = 5.0


def _job_details(job: Job, poll_state: Mapping[str, Any]) -> dict[str, Any]:
    """What a poll adds to the job's details: the size variants of a job genmcp started, everything about one
    started elsewhere (no poll state)."""
    if poll_state:
        return compact({"size_variants": job.size_variants or None})
    return compact(
        {
            "mascot_id": job.collection_id,
            "item_id": job.item_id or (job.output_data or {}).get("item_id"),
            "item_name": job.item_name,
            "type": job.type,
            "asset_ids": job.asset_ids or None,
            "cost": job.cost_credits,
        }
    )


class Masko(MaskoMascots, MaskoGeneration, MaskoCanvas):
    """The Masko adapter."""

    name = "masko"
    title = "Masko"
    default_base_url = "https://api.masko.ai/v1"
    poll_interval = 2.0
    sandbox_key = "masko_sandbox"
    holds_polls = True

    async def status(self, upstream_id: str, poll_state: Mapping[str, Any], *, hold: float) -> JobUpdate:
        params: dict[str, Any] | None = None
        read_timeout: float | None = None
        if hold >= 1:
            wait = int(min(hold, _MAX_HOLD))
            params, read_timeout = {"wait": "true", "timeout": wait}, wait + _HOLD_GRACE
        response = await self.client.request(
            "GET", f"jobs/{quote(upstream_id, safe='')}", params=params, read_timeout=read_timeout
        )
        if not response.is_success:
            raise self._error(response, what=f"job {upstream_id}")
        job = self.client.parse(response, Job)
        label = slug(job.item_name or poll_state.get("item_name")) or f"masko-{upstream_id[:8]}"
        details = _job_details(job, poll_state)
        urls = job.all_urls.items()
        if job.status in ("pending", "processing"):
            return JobUpdate(
                state="running",
                upstream_status=job.status,
                assets=assets(urls, label, pending=True),
                details=details,
            )
        if job.status == "completed":
            return JobUpdate(
                state="completed",
                upstream_status="completed",
                assets=assets(urls, label, pending=False),
                details=details,
            )
        free = job.cost_credits == 0
        said = self.client.redact(job.error_message) or "no reason given"
        return JobUpdate(
            state="failed",
            upstream_status="failed",
            error=JobFailed(
                f"Masko could not finish the job: {said}" + ("" if free else " Its credits were refunded."),
                retryable=True,
                charged=not free,
                refunded=None if free else True,
                upstream_code=job.error_code,
            ),
            credits=None if free or poll_state.get("shared_charge") else CreditsInfo(refunded=True),
            details=details,
        )

    async def balance(self) -> Balance:
        response = await self._send("GET", "credits", what="account")
        credits = self.client.parse(response, CreditsBody)
        remaining = credits.remaining
        assert remaining is not None, "CreditsBody requires a balance"
        subscription, topup = credits.split
        return Balance(
            remaining=remaining,
            as_of=self.client.clock.wall(),
            details=compact({"subscription": subscription, "topup": topup}),
        )

    async def check(self) -> str:
        balance = await self.balance()
        return f"key accepted; {balance.remaining:g} credits"

    @classmethod
    def simulator(cls, *, now: Callable[[], float], job_seconds: float) -> Simulator:
        from providers.masko.simulator import MaskoSimulator

        return MaskoSimulator(now=now, job_seconds=job_seconds)
