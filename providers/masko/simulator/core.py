"""What every part of the Masko simulator shares: its state, the lookups that check who owns what, replies in the
current shape (the newer `{data: …}` envelope or the older bare objects), credits taken and given back, and the
CDN URLs of a job's files."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from providers._sandbox.faults import Faults, RequestLog
from providers.masko.simulator.canvas import Canvas
from providers.masko.simulator.catalog import STYLE_ALIASES, STYLES
from providers.masko.simulator.parsing import ERROR_CODES, ApiError, read_number
from providers.masko.simulator.state import (
    IMAGE_ASSETS,
    MAX_PAGE_LIMIT,
    PAGE_LIMIT,
    Caller,
    MaskoAccount,
    MaskoAsset,
    MaskoCollection,
    MaskoItem,
    MaskoJob,
    MaskoProject,
)

__all__ = ["Handler", "SimulatorCore"]


class _Owned(Protocol):
    key: str


_T = TypeVar("_T")
_O = TypeVar("_O", bound=_Owned)

Handler = Callable[[Request, Caller], Awaitable[Response]]
"""An API route's handler: the request and its authenticated caller in, a response out."""


class SimulatorCore:
    """The state and shared steps of the simulator (its routes are added by the mixins of `MaskoSimulator`)."""

    accounts: dict[str, MaskoAccount]
    job_seconds: float
    now: Callable[[], float]
    sleep: Callable[[float], Awaitable[None]]
    public_url: str
    envelope: bool
    """Answer in the newer `{data: …}` envelope (else the older bare objects)."""
    wait_timeout: float
    """The longest `GET /jobs/:id?wait=true` holds."""
    rate_limit: int | None
    """Requests per key and minute (None: unlimited, the documented headers still sent)."""
    projects: dict[str, MaskoProject]
    collections: dict[str, MaskoCollection]
    items: dict[str, MaskoItem]
    assets: dict[str, MaskoAsset]
    jobs: dict[str, MaskoJob]
    canvases: dict[str, Canvas]
    requests: RequestLog
    faults: Faults
    app: Starlette
    _epoch: float
    _cdn_paths: dict[str, str]
    _files: dict[str, bytes]
    _previews: dict[str, tuple[str, float]]
    _windows: dict[str, tuple[float, int]]

    def error_body(self, status: int, message: str, **extra: Any) -> dict[str, Any]:
        """An error body in the current envelope mode (handy for `faults.add(..., body=...)`)."""
        if self.envelope:
            return {"error": {"code": ERROR_CODES.get(status, "internal_error"), "message": message, **extra}}
        return {"error": message, **extra}

    def _settle(self) -> None:
        """Give back the credits of every job that failed since (whether or not anyone polls it)."""
        now = self.now()
        for job in self.jobs.values():
            if not job.refunded and job.status_at(now) == "failed":
                job.refunded = True
                account = self.accounts.get(job.key)
                if account is not None:
                    account.subscription_credits += job.charged[0]
                    account.topup_credits += job.charged[1]

    def _check_funds(self, account: MaskoAccount, cost: int) -> None:
        """Refuse (402) what the account cannot pay for."""
        if cost <= account.total:
            return
        if self.envelope:
            message = f"Not enough credits. Required: {cost}, balance: {account.total}."
            raise ApiError(402, message, required=cost, balance=account.total)
        raise ApiError(402, "Insufficient credits", required=cost, available=account.total)

    def _owned(self, table: dict[str, _O], ident: str, caller: Caller, what: str) -> _O:
        """The record with this id, if the caller owns it (else 404 or 403)."""
        found = table.get(ident)
        if found is None:
            raise ApiError(404, f"{what} not found")
        if found.key != caller.key:
            raise ApiError(403, f"Access denied: you do not own this {what.lower()}")
        return found

    def _collection(self, request: Request, caller: Caller) -> MaskoCollection:
        """The collection the path names."""
        return self._owned(self.collections, request.path_params["collection_id"], caller, "Collection")

    def _collection_items(self, collection: MaskoCollection) -> list[MaskoItem]:
        return [item for item in self.items.values() if item.collection_id == collection.id]

    def _collection_item(self, collection: MaskoCollection, item_id: str | None) -> MaskoItem | None:
        """The collection's item with this id (None for no id)."""
        if item_id is None:
            return None
        item = self.items.get(item_id)
        if item is None or item.collection_id != collection.id:
            raise ApiError(404, "Item not found in this collection")
        return item

    def _item_image(self, item: MaskoItem) -> MaskoAsset:
        """The item's latest image (what animating or editing the item uses)."""
        for asset_id in reversed(item.asset_ids):
            if self.assets[asset_id].type == "image":
                return self.assets[asset_id]
        raise ApiError(400, f"Item {item.name!r} has no image to use as the source")

    def _image_asset(self, caller: Caller, asset_id: str | None, name: str) -> MaskoAsset | None:
        """The caller's image asset with this id (None for no id)."""
        if asset_id is None:
            return None
        asset = self._owned(self.assets, asset_id, caller, "Asset")
        if asset.type not in IMAGE_ASSETS:
            raise ApiError(400, f"{name} must refer to an image asset, not {asset.type}")
        return asset

    def _style(self, style: str | None) -> str | None:
        """A known style id (aliases such as '3d' resolved)."""
        if style is None:
            return None
        style = STYLE_ALIASES.get(style.lower(), style.lower())
        if style not in {sid for sid, _ in STYLES}:
            raise ApiError(400, f"Unknown style {style!r}; see GET /v1/styles")
        return style

    def _iso(self, t: float) -> str:
        """A clock time as an ISO 8601 timestamp."""
        return datetime.fromtimestamp(self._epoch + t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    def _reply(
        self, data: Any, bare: Any = None, *, status: int = 200, top: dict[str, Any] | None = None
    ) -> JSONResponse:
        """`{data, …top}` in envelope mode, else the bare body (`data` itself unless a distinct one is given)."""
        body = {"data": data, **(top or {})} if self.envelope else (data if bare is None else bare)
        return JSONResponse(body, status)

    def _list(
        self,
        request: Request,
        rows: list[_T],
        new: Callable[[_T], dict[str, Any]],
        old: Callable[[_T], dict[str, Any]],
        old_key: str,
    ) -> JSONResponse:
        """A page of `rows`: `{data, meta: {pagination}}` in envelope mode, else `{old_key: [...]}`."""
        limit = int(read_number(request.query_params.get("limit", str(PAGE_LIMIT)), "limit"))
        offset = int(read_number(request.query_params.get("offset", "0"), "offset"))
        if not (1 <= limit <= MAX_PAGE_LIMIT and offset >= 0):
            raise ApiError(400, f"limit must be 1-{MAX_PAGE_LIMIT} and offset at least 0")
        page = rows[offset : offset + limit]
        if not self.envelope:
            return JSONResponse({old_key: [old(row) for row in page]})
        pagination = {"total": len(rows), "limit": limit, "offset": offset, "has_more": offset + len(page) < len(rows)}
        return JSONResponse({"data": [new(row) for row in page], "meta": {"pagination": pagination}})

    def _error_response(self, exc: ApiError) -> JSONResponse:
        return JSONResponse(self.error_body(exc.status, exc.message, **exc.extra), exc.status, headers=exc.headers)

    async def _http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        status = exc.status_code if exc.status_code in ERROR_CODES else 400
        return self._error_response(ApiError(status, exc.detail, headers=dict(exc.headers or {})))

    def _job_status(self, job_id: str | None) -> str | None:
        """A job's status now (None when there is no such job)."""
        job = self.jobs.get(job_id) if job_id else None
        return job.status_at(self.now()) if job else None

    def _asset_url(self, asset_id: str) -> str:
        """The CDN URL of an asset."""
        return f"{self.public_url.rstrip('/')}/cdn/{self.assets[asset_id].path}"

    def _urls(self, job: MaskoJob) -> dict[str, str]:
        """A job's file URLs by asset type, size variants included."""
        collection = self.collections[job.collection_id]
        # Without the CDN there are no placeholders: URLs appear once the files exist.
        if not collection.cdn_enabled and job.status_at(self.now()) != "completed":
            return {}
        return {key: self._asset_url(asset_id) for key, asset_id in {**job.asset_ids, **job.variant_ids}.items()}
