"""What the history index learns from a thread's rollout: where each turn starts, and its messages.

Two questions must not cost a read of the whole file:
- *"the last page of turns"* (`thread/turns/list`): answered by reading only the bytes of those
  turns, which needs each turn's starting byte offset and the fold state at that point
  (`TurnStart`);
- *"which threads mention X"* (`thread/search`): answered from an SQLite FTS5 table of the
  thread's user and agent message texts.

A `thread_rolled_back` line (`thread/revert`) takes the messages of the turns it drops out of the
searchable ones: messages are numbered in order among the thread's *kept* messages, each
remembered with the turn it was read in, so a rollback to `n` turns knows the number `m` of the
first dropped message at once (no refold). Messages not drained yet are simply cut; for those
already handed out the delta says `drop_messages_from = m`, and the stores delete the thread's
messages from number `m` on before adding the delta's (`message_base` numbers its first). A
full fold (an index rebuild, an import, the memory store) thus never yields dropped messages.

`HistoryIndexCollector` gathers both while a `HistoryFold` folds the thread's own lines (it sees
exactly the lines that make up the visible turns: a sub-agent's hidden prefix and a fork base's
lines never reach it). It is pure: the store writes what it collected (`drain`) to SQLite.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping
from typing import Final

from msgspec import Struct, field

from app_server.rollout.lines import JsonObject
from app_server.rollout.thread_metadata import is_real_user_text, user_message_text
from app_server.rollout.turn_builder import TurnCheckpoint

MAX_SEARCHABLE_MESSAGE_CHARS: Final = 32_768
"""Characters of one message that are indexed for search (and returned as its snippet). The FTS5
trigram index costs about three times the indexed text; longer messages (pasted logs) are cut
here so one of them cannot dominate the index."""


class TurnStart(Struct, frozen=True):
    """Where one visible turn starts in the thread's own rollout.

    `byte_offset` is the offset of the line that opened the turn (its `task_started`, or for a
    legacy implicit turn the first line that needed it); `checkpoint` is the turn builder's
    state just before that line.
    """

    turn_id: str
    rollout_ordinal: int | None
    byte_offset: int
    checkpoint: TurnCheckpoint


class HistoryIndexDelta(Struct):
    """What was collected since the previous `drain`."""

    turn_starts: list[TurnStart] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    message_base: int = 0
    """The number (0-based, among the thread's kept messages) of `messages[0]`."""
    drop_messages_from: int | None = None
    """Set when a rollback dropped messages handed out by an earlier `drain`: the thread's
    messages numbered from this one on are gone (delete them before adding `messages`)."""
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
        self._kept_messages = 0
        # `(turn position, kept messages before it)` for each turn position that got a message,
        # in order: what a rollback to a turn count needs to find its first dropped message.
        self._turn_marks: list[tuple[int, int]] = []

    def turn_started(self, start: TurnStart) -> None:
        """The fold opened a visible turn at `start.byte_offset`."""
        self._pending.turn_starts.append(start)

    def line(self, record: JsonObject, turn_position: int) -> None:
        """A visible line of the thread's own rollout (collects message texts). `turn_position`:
        the 0-based position among the thread's turns of the turn the line belongs to (the
        number of turns before it), which a later rollback compares with its cut."""
        text = searchable_text(record)
        if not text:
            return
        if not self._turn_marks or self._turn_marks[-1][0] < turn_position:
            self._turn_marks.append((turn_position, self._kept_messages))
        self._pending.messages.append(text[:MAX_SEARCHABLE_MESSAGE_CHARS])
        self._kept_messages += 1

    def rolled_back(self, kept_turns: int) -> None:
        """A rollback left the thread `kept_turns` turns: the messages of later turns stop
        being searchable (see the module docstring)."""
        marks = self._turn_marks
        cut = bisect_left(marks, kept_turns, key=lambda mark: mark[0])
        if cut == len(marks):
            return  # no message in a dropped turn
        first_dropped = marks[cut][1]
        del marks[cut:]
        self._kept_messages = first_dropped
        pending = self._pending
        if first_dropped >= pending.message_base:
            del pending.messages[first_dropped - pending.message_base :]
            return
        pending.messages.clear()
        pending.message_base = first_dropped
        if pending.drop_messages_from is None or first_dropped < pending.drop_messages_from:
            pending.drop_messages_from = first_dropped

    def mark_unpageable(self) -> None:
        """The turns can no longer be read by offset (sticky)."""
        self.pageable = False

    def drain(self) -> HistoryIndexDelta:
        """Everything collected since the last call, with the current flags."""
        delta = self._pending
        self._pending = HistoryIndexDelta(message_base=self._kept_messages)
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
