"""Builders of the lines recording the settings a thread and its turns run with (STORAGE.md §3.2).

Two records, sharing their shapes: `turn_context`, written as a turn that samples the model
opens (the settings that turn runs with), and the `thread_settings_applied` event, written with
a thread's first turn and on each `thread/settings/update` that changes them. Both hold the
approval policy in its disk form (`approval_policy_to_disk`) and the collaboration mode built
the same way. Key order is part of the format: each builder writes its members in codex 0.169's
order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from app_server.rollout.events import DiskThreadSettings
from app_server.rollout.lines import (
    ApprovalPolicyValue,
    CollaborationMode,
    EventLine,
    JsonObject,
    TurnContextLine,
)
from protocol.types import AskForApproval, ModeKind


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
