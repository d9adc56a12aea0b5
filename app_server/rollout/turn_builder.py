"""The Turn/ThreadItem half of the history fold: rollout events → turns with items.

Mirrors codex 0.169's thread-history reducer (what `thread/read` and the paginated projection
show), so that turns read back exactly as codex shows them:

- `task_started` opens an explicit turn (id, rootTurnId, startedAt; status `inProgress`), and
  remembers the line's rollout ordinal (the anchor of 0.169's turn cursors);
- `task_complete` completes it (`completedAt`, `durationMs`; `failed` when it carries an
  `error`); `turn_aborted` marks it `interrupted`; an `error` event that affects turn status marks
  the current turn `failed`; `thread_rolled_back` drops the last N turns;
- paginated `item_completed` upserts the mapped item into the turn named by its `turn_id`
  (items of unknown turns are dropped, as codex does);
- legacy events (`user_message`, `agent_message`, `agent_reasoning`, tool begin/end, …) append
  items with synthetic ids `item-1`, `item-2`, … (counted over the whole thread) and null
  timestamps; a legacy `user_message` outside an explicit turn starts an implicit turn.

Pure and resumable: `apply()` one event at a time, `snapshot()` whenever a view is needed.

Paging without the whole file: `checkpoint()` is the little state (item and implicit-turn
counters) a turn's fold depends on besides its own lines. A builder started from the checkpoint
taken just before a turn's first line, fed that turn's lines onward, yields exactly the turns the
whole-file fold yields for them — as long as no rollback happened (`rolled_back`), since a
rollback renumbers items from the surviving turns. `keep_items=False` folds for the boundaries
only: finished turns drop their items, so a fold of a huge file stays small.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app_server.rollout import item_mapping, legacy_items, wire_values
from app_server.rollout.events import EventType
from app_server.rollout.lines import JsonObject
from app_server.rollout.turn_entry import TurnEntry
from protocol.types import (
    ReasoningThreadItem,
    ThreadItem,
    Turn,
    TurnError,
    TurnStatus,
)

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class _PendingTurn:
    id: str
    root_turn_id: str | None
    rollout_ordinal: int | None
    status: TurnStatus = "completed"
    error: TurnError | None = None
    started_at: int | None = None
    completed_at: int | None = None
    duration_ms: int | None = None
    items: list[ThreadItem] = field(default_factory=list)
    item_ordinals: dict[str, int] = field(default_factory=dict)
    opened_explicitly: bool = False
    saw_compaction: bool = False

    def to_entry(self) -> TurnEntry:
        """A wire snapshot of this turn (items copied, `itemsView: full`)."""
        turn = Turn(
            id=self.id,
            root_turn_id=self.root_turn_id,
            items=list(self.items),
            items_view="full",
            status=self.status,
            error=self.error,
            started_at=self.started_at,
            completed_at=self.completed_at,
            duration_ms=self.duration_ms,
        )
        return TurnEntry(
            turn=turn, rollout_ordinal=self.rollout_ordinal, item_ordinals=dict(self.item_ordinals)
        )


@dataclass(frozen=True, slots=True)
class TurnCheckpoint:
    """The builder's counters at a line boundary (see the module docstring)."""

    next_item_index: int = 1
    next_implicit_turn: int = 1


class TurnBuilder:
    """Accumulates turns from rollout lines (see the module docstring for the rules)."""

    def __init__(
        self, *, keep_items: bool = True, checkpoint: TurnCheckpoint | None = None
    ) -> None:
        self._turns: list[_PendingTurn] = []
        self._current: _PendingTurn | None = None
        start = checkpoint or TurnCheckpoint()
        self._next_item_index = start.next_item_index
        self._next_implicit_turn = start.next_implicit_turn
        self._keep_items = keep_items
        self.opened_turns = 0
        """How many turns were opened so far (explicitly or implicitly)."""
        self.rolled_back = False
        """Whether a `thread_rolled_back` was folded (checkpoints are not reliable after it)."""

    # ---------------------------------------------------------------------------------------
    # Public API

    def apply(self, record: JsonObject) -> None:
        """Fold one rollout line (`{"type", "payload", "ordinal"?, …}`) into the turns."""
        kind = record.get("type")
        payload = record.get("payload")
        if not isinstance(payload, Mapping):
            return
        if kind == "event_msg":
            self._apply_event(payload, record.get("ordinal"))
        elif kind == "compacted":
            self._ensure_turn().saw_compaction = True

    def snapshot(self) -> list[TurnEntry]:
        """The turns so far, oldest first, as wire `Turn`s (`itemsView: full`).

        An open turn is included when it was opened explicitly or has items; its status stays
        `inProgress` until its end event is read.
        """
        entries = [turn.to_entry() for turn in self._turns]
        current = self._current
        if current is not None and (
            current.items or current.opened_explicitly or current.saw_compaction
        ):
            entries.append(current.to_entry())
        return entries

    def checkpoint(self) -> TurnCheckpoint:
        """The counters now: start a builder here to fold the following lines alone."""
        return TurnCheckpoint(self._next_item_index, self._next_implicit_turn)

    @property
    def current_turn_id(self) -> str | None:
        """The id of the turn still open (started, not yet completed/aborted)."""
        return self._current.id if self._current is not None else None

    # ---------------------------------------------------------------------------------------
    # Turn lifecycle

    def _apply_event(self, payload: JsonObject, ordinal: Any) -> None:
        kind = payload.get("type")
        handler = _EVENT_HANDLERS.get(kind) if isinstance(kind, str) else None
        if handler is not None:
            handler(self, payload, ordinal)

    def _task_started(self, payload: JsonObject, ordinal: Any) -> None:
        turn_id = payload.get("turn_id")
        if not isinstance(turn_id, str):
            return
        self._finish_current()
        root = payload.get("root_turn_id")
        if not isinstance(root, str):
            attribution = payload.get("turn_attribution")
            root = attribution.get("root_turn_id") if isinstance(attribution, Mapping) else None
        self.opened_turns += 1
        self._current = _PendingTurn(
            id=turn_id,
            root_turn_id=root if isinstance(root, str) else turn_id,
            rollout_ordinal=ordinal if isinstance(ordinal, int) else None,
            status="inProgress",
            started_at=_int_or_none(payload.get("started_at")),
            opened_explicitly=True,
        )

    def _task_complete(self, payload: JsonObject, _ordinal: Any) -> None:
        turn = self._find_turn(payload.get("turn_id"))
        if turn is None:
            return
        if turn.status in {"completed", "inProgress"}:
            turn.status = "completed"
        error = payload.get("error")
        if error is not None:
            turn.status = "failed"
            turn.error = wire_values.turn_error_from_payload(error) or turn.error
        _set_if_present(turn, "completed_at", payload.get("completed_at"))
        _set_if_present(turn, "duration_ms", payload.get("duration_ms"))
        if turn is self._current:
            self._finish_current()

    def _turn_aborted(self, payload: JsonObject, _ordinal: Any) -> None:
        turn = self._find_turn(payload.get("turn_id"))
        if turn is None:
            return
        turn.status = "interrupted"
        _set_if_present(turn, "completed_at", payload.get("completed_at"))
        _set_if_present(turn, "duration_ms", payload.get("duration_ms"))

    def _error(self, payload: JsonObject, _ordinal: Any) -> None:
        if self._current is None:
            return
        if not wire_values.error_affects_turn_status(payload.get("codex_error_info")):
            return
        self._current.status = "failed"
        self._current.error = wire_values.turn_error_from_payload(payload)

    def _thread_rolled_back(self, payload: JsonObject, _ordinal: Any) -> None:
        self.rolled_back = True
        self._finish_current()
        count = payload.get("num_turns")
        if not isinstance(count, int) or count <= 0:
            return
        del self._turns[max(0, len(self._turns) - count) :]
        self._next_item_index = sum(len(turn.items) for turn in self._turns) + 1

    def _find_turn(self, turn_id: Any) -> _PendingTurn | None:
        """The turn an end event names; falls back to the open turn (like codex)."""
        if isinstance(turn_id, str):
            if self._current is not None and self._current.id == turn_id:
                return self._current
            for turn in self._turns:
                if turn.id == turn_id:
                    return turn
        return self._current

    def _finish_current(self) -> None:
        turn = self._current
        self._current = None
        if turn is None:
            return
        if not turn.items and not turn.opened_explicitly and not turn.saw_compaction:
            return
        if not self._keep_items:
            turn.items = []
        self._turns.append(turn)

    def _ensure_turn(self) -> _PendingTurn:
        if self._current is None:
            self._current = _PendingTurn(
                id=f"turn-{self._next_implicit_turn}", root_turn_id=None, rollout_ordinal=None
            )
            self._next_implicit_turn += 1
            self.opened_turns += 1
        return self._current

    def _next_item_id(self) -> str:
        item_id = f"item-{self._next_item_index}"
        self._next_item_index += 1
        return item_id

    # ---------------------------------------------------------------------------------------
    # Items

    def _item_completed(self, payload: JsonObject, ordinal: Any) -> None:
        item = payload.get("item")
        if not isinstance(item, Mapping):
            return
        mapped = item_mapping.thread_item_from_core(
            item,
            started_at_ms=payload.get("started_at_ms"),
            completed_at_ms=payload.get("completed_at_ms"),
        )
        if mapped is None:
            return
        turn_id = payload.get("turn_id")
        target = None
        if isinstance(turn_id, str):
            target = self._find_exact(turn_id)
        if target is None:
            logger.debug("dropping item %s for unknown turn %r", mapped.id, turn_id)
            return
        _upsert(target.items, mapped)
        if isinstance(ordinal, int) and not isinstance(ordinal, bool):
            target.item_ordinals.setdefault(mapped.id, ordinal)

    def _upsert_in_turn(self, turn_id: Any, item: ThreadItem | None) -> None:
        """Tool items of legacy events: into the named turn when known, else the open turn."""
        if item is None:
            return
        target = self._find_exact(turn_id) if isinstance(turn_id, str) and turn_id else None
        _upsert((target or self._ensure_turn()).items, item)

    def _find_exact(self, turn_id: str) -> _PendingTurn | None:
        if self._current is not None and self._current.id == turn_id:
            return self._current
        for turn in reversed(self._turns):
            if turn.id == turn_id:
                return turn
        return None

    def _user_message(self, payload: JsonObject, _ordinal: Any) -> None:
        current = self._current
        if (
            current is not None
            and not current.opened_explicitly
            and not (current.saw_compaction and not current.items)
        ):
            self._finish_current()
        item = legacy_items.legacy_user_message(self._next_item_id(), payload)
        if item is not None:
            self._ensure_turn().items.append(item)

    def _agent_message(self, payload: JsonObject, _ordinal: Any) -> None:
        if not payload.get("message"):
            return
        item = legacy_items.legacy_agent_message(self._next_item_id(), payload)
        if item is not None:
            self._ensure_turn().items.append(item)

    def _agent_reasoning(self, payload: JsonObject, _ordinal: Any) -> None:
        self._reasoning_text(payload, raw=False)

    def _agent_reasoning_raw(self, payload: JsonObject, _ordinal: Any) -> None:
        self._reasoning_text(payload, raw=True)

    def _reasoning_text(self, payload: JsonObject, *, raw: bool) -> None:
        text = payload.get("text")
        if not isinstance(text, str) or not text:
            return
        items = self._ensure_turn().items
        last = items[-1] if items else None
        if isinstance(last, ReasoningThreadItem):
            items[-1] = last.model_copy(
                update={"content": [*last.content, text]}
                if raw
                else {"summary": [*last.summary, text]}
            )
            return
        item_id = self._next_item_id()
        items.append(
            ReasoningThreadItem(
                id=item_id, summary=[] if raw else [text], content=[text] if raw else []
            )
        )

    def _exec_begin(self, payload: JsonObject, _ordinal: Any) -> None:
        item = legacy_items.legacy_command_execution(payload, completed=False)
        self._upsert_in_turn(payload.get("turn_id"), item)

    def _exec_end(self, payload: JsonObject, _ordinal: Any) -> None:
        item = legacy_items.legacy_command_execution(payload, completed=True)
        self._upsert_in_turn(payload.get("turn_id"), item)

    def _patch_begin(self, payload: JsonObject, _ordinal: Any) -> None:
        item = legacy_items.legacy_file_change(payload, completed=False)
        self._upsert_in_turn(payload.get("turn_id"), item)

    def _patch_end(self, payload: JsonObject, _ordinal: Any) -> None:
        item = legacy_items.legacy_file_change(payload, completed=True)
        self._upsert_in_turn(payload.get("turn_id"), item)

    def _web_search_begin(self, payload: JsonObject, _ordinal: Any) -> None:
        self._upsert_in_turn(None, legacy_items.legacy_web_search(payload, completed=False))

    def _web_search_end(self, payload: JsonObject, _ordinal: Any) -> None:
        self._upsert_in_turn(None, legacy_items.legacy_web_search(payload, completed=True))

    def _mcp_begin(self, payload: JsonObject, _ordinal: Any) -> None:
        self._upsert_in_turn(None, legacy_items.legacy_mcp_tool_call(payload, completed=False))

    def _mcp_end(self, payload: JsonObject, _ordinal: Any) -> None:
        self._upsert_in_turn(None, legacy_items.legacy_mcp_tool_call(payload, completed=True))

    def _view_image(self, payload: JsonObject, _ordinal: Any) -> None:
        self._upsert_in_turn(None, legacy_items.legacy_image_view(payload))

    def _context_compacted(self, _payload: JsonObject, _ordinal: Any) -> None:
        item = legacy_items.legacy_context_compaction(self._next_item_id())
        self._ensure_turn().items.append(item)

    def _entered_review(self, payload: JsonObject, _ordinal: Any) -> None:
        item = legacy_items.legacy_entered_review(self._next_item_id(), payload)
        self._ensure_turn().items.append(item)

    def _exited_review(self, payload: JsonObject, _ordinal: Any) -> None:
        item = legacy_items.legacy_exited_review(self._next_item_id(), payload)
        self._ensure_turn().items.append(item)


def _upsert(items: list[ThreadItem], item: ThreadItem) -> None:
    """Replace the item with the same id, or append (codex's `upsert_turn_item`)."""
    for index, existing in enumerate(items):
        if existing.id == item.id:
            items[index] = item
            return
    items.append(item)


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _set_if_present(turn: _PendingTurn, name: str, value: Any) -> None:
    number = _int_or_none(value)
    if number is not None:
        setattr(turn, name, number)


_EventHandler = Callable[[TurnBuilder, JsonObject, Any], None]
_TYPED_EVENT_HANDLERS: dict[EventType, _EventHandler] = {
    "task_started": TurnBuilder._task_started,
    "task_complete": TurnBuilder._task_complete,
    "turn_aborted": TurnBuilder._turn_aborted,
    "error": TurnBuilder._error,
    "thread_rolled_back": TurnBuilder._thread_rolled_back,
    "item_completed": TurnBuilder._item_completed,
    "user_message": TurnBuilder._user_message,
    "agent_message": TurnBuilder._agent_message,
    "agent_reasoning": TurnBuilder._agent_reasoning,
    "agent_reasoning_raw_content": TurnBuilder._agent_reasoning_raw,
    "exec_command_begin": TurnBuilder._exec_begin,
    "exec_command_end": TurnBuilder._exec_end,
    "patch_apply_begin": TurnBuilder._patch_begin,
    "patch_apply_end": TurnBuilder._patch_end,
    "web_search_begin": TurnBuilder._web_search_begin,
    "web_search_end": TurnBuilder._web_search_end,
    "mcp_tool_call_begin": TurnBuilder._mcp_begin,
    "mcp_tool_call_end": TurnBuilder._mcp_end,
    "view_image_tool_call": TurnBuilder._view_image,
    "context_compacted": TurnBuilder._context_compacted,
    "entered_review_mode": TurnBuilder._entered_review,
    "exited_review_mode": TurnBuilder._exited_review,
}
_EVENT_HANDLERS: dict[str, _EventHandler] = {k: v for k, v in _TYPED_EVENT_HANDLERS.items()}
"""Looked up by any string read from a file; keyed by the events the format knows."""
