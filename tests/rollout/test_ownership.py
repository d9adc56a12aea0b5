"""The rollout format has one owner: these checks keep it that way (issue 15).

- No code outside `app_server/rollout/` assembles a rollout line: a dict display whose `"type"`
  is a line kind (or an `event_msg` payload kind / core item kind we write) is a line built by
  hand, which would bypass the typed builders and drift from the reader.
- `app_server/rollout/` depends on nothing else of the server but itself (and `protocol`), so the
  store, the agent and the thread manager can all use it.
- The store's contract (`store/interface.py`, its records and the in-memory store) depends on
  nothing in `store/local/`: both stores fold with `app_server.rollout`.
- `HistoryMode` and `JsonObject` are defined once.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import get_args

import pytest

from app_server.rollout.events import EventType
from app_server.rollout.items import CoreItemType
from app_server.rollout.lines import LineType

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app_server"
ROLLOUT = APP / "rollout"

MODEL_ITEM_KINDS = frozenset({"agent_message"})
"""Kinds that are also Responses API item types (the model's format, not the rollout's)."""
LINE_KINDS = {
    *get_args(LineType),
    *get_args(EventType),
    *get_args(CoreItemType),
} - MODEL_ITEM_KINDS
"""Every `"type"` value that marks a rollout line, event payload or core item."""


def python_files(root: Path) -> Iterator[Path]:
    yield from sorted(root.rglob("*.py"))


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module is not None:
            modules.add(node.module)
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
    return modules


def hand_built_lines(path: Path) -> list[str]:
    """`file:line kind` of every dict display whose `"type"` is a rollout kind."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Dict):
            continue
        for key, value in zip(node.keys, node.values, strict=True):
            kind = value.value if isinstance(value, ast.Constant) else None
            is_type = isinstance(key, ast.Constant) and key.value == "type"
            if is_type and isinstance(kind, str) and kind in LINE_KINDS:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {kind}")
    return found


def test_no_rollout_line_is_assembled_outside_the_rollout_package() -> None:
    outside = [p for p in python_files(APP) if ROLLOUT not in p.parents]
    assert [hit for path in outside for hit in hand_built_lines(path)] == []


@pytest.mark.parametrize(
    "module",
    [
        "turn_lifecycle.py",
        "settings_lines.py",
        "model_lines.py",
        "item_events.py",
        "thread_events.py",
    ],
)
def test_the_check_above_finds_hand_built_lines(module: str) -> None:
    assert hand_built_lines(ROLLOUT / module)  # the builders do build lines


def test_the_rollout_package_depends_only_on_itself_and_protocol() -> None:
    foreign = {
        f"{path.relative_to(ROOT)}: {module}"
        for path in python_files(ROLLOUT)
        for module in imported_modules(path)
        if module.startswith("app_server") and not module.startswith("app_server.rollout")
    }
    assert foreign == set()


@pytest.mark.parametrize("module", ["interface.py", "records.py", "memory.py"])
def test_the_store_contract_does_not_depend_on_the_local_store(module: str) -> None:
    imports = imported_modules(APP / "store" / module)
    assert {m for m in imports if m.startswith("app_server.store.local")} == set()


@pytest.mark.parametrize("name", ["HistoryMode", "JsonObject"])
def test_format_aliases_are_defined_once(name: str) -> None:
    definitions = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in python_files(APP)
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Assign | ast.AnnAssign)
        and any(
            isinstance(target, ast.Name) and target.id == name
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        )
    ]
    assert len(definitions) == 1, definitions
    assert definitions[0].startswith("app_server/rollout/lines.py:")
