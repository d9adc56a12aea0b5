"""Differences between two peers' observations of the same scenario, as readable lines."""

from __future__ import annotations

import difflib
from collections import defaultdict
from typing import Any

from scripts.codex_compare.peer import Observation
from scripts.codex_compare.shapes import shape_diff, shape_of

# Order differences shown per step; a runaway sequence (e.g. goal continuation turns) would
# otherwise print thousands of methods.
MAX_ORDER_DELTA = 12


def step_differences(ours: Observation, codex: Observation) -> list[str]:
    """Result shape, error code, notification order and params shape, server requests."""
    lines: list[str] = []
    if (ours.error is None) != (codex.error is None):
        lines.append(f"answer: ours {_answer(ours)}, codex {_answer(codex)}")
    elif ours.error is not None:
        if ours.error.get("code") != codex.error.get("code"):
            lines.append(f"error code: ours {_answer(ours)}, codex {_answer(codex)}")
    else:
        lines += [
            f"result{line}" for line in shape_diff(shape_of(ours.result), shape_of(codex.result))
        ]
    lines += _messages("notification", ours.notifications, codex.notifications)
    lines += _messages("server request", ours.requests, codex.requests)
    return lines


def _answer(observation: Observation) -> str:
    if observation.error is None:
        return "a result"
    return f"error {observation.error.get('code')} {str(observation.error.get('message'))[:100]!r}"


def _messages(kind: str, ours: list[tuple[str, Any]], codex: list[tuple[str, Any]]) -> list[str]:
    lines: list[str] = []
    ours_order, codex_order = _collapsed(ours), _collapsed(codex)
    if ours_order != codex_order:
        delta = [line for line in difflib.ndiff(codex_order, ours_order) if line[:1] in "+-"]
        shown = ", ".join(delta[:MAX_ORDER_DELTA])
        more = f", ... {len(delta) - MAX_ORDER_DELTA} more" if len(delta) > MAX_ORDER_DELTA else ""
        lines.append(f"{kind} order (- codex only, + ours only): {shown}{more}")
    by_method_ours, by_method_codex = _grouped(ours), _grouped(codex)
    for method in sorted(by_method_ours.keys() & by_method_codex.keys()):
        pairs = zip(by_method_ours[method], by_method_codex[method], strict=False)
        seen: set[str] = set()
        for a, b in pairs:
            for line in shape_diff(shape_of(a), shape_of(b)):
                if line not in seen:
                    seen.add(line)
                    lines.append(f"{kind} {method} params{line}")
    return lines


def _collapsed(messages: list[tuple[str, Any]]) -> list[str]:
    """Methods in order, a run of the same method (deltas) counted once."""
    order: list[str] = []
    for method, _ in messages:
        if not order or order[-1] != method:
            order.append(method)
    return order


def _grouped(messages: list[tuple[str, Any]]) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = defaultdict(list)
    for method, params in messages:
        if not method.endswith("/delta"):
            grouped[method].append(params)
    return grouped
