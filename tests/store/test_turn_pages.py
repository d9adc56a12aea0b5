"""Paging and item views of `thread/turns/list` (pure, over folded turns)."""

from __future__ import annotations

import json

import pytest

from app_server.rollout.lines import HistoryMode
from app_server.rollout.turn_entry import TurnEntry
from app_server.store.errors import InvalidCursor
from app_server.store.turn_pages import (
    DEFAULT_TURNS_PAGE_LIMIT,
    PageWindow,
    page_turns,
    page_window,
    summary_items,
    with_items_view,
)
from protocol.types import (
    AgentMessageThreadItem,
    ReasoningThreadItem,
    TextUserInput,
    Turn,
    UserMessageThreadItem,
)

THREAD = "01a20eeb-0000-7000-8000-000000000001"


def make_turn(index: int) -> Turn:
    return Turn(
        id=f"turn-{index}",
        root_turn_id=f"turn-{index}",
        items=[
            UserMessageThreadItem(id=f"u{index}", content=[TextUserInput(text="q")]),
            ReasoningThreadItem(id=f"r{index}", summary=["think"]),
            AgentMessageThreadItem(id=f"c{index}", text="working", phase="commentary"),
            AgentMessageThreadItem(id=f"f{index}", text="done", phase="final_answer"),
            AgentMessageThreadItem(id=f"x{index}", text="aside", phase="commentary"),
        ],
        status="completed",
    )


def entries(count: int, *, ordinals: bool = True) -> list[TurnEntry]:
    return [
        TurnEntry(turn=make_turn(i), rollout_ordinal=10 * i + 1 if ordinals else None)
        for i in range(count)
    ]


def ids(turns: list[Turn]) -> list[str]:
    return [turn.id for turn in turns]


def test_default_is_newest_first_with_summary_items() -> None:
    page = page_turns(THREAD, entries(3), history_mode="paginated")

    assert ids(page.data) == ["turn-2", "turn-1", "turn-0"]
    assert all(turn.items_view == "summary" for turn in page.data)
    assert page.next_cursor is None


def test_summary_is_first_user_message_and_final_agent_message() -> None:
    items = summary_items(make_turn(0).items)

    assert [item.id for item in items] == ["u0", "f0"]


def test_summary_falls_back_to_the_last_agent_message_without_a_final_phase() -> None:
    turn = make_turn(0)
    plain = [item.model_copy(update={"phase": None}) for item in turn.items]

    assert [item.id for item in summary_items(plain)] == ["u0", "x0"]


def test_full_and_not_loaded_views() -> None:
    turn = make_turn(0)

    assert with_items_view(turn, "full").items == turn.items
    not_loaded = with_items_view(turn, "notLoaded")
    assert not_loaded.items == []
    assert not_loaded.items_view == "notLoaded"


def test_paginated_cursors_use_codex_encoding() -> None:
    page = page_turns(THREAD, entries(3), history_mode="paginated", limit=2)

    assert page.next_cursor == (
        f'{{"requestedThreadId":"{THREAD}","rolloutOrdinal":11,'
        '"includeAnchor":false,"scope":{"kind":"turns"}}'
    )
    assert page.backwards_cursor == (
        f'{{"requestedThreadId":"{THREAD}","rolloutOrdinal":21,'
        '"includeAnchor":true,"scope":{"kind":"turns"}}'
    )


def test_legacy_cursors_use_turn_ids() -> None:
    page = page_turns(THREAD, entries(3, ordinals=False), history_mode="legacy", limit=1)

    assert page.next_cursor == '{"turnId":"turn-2","includeAnchor":false}'
    assert page.backwards_cursor == '{"turnId":"turn-2","includeAnchor":true}'


@pytest.mark.parametrize("mode", ["paginated", "legacy"])
def test_next_cursor_walks_every_turn_once(mode: HistoryMode) -> None:
    turns = entries(5, ordinals=mode == "paginated")
    seen: list[str] = []
    cursor = None
    while True:
        page = page_turns(THREAD, turns, history_mode=mode, cursor=cursor, limit=2)
        seen += ids(page.data)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor

    assert seen == ["turn-4", "turn-3", "turn-2", "turn-1", "turn-0"]


@pytest.mark.parametrize("mode", ["paginated", "legacy"])
def test_backwards_cursor_with_reversed_direction_includes_the_anchor(mode: HistoryMode) -> None:
    turns = entries(5, ordinals=mode == "paginated")
    first = page_turns(THREAD, turns, history_mode=mode, limit=2)
    second = page_turns(THREAD, turns, history_mode=mode, limit=2, cursor=first.next_cursor)

    back = page_turns(
        THREAD,
        turns,
        history_mode=mode,
        cursor=second.backwards_cursor,
        sort_direction="asc",
    )

    assert ids(second.data) == ["turn-2", "turn-1"]
    assert ids(back.data) == ["turn-2", "turn-3", "turn-4"]


def test_ascending_order_is_oldest_first() -> None:
    page = page_turns(THREAD, entries(3), history_mode="paginated", sort_direction="asc")

    assert ids(page.data) == ["turn-0", "turn-1", "turn-2"]


def test_limit_defaults_and_clamps() -> None:
    many = entries(DEFAULT_TURNS_PAGE_LIMIT + 5)

    assert len(page_turns(THREAD, many, history_mode="paginated").data) == DEFAULT_TURNS_PAGE_LIMIT
    assert len(page_turns(THREAD, many, history_mode="paginated", limit=0).data) == 1


def test_empty_thread_has_no_cursors() -> None:
    page = page_turns(THREAD, [], history_mode="paginated")

    assert page.data == []
    assert (page.next_cursor, page.backwards_cursor) == (None, None)


@pytest.mark.parametrize(
    "cursor",
    [
        "not json",
        "[]",
        '{"turnId":"turn-9","includeAnchor":true}',
        '{"turnId":"turn-1"}',
        '{"requestedThreadId":"other","rolloutOrdinal":1,"includeAnchor":true,'
        '"scope":{"kind":"turns"}}',
        f'{{"requestedThreadId":"{THREAD}","rolloutOrdinal":1,"includeAnchor":true,'
        '"scope":{"kind":"items"}}',
    ],
)
def test_invalid_cursor_is_rejected_with_codex_message(cursor: str) -> None:
    with pytest.raises(InvalidCursor) as raised:
        page_turns(THREAD, entries(2), history_mode="paginated", cursor=cursor)

    assert str(raised.value) == f"invalid cursor: {cursor}"
    assert isinstance(raised.value, ValueError)


def test_ordinal_cursor_on_a_legacy_thread_is_invalid() -> None:
    cursor = json.dumps(
        {
            "requestedThreadId": THREAD,
            "rolloutOrdinal": 1,
            "includeAnchor": True,
            "scope": {"kind": "turns"},
        }
    )

    with pytest.raises(InvalidCursor):
        page_turns(THREAD, entries(2, ordinals=False), history_mode="legacy", cursor=cursor)


def test_page_window_of_a_descending_first_page_ends_at_the_newest_turn() -> None:
    assert page_window(9, 10, 3, descending=True) == PageWindow(7, 9, has_more=True)


def test_page_window_of_an_ascending_last_page_has_no_more() -> None:
    assert page_window(8, 10, 3, descending=False) == PageWindow(8, 9, has_more=False)


def test_page_window_past_the_end_is_empty() -> None:
    window = page_window(10, 10, 3, descending=False)
    assert window.last < window.first
    assert not window.has_more
