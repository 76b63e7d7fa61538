"""The Masko simulator's generate routes: one request or a batch, each validated into a `Plan` (what it makes, what
it costs) before anything is charged, then committed as jobs (a transition's reverse as a second, free job)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from providers.masko.simulator.jobs import JobRoutes
from providers.masko.simulator.parsing import ApiError, json_object, opt_bool, opt_str, read_duration, read_sizes
from providers.masko.simulator.state import (
    COST_EDIT,
    COST_IMAGE,
    COST_LOGO,
    COST_PER_SECOND,
    GENERATION_TYPES,
    IMAGE_ASSETS,
    LOGO_BLOCKED_PLANS,
    MAX_BATCH,
    VIDEO_ASSETS,
    Caller,
    MaskoAsset,
    MaskoCollection,
    MaskoItem,
    MaskoJob,
    Plan,
    reverse_name,
    title,
)

__all__ = ["GenerationRoutes"]


@dataclass(frozen=True)
class _Request:
    """A generate request's fields, each type-checked (and its item and assets found), not yet validated as a whole."""

    kind: str
    name: str | None
    prompt: str | None
    image_prompt: str | None
    animation_prompt: str | None
    edit_instructions: str | None
    logo_description: str | None
    reverse_name: str | None
    duration: int
    loop: bool
    auto_reverse: bool
    sizes: list[int]
    item: MaskoItem | None
    source: MaskoAsset | None
    end: MaskoAsset | None

    @property
    def fails(self) -> bool:
        """A `[fail]` in any text makes the job fail (to exercise refunds)."""
        texts = (self.prompt, self.image_prompt, self.animation_prompt, self.edit_instructions, self.logo_description)
        return any(text is not None and "[fail]" in text for text in texts)


class GenerationRoutes(JobRoutes):
    """`POST /collections/:id/generate` and `/generate-batch`."""

    async def _generate(self, request: Request, caller: Caller) -> Response:
        collection = self._collection(request, caller)
        plan = self._plan(caller, collection, await json_object(request))
        self._check_funds(caller.account, plan.cost)
        data = self._submitted(*self._commit(caller, collection, plan))
        return self._reply(data, {**data, "poll": data["poll_url"]}, status=202, top={"poll": data["poll_url"]})

    async def _generate_batch(self, request: Request, caller: Caller) -> Response:
        collection = self._collection(request, caller)
        body = await json_object(request)
        # /docs/generate/batch names the list `requests`, /docs/generation names it `items`: accept both.
        entries = body["requests"] if "requests" in body else body.get("items")
        if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
            raise ApiError(400, "requests must be a non-empty array of generate requests")
        if len(entries) > MAX_BATCH:
            raise ApiError(400, f"A batch holds at most {MAX_BATCH} requests, got {len(entries)}")
        plans = []
        for index, entry in enumerate(entries):
            try:
                plans.append(self._plan(caller, collection, entry))
            except ApiError as exc:
                exc.message = f"requests[{index}]: {exc.message}"
                raise
        total = sum(plan.cost for plan in plans)
        self._check_funds(caller.account, total)
        jobs = [self._submitted(*self._commit(caller, collection, plan)) for plan in plans]
        return self._reply({"jobs": jobs, "total_cost": total}, status=202)

    def _plan(self, caller: Caller, collection: MaskoCollection, body: dict[str, Any]) -> Plan:
        """Validate one generate request into a plan (raises `ApiError`, charges nothing)."""
        request = self._read(caller, collection, body)
        if request.kind in ("image", "logo"):
            return self._image_plan(caller, request)
        if request.kind == "edit":
            return self._edit_plan(collection, request)
        return self._animation_plan(request)

    def _read(self, caller: Caller, collection: MaskoCollection, body: dict[str, Any]) -> _Request:
        kind = body.get("type")
        if kind not in GENERATION_TYPES:
            raise ApiError(400, f"type must be one of {', '.join(GENERATION_TYPES)}")
        name = opt_str(body, "name")
        prompt, image_prompt, animation_prompt, edit_instructions, logo_description = (
            opt_str(body, key)
            for key in ("prompt", "image_prompt", "animation_prompt", "edit_instructions", "logo_description")
        )
        for key in ("logo_style_name", "logo_style_instruction"):
            opt_str(body, key)  # type-checked only
        request = _Request(
            kind=kind,
            name=name,
            prompt=prompt,
            image_prompt=image_prompt,
            animation_prompt=animation_prompt,
            edit_instructions=edit_instructions,
            logo_description=logo_description,
            reverse_name=opt_str(body, "reverse_name"),
            duration=read_duration(body),
            loop=opt_bool(body, "loop", True),
            auto_reverse=opt_bool(body, "auto_reverse", False),
            sizes=[s for s in read_sizes(body.get("sizes"), "sizes", []) if s in collection.animation_sizes],
            item=self._collection_item(collection, opt_str(body, "item_id")),
            source=self._image_asset(caller, opt_str(body, "source_image_asset_id"), "source_image_asset_id"),
            end=self._image_asset(caller, opt_str(body, "end_image_asset_id"), "end_image_asset_id"),
        )
        if request.end is not None and kind != "animation":
            raise ApiError(400, "end_image_asset_id is only used by animations (transitions)")
        if request.auto_reverse and request.end is None:
            raise ApiError(400, "auto_reverse needs end_image_asset_id: it reverses a transition")
        return request

    def _image_plan(self, caller: Caller, request: _Request) -> Plan:
        """An image (a pose) or a logo."""
        kind, item, prompt = request.kind, request.item, request.prompt
        if kind == "logo" and caller.account.plan.lower() in LOGO_BLOCKED_PLANS:
            raise ApiError(403, "Logo generation requires a Pro plan or higher")
        text = (request.image_prompt or prompt) if kind == "image" else (request.logo_description or prompt or "logo")
        if not text:
            raise ApiError(400, "image_prompt (or prompt) is required")
        label = request.name or (item.name if item else ("Logo" if kind == "logo" else title(text)))
        cost = COST_IMAGE if kind == "image" else COST_LOGO
        return Plan(kind, item, label, kind, text, cost, IMAGE_ASSETS, request.fails)

    def _edit_plan(self, collection: MaskoCollection, request: _Request) -> Plan:
        """An edit of an image asset or of an item's latest image."""
        item, source = request.item, request.source
        instructions = request.edit_instructions or request.prompt
        if source is None and item is None:
            raise ApiError(400, "edit needs source_image_asset_id or item_id")
        if not instructions:
            raise ApiError(400, "edit_instructions is required")
        if source is None and item is not None:
            self._item_image(item)  # the item must have an image to edit
        if item is None and source is not None:  # editing an item's image adds to that item
            owner = self.items.get(source.item_id or "")
            item = owner if owner and owner.collection_id == collection.id else None
        label = request.name or (item.name if item else title(instructions))
        return Plan("edit", item, label, "image", instructions, COST_EDIT, IMAGE_ASSETS, request.fails)

    def _animation_plan(self, request: _Request) -> Plan:
        """An animation: from scratch (image + video), from an existing image, or a transition to an end image."""
        item, source, prompt, duration = request.item, request.source, request.prompt, request.duration
        plan = Plan("animation", item, "", "animation", "", COST_PER_SECOND * duration, VIDEO_ASSETS, request.fails)
        plan.duration, plan.loop, plan.sizes = duration, request.loop, request.sizes
        if source is None and item is not None:
            source = self._item_image(item)
        if source is None:
            pose = request.image_prompt or prompt
            if not pose:
                raise ApiError(400, "image_prompt (or prompt) is required to animate from scratch")
            plan.prompt, plan.item_name = request.animation_prompt or prompt or pose, request.name or title(pose)
            plan.cost += COST_IMAGE
            plan.asset_types = IMAGE_ASSETS + VIDEO_ASSETS
            return plan
        plan.prompt = request.animation_prompt or prompt or "subtle idle motion"
        plan.item_name = request.name or (item.name if item else title(plan.prompt))
        if request.end is not None:
            plan.loop = False  # transitions play once
            if request.auto_reverse:
                plan.reverse_name = request.reverse_name or reverse_name(plan.item_name)
        return plan

    def _commit(self, caller: Caller, collection: MaskoCollection, plan: Plan) -> tuple[MaskoJob, MaskoJob | None]:
        """Create the plan's item (unless it reuses one), charge and start its job, and its reverse if asked."""
        item = plan.item or self._new_item(collection, plan.item_name, plan.item_type, plan.prompt)
        job = self._start_job(caller, collection, dataclasses.replace(plan, item=item))
        if plan.reverse_name is None:
            return job, None
        reverse_item = self._new_item(collection, plan.reverse_name, "animation", f"reverse of {plan.item_name}")
        reverse_plan = dataclasses.replace(
            plan,
            kind="reverse",
            item=reverse_item,
            item_name=reverse_item.name,
            prompt=f"{plan.prompt} (reversed)",
            cost=0,
            asset_types=VIDEO_ASSETS,
            reverse_name=None,
        )
        reverse = self._start_job(caller, collection, reverse_plan)
        reverse.reverse_of, job.reverse_job_id = job.id, reverse.id
        return job, reverse
