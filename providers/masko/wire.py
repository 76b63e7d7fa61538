"""Masko's response shapes: envelopes, lists, errors, and the account, project, mascot and helper answers.

The sources disagree on envelopes (`{data: …, meta?}` in the newest docs and OpenAPI, bare objects in the older
pages and the quickstart), on the credits shape (`{credits}`; `{subscription_credits, topup_credits, total}`;
`{data: {subscription, topup, total}}`) and on error bodies (`{error: {code, message, required, balance}}` vs
`{error: "…", required, available}`). Every response model here accepts all of them: `unwrap` takes `{data: X}` or
`X`. Job shapes are in `wire_jobs`, canvas shapes in `wire_canvas`.
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, Field, model_validator

from providers.masko.inputs import Id

__all__ = [
    "AnalysisBody",
    "Body",
    "Collection",
    "CollectionBody",
    "CreditsBody",
    "ErrorBody",
    "HttpUrl",
    "Item",
    "Page",
    "PreviewBody",
    "Project",
    "ProjectBody",
    "StylesBody",
    "SuggestionsBody",
    "UploadBody",
    "UrlsBody",
    "unwrap",
]

HttpUrl = Annotated[str, Field(pattern=r"^https?://")]
RowT = TypeVar("RowT", bound=BaseModel)


def unwrap(body: Any) -> Any:
    """`{data: X, …}` → X (top-level siblings such as `poll` kept when X is an object); anything else as it is."""
    if isinstance(body, dict) and "data" in body:
        data = body["data"]
        if isinstance(data, dict):
            return {**{k: v for k, v in body.items() if k not in ("data", "meta")}, **data}
        return data
    return body


class Body(BaseModel):
    """A top-level response object, enveloped or bare."""

    @model_validator(mode="before")
    @classmethod
    def _envelope(cls, value: Any) -> Any:
        return unwrap(value)


class Page(BaseModel, Generic[RowT]):
    """A list: `{data: [...], meta: {pagination}}` (new) or `{<things>: [...]}` (old)."""

    rows: list[RowT]
    total: int | None = None
    has_more: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _rows(cls, value: Any) -> Any:
        if isinstance(value, list):
            return {"rows": value}
        if not isinstance(value, dict):
            return value
        data = value.get("data")
        rows = data if isinstance(data, list) else next((v for v in value.values() if isinstance(v, list)), None)
        meta = value.get("meta")
        pagination = meta.get("pagination") if isinstance(meta, dict) else None
        pagination = pagination if isinstance(pagination, dict) else {}
        return {"rows": rows, "total": pagination.get("total"), "has_more": pagination.get("has_more")}


class ErrorObject(BaseModel):
    """The newer error object."""

    code: str | None = None
    message: str = ""
    required: float | None = None
    balance: float | None = None


class ErrorBody(BaseModel):
    """`{error: {code, message, required, balance}}` (new) or `{error: "…", required, available}` (seed)."""

    error: ErrorObject | str
    required: float | None = None
    available: float | None = None
    balance: float | None = None

    @property
    def message(self) -> str:
        """The provider's words."""
        return self.error if isinstance(self.error, str) else self.error.message

    @property
    def code(self) -> str | None:
        """The provider's code, when the body has one."""
        return None if isinstance(self.error, str) else self.error.code

    @property
    def needed(self) -> float | None:
        """Credits the request needs (402)."""
        inner = None if isinstance(self.error, str) else self.error.required
        return inner if inner is not None else self.required

    @property
    def have(self) -> float | None:
        """Credits the account has (402)."""
        inner = None if isinstance(self.error, str) else self.error.balance
        for value in (inner, self.balance, self.available):
            if value is not None:
                return value
        return None


class Project(BaseModel):
    """A project."""

    id: str
    name: str = ""
    organization_id: str | None = None
    created_at: str | None = None


class ProjectBody(Project, Body):
    """A created project."""


class CollectionConfig(BaseModel):
    """A collection's generation settings."""

    prompt: str | None = None
    style: str | None = None
    reference_asset_ids: list[str] = Field(default_factory=list)
    reference_image_urls: list[str] = Field(default_factory=list)
    style_card: dict[str, Any] | None = None
    caution_list: list[str] = Field(default_factory=list)
    animation_sizes: list[int] = Field(default_factory=list)


class Collection(BaseModel):
    """A mascot, as listed (new: type/slug/user_prefix; old: description/item_count/asset_count)."""

    id: str
    name: str = ""
    project_id: str | None = None
    type: str | None = None
    slug: str | None = None
    description: str | None = None
    prompt: str | None = None
    cdn_enabled: bool | None = None
    created_at: str | None = None
    item_count: int | None = None
    asset_count: int | None = None
    config: CollectionConfig | None = None


class CollectionBody(Collection, Body):
    """A created or fetched mascot: new `{data: {…}}`; old bare object; from-text `{collection: {…}}`."""

    reference_job_id: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _collection_key(cls, value: Any) -> Any:
        value = unwrap(value)
        if isinstance(value, dict) and isinstance(value.get("collection"), dict):
            return {**value["collection"], **{k: v for k, v in value.items() if k != "collection"}}
        return value


class ItemAsset(BaseModel):
    """One file of an item."""

    id: str
    type: str
    size: int | None = None
    url: HttpUrl | None = None
    status: str | None = None
    job_id: str | None = None


class Item(BaseModel):
    """A pose/action of a mascot."""

    id: str
    name: str = ""
    type: str | None = None
    prompt: str | None = None
    assets: list[ItemAsset] = Field(default_factory=list)


class UrlItem(BaseModel):
    """One item of `/urls`."""

    name: str = ""
    image: HttpUrl | None = None
    transparent_image: HttpUrl | None = None
    animations: list[dict[str, HttpUrl]] = Field(default_factory=list)


class UrlsBody(Body):
    """`GET /collections/:id/urls`."""

    collection: str | None = None
    items: list[UrlItem] = Field(default_factory=list)


class CreditsBody(Body):
    """`GET /credits`: `{credits}`, `{subscription_credits, topup_credits, total}` or `{data: {subscription, …}}`."""

    credits: float | None = None
    total: float | None = None
    subscription_credits: float | None = None
    topup_credits: float | None = None
    subscription: float | None = None
    topup: float | None = None

    @model_validator(mode="after")
    def _some_balance(self) -> CreditsBody:
        if self.remaining is None:
            raise ValueError("no balance field (credits, total, or subscription + topup)")
        return self

    @property
    def remaining(self) -> float | None:
        """The spendable total."""
        if self.total is not None:
            return self.total
        if self.credits is not None:
            return self.credits
        subscription, topup = self.split
        return None if subscription is None or topup is None else subscription + topup

    @property
    def split(self) -> tuple[float | None, float | None]:
        """(subscription, top-up) credits, when the shape says."""
        subscription = self.subscription if self.subscription is not None else self.subscription_credits
        topup = self.topup if self.topup is not None else self.topup_credits
        return subscription, topup


class UploadBody(Body):
    """`POST /upload`."""

    asset_id: Id


class Style(BaseModel):
    """An art style."""

    id: str
    name: str = ""
    preview_url: HttpUrl | None = None


class StylesBody(Body):
    """`GET /styles`."""

    styles: list[Style]


class SuggestionsBody(Body):
    """`POST /collections/:id/suggest-actions`."""

    suggestions: list[str]


class Brand(BaseModel):
    """What analyze-url found about a brand."""

    name: str | None = None
    colors: list[str] = Field(default_factory=list)
    industry: str | None = None


class MascotIdea(BaseModel):
    """A suggested mascot."""

    name: str = ""
    prompt: str = ""
    style: str | None = None


class AnalysisBody(Body):
    """`POST /analyze-url`."""

    brand: Brand | None = None
    suggestions: list[MascotIdea] = Field(default_factory=list)


class PreviewImage(BaseModel):
    """A temporary preview."""

    url: HttpUrl


class PreviewBody(Body):
    """`POST /generate/preview`."""

    images: list[PreviewImage] = Field(min_length=1)
    cost: float | None = None
