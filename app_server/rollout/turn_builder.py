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
  timestamps; a legacy `user_message` outside an explicit turn starts an implicit turn
  (`legacy_turn_events`).

Finished turns are frozen into their wire JSON (`pending_turn`), so a fold of a huge file holds
about the size of the answer, not 2.5 times it.

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
from typing import Any

from msgspec import Struct

from app_server.rollout import wire_values
from app_server.rollout.events import EventType
from app_server.rollout.legacy_turn_events import LEGACY_EVENT_HANDLERS
from app_server.rollout.lines import JsonObject
from app_server.rollout.pending_turn import PendingTurn, upsert_item
from app_server.rollout.rendered_items import rendered_item_from_core
from app_server.rollout.turn_entry import TurnEntry
from protocol.types import ThreadItem

logger = logging.getLogger(__name__)


class TurnCheckpoint(Struct, frozen=True):
    """The builder's counters at a line boundary (see the module docstring)."""

    next_item_index: int = 1
    next_implicit_turn: int = 1


class TurnBuilder:
    """Accumulates turns from rollout lines (see the module docstring for the rules)."""

    def __init__(
        self, *, keep_items: bool = True, checkpoint: TurnCheckpoint | None = None
    ) -> None:
        self._turns: list[PendingTurn] = []
        self._current: PendingTurn | None = None
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
        if not isinstance(payload, (dict, Mapping)):
            return
        if kind == "event_msg":
            self._apply_event(payload, record.get("ordinal"))
        elif kind == "compacted":
            self.ensure_turn().saw_compaction = True

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

    def stop_keeping_items(self) -> None:
        """From now on fold as `keep_items=False` would have: the finished turns' items (their
        frozen JSON) are let go. A writer's fold that also served a resume's history keeps
        only what later appends need."""
        self._keep_items = False
        for turn in self._turns:
            turn.frozen = None
            turn.frozen_item_count = 0
            turn.items = []
            turn.item_ordinals = dict(turn.item_ordinals)  # entries handed out keep theirs

    def checkpoint(self) -> TurnCheckpoint:
        """The counters now: start a builder here to fold the following lines alone."""
        return TurnCheckpoint(*self.counters())

    def counters(self) -> tuple[int, int]:
        """`checkpoint()`'s fields, as a tuple (`TurnCheckpoint(*counters)`)."""
        return self._next_item_index, self._next_implicit_turn

    @property
    def closed_turns(self) -> int:
        """How many turns are finished and kept: the position (0-based) the open turn has
        among the thread's turns, and what a rollback leaves."""
        return len(self._turns)

    @property
    def current_turn_id(self) -> str | None:
        """The id of the turn still open (started, not yet completed/aborted)."""
        return self._current.id if self._current is not None else None

    # ---------------------------------------------------------------------------------------
    # What the legacy events use (`legacy_turn_events.LegacyFoldTarget`)

    @property
    def current(self) -> PendingTurn | None:
        """The turn still open, if any."""
        return self._current

    def finish_current(self) -> None:
        """Close the open turn: kept (frozen, or without items) if it has anything to show."""
        turn = self._current
        self._current = None
        if turn is None:
            return
        if not turn.items and not turn.opened_explicitly and not turn.saw_compaction:
            return
        if self._keep_items:
            turn.freeze()
        else:
            turn.items = []
        self._turns.append(turn)

    def ensure_turn(self) -> PendingTurn:
        """The open turn, or a new implicit one (`turn-N`)."""
        if self._current is None:
            self._current = PendingTurn(
                id=f"turn-{self._next_implicit_turn}", root_turn_id=None, rollout_ordinal=None
            )
            self._next_implicit_turn += 1
            self.opened_turns += 1
        return self._current

    def next_item_id(self) -> str:
        """The next synthetic item id (`item-N`, counted over the whole thread)."""
        item_id = f"item-{self._next_item_index}"
        self._next_item_index += 1
        return item_id

    def upsert_in_turn(self, turn_id: Any, item: ThreadItem | None) -> None:
        """Tool items of legacy events: into the named turn when known, else the open turn."""
        if item is None:
            return
        target = self._find_exact(turn_id) if isinstance(turn_id, str) and turn_id else None
        upsert_item((target or self.ensure_turn()).items, item)

    # ---------------------------------------------------------------------------------------
    # Turn lifecycle

    def _apply_event(self, payload: JsonObject, ordinal: Any) -> None:
        kind = payload.get("type")
        if not isinstance(kind, str):
            return
        handler = _EVENT_HANDLERS.get(kind)
        if handler is not None:
            handler(self, payload, ordinal)
            return
        legacy = _LEGACY_HANDLERS.get(kind)
        if legacy is not None:
            legacy(self, payload)

    def _task_started(self, payload: JsonObject, ordinal: Any) -> None:
        turn_id = payload.get("turn_id")
        if not isinstance(turn_id, str):
            return
        self.finish_current()
        root = payload.get("root_turn_id")
        if not isinstance(root, str):
            attribution = payload.get("turn_attribution")
            root = (
                attribution.get("root_turn_id")
                if isinstance(attribution, (dict, Mapping))
                else None
            )
        self.opened_turns += 1
        self._current = PendingTurn(
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
            self.finish_current()

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
        self.finish_current()
        count = payload.get("num_turns")
        if not isinstance(count, int) or count <= 0:
            return
        del self._turns[max(0, len(self._turns) - count) :]
        self._next_item_index = sum(turn.item_count for turn in self._turns) + 1

    def _find_turn(self, turn_id: Any) -> PendingTurn | None:
        """The turn an end event names (thawed, to be changed); falls back to the open turn
        (like codex)."""
        if isinstance(turn_id, str):
            if self._current is not None and self._current.id == turn_id:
                return self._current
            for turn in self._turns:
                if turn.id == turn_id:
                    turn.thaw()
                    return turn
        return self._current

    def _find_exact(self, turn_id: str) -> PendingTurn | None:
        """The turn with this id (thawed, to be changed), newest first; None if unknown."""
        if self._current is not None and self._current.id == turn_id:
            return self._current
        for turn in reversed(self._turns):
            if turn.id == turn_id:
                turn.thaw()
                return turn
        return None

    # ---------------------------------------------------------------------------------------
    # Items

    def _item_completed(self, payload: JsonObject, ordinal: Any) -> None:
        item = payload.get("item")
        if not isinstance(item, (dict, Mapping)):
            return
        mapped = rendered_item_from_core(
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
        upsert_item(target.items, mapped)
        if isinstance(ordinal, int) and not isinstance(ordinal, bool):
            target.item_ordinals.setdefault(mapped.id, ordinal)


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _set_if_present(turn: PendingTurn, name: str, value: Any) -> None:
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
}
_EVENT_HANDLERS: dict[str, _EventHandler] = {k: v for k, v in _TYPED_EVENT_HANDLERS.items()}
"""Looked up by any string read from a file; keyed by the events the format knows."""
_LEGACY_HANDLERS = {str(k): v for k, v in LEGACY_EVENT_HANDLERS.items()}
"""The legacy events (`legacy_turn_events`), by any string read from a file."""
