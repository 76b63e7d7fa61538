"""Kolbo: images, video, music, speech, sound effects, Creative Director storyboards, chat, Visual DNA, moodboards.

API: JSON under `https://api.kolbo.ai/api`, routes `/v1/…`, key in `X-API-Key`. Every generation (chat included)
answers at once with an id, `credits_charged` and a `poll_url`, and is polled until `completed`, `failed` or
`cancelled`; a failure is refunded automatically. This module holds the adapter class and its job hooks (polling,
cancelling, the balance); the operations are declared in `generation` (paid) and `library` (free). Quirks handled
here (PROVIDERS.md §4):

- `poll_url` is host-relative and already holds `/api`: it is joined to the host root, which is the configured base
  URL without its `/api` suffix (`https://api.kolbo.ai`; in the sandbox `http://127.0.0.1:PORT/kolbo`). A base URL
  that does not end in `/api` (a proxy) falls back to its scheme and host.
- Chat answers `message_id`, not `generation_id`.
- Creative Director batches have their own status path and stay `processing` until every scene is done; the scenes
  finished so far are returned while it runs.
- A cancel answers how many credits it gave back (`credits_refunded`), which the job's credits carry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from providers.base import Balance, JobUpdate, Simulator, compact
from providers.kolbo.assets import GENERATION_KINDS, asset, http_urls
from providers.kolbo.generation import POLL_URL, KolboGeneration
from providers.kolbo.library import KolboLibrary
from providers.kolbo.wire import CancelledBody, CreditsBody, ResultBody, StatusBody
from server.errors import JobFailed, JobFinished, UpstreamError
from server.results import Asset, CreditsInfo

__all__ = ["Kolbo"]

_RUNNING = ("pending", "processing")


class Kolbo(KolboGeneration, KolboLibrary):
    """The Kolbo adapter (generation operations first, then the library's, as the tools are listed)."""

    name = "kolbo"
    title = "Kolbo"
    default_base_url = "https://api.kolbo.ai/api"
    poll_interval = 5.0
    sandbox_key = "kolbo_live_sandbox"
    can_cancel = True

    @classmethod
    def auth_headers(cls, key: str) -> Mapping[str, str]:
        return {"X-API-Key": key}

    # --- polling ---------------------------------------------------------------------------------

    def host_root(self) -> str:
        """Where Kolbo's host-relative `poll_url`s start: the base URL without `/api` (else scheme and host)."""
        base = str(self.client.http.base_url).rstrip("/")
        if base.endswith("/api"):
            return base[: -len("/api")]
        parts = urlsplit(base)
        return f"{parts.scheme}://{parts.netloc}"

    async def status(self, upstream_id: str, poll_state: Mapping[str, Any], *, hold: float) -> JobUpdate:
        batch = bool(poll_state.get("creative_director"))
        learned = False
        poll_url = poll_state.get("poll_url")
        if isinstance(poll_url, str) and POLL_URL.fullmatch(poll_url):
            response = await self.client.request("GET", self.host_root() + poll_url)
        else:
            response = await self.client.request("GET", _status_path(upstream_id, batch))
            if response.status_code == 404 and not poll_state and not batch:
                # A handle from elsewhere: the generic path cannot read a Creative Director batch, its own path can.
                other = await self.client.request("GET", _status_path(upstream_id, True))
                if other.status_code == 200:
                    response, batch, learned = other, True, True
        if response.status_code != 200:
            raise self._error(response, missing=f"generation '{upstream_id}'")
        body = self.client.parse(response, StatusBody)
        kind = str(poll_state.get("type") or body.type or "")
        if batch or body.scenes is not None:
            update = self._batch_update(upstream_id, body)
            # Stored with the job, so later polls (even after a restart) go straight to the batch path.
            return replace(update, poll_state={"creative_director": True}) if learned else update
        return self._update(upstream_id, body, kind)

    def _update(self, upstream_id: str, body: StatusBody, kind: str) -> JobUpdate:
        if body.state in _RUNNING:
            return JobUpdate(state="running", progress=body.progress, upstream_status=body.state)
        if body.state != "completed":
            return self._ended(body, [])
        result = body.result or ResultBody()
        credits = CreditsInfo(charged=body.credits_used) if body.credits_used is not None else None
        name = f"kolbo-{upstream_id}"
        if kind == "chat" or result.content is not None:
            files = http_urls([*result.image_urls, *result.video_urls, *result.audio_urls])
            return JobUpdate(
                state="completed",
                upstream_status="completed",
                text=result.content or "",
                assets=[asset(url, "file", f"{name}-{i + 1}") for i, url in enumerate(files)],
                credits=credits,
                details=compact(
                    {
                        "model": result.model,
                        "session_id": body.session_id,
                        "reasoning": result.reasoning_content or None,
                    }
                ),
            )
        urls = http_urls(result.urls)
        if not urls:
            raise UpstreamError(f"Kolbo reported generation '{upstream_id}' completed but listed no files.")
        default = GENERATION_KINDS.get(kind, "image")
        return JobUpdate(
            state="completed",
            upstream_status="completed",
            assets=[asset(url, default, f"{name}-{i + 1}") for i, url in enumerate(urls)],
            credits=credits,
            details=compact(
                {
                    "model": result.model,
                    "prompt_used": result.prompt_used,
                    "duration": result.duration,
                    "aspect_ratio": result.aspect_ratio,
                    "resolution": result.resolution,
                    "title": result.title,
                    "lyrics": result.lyrics,
                    "voice": result.voice,
                    "thumbnail_url": result.thumbnail_url,
                }
            ),
        )

    def _batch_update(self, upstream_id: str, body: StatusBody) -> JobUpdate:
        scenes = sorted(body.scenes or [], key=lambda scene: scene.scene_number)
        done = [scene for scene in scenes if scene.status == "completed"]
        failed = sum(1 for scene in scenes if scene.status == "failed")
        words = f"{len(done)} of {len(scenes)} scenes done" + (f", {failed} failed" if failed else "")
        assets: list[Asset] = []
        for scene in done:
            label = f"Scene {scene.scene_number}" + (f": {scene.title}" if scene.title else "")
            for kind, urls in (("image", scene.image_urls), ("video", scene.video_urls)):
                for i, url in enumerate(http_urls(urls)):
                    name = f"kolbo-{upstream_id}-scene{scene.scene_number}-{kind}{i + 1}"
                    assets.append(asset(url, "image" if kind == "image" else "video", name, label))
        details = {
            "scenes": [compact({"scene": s.scene_number, "title": s.title, "status": s.status}) for s in scenes],
            "scenes_done": len(done),
        }
        if body.state in _RUNNING:
            return JobUpdate(
                state="running", progress=body.progress, assets=assets, upstream_status=words, details=details
            )
        if body.state != "completed":
            ended = self._ended(body, assets)
            return replace(ended, upstream_status=f"{body.state}: {words}", details={**details, **ended.details})
        if not assets:
            raise UpstreamError(f"Kolbo reported Creative Director batch '{upstream_id}' completed with no scenes.")
        credits = CreditsInfo(charged=body.credits_used) if body.credits_used is not None else None
        return JobUpdate(state="completed", upstream_status=words, assets=assets, credits=credits, details=details)

    def _ended(self, body: StatusBody, assets: list[Asset]) -> JobUpdate:
        """A failed or cancelled generation (Kolbo refunds both automatically)."""
        details = compact({"credits_used": body.credits_used})
        if body.state == "cancelled":
            return JobUpdate(
                state="cancelled",
                upstream_status="cancelled",
                assets=assets,
                credits=CreditsInfo(refunded=True),
                details=details,
            )
        failure = body.failure
        said = self.client.redact((failure.message if failure else None) or body.error or "no reason given")
        if failure is not None and failure.code:
            reason = f"{failure.category or 'uncategorised'} failure {failure.code}"
            hint = " Change the prompt or inputs before trying again." if not failure.retryable else ""
        else:
            reason, hint = "failure", ""
        error = JobFailed(
            f"Kolbo could not finish the generation ({reason}): {said}{hint} Kolbo refunds failed generations.",
            retryable=failure.retryable if failure is not None else True,
            charged=True,
            refunded=True,
            upstream_code=failure.code if failure is not None else None,
        )
        return JobUpdate(
            state="failed",
            upstream_status="failed",
            error=error,
            assets=assets,
            credits=CreditsInfo(refunded=True),
            details={**details, **compact({"failure_category": failure.category if failure else None})},
        )

    # --- cancelling --------------------------------------------------------------------------------

    async def cancel(self, upstream_id: str, poll_state: Mapping[str, Any]) -> JobUpdate:
        """Cancel a running generation; the answer's credits say whether and how much Kolbo gave back."""
        response = await self.client.request("POST", f"v1/generate/{upstream_id}/cancel", json={}, idempotent=True)
        if response.status_code == 409:
            raise JobFinished(f"Kolbo says generation '{upstream_id}' had already finished; nothing was cancelled.")
        if response.status_code != 200:
            raise self._error(response, missing=f"generation '{upstream_id}'")
        refunded = self.client.parse(response, CancelledBody).credits_refunded
        return JobUpdate(
            state="cancelled",
            upstream_status="cancelled",
            # An answer without `credits_refunded` says nothing about a refund: not claimed, amount unknown.
            credits=CreditsInfo(refunded=bool(refunded), refunded_amount=refunded),
            details=compact({"credits_refunded": refunded}),
        )

    # --- the account -------------------------------------------------------------------------------

    async def balance(self) -> Balance:
        credits = (await self._get("v1/account/credits", CreditsBody)).credits
        return Balance(
            remaining=credits.total,
            as_of=self.client.clock.wall(),
            details=credits.model_dump(include={"plan_credits", "credit_pack", "redemption"}, exclude_none=True),
        )

    async def check(self) -> str:
        balance = await self.balance()
        return f"key accepted; {balance.remaining:g} credits"

    @classmethod
    def simulator(cls, *, now: Callable[[], float], job_seconds: float) -> Simulator:
        from providers.kolbo.simulator import KolboSimulator

        return KolboSimulator(now=now, job_seconds=job_seconds)


def _status_path(upstream_id: str, batch: bool) -> str:
    return f"v1/generate/{'creative-director/' if batch else ''}{upstream_id}/status"
