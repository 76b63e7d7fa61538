"""The Masko simulator's project and collection routes: projects, collections (a mascot each; one created from a
prompt alone starts its reference image job), their settings, items, file URLs and pose suggestions, with the
newer and older JSON shape of each."""

from __future__ import annotations

import hashlib
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from providers.masko.simulator.catalog import ACTIONS
from providers.masko.simulator.jobs import JobRoutes
from providers.masko.simulator.parsing import (
    ApiError,
    http_host,
    json_object,
    opt_bool,
    opt_str,
    read_sizes,
    req_str,
    str_list,
)
from providers.masko.simulator.state import (
    ANIMATION_SIZES,
    COST_REFERENCE,
    IMAGE_ASSETS,
    MAX_REFERENCES,
    Caller,
    MaskoCollection,
    MaskoItem,
    MaskoProject,
    Plan,
    new_id,
    slugify,
    title,
)

__all__ = ["CollectionRoutes"]


class CollectionRoutes(JobRoutes):
    """`/projects` and `/collections/:id` (without generation and canvases)."""

    async def _create_project(self, request: Request, caller: Caller) -> Response:
        body = await json_object(request)
        project = MaskoProject(new_id(), caller.key, req_str(body, "name"), self.now())
        self.projects[project.id] = project
        return self._reply(self._project_new(project), self._project_old(project), status=201)

    async def _list_projects(self, request: Request, caller: Caller) -> Response:
        rows = [p for p in self.projects.values() if p.key == caller.key]
        return self._list(request, rows, self._project_new, self._project_old, "projects")

    async def _create_collection(self, request: Request, caller: Caller) -> Response:
        body = await json_object(request)
        project = self._owned(self.projects, req_str(body, "project_id"), caller, "Project")
        # `prompt` (from-text docs) and `description` (quickstart) both carry the character description.
        prompt = opt_str(body, "prompt") or opt_str(body, "description")
        style = self._style(opt_str(body, "style"))
        ref_ids = str_list(body, "reference_asset_ids")
        ref_urls = str_list(body, "reference_image_urls")
        for asset_id in ref_ids:
            self._image_asset(caller, asset_id, "reference_asset_ids")
        for url in ref_urls:
            http_host(url, "reference_image_urls")
        if len(ref_ids) + len(ref_urls) > MAX_REFERENCES:
            raise ApiError(400, f"A collection holds at most {MAX_REFERENCES} reference images")
        sizes = read_sizes(body.get("animation_sizes"), "animation_sizes", list(ANIMATION_SIZES))
        direct = not (ref_ids or ref_urls)
        if direct and not prompt:
            raise ApiError(400, "prompt (or description) is required when no reference images are given")
        if direct:
            self._check_funds(caller.account, COST_REFERENCE)
        name = opt_str(body, "name") or (title(prompt) if prompt else "Mascot")
        now = self.now()
        collection = MaskoCollection(
            id=new_id(),
            key=caller.key,
            project_id=project.id,
            name=name,
            prompt=prompt or f"The character shown in the reference images of {name}",
            style=style,
            slug=self._unique_slug(name),
            user_prefix=hashlib.sha256(caller.key.encode()).hexdigest()[:6],
            created=now,
            updated=now,
            reference_asset_ids=ref_ids,
            reference_image_urls=ref_urls,
            animation_sizes=sizes,
            cdn_enabled=opt_bool(body, "cdn_enabled", True),
        )
        self.collections[collection.id] = collection
        reference_job = None
        if direct:
            fails = "[fail]" in collection.prompt
            plan = Plan("reference", None, "Reference", "", collection.prompt, COST_REFERENCE, ("image",), fails)
            reference_job = self._start_job(caller, collection, plan)
            collection.reference_asset_ids.append(reference_job.asset_ids["image"])
        created = {"reference_job_id": reference_job.id if reference_job else None}
        old = self._collection_old(collection)
        summary: dict[str, Any] = {"id": collection.id, "name": name, "prompt": collection.prompt}
        summary |= {"cdn_enabled": collection.cdn_enabled, "created_at": old["created_at"]}
        # Quickstart reads `collection.id` from the body, from-text reads `{ collection }`: serve both.
        bare = {**old, **summary, **created, "collection": summary}
        return self._reply({**self._collection_new(collection), **created}, bare, status=201)

    async def _list_collections(self, request: Request, caller: Caller) -> Response:
        project_id = request.query_params.get("project_id")
        rows = [
            c
            for c in self.collections.values()
            if c.key == caller.key and (project_id is None or c.project_id == project_id)
        ]
        return self._list(request, rows, self._collection_new, self._collection_list_old, "collections")

    async def _get_collection(self, request: Request, caller: Caller) -> Response:
        collection = self._collection(request, caller)
        return self._reply(self._collection_new(collection), self._collection_old(collection))

    async def _update_settings(self, request: Request, caller: Caller) -> Response:
        collection = self._collection(request, caller)
        body = await json_object(request)
        params = body.get("publish_params")
        if not isinstance(params, dict) or not isinstance(params.get("animation_sizes"), dict):
            raise ApiError(400, "publish_params.animation_sizes must be an object")
        conf: dict[str, Any] = params["animation_sizes"]
        enabled = opt_bool(conf, "enabled", True)
        sizes = read_sizes(conf.get("sizes"), "sizes", list(collection.animation_sizes))
        collection.animation_sizes = sizes if enabled else []
        collection.updated = self.now()
        data = {"id": collection.id, "animation_sizes": {"enabled": enabled, "sizes": collection.animation_sizes}}
        return self._reply(data)

    async def _list_items(self, request: Request, caller: Caller) -> Response:
        collection = self._collection(request, caller)
        rows = self._collection_items(collection)
        return self._list(request, rows, self._item_json, self._item_json, "items")

    async def _collection_urls(self, request: Request, caller: Caller) -> Response:
        collection = self._collection(request, caller)
        items: list[dict[str, Any]] = []
        for item in self._collection_items(collection):
            entry: dict[str, Any] = {"name": item.name}
            animations: list[dict[str, str]] = []
            for job in self.jobs.values():
                if job.item_id != item.id:
                    continue
                urls = self._urls(job)
                entry.update({k: urls[k] for k in IMAGE_ASSETS if k in urls})
                if "webm" in urls:
                    animations.append(
                        {
                            "video": urls["video"],
                            "transparent_video_webm": urls["webm"],
                            "transparent_video_mov": urls["hevc"],
                        }
                    )
            if animations:
                entry["animations"] = animations
            items.append(entry)
        return self._reply({"collection": collection.name, "items": items})

    async def _suggest_actions(self, request: Request, caller: Caller) -> Response:
        collection = self._collection(request, caller)
        existing = {item.name.casefold() for item in self._collection_items(collection)}
        start = int(hashlib.sha256(collection.id.encode()).hexdigest()[:8], 16) % len(ACTIONS)
        rotated = ACTIONS[start:] + ACTIONS[:start]
        suggestions = [action for action in rotated if action.casefold() not in existing][:8]
        return self._reply({"suggestions": suggestions})

    def _unique_slug(self, name: str) -> str:
        base = slugify(name, "mascot")[:44]
        taken = {collection.slug for collection in self.collections.values()}
        slug, n = base, 2
        while slug in taken:
            slug, n = f"{base}-{n}", n + 1
        return slug

    def _project_new(self, project: MaskoProject) -> dict[str, Any]:
        created = self._iso(project.created)
        return {
            "id": project.id,
            "name": project.name,
            "organization_id": None,
            "created_at": created,
            "updated_at": created,
        }

    def _project_old(self, project: MaskoProject) -> dict[str, Any]:
        return {"id": project.id, "name": project.name, "created_at": self._iso(project.created)}

    def _collection_new(self, collection: MaskoCollection) -> dict[str, Any]:
        return {
            "id": collection.id,
            "project_id": collection.project_id,
            "name": collection.name,
            "type": "mascot",
            "slug": collection.slug,
            "user_prefix": collection.user_prefix,
            "is_published": False,
            "public_slug": None,
            "cdn_enabled": collection.cdn_enabled,
            "created_at": self._iso(collection.created),
            "updated_at": self._iso(collection.updated),
            "config": {
                "prompt": collection.prompt,
                "style": collection.style,
                "reference_asset_ids": list(collection.reference_asset_ids),
                "reference_image_urls": list(collection.reference_image_urls),
                "style_card": collection.style_card,
                "caution_list": list(collection.caution_list),
                "animation_sizes": list(collection.animation_sizes),
            },
        }

    def _collection_old(self, collection: MaskoCollection) -> dict[str, Any]:
        return {
            "id": collection.id,
            "project_id": collection.project_id,
            "name": collection.name,
            "description": collection.prompt,
            "config": {
                "style_card": collection.style_card,
                "reference_asset_ids": list(collection.reference_asset_ids),
                "caution_list": list(collection.caution_list),
            },
            "created_at": self._iso(collection.created),
            "updated_at": self._iso(collection.updated),
        }

    def _collection_list_old(self, collection: MaskoCollection) -> dict[str, Any]:
        items = self._collection_items(collection)
        return {
            "id": collection.id,
            "project_id": collection.project_id,
            "name": collection.name,
            "description": collection.prompt,
            "created_at": self._iso(collection.created),
            "item_count": len(items),
            "asset_count": sum(len(item.asset_ids) for item in items),
        }

    def _item_json(self, item: MaskoItem) -> dict[str, Any]:
        assets = []
        for asset_id in item.asset_ids:
            asset = self.assets[asset_id]
            status = self._job_status(asset.job_id) or "completed"
            url = self._asset_url(asset.id)
            assets.append(
                {
                    "id": asset.id,
                    "type": asset.type,
                    "size": asset.size,
                    "url": url,
                    "status": status,
                    "job_id": asset.job_id,
                }
            )
        return {
            "id": item.id,
            "collection_id": item.collection_id,
            "name": item.name,
            "type": item.type,
            "prompt": item.prompt,
            "created_at": self._iso(item.created),
            "assets": assets,
        }
