"""What the history index learns from a thread's rollout: where each turn starts, and its messages.

Two questions must not cost a read of the whole file:
- *"the last page of turns"* (`thread/turns/list`): answered by reading only the bytes of those
  turns, which needs each turn's starting byte offset and the fold state at that point
  (`TurnStart`);
- *"which threads mention X"* (`thread/search`): answered from an SQLite FTS5 table of the
  thread's user and agent message texts.

`HistoryIndexCollector` gathers both while a `HistoryFold` folds the thread's own lines (it sees
exactly the lines that make up the visible turns: a sub-agent's hidden prefix and a fork base's
lines never reach it). It is pure: the store writes what it collected (`drain`) to SQLite.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from app_server.rollout.lines import JsonObject
from app_server.rollout.thread_metadata import is_real_user_text, user_message_text
from app_server.rollout.turn_builder import TurnCheckpoint

MAX_SEARCHABLE_MESSAGE_CHARS: Final = 32_768
"""Characters of one message that are indexed for search (and returned as its snippet). The FTS5
trigram index costs about three times the indexed text; longer messages (pasted logs) are cut
here so one of them cannot dominate the index."""


@dataclass(frozen=True, slots=True)
class TurnStart:
    """Where one visible turn starts in the thread's own rollout.

    `byte_offset` is the offset of the line that opened the turn (its `task_started`, or for a
    legacy implicit turn the first line that needed it); `checkpoint` is the turn builder's
    state just before that line.
    """

    turn_id: str
    rollout_ordinal: int | None
    byte_offset: int
    checkpoint: TurnCheckpoint


@dataclass(slots=True)
class HistoryIndexDelta:
    """What was collected since the previous `drain`."""

    turn_starts: list[TurnStart] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    pageable: bool = True
    """False once the thread's turns cannot be read by offset (a rollback, a fork base)."""
    hidden_before_ordinal: int | None = None
    """A sub-agent's `subagent_history_start_ordinal`: lines below it are not its history."""


class HistoryIndexCollector:
    """Accumulates `TurnStart`s and searchable messages (see the module docstring)."""

    def __init__(self) -> None:
        self._pending = HistoryIndexDelta()
        self.pageable = True
        self.hidden_before_ordinal: int | None = None

    def turn_started(self, start: TurnStart) -> None:
        """The fold opened a visible turn at `start.byte_offset`."""
        self._pending.turn_starts.append(start)

    def line(self, record: JsonObject) -> None:
        """A visible line of the thread's own rollout (collects message texts)."""
        text = searchable_text(record)
        if text:
            self._pending.messages.append(text[:MAX_SEARCHABLE_MESSAGE_CHARS])

    def mark_unpageable(self) -> None:
        """The turns can no longer be read by offset (sticky)."""
        self.pageable = False

    def drain(self) -> HistoryIndexDelta:
        """Everything collected since the last call, with the current flags."""
        delta, self._pending = self._pending, HistoryIndexDelta()
        delta.pageable = self.pageable
        delta.hidden_before_ordinal = self.hidden_before_ordinal
        return delta


def searchable_text(record: JsonObject) -> str | None:
    """The text `thread/search` matches in one rollout line: a real user message or an agent
    message (paginated `item_completed` items, or legacy `user_message`/`agent_message` events);
    `None` for every other line (tool output, reasoning, injected context)."""
    if record.get("type") != "event_msg":
        return None
    user = user_message_text(record)
    if user is not None:
        return user if is_real_user_text(user) else None
    payload = record.get("payload")
    if not isinstance(payload, (dict, Mapping)):
        return None
    kind = payload.get("type")
    if kind == "agent_message":
        message = payload.get("message")
        return message if isinstance(message, str) else None
    if kind == "item_completed":
        item = payload.get("item")
        if isinstance(item, (dict, Mapping)) and item.get("type") == "AgentMessage":
            texts = [
                entry["text"]
                for entry in item.get("content") or []
                if isinstance(entry, (dict, Mapping)) and isinstance(entry.get("text"), str)
            ]
            return "".join(texts)
    return None
