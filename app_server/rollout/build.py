"""Builders of the rollout lines a turn writes, in codex 0.169's shapes (STORAGE.md §3.4, §3.5).

The agent and the thread manager call these instead of assembling dicts, so every line we write
has one definition, typed by `lines`/`events`, next to the reader that folds it back. Writing what
codex writes keeps our history readable by codex and by our own reader, which was verified
against codex's files. Paginated threads persist finished items as `item_completed` core items
(`core_items`); legacy threads as the older `user_message` / `agent_message` / `agent_reasoning`
events. Everything model-visible is a `response_item` (the exact Responses item, so a resumed
thread re-sends byte-identical history). Key order is part of the format: each builder writes
its members in codex's order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal, cast

from pydantic import BaseModel

from app_server.rollout.context_windows import ContextWindow
from app_server.rollout.events import (
    DiskThreadSettings,
    LegacyToolEvent,
    TaskCompleteEvent,
    ThreadRolledBackEvent,
)
from app_server.rollout.items import CoreItem
from app_server.rollout.lines import (
    ApprovalPolicyValue,
    CollaborationMode,
    CompactedLine,
    CompactedPayload,
    EventLine,
    InterAgentMetadataLine,
    JsonObject,
    ResponseItemLine,
    TokenUsage,
    TokenUsageRecordLine,
    TurnContextLine,
    WorldStateLine,
    WorldStatePayload,
)
from protocol.types import (
    AskForApproval,
    ImageUserInput,
    LocalImageUserInput,
    ModeKind,
    TextUserInput,
    TurnError,
    UserMessageThreadItem,
)

TURN_ABORTED_NOTICE = (
    "<turn_aborted>\nThe user interrupted the previous turn on purpose. Any running unified exec "
    "processes may still be running in the background. If any tools/commands were aborted, they "
    "may have partially executed.\n</turn_aborted>"
)
"""The message recorded when a turn is interrupted, as 0.169 writes it (a `user` message)."""


def response_item(item: JsonObject, turn_id: str | None = None) -> ResponseItemLine:
    """A model-visible history item, tagged with its turn as codex does."""
    payload = dict(item)
    if turn_id is not None:
        payload["internal_chat_message_metadata_passthrough"] = {"turn_id": turn_id}
    return {"type": "response_item", "payload": payload}


def _collaboration_mode(
    model: str, effort: str | None, mode: ModeKind, developer_instructions: str | None
) -> CollaborationMode:
    return {
        "mode": mode,
        "settings": {
            "model": model,
            "reasoning_effort": effort,
            "developer_instructions": developer_instructions,
        },
    }


def approval_policy_to_disk(policy: AskForApproval) -> ApprovalPolicyValue:
    """`approval_policy` as `turn_context` and `thread_settings_applied` record it."""
    return policy if isinstance(policy, str) else policy.model_dump(mode="json")


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


def turn_context(
    turn_id: str,
    root_turn_id: str,
    *,
    cwd: str,
    approval_policy: ApprovalPolicyValue,
    approvals_reviewer: str,
    sandbox_policy: JsonObject,
    model: str,
    effort: str | None,
    summary: str | None,
    mode: ModeKind = "default",
    developer_instructions: str | None = None,
    disabled_plugin_ids: Sequence[str] = (),
) -> TurnContextLine:
    """The settings the turn runs with (`sandbox_policy` in its disk form; `mode` and
    `developer_instructions` those of `thread/settings/update.collaborationMode`)."""
    return {
        "type": "turn_context",
        "payload": {
            "turn_id": turn_id,
            "root_turn_id": root_turn_id,
            "disabled_plugin_ids": list(disabled_plugin_ids),
            "cwd": cwd,
            "approval_policy": approval_policy,
            "approvals_reviewer": approvals_reviewer,
            "model": model,
            "collaboration_mode": _collaboration_mode(model, effort, mode, developer_instructions),
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
    approval_policy: ApprovalPolicyValue,
    approvals_reviewer: str,
    cwd: str,
    effort: str | None,
    mode: ModeKind = "default",
    developer_instructions: str | None = None,
    personality: str | None = None,
    disabled_plugin_ids: Sequence[str] = (),
) -> EventLine:
    """The thread's settings, recorded with its first turn and on each `thread/settings/update`
    that changes them. `reasoning_effort` and `personality` are written only when set, as codex
    does."""
    settings: dict[str, Any] = {
        "model": model,
        "model_provider_id": model_provider,
        "approval_policy": approval_policy,
        "approvals_reviewer": approvals_reviewer,
        "requested_approvals_reviewer": approvals_reviewer,
        "cwd": cwd,
        "runtime_workspace_roots": [cwd],
    }
    if effort is not None:
        settings["reasoning_effort"] = effort
    if personality is not None:
        settings["personality"] = personality
    settings["collaboration_mode"] = _collaboration_mode(
        model, effort, mode, developer_instructions
    )
    settings["disabled_plugin_ids"] = list(disabled_plugin_ids)
    return {
        "type": "event_msg",
        "payload": {
            "type": "thread_settings_applied",
            "thread_id": thread_id,
            "thread_settings": cast(DiskThreadSettings, settings),
        },
    }


def thread_goal_updated(goal: BaseModel) -> EventLine:
    """A goal set or changed: the wire `ThreadGoal` as codex records it (null fields left out,
    camelCase keys)."""
    wire = goal.model_dump(mode="json", by_alias=True, exclude_none=True)
    return {
        "type": "event_msg",
        "payload": {"type": "thread_goal_updated", "threadId": wire["threadId"], "goal": wire},
    }


def item_completed(
    thread_id: str, turn_id: str, item: CoreItem, started_at_ms: int, completed_at_ms: int
) -> EventLine:
    """A finished item of a paginated thread (a core TurnItem, see `core_items`)."""
    return {
        "type": "event_msg",
        "payload": {
            "type": "item_completed",
            "thread_id": thread_id,
            "turn_id": turn_id,
            "item": item,
            "started_at_ms": started_at_ms,
            "completed_at_ms": completed_at_ms,
        },
    }


def legacy_event(payload: LegacyToolEvent) -> EventLine:
    """A tool item's line in a legacy thread (`core_items.legacy_*` builds the payload)."""
    return {"type": "event_msg", "payload": payload}


def legacy_user_message(item: UserMessageThreadItem) -> EventLine:
    """A legacy `user_message` event: its text, and the image URLs and local image paths the
    legacy reader rebuilds the message's images from (an image given only by file id has no
    URL to list: codex's list holds strings)."""
    return {
        "type": "event_msg",
        "payload": {
            "type": "user_message",
            "message": "\n".join(v.text for v in item.content if isinstance(v, TextUserInput)),
            "images": [
                v.url for v in item.content if isinstance(v, ImageUserInput) and v.url is not None
            ],
            "local_images": [v.path for v in item.content if isinstance(v, LocalImageUserInput)],
            "audio": [],
            "local_audio": [],
            "text_elements": [],
        },
    }


def legacy_agent_message(text: str, phase: str | None) -> EventLine:
    return {
        "type": "event_msg",
        "payload": {
            "type": "agent_message",
            "message": text,
            "phase": phase,
            "memory_citation": None,
        },
    }


def legacy_agent_reasoning(text: str) -> EventLine:
    return {"type": "event_msg", "payload": {"type": "agent_reasoning", "text": text}}


def context_compacted() -> EventLine:
    """A legacy thread's record of a compaction item."""
    return {"type": "event_msg", "payload": {"type": "context_compacted"}}


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


def world_state(payload: WorldStatePayload) -> WorldStateLine:
    """A `world_state` line: a full snapshot or a merge patch (`world_state.WorldState`)."""
    return {"type": "world_state", "payload": payload}


def compacted(
    message: str,
    replacement_history: Sequence[JsonObject],
    window: ContextWindow,
    response_id: str | None,
) -> CompactedLine:
    """The `compacted` line: the summary, the history that replaces everything before it, and
    the context window it starts (0.169's fields)."""
    lineage = window.lineage_fields()
    payload: CompactedPayload = {
        "message": message,
        "replacement_history": list(replacement_history),
        "window_number": lineage["window_number"],
        "first_window_id": lineage["first_window_id"],
        "previous_window_id": lineage["previous_window_id"],
        "window_id": lineage["window_id"],
    }
    if response_id is not None:
        payload["compaction_response_id"] = response_id
    return {"type": "compacted", "payload": payload}


def inter_agent_metadata(trigger_turn: bool) -> InterAgentMetadataLine:
    """The line recorded just before an inter-agent message."""
    return {"type": "inter_agent_communication_metadata", "payload": {"trigger_turn": trigger_turn}}


def thread_rolled_back(num_turns: int) -> EventLine:
    """`thread/revert`: the last `num_turns` turns leave the thread's history (codex's own
    rollback record, `ThreadRolledBackEvent`), appended instead of rewriting the file."""
    payload: ThreadRolledBackEvent = {"type": "thread_rolled_back", "num_turns": num_turns}
    return {"type": "event_msg", "payload": payload}
