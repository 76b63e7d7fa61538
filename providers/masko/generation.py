"""Masko generation operations: one pose, animation, transition, edit or logo; up to ten at once; the account's
jobs; and pose ideas for a mascot."""

from __future__ import annotations

import dataclasses

from providers.base import Completed, OperationContext, Submitted, compact, operation
from providers.masko.api import INSTANT, listing, page_details, rate_details
from providers.masko.inputs import GenerateBatchInput, GenerateInput, ListJobsInput, MascotInput
from providers.masko.jobs import MaskoJobs
from providers.masko.pricing import BATCH_COST, FREE, GENERATE_COST, batch_estimate, request_cost
from providers.masko.wire import Page, SuggestionsBody
from providers.masko.wire_jobs import BatchBody, GenerateBody, Job

__all__ = ["MaskoGeneration"]

_PENDING = (
    "CDN links come back at once, marked pending: they serve a placeholder until the job finishes and then the real "
    "file at the same URL, so they can be embedded right away."
)
_FILES = (
    "links per file (image and transparent_image PNGs; video MP4; webm and hevc with alpha; sized variants such as "
    "webm_480)"
)
_JOB_DETAILS = "details: item_id, item_name, asset_ids (an image asset id feeds later animations, edits, transitions)"


class MaskoGeneration(MaskoJobs):
    """Generating for a mascot, and following its jobs."""

    @operation(
        GenerateInput,
        name="generate",
        title="Generate a pose, animation, edit or logo",
        summary="Generate one thing for a mascot, chosen by `type`:\n"
        "- image: a new pose — `name` + `image_prompt` (or `prompt`); with `item_id` it redraws that pose.\n"
        "- animation from scratch: `image_prompt` (pose) + `animation_prompt` (motion); `duration` 3–10 s "
        "(default 4), `loop` (default true), `sizes` for extra sizes.\n"
        "- animation of an existing image: `source_image_asset_id` or `item_id` + `animation_prompt`.\n"
        "- transition A→B: `source_image_asset_id` (or `item_id`) + `end_image_asset_id`; plays once; "
        "`auto_reverse: true` also makes B→A for free (`reverse_name`).\n"
        "- edit: `source_image_asset_id` or `item_id` + `edit_instructions`.\n"
        "- logo: `logo_description` (+ `logo_style_name`, `logo_style_instruction`); needs a Pro plan.\n" + _PENDING,
        kind="spend",
        cost=GENERATE_COST,
        duration="images and edits: seconds; animations take longer (often minutes) — the wait is held by "
        "Masko, so waiting costs nothing",
        returns=f"pending {_FILES}, final once done; {_JOB_DETAILS}, estimated_cost. An auto-reversed "
        "transition lists the reverse job under `related` (one poll finishes both).",
        estimate=request_cost,
    )
    async def generate(self, args: GenerateInput, context: OperationContext) -> Submitted:
        response = await self._send(
            "POST",
            f"collections/{args.mascot_id}/generate",
            json=args.payload(exclude={"mascot_id"}),
            spend=True,
            what="mascot, item or asset",
            logo=args.type == "logo",
        )
        job = self.client.parse(response, GenerateBody, accepted=True)
        cost = job.estimated_cost if job.estimated_cost is not None else request_cost(args)
        first, *rest = self._started(job, args.mascot_id, charged=cost)
        return dataclasses.replace(first, details={**first.details, **rate_details(response)}, related=tuple(rest))

    @operation(
        GenerateBatchInput,
        name="generate_batch",
        title="Generate up to 10 at once",
        summary="Start up to 10 generations for one mascot in one call (all run in parallel), e.g. a full "
        "set of poses. Each entry of `requests` is shaped like masko_generate's arguments (without "
        "mascot_id). " + _PENDING,
        kind="spend",
        cost=BATCH_COST,
        duration="like the slowest request in the batch",
        returns=f"the first job as `job` and the others under `related` (one poll finishes all); pending "
        f"{_FILES}; details.total_cost.",
        estimate=batch_estimate,
    )
    async def generate_batch(self, args: GenerateBatchInput, context: OperationContext) -> Submitted:
        response = await self._send(
            "POST",
            f"collections/{args.mascot_id}/generate-batch",
            json={"requests": [request.payload() for request in args.requests]},
            spend=True,
            what="mascot, item or asset",
            logo=any(request.type == "logo" for request in args.requests),
        )
        batch = self.client.parse(response, BatchBody, accepted=True)
        total = batch.total_cost if batch.total_cost is not None else batch_estimate(args)
        outcome = self._one_charge(batch.jobs, args.mascot_id, total, {"total_cost": total}, response)
        assert isinstance(outcome, Submitted), "a batch lists at least one job"
        return outcome

    @operation(
        ListJobsInput,
        name="list_jobs",
        title="List Masko jobs",
        summary="List recent Masko generation jobs on the account (also ones started outside genmcp), "
        "filtered by status, mascot or type. Each has a handle for `poll`.",
        kind="read",
        cost=FREE,
        duration=INSTANT,
        returns="details.jobs = [{job (handle for poll), status, type, mascot_id, item_name, cost}].",
    )
    async def list_jobs(self, args: ListJobsInput, context: OperationContext) -> Completed:
        params = compact(
            {
                "status": args.status,
                "collection_id": args.mascot_id,
                "type": args.type,
                "limit": args.limit,
                "offset": args.offset,
            }
        )
        response = await self._send("GET", "jobs", params=params)
        page = self.client.parse(response, Page[Job])
        rows = [
            compact(
                {
                    "job": f"{self.name}:{job.id}",
                    "status": job.status,
                    "type": job.type,
                    "mascot_id": job.collection_id,
                    "item_name": job.item_name,
                    "cost": job.cost_credits,
                    "created_at": job.created_at,
                }
            )
            for job in page.rows
        ]
        return Completed(
            details={"jobs": rows, **page_details(page, args), **rate_details(response)},
            text=listing("Jobs", (f"{r['job']} {r['status']} {r.get('item_name') or ''}".rstrip() for r in rows)),
        )

    @operation(
        MascotInput,
        name="suggest_actions",
        title="Suggest poses",
        summary="Ask Masko for 6–8 pose/action names that suit a mascot (existing items excluded), usable "
        "as `name` values in masko_generate_batch.",
        kind="read",
        cost=FREE,
        duration="several seconds",
        returns="details.suggestions = [names].",
    )
    async def suggest_actions(self, args: MascotInput, context: OperationContext) -> Completed:
        response = await self._send("POST", f"collections/{args.mascot_id}/suggest-actions", json={}, what="mascot")
        suggestions = self.client.parse(response, SuggestionsBody).suggestions
        return Completed(
            details={"suggestions": suggestions, **rate_details(response)}, text=listing("Suggested poses", suggestions)
        )
