"""The `thread_settings_applied` and `thread_goal_updated` lines as codex 0.169 writes them
(observed on the binary): effort only when set, goal keys camelCase without null fields."""

from __future__ import annotations

from typing import Any

from app_server.rollout import settings_lines, thread_events
from protocol.types import ThreadGoal

THREAD = "01a2443b-9e4e-7440-9a89-9d21d2e67010"


def settings_line(effort: str | None) -> dict[str, Any]:
    line: Any = settings_lines.thread_settings_applied(
        THREAD,
        model="gpt-other",
        model_provider="mock",
        approval_policy="never",
        approvals_reviewer="user",
        cwd="/w",
        effort=effort,
    )
    settings: dict[str, Any] = line["payload"]["thread_settings"]
    return settings


def test_settings_applied_records_the_effort_only_when_set() -> None:
    assert "reasoning_effort" not in settings_line(None)
    with_effort = settings_line("high")
    assert with_effort["reasoning_effort"] == "high"
    assert list(with_effort)[7:9] == ["reasoning_effort", "collaboration_mode"]


def test_goal_updated_leaves_null_fields_out() -> None:
    goal = ThreadGoal(
        thread_id=THREAD,
        objective="ship it",
        status="paused",
        token_budget=None,
        tokens_used=0,
        time_used_seconds=0,
        created_at=1,
        updated_at=2,
    )
    assert thread_events.thread_goal_updated(goal) == {
        "type": "event_msg",
        "payload": {
            "type": "thread_goal_updated",
            "threadId": THREAD,
            "goal": {
                "createdAt": 1,
                "objective": "ship it",
                "status": "paused",
                "threadId": THREAD,
                "timeUsedSeconds": 0,
                "tokensUsed": 0,
                "updatedAt": 2,
            },
        },
    }
