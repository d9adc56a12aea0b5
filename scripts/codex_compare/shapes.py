"""Shapes of JSON values, and the differences between two shapes.

A shape keeps what a client can rely on (keys present, value types, null vs filled, the values of
enum-like keys) and drops what naturally differs between two servers (ids, timestamps, paths,
text): two runs of the same scenario against codex and against us agree on shapes exactly when
they send the same fields.
"""

from __future__ import annotations

import json
import re
from typing import Any

# Map keys that are ids (e.g. `readStates` keyed by thread id) differ between runs: one shape.
ID_KEY = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

# Keys whose string values are enum-like and part of the contract (kept in the shape); every
# other string is reduced to "str".
ENUM_KEYS = frozenset(
    {
        "type",
        "status",
        "method",
        "threadSource",
        "multiAgentMode",
        "history_initialization",
        "endpoint",
        "decision",
        "role",
        "mode",
        "sortDirection",
    }
)

VALUE_KEYS = frozenset({"file_name", "match_type", "score", "indices", "exitCode", "capReached"})
"""Keys whose whole values are kept: the same inputs give the same values on both sides, and the
values are the contract (file search's ranking, scores and highlights; a command's exit code;
where an output cap cut)."""

Shape = Any


def shape_of(value: Any, key: str | None = None) -> Shape:
    """The shape of one JSON value (see the module docstring)."""
    if value is None:
        return "null"
    if key in VALUE_KEYS:
        return f"={json.dumps(value)}"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return f"str:{value}" if key in ENUM_KEYS else "str"
    if isinstance(value, list):
        return [shape_of(item, key) for item in value]
    if isinstance(value, dict):
        return {("<id>" if ID_KEY.match(k) else k): shape_of(v, k) for k, v in value.items()}
    return type(value).__name__


def shape_diff(ours: Shape, codex: Shape, path: str = "") -> list[str]:
    """Every place where `ours` differs from `codex`, as readable lines (empty when equal)."""
    here = path or "<root>"
    if isinstance(ours, dict) and isinstance(codex, dict):
        lines: list[str] = []
        for key in sorted(codex.keys() - ours.keys()):
            lines.append(f"{path}.{key}: missing in ours (codex: {_brief(codex[key])})")
        for key in sorted(ours.keys() - codex.keys()):
            lines.append(f"{path}.{key}: only in ours ({_brief(ours[key])})")
        for key in sorted(ours.keys() & codex.keys()):
            lines.extend(shape_diff(ours[key], codex[key], f"{path}.{key}"))
        return lines
    if isinstance(ours, list) and isinstance(codex, list):
        lines = []
        if len(ours) != len(codex):
            lines.append(f"{here}: {len(ours)} elements in ours, {len(codex)} in codex")
        for index, (a, b) in enumerate(zip(ours, codex, strict=False)):
            lines.extend(shape_diff(a, b, f"{path}[{index}]"))
        return lines
    if ours != codex:
        return [f"{here}: ours {_brief(ours)}, codex {_brief(codex)}"]
    return []


def _brief(shape: Shape) -> str:
    """A one-line rendering of a shape, cut to stay readable."""
    if isinstance(shape, dict):
        text = "{" + ", ".join(sorted(shape)) + "}"
    elif isinstance(shape, list):
        text = f"list[{len(shape)}]"
    else:
        text = str(shape)
    return text if len(text) <= 120 else text[:117] + "..."
