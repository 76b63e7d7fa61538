"""The Masko simulator's built-in canvas templates (ready-made state machines of poses, transitions and inputs),
as listed, and applied to an empty canvas."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from providers.masko.simulator.canvas import ANY_STATE, IMAGE_COST, Canvas, CanvasEdge, CanvasNode, animation_cost

__all__ = ["TEMPLATES", "Template", "apply_template", "template_json"]


@dataclass(frozen=True)
class _TemplateNode:
    key: str
    name: str
    image_prompt: str


@dataclass(frozen=True)
class _TemplateEdge:
    source: str
    target: str
    description: str
    conditions: tuple[tuple[str, str, bool | int], ...] = ()
    reverse_of: tuple[str, str] | None = None
    priority: int = 0


@dataclass(frozen=True)
class Template:
    """A built-in canvas template: poses, transitions and inputs."""

    id: str
    name: str
    description: str
    nodes: tuple[_TemplateNode, ...]
    edges: tuple[_TemplateEdge, ...]
    inputs: tuple[tuple[str, str, bool | int], ...]


def _cond(input_name: str, value: bool | int) -> tuple[str, str, bool | int]:
    return (input_name, "eq", value)


TEMPLATES: dict[str, Template] = {
    template.id: template
    for template in (
        Template(
            id="claude-code-4state",
            name="Claude Code (4 states)",
            description="Idle, thinking, working and needs-attention states driven by a coding agent's hooks.",
            nodes=(
                _TemplateNode("idle", "Idle", "standing relaxed, calm and friendly"),
                _TemplateNode("thinking", "Thinking", "hand on chin, looking up thoughtfully"),
                _TemplateNode("working", "Working", "typing busily on a laptop, focused"),
                _TemplateNode("attention", "Needs Attention", "waving both arms to get attention"),
            ),
            edges=(
                _TemplateEdge("idle", "idle", "gentle breathing, subtle sway"),
                _TemplateEdge("thinking", "thinking", "tapping chin, eyes moving in thought"),
                _TemplateEdge("working", "working", "typing quickly, small head nods"),
                _TemplateEdge("attention", "attention", "waving arms back and forth"),
                _TemplateEdge("idle", "thinking", "raising a hand to the chin", (_cond("state", 1),)),
                _TemplateEdge("thinking", "working", "opening a laptop and starting to type", (_cond("state", 2),)),
                _TemplateEdge("working", "attention", "looking up and starting to wave", (_cond("state", 3),)),
                _TemplateEdge("idle", "working", "sitting down and starting to type", (_cond("state", 2),)),
                _TemplateEdge("thinking", "idle", "", (_cond("state", 0),), ("idle", "thinking")),
                _TemplateEdge("working", "thinking", "", (_cond("state", 1),), ("thinking", "working")),
                _TemplateEdge("attention", "working", "", (_cond("state", 2),), ("working", "attention")),
                _TemplateEdge("working", "idle", "", (_cond("state", 0),), ("idle", "working")),
                _TemplateEdge(ANY_STATE, "idle", "", (_cond("reset", True),), priority=10),
            ),
            inputs=(("state", "number", 0), ("reset", "trigger", False)),
        ),
        Template(
            id="website-greeter-3state",
            name="Website greeter (3 states)",
            description="Idles on the page, waves on hover and celebrates on click.",
            nodes=(
                _TemplateNode("idle", "Idle", "standing relaxed with a friendly smile"),
                _TemplateNode("wave", "Wave", "waving hello with one arm raised"),
                _TemplateNode("celebrate", "Celebrate", "jumping with both arms raised in joy"),
            ),
            edges=(
                _TemplateEdge("idle", "idle", "gentle breathing, subtle sway"),
                _TemplateEdge("wave", "wave", "waving hello back and forth"),
                _TemplateEdge("celebrate", "celebrate", "jumping up and down excitedly"),
                _TemplateEdge("idle", "wave", "raising an arm to wave", (_cond("hover", True),)),
                _TemplateEdge("wave", "celebrate", "leaping up in celebration", (_cond("click", True),)),
                _TemplateEdge("wave", "idle", "", (_cond("hover", False),), ("idle", "wave")),
                _TemplateEdge("celebrate", "wave", "", (_cond("hover", True),), ("wave", "celebrate")),
            ),
            inputs=(("hover", "boolean", False), ("click", "trigger", False)),
        ),
    )
}


def template_json(template: Template, *, duration: int = 4) -> dict[str, Any]:
    """A template as listed by GET /v1/canvas-templates."""
    paid = sum(1 for edge in template.edges if edge.source != ANY_STATE and edge.reverse_of is None)
    return {
        "id": template.id,
        "name": template.name,
        "description": template.description,
        "source": "builtin",
        "node_count": len(template.nodes),
        "edge_count": len(template.edges),
        "states": [node.name for node in template.nodes],
        "estimated_cost": IMAGE_COST * len(template.nodes) + paid * animation_cost(duration),
    }


def apply_template(canvas: Canvas, template: Template, new_id: Callable[[], str]) -> dict[str, str]:
    """Add the template's nodes, edges and inputs to an empty canvas; return template node key → node id."""
    mapping = {node.key: new_id() for node in template.nodes}
    mapping[ANY_STATE] = ANY_STATE
    for index, node in enumerate(template.nodes):
        canvas.nodes.append(CanvasNode(mapping[node.key], node.name, node.image_prompt, x=300.0 * index, y=0.0))
    edge_ids: dict[tuple[str, str], str] = {}
    for edge in template.edges:
        edge_ids[(edge.source, edge.target)] = new_id()
    for edge in template.edges:
        canvas.edges.append(
            CanvasEdge(
                id=edge_ids[(edge.source, edge.target)],
                source=mapping[edge.source],
                target=mapping[edge.target],
                description=edge.description,
                conditions=[{"input": name, "op": op, "value": value} for name, op, value in edge.conditions],
                priority=edge.priority,
                reverse=edge_ids[edge.reverse_of] if edge.reverse_of else None,
            )
        )
    canvas.inputs = [{"name": name, "type": kind, "default": default} for name, kind, default in template.inputs]
    canvas.template_id = template.id
    del mapping[ANY_STATE]
    return mapping
