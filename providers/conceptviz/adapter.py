"""ConceptViz: diagrams from a prompt (or up to four), and edits of existing images.

API: `POST /generate`, `POST /edit` (JSON), `GET /task/{taskId}` under `https://conceptviz.app/api/v1`, Bearer
`cvk_…` key. Asynchronous: a submit answers a task id and charges credits; the task is polled (every 3–5 s,
typically done in 30–90 s). There is no balance endpoint: the balance comes back in every submit response.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal

import httpx2
from pydantic import BaseModel, Field, ValidationError, model_validator

from providers.base import (
    JobUpdate,
    OperationContext,
    OperationInput,
    Provider,
    Simulator,
    Submitted,
    operation,
)
from server.errors import (
    AuthError,
    ContentRejected,
    ForbiddenError,
    GenmcpError,
    InsufficientCredits,
    InvalidInput,
    JobFailed,
    NotFoundError,
    RateLimited,
    UpstreamError,
)
from server.results import Asset, CreditsInfo
from server.upstream import retry_after_seconds

__all__ = ["ConceptViz", "EditInput", "GenerateInput"]

Model = Literal["cv-2", "cv-1"]
Quality = Literal["2k", "4k"]
Prompt = Annotated[str, Field(min_length=1, max_length=4000)]
AspectRatio = Annotated[
    str,
    Field(
        pattern=r"^([1-9][0-9]?:[1-9][0-9]?|a4-portrait|a4-landscape)$",
        description="Aspect ratio, e.g. '16:9', '1:1', '4:3', '9:16', 'a4-portrait'.",
    ),
]
ImageArg = Annotated[
    str,
    Field(
        min_length=1,
        max_length=30_000_000,
        description="An https:// URL, a data:image/...;base64 URL, raw base64, or an allowed local path.",
    ),
]
_PRICE = {("cv-2", "2k"): 2, ("cv-1", "2k"): 1, ("cv-1", "4k"): 2}
_PRICING = (
    "2 credits per image with cv-2; with cv-1, 1 credit (2k) or 2 credits (4k) per image. Charged when submitted, "
    "refunded automatically if the generation fails."
)
_TIMING = "typically 30–90 s"


class _QualityRule(OperationInput):
    model: Model = Field(default="cv-2", description="cv-2 (default, 2k) or cv-1 (2k or 4k).")
    quality: Quality | None = Field(default=None, description="cv-1 only: '2k' (default) or '4k'.")
    aspect_ratio: AspectRatio | None = None

    @model_validator(mode="after")
    def _cv2_is_2k_only(self) -> _QualityRule:
        if self.model == "cv-2" and self.quality == "4k":
            raise ValueError("cv-2 renders at 2k only; use model 'cv-1' for 4k")
        return self


class GenerateInput(_QualityRule):
    """Arguments of conceptviz_generate."""

    prompt: Prompt | None = Field(default=None, description="One diagram description.")
    prompts: list[Prompt] | None = Field(
        default=None, min_length=1, max_length=4, description="Up to 4 descriptions, one image each (a batch)."
    )

    @model_validator(mode="after")
    def _one_of_prompt_or_prompts(self) -> GenerateInput:
        if (self.prompt is None) == (self.prompts is None):
            raise ValueError("give either `prompt` (one diagram) or `prompts` (up to 4), not both or neither")
        return self


class EditInput(_QualityRule):
    """Arguments of conceptviz_edit."""

    prompt: Prompt = Field(description="The edit instructions.")
    images: list[ImageArg] = Field(min_length=1, max_length=4, description="1–4 input images.")


class _ErrorBody(BaseModel):
    error: str = ""
    code: str = ""
    credits_remaining: float | None = None


class _SubmitBody(BaseModel):
    taskId: str = Field(pattern=r"^[A-Za-z0-9_-]{1,128}$")
    status: str
    model: str | None = None
    quality: str | None = None
    aspect_ratio: str | None = None
    credits_used: float | None = None
    credits_remaining: float | None = None


class _Image(BaseModel):
    url: str = Field(pattern=r"^https?://")
    prompt: str | None = None


class _TaskBody(BaseModel):
    status: Literal["pending", "processing", "completed", "failed"]
    images: list[_Image] = Field(default_factory=list)
    error: str | None = None
    code: str | None = None
    credits_refunded: bool | None = None


_INVALID = {
    "INVALID_BODY",
    "PROMPT_REQUIRED",
    "TOO_MANY_PROMPTS",
    "UNSUPPORTED_MODEL",
    "IMAGE_REQUIRED",
    "INVALID_IMAGE",
    "TOO_MANY_IMAGES",
}


_PLAIN: dict[str, tuple[type[GenmcpError], str]] = {
    "INPUT_MODERATION_BLOCKED": (
        ContentRejected,
        "ConceptViz's safety checks blocked the prompt or an input image. Rephrase it or use another image.",
    ),
    "PLAN_REQUIRED": (ForbiddenError, "The ConceptViz API needs a Pro plan or higher on this account."),
    "QUALITY_NOT_ALLOWED": (ForbiddenError, "This ConceptViz plan does not allow that quality; use quality '2k'."),
    "PLAN_LIMIT_EXCEEDED": (
        ForbiddenError,
        "The batch is larger than this ConceptViz plan allows; send fewer prompts per call.",
    ),
}
"""Error codes whose answer needs nothing from the response: what genmcp says, and as which error."""


def _price(args: _QualityRule) -> float:
    """Credits per image for these options."""
    return _PRICE.get((args.model, args.quality or "2k"), 2)


class ConceptViz(Provider):
    """The ConceptViz adapter."""

    name = "conceptviz"
    title = "ConceptViz"
    default_base_url = "https://conceptviz.app/api/v1"
    poll_interval = 4.0
    sandbox_key = "cvk_sandbox"

    @staticmethod
    def _options(args: _QualityRule) -> dict[str, Any]:
        body: dict[str, Any] = {"model": args.model}
        if args.quality is not None:
            body["quality"] = args.quality
        if args.aspect_ratio is not None:
            body["aspectRatio"] = args.aspect_ratio
        return body

    @operation(
        GenerateInput,
        name="generate",
        title="Generate diagrams",
        summary="Generate clean, labelled diagrams (science, business, architecture, processes) from a text "
        "description. Give `prompt` for one image or `prompts` for up to 4 in one batch.",
        kind="spend",
        cost=_PRICING + " A batch costs the per-image price times the number of prompts.",
        duration=_TIMING,
        returns="one PNG link per prompt (assets), the credits charged and remaining.",
        estimate=lambda args: _price(args) * len(args.prompts or [args.prompt]),
    )
    async def generate(self, args: GenerateInput, context: OperationContext) -> Submitted:
        prompts = args.prompts if args.prompts is not None else [args.prompt or ""]
        body = {**self._options(args), **({"prompts": prompts} if args.prompts is not None else {"prompt": prompts[0]})}
        return await self._submit("generate", body, prompts)

    @operation(
        EditInput,
        name="edit",
        title="Edit diagrams",
        summary="Edit or redraw existing images (1–4: sketches, marked-up screenshots, old diagrams) into a clean "
        "diagram following the instructions in `prompt`.",
        kind="spend",
        cost=_PRICING + " One output image.",
        duration=_TIMING,
        returns="the edited PNG link (assets), the credits charged and remaining.",
        estimate=_price,
    )
    async def edit(self, args: EditInput, context: OperationContext) -> Submitted:
        images = [await context.inputs.reference(image, field=f"images[{i}]") for i, image in enumerate(args.images)]
        return await self._submit(
            "edit", {"prompt": args.prompt, "images": images, **self._options(args)}, [args.prompt]
        )

    async def _submit(self, path: str, body: dict[str, Any], prompts: list[str]) -> Submitted:
        response = await self.client.request("POST", path, json=body)
        if response.status_code != 200:
            raise self._error(response, spend=True)
        task = self.client.parse(response, _SubmitBody, accepted=True)
        quality = task.quality or body.get("quality") or "2k"
        model = task.model or body["model"]
        return Submitted(
            upstream_id=task.taskId,
            poll_interval=self.poll_interval,
            credits=CreditsInfo(
                charged=task.credits_used
                if task.credits_used is not None
                else _PRICE.get((model, quality), 2) * len(prompts),
                remaining=task.credits_remaining,
            ),
            details={"model": model, "quality": quality, "aspect_ratio": task.aspect_ratio, "prompts": prompts},
        )

    async def status(self, upstream_id: str, poll_state: Mapping[str, Any], *, hold: float) -> JobUpdate:
        response = await self.client.request("GET", f"task/{upstream_id}")
        if response.status_code != 200:
            raise self._error(response, task=upstream_id)
        task = self.client.parse(response, _TaskBody)
        if task.status in ("pending", "processing"):
            return JobUpdate(state="running", upstream_status=task.status)
        if task.status == "failed":
            refunded = bool(task.credits_refunded)
            return JobUpdate(
                state="failed",
                upstream_status="failed",
                error=JobFailed(
                    f"ConceptViz could not generate the image ({task.code or 'no code'}): {task.error or ''}".strip(),
                    retryable=True,
                    charged=True,
                    refunded=refunded,
                    upstream_code=task.code,
                ),
                credits=CreditsInfo(refunded=refunded),
            )
        if not task.images:
            raise UpstreamError("ConceptViz reported the task completed but listed no images.")
        return JobUpdate(
            state="completed",
            upstream_status="completed",
            assets=[
                Asset(
                    url=image.url,
                    kind="image",
                    mime_type="image/png",
                    name=f"conceptviz-{upstream_id}-{index + 1}.png",
                    description=image.prompt,
                )
                for index, image in enumerate(task.images)
            ],
        )

    def _error(self, response: httpx2.Response, *, spend: bool = False, task: str | None = None) -> GenmcpError:
        try:
            body = _ErrorBody.model_validate_json(response.content)
        except ValidationError:
            return self.client.error_for_status(response, spend=spend)
        said = self.client.redact(body.error)
        code = body.code
        if code in _INVALID:
            return InvalidInput(f"ConceptViz refused the request ({code}): {said}", upstream_code=code)
        if code in _PLAIN:
            kind, message = _PLAIN[code]
            return kind(message, upstream_code=code)
        if code in {"UNAUTHORIZED", "INVALID_API_KEY"}:
            return AuthError(
                f"ConceptViz refused the API key ({code}). Check {self.key_env()} "
                "(or providers.conceptviz.api_key) and that the key is active.",
                upstream_code=code,
            )
        if code == "INSUFFICIENT_CREDITS":
            left = f"{body.credits_remaining:g} left" if body.credits_remaining is not None else "balance unknown"
            return InsufficientCredits(
                f"Not enough ConceptViz credits ({left}). Top up, or use model cv-1 at 2k (1 credit per image).",
                upstream_code=code,
            )
        if code == "TASK_NOT_FOUND":
            return NotFoundError(
                f"ConceptViz has no task '{task}' for this key (it may belong to another account).", upstream_code=code
            )
        if code == "MODERATION_RATE_LIMITED":
            return RateLimited(
                "ConceptViz is rate-limiting moderation checks.",
                retry_after=retry_after_seconds(response),
                upstream_code=code,
            )
        if code == "CREDIT_CONSUMPTION_FAILED":
            return UpstreamError(
                "ConceptViz could not take the credits, so it did not start the job.", charged=False, upstream_code=code
            )
        if code == "GENERATION_FAILED":
            return JobFailed(
                f"ConceptViz could not generate the image: {said}",
                retryable=True,
                charged=True,
                refunded=True,
                upstream_code=code,
            )
        return self.client.error_for_status(response, detail=f"{code}: {said}" if code else said, spend=spend)

    async def balance(self) -> None:
        return None

    async def check(self) -> str:
        # No free read exists; asking for a task that cannot exist proves the key (404) or shows why not.
        response = await self.client.request("GET", "task/genmcp-key-check")
        if response.status_code == 404:
            return "key accepted (ConceptViz has no balance endpoint)"
        if response.status_code == 200:
            return "key accepted"
        raise self._error(response)

    @classmethod
    def simulator(cls, *, now: Callable[[], float], job_seconds: float) -> Simulator:
        from providers.conceptviz.simulator import ConceptVizSimulator

        return ConceptVizSimulator(now=now, job_seconds=job_seconds)
