"""Tool output schemas in the form clients validate fastest: `$ref`s inlined and `X | None` as a type list.

MCP clients (the official SDKs among them) check every structured result against the tool's output schema. Pydantic
writes each optional field as `anyOf: [{type: X}, {type: null}]` and each nested model as a `$ref` into `$defs`;
both make a validator branch and resolve on every field of every result. `{type: [X, "null"]}` and the nested model
written in place say exactly the same, validate in about half the time, and read better in `tools/list`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

__all__ = ["output_schema"]

_NULL = {"type": "null"}
_TYPE_BLIND = frozenset({"enum", "const", "anyOf", "oneOf", "allOf", "not", "if", "$ref"})
"""Keywords that constrain a null too: a branch with one of them cannot simply take null into its type list."""


def output_schema(model: type[BaseModel]) -> dict[str, Any]:
    """`model`'s JSON schema, simplified as above (a schema whose models refer to themselves keeps its `$defs`)."""
    schema = model.model_json_schema()
    schema.pop("title", None)
    definitions: dict[str, Any] = schema.pop("$defs", {})
    if _recursive(definitions):
        schema["$defs"] = definitions
        return schema
    simplified: dict[str, Any] = _simplify(schema, definitions)
    return simplified


def _simplify(node: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_simplify(item, definitions) for item in node]
    if not isinstance(node, dict):
        return node
    reference = node.get("$ref")
    if isinstance(reference, str) and reference.startswith("#/$defs/"):
        inlined = _simplify(definitions[reference.removeprefix("#/$defs/")], definitions)
        # Keywords beside the reference (a field's description or default) stay, over the model's own.
        return {**inlined, **{key: _simplify(value, definitions) for key, value in node.items() if key != "$ref"}}
    simplified = {key: _simplify(value, definitions) for key, value in node.items()}
    options = simplified.get("anyOf")
    if isinstance(options, list) and len(options) == 2 and _NULL in options:
        (other,) = [option for option in options if option != _NULL]
        if isinstance(other.get("type"), str) and not _TYPE_BLIND & other.keys():
            del simplified["anyOf"]
            return {**other, **simplified, "type": [other["type"], "null"]}
    return simplified


def _recursive(definitions: dict[str, Any]) -> bool:
    """Whether a model in `definitions` refers (directly or through others) to itself."""

    def references(node: Any) -> set[str]:
        if isinstance(node, dict):
            found = {node["$ref"].removeprefix("#/$defs/")} if isinstance(node.get("$ref"), str) else set()
            return found.union(*(references(value) for value in node.values()))
        if isinstance(node, list):
            return set().union(*(references(item) for item in node))
        return set()

    edges = {name: references(body) for name, body in definitions.items()}

    def reaches(start: str, target: str, seen: set[str]) -> bool:
        for name in edges.get(start, ()):
            if name == target or (name not in seen and reaches(name, target, seen | {name})):
                return True
        return False

    return any(reaches(name, name, {name}) for name in edges)
