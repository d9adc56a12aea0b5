"""What the model sees after a compaction: the replacement history (AGENT_LOOP.md §2.4).

A compaction replaces everything the model saw with a short history: the user's own recent
messages (so their words survive verbatim), the fresh initial context (permissions, environment)
placed just before the last of them, and the summary, as a user message that says what it is.
codex 0.169 builds it the same way, and its `compacted` lines record the result as
`replacement_history`. Older `compacted` lines carry only the summary `message`; for them the
same shape is rebuilt from the history before the line (without fresh context, which the
history still holds). Pure; no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from app_server.rollout.thread_metadata import is_real_user_text

SUMMARY_PREFIX = (
    "Another language model started to solve this problem and produced a summary of its "
    "thinking process. You also have access to the state of the tools that were used by that "
    "language model. Use this to build on the work that has already been done and avoid "
    "duplicating work. Here is the summary produced by the other language model, use the "
    "information in this summary to assist with your own analysis:"
)
"""Opens the summary message (codex 0.169's words; its next compaction recognizes it)."""

COMPACT_USER_MESSAGE_MAX_TOKENS = 20_000
"""How many tokens of the user's recent messages a replacement history keeps (estimated at
four characters a token). More keeps more of the user's exact words but shrinks what the
compaction saves; codex keeps the same budget."""

_CHARS_PER_TOKEN = 4
_NOT_USER_TEXT_PREFIXES = (SUMMARY_PREFIX, "<subagent_notification>")


def message_text(item: Mapping[str, Any]) -> str:
    """The text parts of a `message` item, joined."""
    parts = item.get("content")
    if isinstance(parts, str):
        return parts
    if not isinstance(parts, list):
        return ""
    return "\n".join(
        part["text"]
        for part in parts
        if isinstance(part, Mapping) and isinstance(part.get("text"), str)
    )


def is_user_turn_message(item: Mapping[str, Any]) -> bool:
    """A message the user wrote (not context, a summary or another agent's note)."""
    if item.get("type") != "message" or item.get("role") != "user":
        return False
    text = message_text(item)
    return is_real_user_text(text) and not text.lstrip().startswith(_NOT_USER_TEXT_PREFIXES)


def summary_message(summary: str, item_id: str | None = None) -> dict[str, Any]:
    """The user message that carries a compaction's summary."""
    text = summary if summary.startswith(SUMMARY_PREFIX) else f"{SUMMARY_PREFIX}\n{summary}"
    item: dict[str, Any] = {"type": "message"}
    if item_id is not None:
        item["id"] = item_id
    item["role"] = "user"
    item["content"] = [{"type": "input_text", "text": text}]
    return item


def recent_user_messages(items: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The user's messages, newest kept first within `COMPACT_USER_MESSAGE_MAX_TOKENS`
    (the newest is always kept), in their original order."""
    messages = [dict(item) for item in items if is_user_turn_message(item)]
    budget = COMPACT_USER_MESSAGE_MAX_TOKENS * _CHARS_PER_TOKEN
    kept: list[dict[str, Any]] = []
    for item in reversed(messages):
        size = len(message_text(item))
        if kept and size > budget:
            break
        kept.append(item)
        budget -= size
    kept.reverse()
    return kept


def replacement_history(
    history: Sequence[Mapping[str, Any]],
    summary: Mapping[str, Any],
    initial_context: Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """The history that replaces `history`: recent user messages with the initial context
    before the last of them, then the summary message."""
    kept = recent_user_messages(history)
    context = [dict(item) for item in initial_context]
    return [*kept[:-1], *context, *kept[-1:], dict(summary)]


def is_context_message(item: Mapping[str, Any]) -> bool:
    """A message the harness wrote to tell the model about its situation: any developer
    message, and user-role context (`<environment_context>`, AGENTS.md…) other than summaries,
    interruption notices and other agents' notes."""
    if item.get("type") != "message":
        return False
    role, text = item.get("role"), message_text(item).lstrip()
    if role == "developer":
        return True
    return (
        role == "user"
        and not is_user_turn_message(item)
        and not text.startswith((*_NOT_USER_TEXT_PREFIXES, "<turn_aborted>"))
    )


def legacy_replacement(history: Sequence[Mapping[str, Any]], message: str) -> list[dict[str, Any]]:
    """A `compacted` line without `replacement_history`: rebuild it from the history before
    the line, keeping its context messages (in order) as the initial context."""
    context = [item for item in history if is_context_message(item)]
    return replacement_history(history, summary_message(message), context)
