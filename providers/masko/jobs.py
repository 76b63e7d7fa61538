"""Jobs Masko started, as genmcp jobs: each with its pending CDN links, a transition's free reverse as a related job,
and several jobs paid for by one request (a batch, a canvas) carrying the whole charge on the first."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx2

from providers.base import Completed, Submitted, compact
from providers.masko.api import MaskoApi, rate_details
from providers.masko.assets import assets, slug
from providers.masko.wire_jobs import SubmittedJob
from server.results import CreditsInfo

__all__ = ["MaskoJobs"]


class MaskoJobs(MaskoApi):
    """Turning Masko's started jobs into genmcp outcomes."""

    def _started(self, job: SubmittedJob, mascot_id: str, *, charged: float | None) -> list[Submitted]:
        """A started job (and its free reverse, if any) as genmcp jobs with pending assets."""
        details = compact(
            {
                "mascot_id": mascot_id,
                "item_id": job.item_id,
                "item_name": job.item_name,
                "type": job.type,
                "asset_ids": job.asset_ids or None,
                "estimated_cost": job.estimated_cost,
                "reverse_job": f"{self.name}:{job.reverse_job.job_id}" if job.reverse_job else None,
            }
        )
        label = slug(job.item_name) or f"masko-{job.job_id[:8]}"
        started = [
            Submitted(
                upstream_id=job.job_id,
                poll_interval=self.poll_interval,
                credits=CreditsInfo(charged=charged) if charged is not None else None,
                details=details,
                poll_state=compact({"mascot_id": mascot_id, "item_name": job.item_name}),
                assets=assets(job.urls.items(), label, pending=True),
            )
        ]
        reverse = job.reverse_job
        if reverse is not None:
            name = reverse.item_name or f"{job.item_name or 'transition'} reversed"
            started.append(
                Submitted(
                    upstream_id=reverse.job_id,
                    poll_interval=self.poll_interval,
                    credits=CreditsInfo(charged=reverse.cost if reverse.cost is not None else 0),
                    details=compact(
                        {
                            "mascot_id": mascot_id,
                            "item_id": reverse.item_id,
                            "item_name": name,
                            "asset_ids": reverse.asset_ids or None,
                            "estimated_cost": 0,
                            "reverse_of": f"{self.name}:{job.job_id}",
                        }
                    ),
                    poll_state={"mascot_id": mascot_id, "item_name": name},
                    assets=assets(reverse.urls.items(), slug(name), pending=True),
                )
            )
        return started

    def _one_charge(
        self,
        jobs: list[SubmittedJob],
        mascot_id: str,
        total: float | None,
        details: dict[str, Any],
        response: httpx2.Response,
    ) -> Completed | Submitted:
        """Several jobs paid for by one request: the first carries the whole charge, the others are related."""
        started = [part for job in jobs for part in self._started(job, mascot_id, charged=None)]
        credits = CreditsInfo(charged=total)
        if not started:
            return Completed(credits=credits, details={**details, **rate_details(response)})
        first = started[0]
        return dataclasses.replace(
            first,
            credits=credits,
            details={**first.details, **details, "jobs": len(started), **rate_details(response)},
            poll_state={**first.poll_state, "shared_charge": True},
            related=tuple(started[1:]),
        )
