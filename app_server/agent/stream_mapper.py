"""One sampling step's stream → notifications, finished items, tool calls and usage (sans I/O).

Feed it the provider's event dicts (Responses streaming events, AGENT_LOOP.md §3) one by one;
each call returns what the turn should do about that event. Nothing here writes or sends: the
turn runner persists finished items, executes tool calls and emits the notifications, so this
state machine can be tested event by event.
"""

from __future__ import annotations

from typing import Any

from msgspec import Struct, field

from app_server.agent.providers.base import RESPONSE_HEADERS_EVENT, ProviderError
from app_server.notification import now_ms
from protocol import types as wire
from protocol.types import (
    AgentMessageDeltaNotification,
    AgentMessageThreadItem,
    ItemStartedNotification,
    ReasoningThreadItem,
    ThreadItem,
)
from protocol.wire_model import WireModel

TOOL_CALL_TYPES = frozenset({"function_call", "custom_tool_call", "local_shell_call"})
"""Output items the turn must execute (their results go back to the model)."""


class Emit(Struct):
    """Send a notification to the thread's subscribers (its method is the params type's)."""

    params: WireModel


class OutputItemDone(Struct):
    """A finished output item: persist it; `thread_item` is what clients see (None for calls
    and items without a wire form)."""

    item: dict[str, Any]
    thread_item: ThreadItem | None
    started_at_ms: int
    completed_at_ms: int

    @property
    def is_tool_call(self) -> bool:
        return self.item.get("type") in TOOL_CALL_TYPES


class ResponseCompleted(Struct):
    """The step ended normally."""

    response_id: str | None
    usage: dict[str, Any] | None


class SafetyBuffering(Struct):
    """The model is buffering output for a safety review (PROTOCOL.md §11)."""

    use_cases: list[str]
    reasons: list[str]
    faster_model: str | None


class ModerationMetadata(Struct):
    """`openai_chatgpt_moderation_metadata` arrived on an event."""

    metadata: Any


Effect = Emit | OutputItemDone | ResponseCompleted | SafetyBuffering | ModerationMetadata


class _Open(Struct):
    """An output item between `output_item.added` and `output_item.done`."""

    kind: str
    started_at_ms: int
    text: list[str] = field(default_factory=list)


_REASONING_DELTAS = frozenset(
    {
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
        "response.reasoning_text.delta",
    }
)


class StreamMapper:
    """Maps one response stream for `thread_id`/`turn_id` (see the module docstring)."""

    def __init__(self, thread_id: str, turn_id: str) -> None:
        self.thread_id = thread_id
        self.turn_id = turn_id
        self.headers: dict[str, str] = {}
        self.response_id: str | None = None
        self.completed = False
        self._open: dict[str, _Open] = {}
        self._safety_seen = False

    @property
    def open_item_ids(self) -> list[str]:
        """Items started but not finished (a stream cut here leaves them incomplete)."""
        return list(self._open)

    def feed(self, event: dict[str, Any]) -> list[Effect]:
        kind = event.get("type")
        if kind == "response.output_text.delta":  # the hot path, first
            return self._text_delta(event)
        effects: list[Effect] = []
        if kind == RESPONSE_HEADERS_EVENT:
            self.headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
            return effects
        self._metadata(event, effects)
        if kind in ("response.created", "response.in_progress"):
            response = event.get("response") or {}
            self.response_id = response.get("id") or self.response_id
        elif kind == "response.output_item.added":
            self._item_added(event.get("item") or {}, effects)
        elif kind in _REASONING_DELTAS and str(event.get("item_id")) not in self._open:
            pass  # codex drops reasoning deltas without an active item
        elif kind == "response.reasoning_summary_part.added":
            effects.append(
                Emit(
                    wire.ReasoningSummaryPartAddedNotification(
                        thread_id=self.thread_id,
                        turn_id=self.turn_id,
                        item_id=str(event.get("item_id")),
                        summary_index=int(event.get("summary_index") or 0),
                    ),
                )
            )
        elif kind == "response.reasoning_summary_text.delta":
            effects.append(
                Emit(
                    wire.ReasoningSummaryTextDeltaNotification(
                        thread_id=self.thread_id,
                        turn_id=self.turn_id,
                        item_id=str(event.get("item_id")),
                        summary_index=int(event.get("summary_index") or 0),
                        delta=str(event.get("delta") or ""),
                    ),
                )
            )
        elif kind == "response.reasoning_text.delta":
            effects.append(
                Emit(
                    wire.ReasoningTextDeltaNotification(
                        thread_id=self.thread_id,
                        turn_id=self.turn_id,
                        item_id=str(event.get("item_id")),
                        content_index=int(event.get("content_index") or 0),
                        delta=str(event.get("delta") or ""),
                    ),
                )
            )
        elif kind == "response.output_item.done":
            self._item_done(event.get("item") or {}, effects)
        elif kind == "response.completed":
            response = event.get("response") or {}
            self.completed = True
            effects.append(
                ResponseCompleted(response.get("id") or self.response_id, response.get("usage"))
            )
        elif kind == "response.failed":
            error = (event.get("response") or {}).get("error") or {}
            raise _failed(error)
        elif kind == "response.incomplete":
            details = (event.get("response") or {}).get("incomplete_details") or {}
            reason = details.get("reason") or "unknown reason"
            raise ProviderError(f"response incomplete: {reason}", codex_error_info="other")
        elif kind == "error":
            message = event.get("message") or (event.get("error") or {}).get("message") or "error"
            raise ProviderError(
                f"stream disconnected before completion: {message}",
                codex_error_info="other",
                retry="stream",
            )
        return effects

    # -- helpers ---------------------------------------------------------------------------------
    def _text_delta(self, event: dict[str, Any]) -> list[Effect]:
        item_id = str(event.get("item_id"))
        delta = str(event.get("delta") or "")
        open_item = self._open.get(item_id)
        if open_item is None:  # codex drops a delta without an active item
            return []
        open_item.text.append(delta)
        return [
            Emit(
                AgentMessageDeltaNotification(
                    thread_id=self.thread_id, turn_id=self.turn_id, item_id=item_id, delta=delta
                ),
            )
        ]

    def _metadata(self, event: dict[str, Any], effects: list[Effect]) -> None:
        safety = event.get("safety_buffering")
        if safety is None and isinstance(event.get("response"), dict):
            safety = event["response"].get("safety_buffering")
        if isinstance(safety, dict) and not self._safety_seen:
            self._safety_seen = True
            faster = safety.get("retry_model")
            if faster is None and self.headers.get("x-codex-safety-buffering-enabled") == "true":
                faster = self.headers.get("x-codex-safety-buffering-faster-model")
            effects.append(
                SafetyBuffering(
                    [str(u) for u in safety.get("use_cases") or []],
                    [str(r) for r in safety.get("reasons") or []],
                    faster,
                )
            )
        moderation = event.get("openai_chatgpt_moderation_metadata")
        if moderation is not None:
            effects.append(ModerationMetadata(moderation))

    def _item_added(self, item: dict[str, Any], effects: list[Effect]) -> None:
        kind = str(item.get("type"))
        item_id = str(item.get("id") or item.get("call_id") or "")
        started = now_ms()
        self._open[item_id] = _Open(kind, started)
        started_item: ThreadItem | None = None
        if kind == "message":
            started_item = AgentMessageThreadItem(
                id=item_id, text="", phase=item.get("phase"), started_at_ms=started
            )
        elif kind == "reasoning":
            started_item = ReasoningThreadItem(
                id=item_id, summary=[], content=[], started_at_ms=started
            )
        if started_item is not None:
            effects.append(
                Emit(
                    ItemStartedNotification(
                        thread_id=self.thread_id,
                        turn_id=self.turn_id,
                        started_at_ms=started,
                        item=started_item,
                    ),
                )
            )

    def _item_done(self, item: dict[str, Any], effects: list[Effect]) -> None:
        item_id = str(item.get("id") or item.get("call_id") or "")
        if item_id not in self._open:  # never announced: start it first, as codex does
            self._item_added(item, effects)
        opened = self._open.pop(item_id, None)
        completed = now_ms()
        started = opened.started_at_ms if opened is not None else completed
        kind = item.get("type")
        thread_item: ThreadItem | None = None
        if kind == "message" and item.get("role", "assistant") == "assistant":
            text = "".join(
                str(part.get("text", ""))
                for part in item.get("content") or []
                if isinstance(part, dict) and part.get("type") == "output_text"
            )
            if not text and opened is not None:
                text = "".join(opened.text)
            thread_item = AgentMessageThreadItem(
                id=item_id,
                text=text,
                phase=item.get("phase"),
                started_at_ms=started,
                completed_at_ms=completed,
            )
        elif kind == "reasoning":
            thread_item = ReasoningThreadItem(
                id=item_id,
                summary=[
                    str(part.get("text", ""))
                    for part in item.get("summary") or []
                    if isinstance(part, dict)
                ],
                content=[
                    str(part.get("text", ""))
                    for part in item.get("content") or []
                    if isinstance(part, dict)
                ],
                started_at_ms=started,
                completed_at_ms=completed,
            )
        effects.append(OutputItemDone(item, thread_item, started, completed))


def stream_ended_early() -> ProviderError:
    """A stream that ended without `response.completed`: retried under `stream_max_retries`."""
    return ProviderError(
        "stream disconnected before completion: stream closed before response.completed",
        codex_error_info="other",
        retry="stream",
    )


def _failed(error: dict[str, Any]) -> ProviderError:
    code = error.get("code")
    message = str(error.get("message") or code or "response failed")
    if code == "context_length_exceeded":
        return ProviderError(message, codex_error_info="contextWindowExceeded")
    return ProviderError(
        f"stream disconnected before completion: {message}",
        codex_error_info="other",
        retry="stream",
        details=message,
    )
