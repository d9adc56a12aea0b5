"""The protocol generator writes each module's types so they run without postponed annotations.

Why: the generator (`scripts/protocol_gen_models.py`) leaves out `from __future__ import
annotations` (pydantic then reads real annotations instead of compiling a string per field when
it creates a class), so each name must exist before a class body or an alias uses it, and only
references inside a recursive group may stay strings. The committed schema has no recursive
group inside a module today, so these build small schemas that have one and run the rendered
module.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from scripts.protocol_gen_models import render_module
from scripts.protocol_gen_schema import Generator

RunModule = Callable[[str], types.ModuleType]
"""Runs rendered source as a registered module and returns the module."""

MODULE = "tests_generated_order_module"
"""The name the rendered module runs under (pydantic resolves forward references through it)."""


def render(definitions: dict[str, Any], root: str) -> str:
    gen = Generator(definitions)
    gen.require(root)
    gen.run()
    members = sorted([*gen.classes, *gen.aliases])
    return render_module(gen, MODULE, members, dict.fromkeys(members, MODULE))


@pytest.fixture
def run_module() -> Iterator[RunModule]:
    """Runs rendered source as a registered module and returns the module."""

    def run(source: str) -> types.ModuleType:
        module = types.ModuleType(MODULE)
        sys.modules[MODULE] = module
        exec(compile(source, MODULE, "exec"), module.__dict__)
        return module

    yield run
    sys.modules.pop(MODULE, None)


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/definitions/{name}"}


def test_a_class_comes_after_the_class_it_references(run_module: RunModule) -> None:
    source = render(
        {
            "Alpha": {"type": "object", "properties": {"beta": ref("Beta")}, "required": ["beta"]},
            "Beta": {"type": "object", "properties": {"stepCount": {"type": "string"}}},
        },
        "Alpha",
    )

    assert "from __future__" not in source
    assert source.index("class Beta(") < source.index("class Alpha(")
    alpha = run_module(source).Alpha.model_validate({"beta": {"stepCount": "3"}})
    assert alpha.beta.step_count == "3"


def test_a_self_recursive_class_quotes_only_its_own_reference(run_module: RunModule) -> None:
    children = {"type": "array", "items": ref("Node")}
    node = {"type": "object", "properties": {"name": {"type": "string"}, "children": children}}
    source = render({"Node": {**node, "required": ["name"]}}, "Node")

    assert 'children: "list[Node] | None"' in source
    assert "    name: str\n" in source
    tree = run_module(source).Node.model_validate({"name": "a", "children": [{"name": "b"}]})
    assert tree.children[0].name == "b"


def test_a_class_and_an_alias_that_reference_each_other_build(run_module: RunModule) -> None:
    source = render(
        {
            "Box": {"type": "object", "properties": {"content": ref("Content")}},
            "Content": {"anyOf": [ref("Box"), {"type": "string"}]},
        },
        "Box",
    )

    assert 'content: "Content' in source
    assert source.index("class Box(") < source.index("Content = ")
    box = run_module(source).Box.model_validate({"content": {"content": "inner"}})
    assert box.content.content == "inner"
