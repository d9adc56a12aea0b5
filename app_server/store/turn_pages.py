"""Pure paging of a thread's turns for `thread/turns/list`, and item-view selection.

Items views (PROTOCOL.md §6.3, §7.6):
- `full`: every persisted item;
- `summary` (the default): the turn's first user message and its final agent message (the
  items 0.169's projection records as `first_user_item_id` / `final_agent_item_id`);
- `notLoaded`: no items.

Cursors are opaque to clients but use 0.169's exact encodings (compact JSON):
- paginated threads: `{"requestedThreadId":<id>,"rolloutOrdinal":<task_started ordinal>,
  "includeAnchor":<bool>,"scope":{"kind":"turns"}}`;
- legacy threads (no ordinals): `{"turnId":<id>,"includeAnchor":<bool>}`.
A page's `nextCursor` anchors on its last turn with `includeAnchor: false` (continue after it;
null on the last page); its `backwardsCursor` anchors on its first turn with `includeAnchor:
true` (pass it with the opposite `sortDirection` to read back over the anchor again).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import orjson
from msgspec import Struct

from app_server.rollout.lines import HistoryMode, JsonObject
from app_server.rollout.turn_builder import TurnBuilder, TurnCheckpoint
from app_server.rollout.turn_entry import TurnEntry
from app_server.store.errors import InvalidCursor
from protocol import types as wire
from protocol.types import (
    AgentMessageThreadItem,
    SortDirection,
    ThreadItem,
    Turn,
    TurnItemsView,
    UserMessageThreadItem,
)

if TYPE_CHECKING:  # created on first use (through `wire` at run time), not by a first turn
    from protocol.types import ThreadTurnsListResponse

DEFAULT_TURNS_PAGE_LIMIT = 25
"""Page size when `limit` is omitted (**[UNSURE]** 0.169's value; same policy as thread/list)."""
MAX_TURNS_PAGE_LIMIT = 200
"""Larger limits are clamped (0 is clamped up to 1)."""
DEFAULT_ITEMS_VIEW: TurnItemsView = "summary"
DEFAULT_SORT_DIRECTION: SortDirection = "desc"


class TurnCursor(Struct, frozen=True):
    """A decoded cursor: an anchor turn (by rollout ordinal or by id) and whether to include it."""

    include_anchor: bool
    rollout_ordinal: int | None = None
    turn_id: str | None = None


class TurnPageRequest(Struct, frozen=True):
    """The paging part of a `thread/turns/list` request (defaults applied by the pager)."""

    cursor: str | None = None
    limit: int | None = None
    sort_direction: SortDirection | None = None
    items_view: TurnItemsView | None = None

    @property
    def direction(self) -> SortDirection:
        """The effective sort direction."""
        return self.sort_direction or DEFAULT_SORT_DIRECTION

    @property
    def view(self) -> TurnItemsView:
        """The effective items view."""
        return self.items_view or DEFAULT_ITEMS_VIEW


class TurnsPage(Struct, frozen=True):
    """One page of `thread/turns/list`."""

    data: list[Turn]
    next_cursor: str | None
    backwards_cursor: str | None

    def to_response(self) -> ThreadTurnsListResponse:
        """The wire result object."""
        return wire.ThreadTurnsListResponse(
            data=self.data, next_cursor=self.next_cursor, backwards_cursor=self.backwards_cursor
        )


# --------------------------------------------------------------------------------------------
# Items views


def summary_items(items: Sequence[ThreadItem]) -> list[ThreadItem]:
    """The first user message and the final agent message of a turn, in turn order.

    "Final" prefers the last agent message with phase `final_answer`, else the last one.
    """
    first_user = next((item for item in items if isinstance(item, UserMessageThreadItem)), None)
    agents = [item for item in items if isinstance(item, AgentMessageThreadItem)]
    finals = [item for item in agents if item.phase == "final_answer"]
    final_agent = finals[-1] if finals else (agents[-1] if agents else None)
    return [item for item in items if item is first_user or item is final_agent]


def with_items_view(turn: Turn, view: TurnItemsView) -> Turn:
    """A copy of `turn` whose `items` and `itemsView` follow `view`."""
    if view == "full":
        items = list(turn.items)
    elif view == "summary":
        items = summary_items(turn.items)
    else:
        items = []
    return turn.model_copy(update={"items": items, "items_view": view})


# --------------------------------------------------------------------------------------------
# Cursors


def encode_cursor(
    thread_id: str, entry: TurnEntry, *, history_mode: HistoryMode, include_anchor: bool
) -> str:
    """0.169's cursor text anchored on `entry` (ordinal form when the turn has an ordinal)."""
    if history_mode == "paginated" and entry.rollout_ordinal is not None:
        value: dict[str, Any] = {
            "requestedThreadId": thread_id,
            "rolloutOrdinal": entry.rollout_ordinal,
            "includeAnchor": include_anchor,
            "scope": {"kind": "turns"},
        }
    else:
        value = {"turnId": entry.turn_id, "includeAnchor": include_anchor}
    return orjson.dumps(value).decode()


def decode_cursor(thread_id: str, cursor: str) -> TurnCursor:
    """Parse a cursor issued for `thread_id`; raises `InvalidCursor` otherwise."""
    try:
        value = orjson.loads(cursor)
    except orjson.JSONDecodeError as error:
        raise InvalidCursor(cursor) from error
    if not isinstance(value, dict) or not isinstance(value.get("includeAnchor"), bool):
        raise InvalidCursor(cursor)
    include_anchor: bool = value["includeAnchor"]
    if "rolloutOrdinal" in value:
        ordinal = value.get("rolloutOrdinal")
        scope = value.get("scope")
        if (
            not isinstance(ordinal, int)
            or isinstance(ordinal, bool)
            or value.get("requestedThreadId") != thread_id
            or not isinstance(scope, dict)
            or scope.get("kind") != "turns"
        ):
            raise InvalidCursor(cursor)
        return TurnCursor(include_anchor=include_anchor, rollout_ordinal=ordinal)
    turn_id = value.get("turnId")
    if not isinstance(turn_id, str):
        raise InvalidCursor(cursor)
    return TurnCursor(include_anchor=include_anchor, turn_id=turn_id)


# --------------------------------------------------------------------------------------------
# Paging


def clamp_limit(limit: int | None) -> int:
    """The effective page size for a requested `limit`."""
    if limit is None:
        return DEFAULT_TURNS_PAGE_LIMIT
    return max(1, min(limit, MAX_TURNS_PAGE_LIMIT))


class PageWindow(Struct, frozen=True):
    """The turns (by position, oldest first) an indexed page covers: `first`..`last` inclusive,
    empty when `last < first`; `has_more`: turns remain beyond it in the page direction."""

    first: int
    last: int
    has_more: bool


def page_window(start: int, count: int, limit: int | None, *, descending: bool) -> PageWindow:
    """The window of a page starting at position `start` (in the page direction, possibly out of
    range) of a thread with `count` turns: what both stores' turn-start indexes read."""
    size = clamp_limit(limit)
    if descending:
        last = min(start, count - 1)
        first = max(0, last - size + 1)
        return PageWindow(first, last, has_more=first > 0)
    first = max(start, 0)
    last = min(count - 1, first + size - 1)
    return PageWindow(first, last, has_more=last < count - 1)


def page_turns(
    thread_id: str,
    entries: Sequence[TurnEntry],
    *,
    history_mode: HistoryMode,
    cursor: str | None = None,
    limit: int | None = None,
    sort_direction: SortDirection | None = None,
    items_view: TurnItemsView | None = None,
) -> TurnsPage:
    """One page of `entries` (oldest first, as folded) for `thread/turns/list`.

    Raises `InvalidCursor` for a cursor that does not decode for this thread or names a
    turn the thread does not have.
    """
    direction = sort_direction or DEFAULT_SORT_DIRECTION
    view = items_view or DEFAULT_ITEMS_VIEW
    ordered = list(entries) if direction == "asc" else list(reversed(entries))
    start = 0
    if cursor is not None:
        start = _start_index(ordered, decode_cursor(thread_id, cursor), cursor, direction)
    size = clamp_limit(limit)
    page = ordered[start : start + size]
    has_more = start + size < len(ordered)
    return build_turns_page(
        thread_id, page, has_more=has_more, history_mode=history_mode, view=view
    )


def page_for_request(
    thread_id: str,
    entries: Sequence[TurnEntry],
    *,
    history_mode: HistoryMode,
    request: TurnPageRequest,
) -> TurnsPage:
    """`page_turns` with the parameters of a `TurnPageRequest`."""
    return page_turns(
        thread_id,
        entries,
        history_mode=history_mode,
        cursor=request.cursor,
        limit=request.limit,
        sort_direction=request.sort_direction,
        items_view=request.items_view,
    )


def build_turns_page(
    thread_id: str,
    page: Sequence[TurnEntry],
    *,
    has_more: bool,
    history_mode: HistoryMode,
    view: TurnItemsView,
) -> TurnsPage:
    """The page of `page` (already in display order) with its cursors (module docstring)."""
    next_cursor = None
    backwards_cursor = None
    if page:
        backwards_cursor = encode_cursor(
            thread_id, page[0], history_mode=history_mode, include_anchor=True
        )
        if has_more:
            next_cursor = encode_cursor(
                thread_id, page[-1], history_mode=history_mode, include_anchor=False
            )
    return TurnsPage(
        data=[with_items_view(entry.turn, view) for entry in page],
        next_cursor=next_cursor,
        backwards_cursor=backwards_cursor,
    )


class TurnSeqLookup(Protocol):
    """What `first_seq` asks a store's turn index (each store answers from its own tables)."""

    async def has_unordered_turns(self, thread_id: str) -> bool:
        """Whether some turn has no rollout ordinal (legacy or implicit turns)."""
        ...

    async def seq_after_ordinal(
        self, thread_id: str, ordinal: int, *, descending: bool, include: bool
    ) -> int | None:
        """The first turn past a rollout-ordinal anchor in the page direction (`None`: none)."""
        ...

    async def seq_of_turn(self, thread_id: str, turn_id: str) -> int | None:
        """The position of `turn_id` among the thread's turns, if indexed."""
        ...


async def first_seq(
    lookup: TurnSeqLookup,
    thread_id: str,
    history_mode: HistoryMode,
    cursor: str | None,
    *,
    descending: bool,
    count: int,
) -> int:
    """The position (among the thread's `count` turns) an indexed page starts at, in the page
    direction; may be out of range (an empty page). Raises `InvalidCursor` for a cursor the
    index cannot place: an ordinal anchor on a thread with unordered turns, an unknown turn."""
    if cursor is None:
        return count - 1 if descending else 0
    anchor = decode_cursor(thread_id, cursor)
    if anchor.rollout_ordinal is not None:
        if history_mode != "paginated" or await lookup.has_unordered_turns(thread_id):
            raise InvalidCursor(cursor)
        seq = await lookup.seq_after_ordinal(
            thread_id, anchor.rollout_ordinal, descending=descending, include=anchor.include_anchor
        )
        if seq is None:
            return -1 if descending else count
        return seq
    assert anchor.turn_id is not None
    seq = await lookup.seq_of_turn(thread_id, anchor.turn_id)
    if seq is None:
        raise InvalidCursor(cursor)
    if anchor.include_anchor:
        return seq
    return seq - 1 if descending else seq + 1


def fold_window(
    records: Iterable[tuple[int, JsonObject]],
    checkpoint: TurnCheckpoint,
    hidden_before_ordinal: int | None,
) -> list[TurnEntry]:
    """The turns of an indexed page: its lines folded from its first turn's checkpoint,
    leaving out the lines before a sub-agent's own history starts (`ordinal <
    hidden_before_ordinal`, its `session_meta`'s `subagent_history_start_ordinal`)."""
    builder = TurnBuilder(checkpoint=checkpoint)
    for _offset, record in records:
        ordinal = record.get("ordinal")
        if (
            hidden_before_ordinal is not None
            and isinstance(ordinal, int)
            and ordinal < hidden_before_ordinal
        ):
            continue
        builder.apply(record)
    return builder.snapshot()


def _start_index(
    ordered: list[TurnEntry], anchor: TurnCursor, raw: str, direction: SortDirection
) -> int:
    """Index in `ordered` of the first turn after (or at, with `includeAnchor`) the anchor."""
    if anchor.rollout_ordinal is not None:
        ordinal = anchor.rollout_ordinal
        for index, entry in enumerate(ordered):
            key = entry.rollout_ordinal
            if key is None:
                raise InvalidCursor(raw)
            if direction == "asc":
                after = key > ordinal or (anchor.include_anchor and key == ordinal)
            else:
                after = key < ordinal or (anchor.include_anchor and key == ordinal)
            if after:
                return index
        return len(ordered)
    for index, entry in enumerate(ordered):
        if entry.turn_id == anchor.turn_id:
            return index if anchor.include_anchor else index + 1
    raise InvalidCursor(raw)
