"""Kolbo's paid operations: images, edits, video, music, speech, sound effects, Creative Director storyboards, chat.

Every one answers at once with an id (`message_id` for chat, `generation_id` otherwise), the credits charged and a
host-relative `poll_url`; the job is then polled by the adapter's `status`. Descriptions are written for the model
that calls the tools (PROVIDERS.md §4.2–4.3); what each costs lives in `pricing`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from providers.base import OperationContext, Submitted, compact, operation
from providers.kolbo.api import KolboApi
from providers.kolbo.inputs import (
    ID,
    ChatInput,
    CreativeDirectorInput,
    EditImageInput,
    GenerateImageInput,
    GenerateMusicInput,
    GenerateSoundInput,
    GenerateSpeechInput,
    GenerateVideoInput,
    VideoFromImageInput,
)
from providers.kolbo.pricing import (
    CHAT_COST,
    CREATIVE_DIRECTOR_COST,
    IMAGE_COST,
    MUSIC_COST,
    SOUND_COST,
    SPEECH_COST,
    VIDEO_COST,
    chat_estimate,
    music_estimate,
    per_model_estimate,
    sound_estimate,
    speech_estimate,
)
from providers.kolbo.wire import StartedBody
from server.results import CreditsInfo

__all__ = ["POLL_URL", "KolboGeneration"]

POLL_URL = re.compile(rf"^/api/v1/generate/(?:creative-director/)?(?P<id>{ID})/status$")
"""The only `poll_url` shape followed: host-relative, under `/api`, naming the job it was answered for."""
_POLL_HINTS = {"image": 3, "image_edit": 3, "speech": 3, "sound": 5, "creative_director": 5, "music": 8, "video": 8}
_IMAGE_TIME = "typically 10–30 s."
_VIDEO_TIME = "typically 1–5 min: expect a 'running' answer with a job handle, then finish it with poll."
_VIDEO_RETURNS = "the MP4 link (assets, kind video), credits, and model/duration/thumbnail_url in details."


class KolboGeneration(KolboApi):
    """The generation operations of the Kolbo adapter."""

    @staticmethod
    async def _references(context: OperationContext, values: Sequence[str] | None, field: str) -> list[str] | None:
        if values is None:
            return None
        # Kolbo fetches inputs itself and documents URLs only: data URLs are not sent.
        return [await context.inputs.reference(v, field=f"{field}[{i}]", data_urls=False) for i, v in enumerate(values)]

    @operation(
        GenerateImageInput,
        name="generate_image",
        title="Generate images",
        summary="Generate 1–4 images from a text prompt with one of Kolbo's 100+ models (omit `model` for Smart "
        "Select). Keep a character, product or style consistent with visual_dna_ids, apply a style template "
        "with moodboard_id (kolbo_moodboards), or guide the look with reference_images (inspiration, not "
        "copied pixels; to edit an image use kolbo_edit_image).",
        kind="spend",
        cost=IMAGE_COST,
        duration=_IMAGE_TIME,
        returns="image links (assets), credits charged (the final credits_used once done), model and "
        "prompt_used in details.",
        estimate=per_model_estimate,
    )
    async def generate_image(self, args: GenerateImageInput, context: OperationContext) -> Submitted:
        references = await self._references(context, args.reference_images, "reference_images")
        body = {**args.payload(exclude={"reference_images"}), **compact({"reference_images": references})}
        return await self._submit("v1/generate/image", body, "image", context)

    @operation(
        EditImageInput,
        name="edit_image",
        title="Edit images",
        summary="Edit or combine existing images following `prompt` (e.g. 'remove the background', 'put the "
        "logo from the second image on the mug in the first'). source_images are public image URLs.",
        kind="spend",
        cost=IMAGE_COST,
        duration=_IMAGE_TIME,
        returns="the edited image links (assets), credits, model and prompt_used in details.",
        estimate=per_model_estimate,
    )
    async def edit_image(self, args: EditImageInput, context: OperationContext) -> Submitted:
        body = args.payload(exclude={"source_images"})
        body["source_images"] = await self._references(context, args.source_images, "source_images")
        return await self._submit("v1/generate/image-edit", body, "image_edit", context)

    @operation(
        GenerateVideoInput,
        name="generate_video",
        title="Generate a video",
        summary="Generate a video clip from a text prompt (duration and resolution per model; see "
        "kolbo_list_models type 'video'). Visual DNA and reference images keep subjects consistent.",
        kind="spend",
        cost=VIDEO_COST,
        duration=_VIDEO_TIME,
        returns=_VIDEO_RETURNS,
        estimate=per_model_estimate,
    )
    async def generate_video(self, args: GenerateVideoInput, context: OperationContext) -> Submitted:
        references = await self._references(context, args.reference_images, "reference_images")
        body = {**args.payload(exclude={"reference_images"}), **compact({"reference_images": references})}
        return await self._submit("v1/generate/video", body, "video", context)

    @operation(
        VideoFromImageInput,
        name="video_from_image",
        title="Animate an image",
        summary="Turn a still image (a public URL, used as the first frame) into a video clip, moving as "
        "`prompt` describes.",
        kind="spend",
        cost=VIDEO_COST,
        duration=_VIDEO_TIME,
        returns=_VIDEO_RETURNS,
        estimate=per_model_estimate,
    )
    async def video_from_image(self, args: VideoFromImageInput, context: OperationContext) -> Submitted:
        body = args.payload(exclude={"image"})
        body["image_url"] = await context.inputs.reference(args.image, field="image", data_urls=False)
        return await self._submit("v1/generate/video/from-image", body, "video", context)

    @operation(
        GenerateMusicInput,
        name="generate_music",
        title="Generate music",
        summary="Generate a song or instrumental from a description, optionally with your own lyrics, a style "
        "and a vocal gender. Suno models return two variations.",
        kind="spend",
        cost=MUSIC_COST,
        duration="typically 30 s–2 min.",
        returns="audio links (assets, kind audio: MP3), with title, duration and lyrics in details.",
        estimate=music_estimate,
    )
    async def generate_music(self, args: GenerateMusicInput, context: OperationContext) -> Submitted:
        return await self._submit("v1/generate/music", args.payload(), "music", context)

    @operation(
        GenerateSpeechInput,
        name="generate_speech",
        title="Text to speech",
        summary="Read `text` aloud in a chosen voice (default 'Rachel') and language (default en-US).",
        kind="spend",
        cost=SPEECH_COST,
        duration="typically 5–30 s.",
        returns="the audio link (assets, kind audio: MP3), with voice and duration in details.",
        estimate=speech_estimate,
    )
    async def generate_speech(self, args: GenerateSpeechInput, context: OperationContext) -> Submitted:
        return await self._submit("v1/generate/speech", args.payload(), "speech", context)

    @operation(
        GenerateSoundInput,
        name="generate_sound",
        title="Sound effect",
        summary="Generate a sound effect from a description, optionally of a given length.",
        kind="spend",
        cost=SOUND_COST,
        duration="typically 5–30 s.",
        returns="the audio link (assets, kind audio), with duration in details.",
        estimate=sound_estimate,
    )
    async def generate_sound(self, args: GenerateSoundInput, context: OperationContext) -> Submitted:
        return await self._submit("v1/generate/sound", args.payload(), "sound", context)

    @operation(
        CreativeDirectorInput,
        name="creative_director",
        title="Creative Director",
        summary="Turn one creative brief into a coherent set of 1–8 scenes (storyboard, ad campaign, product "
        "shots): images by default, or video clips with workflow_type 'video'. Visual DNA and moodboards keep "
        "every scene consistent. While it runs, the answer already lists the scenes finished so far.",
        kind="spend",
        cost=CREATIVE_DIRECTOR_COST,
        duration="typically 30 s–3 min (video mode longer); progress is reported per scene.",
        returns="one link per finished scene (assets: image, plus video in video mode) and details.scenes "
        "with each scene's title and status.",
        estimate=per_model_estimate,
    )
    async def creative_director(self, args: CreativeDirectorInput, context: OperationContext) -> Submitted:
        references = await self._references(context, args.reference_images, "reference_images")
        body = {**args.payload(exclude={"reference_images"}), **compact({"reference_images": references})}
        return await self._submit("v1/generate/creative-director", body, "creative_director", context)

    @operation(
        ChatInput,
        name="chat",
        title="Chat",
        summary="Send a message to one of Kolbo's 20+ chat models (omit `model` for automatic choice). Pass "
        "the session_id of an earlier answer to continue that conversation; media_urls lets the model look "
        "at files; web_search and deep_think switch on search and extended reasoning.",
        kind="spend",
        cost=CHAT_COST,
        duration="typically 2–30 s.",
        returns="the answer in `text`, session_id (to continue) and model in details, credits used.",
        estimate=chat_estimate,
    )
    async def chat(self, args: ChatInput, context: OperationContext) -> Submitted:
        media_urls = await self._references(context, args.media_urls, "media_urls")
        body = {**args.payload(exclude={"media_urls"}), **compact({"media_urls": media_urls})}
        return await self._submit("v1/chat", body, "chat", context)

    async def _submit(self, path: str, body: dict[str, Any], kind: str, context: OperationContext) -> Submitted:
        response = await self.client.request("POST", path, json=body, on_send=context.sending)
        if response.status_code not in (200, 201, 202):
            raise self._error(response, spend=True)
        started = self.client.parse(response, StartedBody, accepted=True)
        upstream_id = started.job_id(chat=kind == "chat")
        poll_state: dict[str, Any] = {"type": kind, "creative_director": kind == "creative_director"}
        match = POLL_URL.fullmatch(started.poll_url or "")
        if match is not None and match["id"] == upstream_id:
            poll_state["poll_url"] = started.poll_url
        details = compact(
            {
                "type": started.type or kind,
                "model": started.model or body.get("model"),
                "scene_count": started.scene_count,
                "session_id": started.session_id,
            }
        )
        return Submitted(
            upstream_id=upstream_id,
            poll_interval=started.poll_interval_hint or _POLL_HINTS.get(kind, 2),
            credits=CreditsInfo(charged=started.credits_charged) if started.credits_charged is not None else None,
            details=details,
            poll_state=poll_state,
        )
