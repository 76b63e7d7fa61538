"""The Masko simulator's jobs: starting one (charging it, creating its files on the CDN path), how a started job is
answered, and the job and credits routes (a held `GET /jobs/:id?wait=true` included)."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from providers.masko.simulator.core import SimulatorCore
from providers.masko.simulator.parsing import ApiError, read_number
from providers.masko.simulator.state import (
    EXTENSIONS,
    FAILED_MESSAGE,
    JOB_STATUSES,
    NEW_JOB_TYPES,
    OLD_JOB_TYPES,
    SIZE_VARIANT_ASSETS,
    WAIT_STEP,
    Caller,
    MaskoAsset,
    MaskoCollection,
    MaskoItem,
    MaskoJob,
    Plan,
    charge,
    new_id,
    slugify,
)

__all__ = ["JobRoutes"]


class JobRoutes(SimulatorCore):
    """Starting jobs, and the `/jobs` and `/credits` routes."""

    def _start_job(self, caller: Caller, collection: MaskoCollection, plan: Plan) -> MaskoJob:
        now = self.now()
        seconds = self.job_seconds * (2 if plan.kind in ("animation", "reverse") else 1)
        job = MaskoJob(
            id=new_id(),
            key=caller.key,
            kind=plan.kind,
            collection_id=collection.id,
            item_id=plan.item.id if plan.item else None,
            prompt=plan.prompt,
            cost=plan.cost,
            created=now,
            processing_at=now + 0.1 * seconds,
            ready_at=now + seconds,
            fails=plan.fails,
            duration=plan.duration,
            loop=plan.loop,
            sizes=list(plan.sizes),
            charged=charge(caller.account, plan.cost),
        )
        slug = plan.item.slug if plan.item else "reference"
        for asset_type in plan.asset_types:
            job.asset_ids[asset_type] = self._new_asset(caller, collection, job, asset_type, slug, None).id
        for size in plan.sizes:
            for asset_type in SIZE_VARIANT_ASSETS:
                job.variant_ids[f"{asset_type}_{size}"] = self._new_asset(
                    caller, collection, job, asset_type, slug, size
                ).id
        if plan.item is not None:
            plan.item.asset_ids.extend([*job.asset_ids.values(), *job.variant_ids.values()])
        if collection.style_card is None:  # extracted lazily on the first generation
            digest = hashlib.sha256(collection.prompt.encode()).hexdigest()
            colors = [f"#{digest[i : i + 6]}" for i in (0, 6, 12)]
            collection.style_card = {
                "palette": colors,
                "proportions": "chibi",
                "line_style": "clean",
                "shading": "soft",
            }
        collection.updated = now
        self.jobs[job.id] = job
        return job

    def _new_item(self, collection: MaskoCollection, name: str, item_type: str, prompt: str) -> MaskoItem:
        item = MaskoItem(new_id(), collection.id, name, slugify(name, "item"), item_type, prompt, self.now())
        self.items[item.id] = item
        return item

    def _new_asset(
        self, caller: Caller, collection: MaskoCollection, job: MaskoJob, asset_type: str, slug: str, size: int | None
    ) -> MaskoAsset:
        suffix = f"-{size}" if size else ""
        path = (
            f"{collection.user_prefix}/{collection.slug}/{slug}-{secrets.token_hex(4)}{suffix}.{EXTENSIONS[asset_type]}"
        )
        asset = MaskoAsset(new_id(), caller.key, asset_type, self.now(), collection.id, job.item_id, job.id, path, size)
        self.assets[asset.id] = asset
        self._cdn_paths[path] = asset.id
        return asset

    def _submitted(self, job: MaskoJob, reverse: MaskoJob | None = None) -> dict[str, Any]:
        item = self.items.get(job.item_id or "")
        data: dict[str, Any] = {
            "job_id": job.id,
            "status": job.status_at(self.now()),
            "type": OLD_JOB_TYPES[job.kind],
            "item_id": job.item_id,
            "item_name": item.name if item else None,
            "estimated_cost": job.cost,
            "asset_ids": dict(job.asset_ids),
            "urls": self._urls(job),
            "poll_url": f"/v1/jobs/{job.id}",
        }
        if reverse is not None:
            summary = self._submitted(reverse)
            data["reverse_job"] = {**summary, "cost": 0}
        return data

    async def _list_jobs(self, request: Request, caller: Caller) -> Response:
        query = request.query_params
        status, collection_id, kind = query.get("status"), query.get("collection_id"), query.get("type")
        if status is not None and status not in JOB_STATUSES:
            raise ApiError(400, f"status must be one of {', '.join(JOB_STATUSES)}")
        now = self.now()
        rows = [
            job
            for job in reversed(self.jobs.values())
            if job.key == caller.key
            and (status is None or job.status_at(now) == status)
            and (collection_id is None or job.collection_id == collection_id)
            and (kind is None or kind in (job.kind, NEW_JOB_TYPES[job.kind], OLD_JOB_TYPES[job.kind]))
        ]
        return self._list(request, rows, self._job_new, self._job_old, "jobs")

    async def _get_job(self, request: Request, caller: Caller) -> Response:
        job = self._owned(self.jobs, request.path_params["job_id"], caller, "Job")
        if request.query_params.get("wait", "").lower() in ("true", "1", "yes"):
            limit = self.wait_timeout
            if "timeout" in request.query_params:
                limit = min(limit, read_number(request.query_params["timeout"], "timeout"))
            start, waited = self.now(), 0.0
            # Counting slept time too keeps the hold finite even if the injected clock does not move.
            while job.status_at(self.now()) in ("pending", "processing") and waited < limit:
                if self.now() - start >= limit:
                    break
                step = min(WAIT_STEP, limit - waited)
                await self.sleep(step)
                waited += step
            self._settle()
        return self._reply(self._job_new(job), self._job_old(job))

    async def _credits(self, request: Request, caller: Caller) -> Response:
        account = caller.account
        data = {"subscription": account.subscription_credits, "topup": account.topup_credits, "total": account.total}
        bare = {
            "subscription_credits": account.subscription_credits,
            "topup_credits": account.topup_credits,
            "total": account.total,
        }
        return self._reply(data, bare)

    def _job_new(self, job: MaskoJob) -> dict[str, Any]:
        now = self.now()
        status = job.status_at(now)
        item = self.items.get(job.item_id or "")
        data: dict[str, Any] = {
            "id": job.id,
            "status": status,
            "type": NEW_JOB_TYPES[job.kind],
            "collection_id": job.collection_id,
            "cost_credits": job.cost,
            "created_at": self._iso(job.created),
            "updated_at": self._iso(job.changed_at(now)),
            "item_id": job.item_id,
            "item_name": item.name if item else None,
            "asset_ids": dict(job.asset_ids),
            "urls": self._urls(job),
        }
        if job.sizes:
            data["size_variants"] = {"status": status, "sizes": job.sizes}
        if job.reverse_job_id is not None:
            data["reverse_job_id"] = job.reverse_job_id
        if status == "completed":
            data["completed_at"] = self._iso(job.ready_at)
        if status == "failed":
            data["error"] = {"code": "generation_failed", "message": FAILED_MESSAGE}
            data["credits_refunded"] = job.cost
        return data

    def _job_old(self, job: MaskoJob) -> dict[str, Any]:
        status = job.status_at(self.now())
        urls = self._urls(job)
        data: dict[str, Any] = {
            "id": job.id,
            "status": status,
            "type": OLD_JOB_TYPES[job.kind],
            "collection_id": job.collection_id,
            "created_at": self._iso(job.created),
            "completed_at": self._iso(job.ready_at) if status in ("completed", "failed") else None,
            "output_data": {"item_id": job.item_id, "duration": job.duration},
            "asset_ids": dict(job.asset_ids),
            "urls": urls,
            "assets": [{"type": asset_type, "url": url} for asset_type, url in urls.items()],
        }
        if status == "failed":
            data["error"] = FAILED_MESSAGE
        return data
