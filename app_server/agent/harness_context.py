"""The harness context a thread's model is told: initial context, world state and its updates.

The initial context (the skills and permissions notes, the collaboration mode's instructions when
a `collaborationMode` gave some, then the environment) opens a thread's
history and is written again, fresh, into every compaction's replacement history. What it said
is recorded as the thread's world state; a later turn whose settings or environment differ from
that state tells the model with update messages (only the parts that changed) and records a
merge patch. The state holds hashes of long texts, not the texts (they are in the history
already). Skills are announced in the initial context only (a skill added later is not told).
"""

from __future__ import annotations

import hashlib
from typing import Any

from app_server.agent.instructions import (
    collaboration_mode_text,
    current_date,
    environment_context_text,
    message,
    permissions_text,
    shell_name,
    timezone_name,
)
from app_server.ids import uuid7
from app_server.rollout.lines import JsonObject
from app_server.settings import ResolvedSettings

WORLD_STATE_KEYS = ("environment", "permissions")
"""The top-level keys of our world state; a stored state without them was written by another
program (codex records different keys) and is replaced by a snapshot, not diffed."""
COLLABORATION_KEY = "collaboration_mode"
"""World-state key of the collaboration mode's instructions (a hash; absent when there are
none, so states recorded before it existed stay ours)."""


def _permissions_text(settings: ResolvedSettings) -> str:
    text = permissions_text(settings.sandbox, settings.approval_policy)
    if settings.developer_instructions:
        text += "\n\n" + settings.developer_instructions
    return text


def _hash(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def world_state_for(settings: ResolvedSettings) -> dict[str, Any]:
    """The world state the thread's settings and this machine describe now."""
    where = {"cwd": settings.cwd, "shell": shell_name()} if settings.environments_selected else {}
    state: dict[str, Any] = {
        "environment": {**where, "current_date": current_date(), "timezone": timezone_name()},
        "permissions": _hash(_permissions_text(settings)),
    }
    if settings.collaboration_instructions:
        state[COLLABORATION_KEY] = _hash(settings.collaboration_instructions)
    return state


def is_our_world_state(state: JsonObject | None) -> bool:
    return state is not None and all(key in state for key in WORLD_STATE_KEYS)


def context_updates(
    settings: ResolvedSettings, patch: JsonObject, skills: str | None = None
) -> list[dict[str, Any]]:
    """The messages that tell the model what a world-state patch changed: permissions
    (developer, opened by the `skills` announcement when given, as codex does), the
    collaboration mode's instructions (developer; nothing when they were dropped), then
    environment (user)."""
    updates: list[dict[str, Any]] = []
    if "permissions" in patch:
        permissions = message("developer", _permissions_text(settings), f"msg_{uuid7()}")
        if skills:
            permissions["content"].insert(0, {"type": "input_text", "text": skills})
        updates.append(permissions)
    instructions = settings.collaboration_instructions
    if COLLABORATION_KEY in patch and instructions:
        text = collaboration_mode_text(instructions)
        updates.append(message("developer", text, f"msg_{uuid7()}"))
    if "environment" in patch:
        cwd = settings.cwd if settings.environments_selected else None
        updates.append(message("user", environment_context_text(cwd), f"msg_{uuid7()}"))
    return updates


def initial_context(settings: ResolvedSettings, skills: str | None = None) -> list[dict[str, Any]]:
    """The messages that open a context window: all of them, as if everything changed; the
    enabled `skills` (`app_server.skills.skills_instructions`) are announced here only."""
    return context_updates(settings, dict.fromkeys((*WORLD_STATE_KEYS, COLLABORATION_KEY)), skills)
