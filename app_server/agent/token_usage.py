"""Token accounting (AGENT_LOOP.md §7): per response (`last`) and per thread (`total`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from msgspec import Struct, field

from protocol.types import ThreadTokenUsage, TokenUsageBreakdown

FIELDS = (
    "input_tokens",
    "cached_input_tokens",
    "cache_write_input_tokens",
    "output_tokens",
    "reasoning_output_tokens",
    "total_tokens",
)


def from_response_usage(usage: Mapping[str, Any] | None) -> dict[str, int]:
    """Responses `usage` → codex's breakdown (the rollout's snake_case spelling)."""
    usage = usage or {}
    inputs = usage.get("input_tokens_details") or {}
    outputs = usage.get("output_tokens_details") or {}
    result = {
        "input_tokens": int(usage.get("input_tokens") or 0),
        "cached_input_tokens": int(inputs.get("cached_tokens") or 0),
        "cache_write_input_tokens": int(inputs.get("cache_write_tokens") or 0),
        "output_tokens": int(usage.get("output_tokens") or 0),
        "reasoning_output_tokens": int(outputs.get("reasoning_tokens") or 0),
        "total_tokens": int(usage.get("total_tokens") or 0),
    }
    if not result["total_tokens"]:
        result["total_tokens"] = result["input_tokens"] + result["output_tokens"]
    return result


def breakdown(values: Mapping[str, int]) -> TokenUsageBreakdown:
    return TokenUsageBreakdown(**{name: int(values.get(name, 0)) for name in FIELDS})


class TokenTotals(Struct):
    """Running totals of a thread (and of the current turn)."""

    thread: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIELDS, 0))
    turn: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIELDS, 0))
    last: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIELDS, 0))

    def add(self, usage: Mapping[str, int]) -> None:
        self.last = dict(usage)
        for name in FIELDS:
            self.thread[name] += usage.get(name, 0)
            self.turn[name] += usage.get(name, 0)

    def start_turn(self) -> None:
        self.turn = dict.fromkeys(FIELDS, 0)

    def wire(self, context_window: int | None) -> ThreadTokenUsage:
        return ThreadTokenUsage(
            total=breakdown(self.thread),
            last=breakdown(self.last),
            model_context_window=context_window,
        )
