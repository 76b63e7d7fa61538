"""Generations as jobs in the simulator: starting one (charging it, scheduling it, answering its poll URL), the two
status endpoints, cancelling, and the result a finished generation reports."""

from __future__ import annotations

import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from providers.kolbo.simulator.catalogue import KolboModel
from providers.kolbo.simulator.core import SimulatorCore
from providers.kolbo.simulator.http import KolboError
from providers.kolbo.simulator.records import ChatMessage, ChatSession, Generation, KolboAccount, Scene, Start, num

__all__ = ["JobEndpoints"]

POLL_HINTS = {
    "image": 3,
    "image_edit": 3,
    "speech": 3,
    "sound": 5,
    "creative_director": 5,
    "music": 8,
    "video": 8,
    "chat": 2,
}
# Multiples of job_seconds, so the relative speeds follow the documented typical times.
TIME_FACTORS = {"chat": 0.25, "image": 1.0, "image_edit": 1.0, "speech": 0.5, "sound": 0.75, "music": 1.5, "video": 2.0}
PENDING_FRACTION = 0.1
SCENE_TITLES = (
    "Hero Shot",
    "Detail Close-up",
    "Lifestyle Context",
    "Brand Statement",
    "Wide Establishing Shot",
    "Behind the Scenes",
    "Call to Action",
    "Closing Frame",
)
FLAGGED_MESSAGE = "Your prompt was flagged as sensitive content. Credits have been refunded."


class JobEndpoints(SimulatorCore):
    """Starting, polling and cancelling generations."""

    def _start(self, key: str, account: KolboAccount, start: Start, *, session: ChatSession | None = None) -> Response:
        units = [round(unit, 2) for unit in start.units]
        needed = round(sum(units), 2)
        if account.total < needed:
            message = f"Insufficient credits: this generation needs {num(needed)}, you have {num(account.total)}"
            raise KolboError(self.insufficient_status, "INSUFFICIENT_CREDITS", message)
        if "[error]" in start.checked_text:
            raise KolboError(500, "GENERATION_ERROR", "The generation failed to start")
        now = self.now()
        scenes = self._scenes(start, now) if start.type == "creative_director" else []
        if scenes:
            processing_at, ready_at = scenes[0].starts_at, scenes[-1].ready_at
        else:
            seconds = self.job_seconds * TIME_FACTORS[start.type]
            processing_at, ready_at = now + PENDING_FRACTION * seconds, now + seconds
        generation = Generation(
            id=secrets.token_hex(12),
            key=key,
            type=start.type,
            model=start.model,
            resolved=start.resolved,
            prompt=start.prompt,
            prompt_used=start.prompt_used,
            created=now,
            created_at=self._timestamp(now),
            processing_at=processing_at,
            ready_at=ready_at,
            fails="[fail]" in start.checked_text,
            charges=[self._charge(account, unit) for unit in units],
            outputs=start.outputs,
            aspect_ratio=start.aspect_ratio,
            duration=start.duration,
            resolution=start.resolution,
            params=start.params,
            scenes=scenes,
            session_id=session.id if session else None,
        )
        self.generations[generation.id] = generation
        hint = POLL_HINTS[start.type]
        if session is not None:
            session.messages.append(ChatMessage(generation.id, "user", start.prompt))
            if not generation.fails:
                session.messages.append(ChatMessage(generation.id, "assistant", start.params["content"]))
            return JSONResponse(
                {
                    "success": True,
                    "message_id": generation.id,
                    "session_id": session.id,
                    "type": "chat",
                    "model": start.model,
                    "poll_url": f"/api/v1/generate/{generation.id}/status",
                    "poll_interval_hint": hint,
                }
            )
        body: dict[str, Any] = {"success": True, "generation_id": generation.id, "type": start.type}
        if scenes:
            body["scene_count"] = len(scenes)
            poll_url = f"/api/v1/generate/creative-director/{generation.id}/status"
        else:
            poll_url = f"/api/v1/generate/{generation.id}/status"
        body.update(
            model=start.model,
            credits_charged=num(generation.credits_charged),
            poll_url=poll_url,
            poll_interval_hint=hint,
        )
        return JSONResponse(body)

    def _scenes(self, start: Start, now: float) -> list[Scene]:
        """Creative Director scenes, run one after another after a short pending phase."""
        seconds = self.job_seconds * TIME_FACTORS["video" if start.params["workflow_type"] == "video" else "image"]
        first = now + PENDING_FRACTION * seconds
        moodboard_ids: list[str] = start.params["moodboard_ids"]
        scenes = []
        for index in range(start.params["scene_count"]):
            title = SCENE_TITLES[index % len(SCENE_TITLES)]
            moodboard_id = moodboard_ids[index] if index < len(moodboard_ids) else start.params["moodboard_id"]
            board = self.moodboards.get(moodboard_id) if moodboard_id else None
            prompt = f"{title}: {start.prompt}" + (f", {board.master_prompt}" if board else "")
            begins = first + index * seconds
            scenes.append(Scene(index + 1, title, prompt, begins, begins + seconds, moodboard_id))
        return scenes

    async def _status(self, request: Request) -> Response:
        key, _ = self._authenticate(request)
        generation = self._generation_for(key, request.path_params["id"])
        # The generic status endpoint cannot read a Creative Director batch.
        if generation.type == "creative_director":
            raise KolboError(404, "NOT_FOUND", "Generation not found")
        return JSONResponse(self._status_body(generation))

    async def _cd_status(self, request: Request) -> Response:
        key, _ = self._authenticate(request)
        generation = self._generation_for(key, request.path_params["id"])
        if generation.type != "creative_director":
            raise KolboError(404, "NOT_FOUND", "Creative Director generation not found")
        now = self.now()
        scenes = []
        for scene in generation.scenes:
            status, progress = generation.scene_status_at(scene, now)
            item: dict[str, Any] = {"scene_number": scene.number, "status": status, "title": scene.title}
            if status == "processing":
                item["progress"] = progress
            if status == "completed":
                item["image_urls"] = [self._url(generation.id, scene.number, "png")]
                if generation.params["workflow_type"] == "video":
                    item["video_urls"] = [self._url(generation.id, scene.number, "mp4")]
            scenes.append(item)
        body = self._status_head(generation)
        body.update(scene_count=len(scenes), scenes=scenes)
        return JSONResponse(body)

    async def _cancel(self, request: Request) -> Response:
        key, account = self._authenticate(request)
        generation = self._generation_for(key, request.path_params["id"])
        now = self.now()
        state = generation.state_at(now)
        if state in ("completed", "failed", "cancelled"):
            raise KolboError(409, "ALREADY_TERMINAL", f"Generation is already {state}")
        generation.cancelled_at = now
        refunded = 0.0
        for index, charge in enumerate(generation.charges):
            finished = bool(generation.scenes) and now >= generation.scenes[index].ready_at
            if self.refund_on_cancel and not charge.refunded and not finished:
                refunded += self._refund(account, charge)
        if generation.session_id is not None:
            session = self.chat_sessions[generation.session_id]
            session.messages = [m for m in session.messages if m.message_id != generation.id or m.role == "user"]
        body = {"success": True, "generation_id": generation.id, "state": "cancelled"}
        return JSONResponse({**body, "credits_refunded": num(refunded), "message": "Generation cancelled"})

    def _status_head(self, generation: Generation) -> dict[str, Any]:
        now = self.now()
        state = generation.state_at(now)
        body: dict[str, Any] = {
            "success": True,
            "generation_id": generation.id,
            "type": generation.type,
            "state": state,
            "progress": generation.progress_at(now),
        }
        if state in ("completed", "failed", "cancelled"):
            body["credits_used"] = num(generation.credits_used)
        if state == "failed":
            body["error"] = FLAGGED_MESSAGE
            body["failure"] = {
                "message": FLAGGED_MESSAGE,
                "category": "content_policy",
                "code": "CONTENT_FLAGGED_SENSITIVE",
                "retryable": False,
                "severity": "error",
                "provider": _failure_provider(generation.resolved),
            }
        elif state == "cancelled":
            body["error"] = "Generation was cancelled"
        return body

    def _status_body(self, generation: Generation) -> dict[str, Any]:
        body = self._status_head(generation)
        if generation.type == "chat":
            body.update(message_id=generation.id, session_id=generation.session_id)
        if body["state"] == "completed":
            body["result"] = self._result(generation)
        return body

    def _result(self, generation: Generation) -> dict[str, Any]:
        model, params = generation.resolved.identifier, generation.params
        result: dict[str, Any] = {"model": model, "created_at": generation.created_at}
        kind = generation.type
        if kind == "chat":
            result.update(content=params["content"], reasoning_content=params["reasoning_content"])
            return result
        if kind in ("image", "image_edit"):
            urls = [self._url(generation.id, n, "png") for n in range(generation.outputs)]
            result.update(urls=urls, prompt_used=generation.prompt_used, aspect_ratio=generation.aspect_ratio)
        elif kind == "video":
            result.update(
                urls=[self._url(generation.id, 0, "mp4")],
                thumbnail_url=self._url(generation.id, 0, "png"),
                duration=generation.duration,
                aspect_ratio=generation.aspect_ratio,
                resolution=generation.resolution,
                prompt_used=generation.prompt_used,
            )
        elif kind == "music":
            urls = [self._url(generation.id, n, "mp3") for n in range(generation.outputs)]
            result.update(urls=urls, title=params["title"], duration=generation.duration, lyrics=params["lyrics"])
            result["prompt_used"] = generation.prompt_used
        elif kind == "speech":
            result.update(
                urls=[self._url(generation.id, 0, "mp3")], voice=params["voice"], duration=generation.duration
            )
        elif kind == "sound":
            result.update(urls=[self._url(generation.id, 0, "wav")], duration=generation.duration)
            result["prompt_used"] = generation.prompt_used
        return result


def _failure_provider(model: KolboModel) -> str:
    """The upstream the failure came from, in the "kie-nano-banana" form of the documented example."""
    if model.identifier.startswith(model.provider):
        return model.identifier
    return f"{model.provider}-{model.identifier}"
