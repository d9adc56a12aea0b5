"""One turn while the history fold builds it, and how a finished turn is kept small.

A fold of a 100 MB rollout has thousands of finished turns. Held as pydantic items they cost
about 2.5 times their JSON, so a finished turn is frozen into its wire JSON (`freeze`), which is
also what the answer of `thread/read` is made of (see `turn_entry`). A later line that changes a
finished turn (an `item_completed` or end event naming an older turn, which codex files rarely
have) thaws it back into models first (`thaw`), so the result is the same as if it had never
been frozen.

Items of `item_completed` lines are kept rendered (`rendered_items.RenderedItem`), and a turn is
rendered from them with orjson (`render`): no model of the turn or of those items is built on
the way to its JSON, which is byte for byte what `render_turn` of the turn's model gives.
"""

from __future__ import annotations

import orjson
from msgspec import Struct, field

from app_server.rollout.rendered_items import RenderedItem, item_json
from app_server.rollout.turn_entry import TurnEntry, render_turn
from protocol.types import ThreadItem, Turn, TurnError, TurnStatus

FoldedItem = ThreadItem | RenderedItem
"""An item of a turn being folded: a model (legacy events) or rendered (`item_completed`)."""

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_EMPTY_ITEMS = b'"items":[]'


class PendingTurn(Struct):
    """A turn being folded: its wire fields, items and where its lines are in the rollout."""

    id: str
    root_turn_id: str | None
    rollout_ordinal: int | None
    status: TurnStatus = "completed"
    error: TurnError | None = None
    started_at: int | None = None
    completed_at: int | None = None
    duration_ms: int | None = None
    items: list[FoldedItem] = field(default_factory=list)
    item_ordinals: dict[str, int] = field(default_factory=dict)
    opened_explicitly: bool = False
    saw_compaction: bool = False
    frozen: bytes | None = None
    """The whole turn as wire JSON while frozen (then `items` is empty and the wire fields
    above may be stale: `thaw` restores them)."""
    frozen_item_count: int = 0

    @property
    def item_count(self) -> int:
        """How many items the turn has (frozen or not)."""
        return self.frozen_item_count if self.frozen is not None else len(self.items)

    def to_turn(self) -> Turn:
        """The wire turn now (`itemsView: full`; items copied)."""
        self.thaw()
        return Turn(
            id=self.id,
            root_turn_id=self.root_turn_id,
            items=[item.model() if isinstance(item, RenderedItem) else item for item in self.items],
            items_view="full",
            status=self.status,
            error=self.error,
            started_at=self.started_at,
            completed_at=self.completed_at,
            duration_ms=self.duration_ms,
        )

    def freeze(self) -> None:
        """Keep the finished turn as its wire JSON only (module docstring)."""
        if self.frozen is not None:
            return
        self.frozen = self.render()
        self.frozen_item_count = len(self.items)
        self.items = []

    def render(self) -> bytes:
        """The turn's wire JSON now (`itemsView: full`), as `render_turn(self.to_turn())` would
        write it, without building its model when its fields are plainly valid."""
        if self.frozen is not None:
            return self.frozen
        numbers = (self.started_at, self.completed_at, self.duration_ms)
        if not all(n is None or _INT64_MIN <= n <= _INT64_MAX for n in numbers):
            return render_turn(self.to_turn())  # the model refuses it, as before
        error = self.error
        envelope = orjson.dumps(
            {
                "completedAt": self.completed_at,
                "durationMs": self.duration_ms,
                "error": None
                if error is None
                else orjson.Fragment(TurnError.__pydantic_serializer__.to_json(error)),
                "id": self.id,
                "items": [],
                "itemsView": "full",
                "rootTurnId": self.root_turn_id,
                "startedAt": self.started_at,
                "status": self.status,
            }
        )
        # The items go where the empty list is, in one allocation of the turn's size (an
        # `orjson.dumps` of the whole turn grows its buffer as it goes and leaves the heap more
        # fragmented, which a fold of thousands of turns pays in peak RSS). `"items":[]` can
        # only be that key: a string's own quotes are escaped.
        at = envelope.index(_EMPTY_ITEMS)
        pieces = [envelope[:at], b'"items":[']
        for index, item in enumerate(self.items):
            if index:
                pieces.append(b",")
            pieces.append(item_json(item))
        pieces.append(b"]")
        pieces.append(envelope[at + len(_EMPTY_ITEMS) :])
        return b"".join(pieces)

    def thaw(self) -> None:
        """Make the turn's fields and items models again, before a line changes them."""
        if self.frozen is None:
            return
        turn = Turn.model_validate_json(self.frozen)
        self.frozen = None
        self.items = list(turn.items)
        self.status = turn.status
        self.error = turn.error
        self.started_at = turn.started_at
        self.completed_at = turn.completed_at
        self.duration_ms = turn.duration_ms
        # Entries taken while frozen share the ordinals dict; changes from here on must not
        # show through them.
        self.item_ordinals = dict(self.item_ordinals)

    def to_entry(self) -> TurnEntry:
        """A snapshot of this turn: its frozen JSON as is, else its JSON now (and a copy of
        its item ordinals, which later lines may still change)."""
        if self.frozen is not None:
            return TurnEntry.from_json(
                self.frozen,
                turn_id=self.id,
                rollout_ordinal=self.rollout_ordinal,
                item_ordinals=self.item_ordinals,
            )
        return TurnEntry.from_json(
            self.render(),
            turn_id=self.id,
            rollout_ordinal=self.rollout_ordinal,
            item_ordinals=dict(self.item_ordinals),
        )


def upsert_item(items: list[FoldedItem], item: FoldedItem) -> None:
    """Replace the item with the same id, or append (codex's `upsert_turn_item`)."""
    for index, existing in enumerate(items):
        if existing.id == item.id:
            items[index] = item
            return
    items.append(item)
