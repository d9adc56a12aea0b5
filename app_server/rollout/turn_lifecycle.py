"""Builders of the lines that mark a turn's course, from start to end (STORAGE.md §3.4, §3.5).

`task_started` opens a turn; each model response is followed by `token_usage_record` (what it
used, with the turn's and the thread's running totals) and `token_count` (the thread's totals,
what `thread/tokenUsage` reports); `task_complete` ends a completed or failed turn (its error in
codex's disk form), `turn_aborted` an interrupted one, preceded by the `user` message telling the
model so (`turn_aborted_notice`) unless a review replaced the turn. The settings a turn runs
with are `settings_lines`, its items `item_events` and `model_lines`. Key order is part of the
format: each builder writes its members in codex 0.169's order.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel

from app_server.rollout.events import TaskCompleteEvent
from app_server.rollout.lines import (
    EventLine,
    ResponseItemLine,
    TokenUsage,
    TokenUsageRecordLine,
)
from app_server.rollout.model_lines import response_item
from protocol.types import TurnError

TURN_ABORTED_NOTICE = (
    "<turn_aborted>\nThe user interrupted the previous turn on purpose. Any running unified exec "
    "processes may still be running in the background. If any tools/commands were aborted, they "
    "may have partially executed.\n</turn_aborted>"
)
"""The message recorded when a turn is interrupted, as 0.169 writes it (a `user` message)."""


def task_started(
    turn_id: str,
    root_turn_id: str,
    started_at: int,
    context_window: int | None,
    *,
    parent_turn_id: str | None = None,
    initiating_agent_path: str | None = None,
) -> EventLine:
    """`task_started`; a sub-agent's turn names the parent turn and agent that caused it."""
    return {
        "type": "event_msg",
        "payload": {
            "type": "task_started",
            "turn_attribution": {
                "turn_id": turn_id,
                "turn_trigger": None,
                "parent_turn_id": parent_turn_id,
                "initiating_agent_path": initiating_agent_path,
                "root_turn_id": root_turn_id,
            },
            "turn_id": turn_id,
            "root_turn_id": root_turn_id,
            "started_at": started_at,
            "model_context_window": context_window,
            "collaboration_mode_kind": "default",
        },
    }


def token_usage_record(
    thread_id: str,
    turn_id: str,
    root_turn_id: str,
    response_id: str | None,
    usage: TokenUsage,
    turn_usage: TokenUsage,
    thread_usage: TokenUsage,
) -> TokenUsageRecordLine:
    """What one model response used, with the turn's and the thread's running totals."""
    return {
        "type": "token_usage_record",
        "payload": {
            "thread_id": thread_id,
            "turn_id": turn_id,
            "session_id": thread_id,
            "root_turn_id": root_turn_id,
            "response_id": response_id,
            "usage": usage,
            "turn_token_usage": turn_usage,
            "thread_token_usage": thread_usage,
        },
    }


def token_count(total: TokenUsage, last: TokenUsage, context_window: int | None) -> EventLine:
    """The thread's token totals after a response (what `thread/tokenUsage` reports)."""
    return {
        "type": "event_msg",
        "payload": {
            "type": "token_count",
            "info": {
                "total_token_usage": total,
                "last_token_usage": last,
                "last_usage_includes_reasoning": False,
                "model_context_window": context_window,
            },
            "rate_limits": None,
        },
    }


def codex_error_info_to_disk(value: object) -> object:
    """Wire `codexErrorInfo` (a literal or a model) → codex's disk form (snake_case).

    `"contextWindowExceeded"` → `"context_window_exceeded"`; `HttpConnectionFailedCodexErrorInfo`
    → `{"http_connection_failed": {"http_status_code": null}}` (the reader maps it back).
    """
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json", by_alias=True)
    if isinstance(value, str):
        return _camel_to_snake(value)
    if isinstance(value, dict):
        return {_camel_to_snake(str(k)): codex_error_info_to_disk(v) for k, v in value.items()}
    return value


def _camel_to_snake(text: str) -> str:
    return _CAMEL_BOUNDARY.sub("_", text).lower()


_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def task_complete(
    turn_id: str,
    root_turn_id: str,
    *,
    last_agent_message: str | None,
    started_at: int,
    completed_at: int,
    duration_ms: int,
    error: TurnError | None = None,
) -> EventLine:
    """The end of a completed turn, or of a failed one (`error`, in its disk form)."""
    payload: TaskCompleteEvent = {
        "type": "task_complete",
        "root_turn_id": root_turn_id,
        "turn_id": turn_id,
        "last_agent_message": last_agent_message,
        "started_at": started_at,
        "completed_at": completed_at,
        "duration_ms": duration_ms,
    }
    if error is not None:
        payload["error"] = {
            "message": error.message,
            "codex_error_info": codex_error_info_to_disk(error.codex_error_info),
            "additional_details": error.additional_details,
        }
    return {"type": "event_msg", "payload": payload}


def turn_aborted(
    turn_id: str,
    root_turn_id: str,
    *,
    started_at: int,
    completed_at: int,
    duration_ms: int,
    reason: Literal["interrupted", "replaced"] = "interrupted",
) -> EventLine:
    """The end of an interrupted turn (`replaced`: by a review started on its thread)."""
    return {
        "type": "event_msg",
        "payload": {
            "type": "turn_aborted",
            "turn_id": turn_id,
            "root_turn_id": root_turn_id,
            "reason": reason,
            "started_at": started_at,
            "completed_at": completed_at,
            "duration_ms": duration_ms,
        },
    }


def turn_aborted_notice(turn_id: str, item_id: str) -> ResponseItemLine:
    """The message telling the model its previous turn was interrupted."""
    return response_item(
        {
            "type": "message",
            "id": item_id,
            "role": "user",
            "content": [{"type": "input_text", "text": TURN_ABORTED_NOTICE}],
        },
        turn_id,
    )
