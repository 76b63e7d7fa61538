"""Output schemas as clients get them: the same verdicts as pydantic's own schema, in the simpler form."""

from __future__ import annotations

import json
from typing import Any, Literal

import jsonschema  # type: ignore[import-untyped]  # the MCP SDK's validator; it ships no types
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from server.output_schema import output_schema
from server.results import CreditsResult, JobsResult, ToolResult


class Inner(BaseModel):
    name: str
    size: int | None = None


class Outer(BaseModel):
    inner: Inner | None = None
    items: list[Inner] = []
    mode: Literal["a", "b"] | None = None
    note: str | None = None
    either: int | str | None = None


class Tree(BaseModel):
    label: str
    children: list[Tree] = []


def _valid(schema: dict[str, Any], value: Any) -> bool:
    return bool(jsonschema.Draft202012Validator(schema).is_valid(value))


def _original(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema()


values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(["a", "b", "c", "x"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["inner", "items", "mode", "note", "either", "name", "size"]), inner, max_size=4
        )
    ),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(value=values)
def test_the_simplified_schema_accepts_exactly_what_the_original_accepts(value: Any) -> None:
    assert _valid(output_schema(Outer), value) == _valid(_original(Outer), value)


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ({"inner": None, "mode": None, "note": None, "either": None}, True),
        ({"inner": {"name": "n", "size": None}, "items": [{"name": "m"}], "mode": "a", "either": "x"}, True),
        ({"mode": "c"}, False),
        ({"inner": {"size": 1}}, False),
        ({"items": [None]}, False),
        ({"note": 3}, False),
    ],
)
def test_optional_fields_literals_and_nested_models_keep_their_rules(value: dict[str, Any], accepted: bool) -> None:
    schema = output_schema(Outer)
    assert _valid(schema, value) is accepted
    assert _valid(_original(Outer), value) is accepted


@pytest.mark.parametrize("model", [ToolResult, CreditsResult, JobsResult])
def test_genmcp_results_have_no_references_and_no_null_branches(model: type[BaseModel]) -> None:
    text = json.dumps(output_schema(model))
    assert "$ref" not in text
    assert '{"type": "null"}' not in text
    assert len(text) < len(json.dumps(_original(model)))


def test_an_optional_literal_keeps_its_null_branch_so_null_stays_allowed() -> None:
    mode = output_schema(Outer)["properties"]["mode"]
    assert {"type": "null"} in mode["anyOf"]


def test_a_model_that_contains_itself_keeps_its_definitions() -> None:
    schema = output_schema(Tree)
    assert "$defs" in schema
    assert _valid(schema, {"label": "a", "children": [{"label": "b", "children": []}]})
    assert not _valid(schema, {"label": "a", "children": [{"children": []}]})
