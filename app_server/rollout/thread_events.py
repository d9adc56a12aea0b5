"""Builders of the events the thread manager records about a thread (STORAGE.md §3.4).

A goal set or changed (`thread_goal_updated`, the wire `ThreadGoal` as codex records it) and a
`thread/revert` (`thread_rolled_back`, codex's own rollback record, which every history fold
reads), appended to a loaded thread's rollout. A settings change is
`settings_lines.thread_settings_applied`, which shares its shapes with `turn_context`. Key order
is part of the format: each builder writes its members in codex 0.169's order.
"""

from __future__ import annotations

from pydantic import BaseModel

from app_server.rollout.events import ThreadRolledBackEvent
from app_server.rollout.lines import EventLine


def thread_goal_updated(goal: BaseModel) -> EventLine:
    """A goal set or changed: the wire `ThreadGoal` as codex records it (null fields left out,
    camelCase keys)."""
    wire = goal.model_dump(mode="json", by_alias=True, exclude_none=True)
    return {
        "type": "event_msg",
        "payload": {"type": "thread_goal_updated", "threadId": wire["threadId"], "goal": wire},
    }


def thread_rolled_back(num_turns: int) -> EventLine:
    """`thread/revert`: the last `num_turns` turns leave the thread's history (codex's own
    rollback record, `ThreadRolledBackEvent`), appended instead of rewriting the file."""
    payload: ThreadRolledBackEvent = {"type": "thread_rolled_back", "num_turns": num_turns}
    return {"type": "event_msg", "payload": payload}
