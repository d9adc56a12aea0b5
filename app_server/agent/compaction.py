"""Compaction requests: asking the model for a handoff summary of its context (AGENT_LOOP §2.4).

The summary is sampled with the same model and instructions: the thread's history plus one
prompt, with no tools. Its stream is read here, quietly — clients see a `contextCompaction` item,
not the summary being written. If even that request is too long for the window, the oldest
history is dropped (with any tool output whose call went with it) and it is asked again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from msgspec import Struct

from app_server.agent.providers.base import ModelProvider, ProviderError, SamplingRequest
from app_server.agent.stream_mapper import (
    OutputItemDone,
    ResponseCompleted,
    StreamMapper,
    stream_ended_early,
)
from app_server.rollout.compacted_history import message_text

SUMMARIZATION_PROMPT = (
    "You are performing a CONTEXT CHECKPOINT COMPACTION. Create a handoff summary for another "
    "LLM that will resume the task.\n\nInclude:\n- Current progress and key decisions made\n"
    "- Important context, constraints, or user preferences\n"
    "- What remains to be done (clear next steps)\n"
    "- Any critical data, examples, or references needed to continue\n\n"
    "Be concise, structured, and focused on helping the next LLM seamlessly continue the work.\n"
)
"""The request that ends a summarization input (codex 0.169's words)."""

MAX_COMPACTION_TRIMS = 8
"""How many times a summarization request that overflows the window is retried with less
history. Each retry drops a quarter of what is left (at least one item), so eight retries get
down to a tenth of the history; each costs one more request to the model."""

_TRIM_DIVISOR = 4
_OUTPUT_TYPES = {
    "function_call_output": "function_call",
    "custom_tool_call_output": "custom_tool_call",
}


class CompactionCause(Struct, frozen=True):
    """Why and where a compaction runs (sent in the request's turn metadata)."""

    trigger: Literal["auto", "manual"]
    reason: Literal["context_limit", "user_requested", "context_window_exceeded"]
    phase: Literal["pre_turn", "mid_turn", "standalone_turn"]

    def metadata(self) -> dict[str, str]:
        return {
            "trigger": self.trigger,
            "reason": self.reason,
            "implementation": "responses",
            "phase": self.phase,
            "strategy": "memento",
        }


BEFORE_TURN = CompactionCause("auto", "context_limit", "pre_turn")
DURING_TURN = CompactionCause("auto", "context_limit", "mid_turn")
WINDOW_EXCEEDED = CompactionCause("auto", "context_window_exceeded", "mid_turn")
REQUESTED = CompactionCause("manual", "user_requested", "standalone_turn")


class Summary(Struct, frozen=True):
    """What the summarization response produced."""

    text: str
    model_item: dict[str, Any] | None
    """The assistant message carrying the summary (persisted before the `compacted` line)."""
    completed: ResponseCompleted


def summarization_input(history: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The input of a summarization request: the history, then the prompt."""
    prompt = {
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": SUMMARIZATION_PROMPT}],
    }
    return [*(dict(item) for item in history), prompt]


def trim_oldest(history: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]] | None:
    """The history without its oldest quarter (and tool outputs left without their call);
    None when nothing would be left."""
    drop = max(1, len(history) // _TRIM_DIVISOR)
    rest = [dict(item) for item in history[drop:]]
    calls = {(item.get("type"), item.get("call_id")) for item in rest}
    kept = [
        item
        for item in rest
        if item.get("type") not in _OUTPUT_TYPES
        or (_OUTPUT_TYPES[str(item.get("type"))], item.get("call_id")) in calls
    ]
    return kept or None


async def summarize(
    provider: ModelProvider, request: SamplingRequest, thread_id: str, turn_id: str
) -> Summary:
    """Sample one summarization response; raises `ProviderError` as a turn's sampling does."""
    mapper = StreamMapper(thread_id, turn_id)
    message: dict[str, Any] | None = None
    completed: ResponseCompleted | None = None
    stream = provider.stream(request)
    try:
        async for event in stream:
            for effect in mapper.feed(event):
                if isinstance(effect, OutputItemDone) and effect.item.get("type") == "message":
                    message = effect.item
                elif isinstance(effect, ResponseCompleted):
                    completed = effect
    finally:
        await stream.aclose()  # type: ignore[attr-defined]
    if completed is None:
        raise stream_ended_early()
    return Summary(message_text(message) if message else "", message, completed)


def is_window_exceeded(error: ProviderError) -> bool:
    return bool(error.codex_error_info == "contextWindowExceeded")
