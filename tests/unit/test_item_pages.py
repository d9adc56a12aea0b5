"""Item paging rules of `thread/items/list` (pure functions of folded turns)."""

from __future__ import annotations

import pytest

from app_server.rollout.turn_entry import TurnEntry
from app_server.store.errors import InvalidCursor, ItemsListUnsupported
from app_server.store.item_pages import (
    ItemPageRequest,
    decode_item_cursor,
    encode_item_cursor,
    newest_item_ordinal,
    page_items,
    positioned_items,
)
from protocol.types import AgentMessageThreadItem, Turn

THREAD = "01a20eeb-d4ab-7d60-be7d-402cf5f03555"


def turn(turn_id: str, start: int, items: dict[str, int | None]) -> TurnEntry:
    """A turn starting at ordinal `start` whose items have the given ordinals (None: none)."""
    return TurnEntry(
        turn=Turn(
            id=turn_id,
            items=[AgentMessageThreadItem(id=item_id, text=item_id) for item_id in items],
            items_view="full",
            status="completed",
        ),
        rollout_ordinal=start,
        item_ordinals={k: v for k, v in items.items() if v is not None},
    )


def ids(turns: list[TurnEntry], **request: object) -> list[str]:
    page = page_items(THREAD, turns, ItemPageRequest(**request))  # type: ignore[arg-type]
    return [entry.item.id for entry in page.data]


def test_items_are_ordered_by_the_ordinal_that_recorded_them() -> None:
    turns = [turn("t1", 1, {"b": 5, "a": 3}), turn("t2", 10, {"c": 12})]

    assert ids(turns) == ["a", "b", "c"]


def test_an_item_without_its_own_ordinal_follows_the_item_before_it() -> None:
    turns = [turn("t1", 1, {"a": 3, "legacy": None, "b": 7})]

    listed = positioned_items(turns, None)

    assert [(p.item.id, p.ordinal) for p in listed] == [("a", 3), ("legacy", 3), ("b", 7)]


def test_a_thread_without_item_ordinals_is_unsupported() -> None:
    with pytest.raises(ItemsListUnsupported):
        page_items(THREAD, [turn("t1", 1, {"a": None})], ItemPageRequest())


def test_a_cursor_is_a_position_not_an_item() -> None:
    turns = [turn("t1", 1, {"a": 3, "c": 9})]
    between = encode_item_cursor(THREAD, 5, include_anchor=False)

    assert ids(turns, cursor=between) == ["c"]
    assert ids(turns, cursor=between, sort_direction="desc") == ["a"]


def test_a_cursor_round_trips_and_names_its_thread() -> None:
    assert decode_item_cursor(THREAD, encode_item_cursor(THREAD, 42, True)) == (42, True)
    with pytest.raises(InvalidCursor):
        decode_item_cursor("another-thread", encode_item_cursor(THREAD, 42, True))


def newest_backwards_cursor(turns: list[TurnEntry]) -> str | None:
    """What `page_items` answers as the first newest-first page's `backwardsCursor`."""
    page = page_items(THREAD, turns, ItemPageRequest(limit=1, sort_direction="desc"))
    return page.backwards_cursor


@pytest.mark.parametrize(
    "turns",
    [
        [turn("t1", 1, {"a": 3, "b": 5}), turn("t2", 10, {"c": 12})],
        [turn("t1", 1, {"a": 3}), turn("t2", 10, {"legacy": None}), turn("t3", 20, {})],
        [turn("t1", 1, {"a": 3, "late": 30}), turn("t2", 10, {"b": 4})],
        [turn("t1", 1, {"a": 3}), turn("t2", 2, {"b": None, "c": 1})],
    ],
    ids=["in-order", "legacy-last-and-empty-turn", "older-turn-sorts-last", "ordinals-go-back"],
)
def test_newest_item_ordinal_is_what_the_newest_first_page_anchors_on(
    turns: list[TurnEntry],
) -> None:
    newest = newest_item_ordinal(turns)

    assert newest is not None
    assert encode_item_cursor(THREAD, newest, True) == newest_backwards_cursor(turns)


def test_a_thread_without_items_has_no_newest_item_ordinal() -> None:
    assert newest_item_ordinal([turn("t1", 1, {}), turn("t2", 5, {})]) is None


def test_newest_item_ordinal_parses_only_the_last_turn_with_items() -> None:
    older = TurnEntry.from_json(b"not json: never parsed", turn_id="t0", rollout_ordinal=0)
    turns = [older, turn("t1", 1, {"a": 3}), turn("t2", 5, {})]

    assert newest_item_ordinal(turns) == 3
