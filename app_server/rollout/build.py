"""The rollout lines a turn writes, in codex 0.169's shapes (STORAGE.md §3.4, §3.5).

Writing what codex writes keeps our history readable by codex and by our own reader, which was
verified against codex's files. Paginated threads persist finished items as `item_completed`
core items; legacy threads as the older `user_message` / `agent_message` / `agent_reasoning`
events. Everything model-visible is a `response_item` (the exact Responses item, so a resumed
thread re-sends byte-identical history).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

TURN_ABORTED_NOTICE = (
    "<turn_aborted>\nThe user interrupted the previous turn on purpose. Any running unified exec "
    "processes may still be running in the background. If any tools/commands were aborted, they "
    "may have partially executed.\n</turn_aborted>"
)
"""The message recorded when a turn is interrupted, as 0.169 writes it (a `user` message)."""


def event(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": "event_msg", "payload": {"type": kind, **fields}}


def event_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """An `event_msg` line around a ready payload (its `type` included)."""
    return {"type": "event_msg", "payload": payload}


def response_item(item: dict[str, Any], turn_id: str | None = None) -> dict[str, Any]:
    """A model-visible history item, tagged with its turn as codex does."""
    payload = dict(item)
    if turn_id is not None:
        payload["internal_chat_message_metadata_passthrough"] = {"turn_id": turn_id}
    return {"type": "response_item", "payload": payload}


def task_started(
    turn_id: str,
    root_turn_id: str,
    started_at: int,
    context_window: int | None,
    *,
    parent_turn_id: str | None = None,
    initiating_agent_path: str | None = None,
) -> dict[str, Any]:
    """`task_started`; a sub-agent's turn names the parent turn and agent that caused it."""
    return event(
        "task_started",
        turn_attribution={
            "turn_id": turn_id,
            "turn_trigger": None,
            "parent_turn_id": parent_turn_id,
            "initiating_agent_path": initiating_agent_path,
            "root_turn_id": root_turn_id,
        },
        turn_id=turn_id,
        root_turn_id=root_turn_id,
        started_at=started_at,
        model_context_window=context_window,
        collaboration_mode_kind="default",
    )


def turn_context(
    turn_id: str,
    root_turn_id: str,
    *,
    cwd: str,
    approval_policy: Any,
    approvals_reviewer: str,
    sandbox_policy: dict[str, Any],
    model: str,
    effort: str | None,
    summary: str | None,
) -> dict[str, Any]:
    return {
        "type": "turn_context",
        "payload": {
            "turn_id": turn_id,
            "root_turn_id": root_turn_id,
            "disabled_plugin_ids": [],
            "cwd": cwd,
            "approval_policy": approval_policy,
            "approvals_reviewer": approvals_reviewer,
            "model": model,
            "collaboration_mode": {
                "mode": "default",
                "settings": {
                    "model": model,
                    "reasoning_effort": effort,
                    "developer_instructions": None,
                },
            },
            "realtime_active": False,
            "summary": summary or "none",
            "sandbox_policy": sandbox_policy,
        },
    }


def thread_settings_applied(
    thread_id: str,
    *,
    model: str,
    model_provider: str,
    approval_policy: Any,
    approvals_reviewer: str,
    cwd: str,
    effort: str | None,
) -> dict[str, Any]:
    return event(
        "thread_settings_applied",
        thread_id=thread_id,
        thread_settings={
            "model": model,
            "model_provider_id": model_provider,
            "approval_policy": approval_policy,
            "approvals_reviewer": approvals_reviewer,
            "requested_approvals_reviewer": approvals_reviewer,
            "cwd": cwd,
            "runtime_workspace_roots": [cwd],
            "collaboration_mode": {
                "mode": "default",
                "settings": {
                    "model": model,
                    "reasoning_effort": effort,
                    "developer_instructions": None,
                },
            },
            "disabled_plugin_ids": [],
        },
    )


def item_completed(
    thread_id: str, turn_id: str, item: dict[str, Any], started_at_ms: int, completed_at_ms: int
) -> dict[str, Any]:
    """A finished item of a paginated thread (a core TurnItem, see `core_items`)."""
    return event(
        "item_completed",
        thread_id=thread_id,
        turn_id=turn_id,
        item=item,
        started_at_ms=started_at_ms,
        completed_at_ms=completed_at_ms,
    )


def legacy_user_message(
    text: str, images: list[str | None], local_images: list[str]
) -> dict[str, Any]:
    """A legacy `user_message` event: image URLs and local image paths are what the legacy
    reader rebuilds the message's image inputs from (an image given by file id has no URL:
    null)."""
    return event(
        "user_message",
        message=text,
        images=images,
        local_images=local_images,
        audio=[],
        local_audio=[],
        text_elements=[],
    )


def legacy_agent_message(text: str, phase: str | None) -> dict[str, Any]:
    return event("agent_message", message=text, phase=phase, memory_citation=None)


def legacy_agent_reasoning(text: str) -> dict[str, Any]:
    return event("agent_reasoning", text=text)


def token_usage_record(
    thread_id: str,
    turn_id: str,
    root_turn_id: str,
    response_id: str | None,
    usage: dict[str, int],
    turn_usage: dict[str, int],
    thread_usage: dict[str, int],
) -> dict[str, Any]:
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


def token_count(
    total: dict[str, int], last: dict[str, int], context_window: int | None
) -> dict[str, Any]:
    return event(
        "token_count",
        info={
            "total_token_usage": total,
            "last_token_usage": last,
            "last_usage_includes_reasoning": False,
            "model_context_window": context_window,
        },
        rate_limits=None,
    )


def codex_error_info_to_disk(value: object) -> Any:
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
    error: dict[str, Any] | None = None,
) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "root_turn_id": root_turn_id,
        "turn_id": turn_id,
        "last_agent_message": last_agent_message,
        "started_at": started_at,
        "completed_at": completed_at,
        "duration_ms": duration_ms,
    }
    if error is not None:
        fields["error"] = error
    return event("task_complete", **fields)


def turn_aborted(
    turn_id: str, root_turn_id: str, *, started_at: int, completed_at: int, duration_ms: int
) -> dict[str, Any]:
    return event(
        "turn_aborted",
        turn_id=turn_id,
        root_turn_id=root_turn_id,
        reason="interrupted",
        started_at=started_at,
        completed_at=completed_at,
        duration_ms=duration_ms,
    )


def turn_aborted_notice(turn_id: str, item_id: str) -> dict[str, Any]:
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


def world_state(payload: dict[str, Any]) -> dict[str, Any]:
    """A `world_state` line: a full snapshot or a merge patch (`rollout.world_state`)."""
    return {"type": "world_state", "payload": payload}


def compacted(
    message: str,
    replacement_history: list[dict[str, Any]],
    window_fields: dict[str, Any],
    response_id: str | None,
) -> dict[str, Any]:
    """The `compacted` line: the summary, the history that replaces everything before it, and
    the context window it starts (0.169's fields)."""
    payload: dict[str, Any] = {
        "message": message,
        "replacement_history": replacement_history,
        **window_fields,
    }
    if response_id is not None:
        payload["compaction_response_id"] = response_id
    return {"type": "compacted", "payload": payload}
