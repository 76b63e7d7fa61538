"""Workflow prompts: a few real multi-step jobs written out for the model, naming the tools and arguments to use (Claude
Code offers them as slash commands, e.g. `/mcp__genmcp__mascot_animated`).

A prompt is served on an endpoint only when every provider it uses is served there. Its arguments are checked when
it is rendered (unknown ones refused, choices enforced); `Workflow.choices` also feeds argument completion
(`server.tasks.completions`), as does `images` (arguments that take a picture complete with the caller's files).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mcp.server.mcpserver.prompts.base import Message, Prompt, PromptArgument, UserMessage
from mcp_types import TextContent

if TYPE_CHECKING:
    from server.mcp_server import GenmcpServer

__all__ = ["WORKFLOWS", "Workflow", "install_prompts", "served_workflows"]

_FOLLOW = (
    "Spending tools say what they cost in their description; check `credits` first if the balance may be low. A "
    "long job may answer status 'running' with a `job` handle: call `poll` with it (or let your client follow it as "
    "a task) before moving on. Pass results on as inputs: an `artifact://` resource or a result URL works wherever a "
    "tool takes an image."
)


@dataclass(frozen=True)
class Workflow:
    """One prompt: what it is for, the providers it needs, its arguments and its text."""

    name: str
    title: str
    description: str
    providers: frozenset[str]
    arguments: tuple[PromptArgument, ...]
    template: str
    """The user message, with `{argument}` placeholders (`defaults` fills the optional ones left out)."""
    defaults: Mapping[str, str] = field(default_factory=dict)
    choices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Arguments limited to these values (and completed from them)."""
    images: frozenset[str] = frozenset()
    """Arguments that take a picture (completed with the caller's recent files)."""

    def render(self, arguments: Mapping[str, Any]) -> list[Message]:
        """The prompt's message for these arguments; raises `ValueError` saying what to fix."""
        known = {argument.name for argument in self.arguments}
        if unknown := sorted(set(arguments) - known):
            raise ValueError(f"{self.name} takes {sorted(known)}; not {unknown}")
        values = {**self.defaults, **{key: str(value).strip() for key, value in arguments.items()}}
        for argument in self.arguments:
            if argument.required and not values.get(argument.name):
                raise ValueError(f"{self.name} needs `{argument.name}`: {argument.description}")
            allowed = self.choices.get(argument.name)
            if allowed and values.get(argument.name) and values[argument.name] not in allowed:
                raise ValueError(f"`{argument.name}` must be one of {', '.join(allowed)}")
        return [UserMessage(content=TextContent(text=self.template.format(**values) + "\n\n" + _FOLLOW))]

    def prompt(self) -> Prompt:
        """The SDK prompt serving this workflow."""

        async def render(**arguments: Any) -> list[Message]:
            return self.render(arguments)

        return Prompt(
            name=self.name,
            title=self.title,
            description=self.description,
            arguments=list(self.arguments),
            fn=render,
        )


def _arg(name: str, description: str, *, required: bool = False) -> PromptArgument:
    return PromptArgument(name=name, description=description, required=required)


_ASPECT = ("16:9", "9:16", "1:1", "4:3", "3:4")

WORKFLOWS: tuple[Workflow, ...] = (
    Workflow(
        name="mascot_animated",
        title="Design a mascot and animate it",
        description="Create a Masko mascot from a description, draw its first pose, then animate it (Masko).",
        providers=frozenset({"masko"}),
        arguments=(
            _arg("character", "Who the mascot is, e.g. 'a friendly robot barista for a coffee app'.", required=True),
            _arg("action", "What the animation shows (default: waving hello)."),
            _arg("style", "A Masko art style id (masko_list_styles lists them; default: Masko's own choice)."),
        ),
        defaults={"action": "waving hello", "style": "(leave out)"},
        template=(
            "Design a mascot and animate it with genmcp's Masko tools.\n"
            "Character: {character}\nAnimation: {action}\nStyle: {style}\n\n"
            "1. masko_list_projects; if none fits, masko_create_project(name=…).\n"
            "2. masko_create_mascot(project_id=…, name=<a short name>, prompt=<the character>, style=<the style, if "
            "given>).\n"
            "3. masko_generate(mascot_id=…, type='image', name='idle', prompt=<a neutral standing pose>) and show "
            "me the image.\n"
            "4. masko_generate(mascot_id=…, type='animation', name=<the action>, source_image_asset_id=<the idle "
            "image's asset id from step 3>, animation_prompt=<the action>, loop=true).\n"
            "5. Show me the animation links and what it all cost."
        ),
    ),
    Workflow(
        name="idea_to_diagram",
        title="Turn an idea into a diagram",
        description="Draw a clean, labelled diagram of an idea, then refine it once (ConceptViz).",
        providers=frozenset({"conceptviz"}),
        arguments=(
            _arg("idea", "What the diagram explains, e.g. 'how a CDN caches a web page'.", required=True),
            _arg("audience", "Who reads it (default: a general audience)."),
            _arg("aspect_ratio", "16:9 (default), 9:16, 1:1, 4:3 or 3:4."),
        ),
        defaults={"audience": "a general audience", "aspect_ratio": "16:9"},
        choices={"aspect_ratio": _ASPECT},
        template=(
            "Turn this idea into a diagram with genmcp's ConceptViz tools.\nIdea: {idea}\nAudience: {audience}\n\n"
            "1. Write one precise diagram description: the parts, their labels, the arrows between them, for "
            "{audience}.\n"
            "2. conceptviz_generate(prompt=<that description>, aspect_ratio='{aspect_ratio}').\n"
            "3. Look at the result. If a label is wrong or something is missing, conceptviz_edit(images=[<the "
            "diagram's URL>], prompt=<exactly what to change>, aspect_ratio='{aspect_ratio}') once.\n"
            "4. Give me the final diagram link and what it cost."
        ),
    ),
    Workflow(
        name="product_video_storyboard",
        title="Storyboard a product video",
        description="Storyboard a short product video as scenes, then turn the chosen frames into clips (Kolbo).",
        providers=frozenset({"kolbo"}),
        arguments=(
            _arg("product", "The product and what the video should make people feel or do.", required=True),
            _arg("scenes", "How many scenes, 1–8 (default 4)."),
            _arg("aspect_ratio", "16:9 (default), 9:16 (vertical), 1:1, 4:3 or 3:4."),
        ),
        defaults={"scenes": "4", "aspect_ratio": "16:9"},
        choices={"scenes": tuple(str(n) for n in range(1, 9)), "aspect_ratio": _ASPECT},
        template=(
            "Storyboard a product video with genmcp's Kolbo tools.\nProduct: {product}\n\n"
            "1. kolbo_creative_director(prompt=<a brief: product, audience, tone, the story in {scenes} beats>, "
            "scene_count={scenes}, workflow_type='image', aspect_ratio='{aspect_ratio}'). Show me the scenes.\n"
            "2. For each scene I keep: kolbo_video_from_image(image=<the scene image URL>, prompt=<the camera and "
            "subject motion>, aspect_ratio='{aspect_ratio}').\n"
            "3. Optionally kolbo_generate_music(prompt=<mood and tempo>, instrumental=true) for a soundtrack.\n"
            "4. List the clips in order with their links and the total cost."
        ),
    ),
    Workflow(
        name="coloring_page",
        title="Make a printable coloring page",
        description="Turn a picture into a printable activity page: coloring page, color by number or mosaic "
        "(Univers Studio).",
        providers=frozenset({"univers"}),
        arguments=(
            _arg("picture", "The picture: an https:// URL or an artifact:// file genmcp holds.", required=True),
            _arg("kind", "lineart (coloring page, default), cbn (color by number), hex or voronoi (mosaics)."),
        ),
        defaults={"kind": "lineart"},
        choices={"kind": ("lineart", "cbn", "hex", "voronoi")},
        images=frozenset({"picture"}),
        template=(
            "Make a printable page with genmcp's Univers Studio tools.\nPicture: {picture}\nKind: {kind}\n\n"
            "1. univers_presets to pick a preset that suits the picture for mode '{kind}' (say which and why).\n"
            "2. univers_generate(mode='{kind}', image='{picture}', preset=<that preset>).\n"
            "3. Give me the page (an artifact:// file and its download link) and what it cost."
        ),
    ),
)


def served_workflows(providers: frozenset[str]) -> list[Workflow]:
    """The workflows an endpoint serving these providers offers."""
    return [workflow for workflow in WORKFLOWS if workflow.providers <= providers]


def install_prompts(server: GenmcpServer, providers: frozenset[str]) -> None:
    """Serve the workflows whose providers this endpoint serves."""
    for workflow in served_workflows(providers):
        server.add_prompt(workflow.prompt())
