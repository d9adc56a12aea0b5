"""Pure paging of a thread's items for `thread/items/list` (codex 0.169's answers, observed).

Items are listed across the whole thread (or one turn with `turnId`) in the order they were
created: by the rollout ordinal of the `item_completed` line that first recorded them. Each
entry is `{turnId, item, startedAtMs, completedAtMs}`.

Cursors are opaque to clients but use 0.169's exact encoding (compact JSON):
`{"requestedThreadId":<id>,"rolloutOrdinal":<item ordinal>,"includeAnchor":<bool>,
"scope":{"kind":"itemsByCreatedAtOrdinal"}}`. Like `thread/turns/list`, a page's `nextCursor`
anchors on its last item with `includeAnchor: false` (null on the last page) and its
`backwardsCursor` on its first item with `includeAnchor: true`. An ordinal is a position, not an
item: a cursor still pages correctly after the item it names is gone, and with `turnId` it is
read within that turn. A client may instead pass an item anchor `{"type":"item","itemId":…}`
together with `turnId`: the page starts after (ascending) or before (descending) that item.

Only paginated threads have item ordinals; 0.169 refuses the method for legacy threads and for
threads with nothing stored yet (`ItemsListUnsupported`), and so do we.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import orjson
from msgspec import Struct

from app_server.rollout.turn_entry import TurnEntry
from app_server.store.errors import (
    InvalidCursor,
    ItemAnchorNeedsTurn,
    ItemsListUnsupported,
    UnknownAnchorItem,
)
from protocol import types as wire
from protocol.types import (
    SortDirection,
    ThreadItem,
)

if TYPE_CHECKING:  # created on first use (through `wire` at run time), not by a first turn
    from protocol.types import (
        ThreadItemEntry,
        ThreadItemsListCursor,
        ThreadItemsListResponse,
    )

DEFAULT_ITEMS_PAGE_LIMIT = 25
"""Page size when `limit` is omitted (0.169's, observed)."""
MAX_ITEMS_PAGE_LIMIT = 1000
"""Larger limits are clamped (0 is raised to 1, as 0.169 does). A page is built in memory:
1,000 items of a few KB each is a few MB of answer."""
DEFAULT_ITEMS_SORT_DIRECTION: SortDirection = "asc"
"""The schema's default: oldest first."""
CURSOR_SCOPE = "itemsByCreatedAtOrdinal"


class PositionedItem(Struct, frozen=True):
    """One item with the turn it belongs to and its creation ordinal (its sort key)."""

    turn_id: str
    item: ThreadItem
    ordinal: int

    def to_entry(self) -> ThreadItemEntry:
        """The wire entry; its timestamps are the item's own."""
        return wire.ThreadItemEntry(
            turn_id=self.turn_id,
            item=self.item,
            started_at_ms=getattr(self.item, "started_at_ms", None),
            completed_at_ms=getattr(self.item, "completed_at_ms", None),
        )


class ItemPageRequest(Struct, frozen=True):
    """The paging part of a `thread/items/list` request."""

    turn_id: str | None = None
    cursor: ThreadItemsListCursor | None = None
    limit: int | None = None
    sort_direction: SortDirection | None = None


def positioned_items(turns: Sequence[TurnEntry], turn_id: str | None) -> list[PositionedItem]:
    """Every item of `turns` (or of the turn `turn_id`) in creation order.

    An item recorded by a legacy event inside a paginated thread has no ordinal of its own: it
    takes the last ordinal seen before it (ties keep fold order), so it is still listed.
    """
    out: list[PositionedItem] = []
    last = -1
    for entry in turns:
        if entry.rollout_ordinal is not None:
            last = max(last, entry.rollout_ordinal)
        turn = entry.turn  # built once per entry (a compact entry parses its JSON)
        for item in turn.items:
            own = entry.item_ordinals.get(item.id)
            position = last if own is None else own
            last = max(last, position)
            if turn_id is None or turn.id == turn_id:
                out.append(PositionedItem(turn.id, item, position))
    out.sort(key=lambda positioned: positioned.ordinal)  # stable: ties keep fold order
    return out


def has_item_ordinals(turns: Sequence[TurnEntry]) -> bool:
    """Whether the thread records item ordinals (a paginated thread with at least one item)."""
    return any(entry.item_ordinals for entry in turns)


def newest_item_ordinal(turns: Sequence[TurnEntry]) -> int | None:
    """The creation ordinal of the thread's newest item (`positioned_items`' largest), or None
    when it has no item: what the first newest-first page's `backwardsCursor` anchors on.

    A cold `thread/resume` of a huge thread answers that cursor; `positioned_items` would parse
    every turn for it. The positions before the last turn with items are bounded by the largest
    ordinal recorded so far (turn starts and item ordinals, which name items of their turn), so
    only that last turn is parsed; should its items all sort below that bound (a file whose
    ordinals go back), the full walk decides.
    """
    bound = -1
    for index in range(len(turns) - 1, -1, -1):
        entry = turns[index]
        turn = entry.turn
        if not turn.items:
            continue
        for earlier in turns[:index]:
            if earlier.rollout_ordinal is not None:
                bound = max(bound, earlier.rollout_ordinal)
            if earlier.item_ordinals:
                bound = max(bound, max(earlier.item_ordinals.values()))
        last = bound if entry.rollout_ordinal is None else max(bound, entry.rollout_ordinal)
        newest = -1
        for item in turn.items:
            own = entry.item_ordinals.get(item.id)
            position = last if own is None else own
            last = max(last, position)
            newest = max(newest, position)
        if newest >= bound:
            return newest
        return max(positioned.ordinal for positioned in positioned_items(turns, None))
    return None


def page_items(
    thread_id: str, turns: Sequence[TurnEntry], request: ItemPageRequest
) -> ThreadItemsListResponse:
    """One page of the thread's items (module docstring); raises `ItemsListUnsupported`,
    `InvalidCursor`, `ItemAnchorNeedsTurn` or `UnknownAnchorItem`."""
    if not has_item_ordinals(turns):
        raise ItemsListUnsupported
    direction = request.sort_direction or DEFAULT_ITEMS_SORT_DIRECTION
    items = positioned_items(turns, request.turn_id)
    ordered = items if direction == "asc" else items[::-1]
    start = _start_index(thread_id, ordered, request, direction)
    size = clamp_items_limit(request.limit)
    page = ordered[start : start + size]
    has_more = start + size < len(ordered)
    return wire.ThreadItemsListResponse(
        data=[positioned.to_entry() for positioned in page],
        next_cursor=encode_item_cursor(thread_id, page[-1].ordinal, False)
        if page and has_more
        else None,
        backwards_cursor=encode_item_cursor(thread_id, page[0].ordinal, True) if page else None,
    )


def clamp_items_limit(limit: int | None) -> int:
    """The effective page size for a requested `limit`."""
    if limit is None:
        return DEFAULT_ITEMS_PAGE_LIMIT
    return max(1, min(limit, MAX_ITEMS_PAGE_LIMIT))


def encode_item_cursor(thread_id: str, ordinal: int, include_anchor: bool) -> str:
    """0.169's item cursor text."""
    return orjson.dumps(
        {
            "requestedThreadId": thread_id,
            "rolloutOrdinal": ordinal,
            "includeAnchor": include_anchor,
            "scope": {"kind": CURSOR_SCOPE},
        }
    ).decode()


def decode_item_cursor(thread_id: str, cursor: str) -> tuple[int, bool]:
    """`(ordinal, include_anchor)` of a cursor issued for `thread_id`, else `InvalidCursor`."""
    try:
        value = orjson.loads(cursor)
    except orjson.JSONDecodeError as error:
        raise InvalidCursor(cursor) from error
    if not isinstance(value, dict):
        raise InvalidCursor(cursor)
    ordinal = value.get("rolloutOrdinal")
    include_anchor = value.get("includeAnchor")
    scope = value.get("scope")
    if (
        not isinstance(ordinal, int)
        or isinstance(ordinal, bool)
        or not isinstance(include_anchor, bool)
        or value.get("requestedThreadId") != thread_id
        or not isinstance(scope, dict)
        or scope.get("kind") != CURSOR_SCOPE
    ):
        raise InvalidCursor(cursor)
    return ordinal, include_anchor


def _start_index(
    thread_id: str,
    ordered: list[PositionedItem],
    request: ItemPageRequest,
    direction: SortDirection,
) -> int:
    cursor = request.cursor
    if cursor is None:
        return 0
    if isinstance(cursor, wire.ThreadItemsListAnchor):
        if not request.turn_id:
            raise ItemAnchorNeedsTurn
        for index, positioned in enumerate(ordered):
            if positioned.item.id == cursor.item_id:
                return index + 1
        raise UnknownAnchorItem
    ordinal, include_anchor = decode_item_cursor(thread_id, cursor)
    for index, key in enumerate(_ordinals(ordered)):
        if direction == "asc":
            after = key > ordinal or (include_anchor and key == ordinal)
        else:
            after = key < ordinal or (include_anchor and key == ordinal)
        if after:
            return index
    return len(ordered)


def _ordinals(ordered: list[PositionedItem]) -> Iterator[int]:
    return (positioned.ordinal for positioned in ordered)
