"""The simulator's media generation endpoints: image, image edit, video (from text or an image), music, speech,
sound effects and Creative Director batches. Each checks its body the way Kolbo does, prices the request from the
catalogue, and hands it to `JobEndpoints._start`."""

from __future__ import annotations

import math

from starlette.requests import Request
from starlette.responses import Response

from providers.kolbo.simulator.catalogue import RESOLUTION_MULTIPLIERS, KolboModel, resolve_model
from providers.kolbo.simulator.http import JsonBody, invalid, missing_field
from providers.kolbo.simulator.jobs import JobEndpoints
from providers.kolbo.simulator.records import Start

__all__ = ["GenerationEndpoints"]

ASPECT_RATIOS = frozenset({"1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3", "4:5", "5:4", "21:9"})
VOCAL_GENDERS = {"m": "male", "male": "male", "f": "female", "female": "female"}
MAX_VISUAL_DNA = 3
MAX_SCENES = 8
MAX_SOURCE_IMAGES = 10
DEFAULT_MUSIC_SECONDS = 60.0
MIN_MUSIC_SECONDS = 5.0
MAX_MUSIC_SECONDS = 300.0
DEFAULT_VIDEO_SECONDS = 5.0
MAX_VIDEO_SECONDS = 60.0
DEFAULT_SOUND_SECONDS = 5.0
MAX_SOUND_SECONDS = 30.0


class GenerationEndpoints(JobEndpoints):
    """`POST /v1/generate/{image,image-edit,video,video/from-image,music,speech,sound,creative-director}`."""

    async def _image(self, request: Request) -> Response:
        key, account, body = await self._generation_request(request)
        prompt = body.required_text("prompt")
        label, model = resolve_model(body, "image")
        num_images = body.integer("num_images", 1, 1, 4)
        start = self._visual_start("image", label, model, body, prompt, "1:1")
        start.units, start.outputs = [model.credit * num_images], num_images
        return self._start(key, account, start)

    async def _image_edit(self, request: Request) -> Response:
        key, account, body = await self._generation_request(request)
        prompt = body.required_text("prompt")
        sources = body.urls("source_images", MAX_SOURCE_IMAGES)
        if not sources:
            raise missing_field("source_images")
        label, model = resolve_model(body, "image_edit")
        num_images = body.integer("num_images", 1, 1, 4)
        start = self._visual_start("image_edit", label, model, body, prompt, "1:1")
        start.units, start.outputs = [model.credit * num_images], num_images
        start.params["source_images"] = sources
        return self._start(key, account, start)

    async def _video(self, request: Request) -> Response:
        key, account, body = await self._generation_request(request)
        prompt = body.required_text("prompt")
        return self._start(key, account, self._video_start(body, "video", prompt))

    async def _video_from_image(self, request: Request) -> Response:
        key, account, body = await self._generation_request(request)
        image_url = body.url("image_url")
        # The docs make the prompt optional here (the official MCP always sends one).
        start = self._video_start(body, "video_from_image", body.text("prompt") or "")
        start.params["image_url"] = image_url
        return self._start(key, account, start)

    async def _music(self, request: Request) -> Response:
        key, account, body = await self._generation_request(request)
        prompt = body.required_text("prompt")
        label, model = resolve_model(body, "music", default="chirp-v4")
        instrumental = body.flag("instrumental", False)
        lyrics = body.text("lyrics")
        gender = body.text("vocal_gender")
        if gender is not None and gender.lower() not in VOCAL_GENDERS:
            raise invalid("vocal_gender must be one of m, f, male, female")
        seconds = body.number("duration_seconds", 0, MAX_MUSIC_SECONDS) or DEFAULT_MUSIC_SECONDS
        if seconds < MIN_MUSIC_SECONDS:
            raise invalid(f"duration_seconds must be from {MIN_MUSIC_SECONDS:g} to {MAX_MUSIC_SECONDS:g}")
        title = body.text("title") or " ".join(prompt.split()[:5]).title()
        if instrumental:
            lyrics = ""
        elif not lyrics:
            lyrics = f"[Verse]\n{prompt}\n[Chorus]\nSing it back, sandbox song\n"
        params = {
            "title": title,
            "lyrics": lyrics,
            "style": body.text("style"),
            "instrumental": instrumental,
            "vocal_gender": VOCAL_GENDERS[gender.lower()] if gender else None,
        }
        prompt_used = _enhanced(prompt, body.flag("enhance_prompt", True))
        start = Start("music", label, model, prompt, prompt_used, [model.credit], prompt, params=params)
        start.outputs, start.duration = model.outputs, seconds
        return self._start(key, account, start)

    async def _speech(self, request: Request) -> Response:
        key, account, body = await self._generation_request(request)
        text = body.required_text("text")
        label, model = resolve_model(body, "speech", default="eleven_v3")
        # Unknown voice ids are silently mapped to another voice by the real service, so any voice is accepted.
        voice = body.text("voice") or "Rachel"
        params = {"voice": voice, "language": body.text("language") or "en-US"}
        units = [float(math.ceil(len(text) / 100) * model.credit)]
        start = Start("speech", label, model, text, text, units, text, params=params)
        start.duration = max(1.0, round(len(text.split()) / 2.5, 1))
        return self._start(key, account, start)

    async def _sound(self, request: Request) -> Response:
        key, account, body = await self._generation_request(request)
        prompt = body.required_text("prompt")
        label, model = resolve_model(body, "sound")
        seconds = body.number("duration", 0, MAX_SOUND_SECONDS)
        start = Start("sound", label, model, prompt, prompt, [model.credit], prompt)
        start.duration = DEFAULT_SOUND_SECONDS if seconds is None else seconds
        return self._start(key, account, start)

    async def _creative_director(self, request: Request) -> Response:
        key, account, body = await self._generation_request(request)
        prompt = body.required_text("prompt")
        scene_count = body.integer("scene_count", 4, 1, MAX_SCENES)
        workflow = body.text("workflow_type") or "image"
        if workflow not in ("image", "video"):
            raise invalid('workflow_type must be "image" or "video"')
        if workflow == "video":
            start = self._video_start(body, "video", prompt, default_ratio="1:1")
        else:
            label, model = resolve_model(body, "image")
            start = self._visual_start("image", label, model, body, prompt, "1:1")
            start.units = [model.credit]
        moodboard_id = body.text("moodboard_id")
        moodboard_ids = body.strings("moodboard_ids", MAX_SCENES)
        for board_id in [moodboard_id, *moodboard_ids] if moodboard_id else moodboard_ids:
            self._moodboard_for(key, board_id)
        start.type, start.units = "creative_director", start.units * scene_count
        start.params.update(
            workflow_type=workflow, scene_count=scene_count, moodboard_id=moodboard_id, moodboard_ids=moodboard_ids
        )
        return self._start(key, account, start)

    def _visual_start(self, kind: str, label: str, model: KolboModel, body: JsonBody, prompt: str, ratio: str) -> Start:
        """The parts image, image-edit and Creative Director requests share."""
        key = body.key
        aspect_ratio = _aspect_ratio(body, model, label, ratio)
        references = body.urls("reference_images", model.max_reference_images or 0)
        dnas = [self._dna_for(key, dna_id, status=400) for dna_id in body.strings("visual_dna_ids", MAX_VISUAL_DNA)]
        if len(dnas) > (model.max_visual_dna or 0):
            raise invalid(f"{model.identifier} accepts at most {model.max_visual_dna or 0} Visual DNAs")
        moodboard_id = body.text("moodboard_id")
        moodboard = self._moodboard_for(key, moodboard_id) if moodboard_id else None
        extras = [moodboard.master_prompt] if moodboard else []
        extras += [f"featuring {dna.name} ({dna.dna_type})" for dna in dnas]
        prompt_used = _enhanced(", ".join([prompt, *extras]), body.flag("enhance_prompt", True))
        params = {"reference_images": references, "visual_dna_ids": [d.id for d in dnas], "moodboard_id": moodboard_id}
        return Start(kind, label, model, prompt, prompt_used, [], prompt, aspect_ratio=aspect_ratio, params=params)

    def _video_start(self, body: JsonBody, sdk_type: str, prompt: str, *, default_ratio: str = "16:9") -> Start:
        label, model = resolve_model(body, sdk_type)
        explicit = label != "auto"
        aspect_ratio = _aspect_ratio(body, model, label, default_ratio)
        duration = body.number("duration", 0, MAX_VIDEO_SECONDS) or DEFAULT_VIDEO_SECONDS
        if explicit and model.supported_durations and duration not in model.supported_durations:
            allowed = ", ".join(str(d) for d in model.supported_durations)
            raise invalid(f"{model.identifier} supports durations of {allowed} seconds")
        resolution = (body.text("resolution") or "720p").lower()
        resolution = "2160p" if resolution == "4k" else resolution
        allowed_resolutions = model.supported_resolutions if explicit else tuple(RESOLUTION_MULTIPLIERS)
        if resolution not in (allowed_resolutions or ()):
            raise invalid(f"resolution must be one of {', '.join(allowed_resolutions or ())}")
        dna_ids = body.strings("visual_dna_ids", MAX_VISUAL_DNA)
        for dna_id in dna_ids:
            self._dna_for(body.key, dna_id, status=400)
        references = body.urls("reference_images", model.max_reference_images or 0)
        cost = model.credit * duration * RESOLUTION_MULTIPLIERS[resolution]
        prompt_used = _enhanced(prompt, body.flag("enhance_prompt", True)) if prompt else ""
        params = {
            "visual_dna_ids": dna_ids,
            "reference_images": references,
            "sound_enabled": body.flag("sound_enabled", False),
        }
        start = Start("video", label, model, prompt, prompt_used, [cost], prompt, params=params)
        start.aspect_ratio, start.duration, start.resolution = aspect_ratio, duration, resolution
        return start


def _aspect_ratio(body: JsonBody, model: KolboModel, label: str, default: str) -> str:
    ratio = body.text("aspect_ratio") or default
    # Smart Select would pick a model that supports the ratio, so "auto" accepts every common ratio.
    allowed = model.supported_aspect_ratios if label != "auto" and model.supported_aspect_ratios else ASPECT_RATIOS
    if ratio not in allowed:
        raise invalid(f"aspect_ratio must be one of {', '.join(sorted(allowed))}")
    return ratio


def _enhanced(prompt: str, enhance: bool) -> str:
    return f"{prompt}, richly detailed, balanced composition, professional lighting" if enhance else prompt
