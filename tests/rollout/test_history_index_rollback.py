"""`HistoryIndexCollector` under `thread_rolled_back` (pure): the messages of the dropped turns
leave the collected ones, and a delta says which already-drained ones the stores must delete."""

from __future__ import annotations

from typing import Any

from app_server.rollout import thread_events
from app_server.rollout.history import HistoryFold
from tests.store.rollout_builders import line, paginated_turn, session_meta
from tests.support.homes import BASE_MS, uuid7_at

THREAD = uuid7_at(BASE_MS, 1)


def feed(fold: HistoryFold, records: list[dict[str, Any]]) -> None:
    for offset, record in enumerate(records):
        fold.feed(offset, record)


def turn(index: int, text: str) -> list[dict[str, Any]]:
    return paginated_turn(THREAD, uuid7_at(BASE_MS, 10 + index), 0, text, f"ans {text}")


def rollback(turns: int) -> dict[str, Any]:
    return dict(thread_events.thread_rolled_back(turns))


def started() -> HistoryFold:
    fold = HistoryFold()
    feed(fold, [line("session_meta", session_meta(THREAD))])
    return fold


def test_a_rollback_cuts_the_undrained_messages_of_the_dropped_turns() -> None:
    fold = started()
    feed(fold, [*turn(1, "one"), *turn(2, "two"), *turn(3, "three"), rollback(2)])

    delta = fold.index.drain()

    assert delta.messages == ["one", "ans one"]
    assert (delta.message_base, delta.drop_messages_from) == (0, None)


def test_a_rollback_of_drained_messages_says_where_to_delete_from() -> None:
    fold = started()
    feed(fold, [*turn(1, "one"), *turn(2, "two")])
    fold.index.drain()
    feed(fold, [rollback(1), *turn(3, "three")])

    delta = fold.index.drain()

    assert delta.drop_messages_from == 2
    assert (delta.message_base, delta.messages) == (2, ["three", "ans three"])


def test_messages_after_a_drain_continue_the_numbering() -> None:
    fold = started()
    feed(fold, turn(1, "one"))
    fold.index.drain()
    feed(fold, turn(2, "two"))

    delta = fold.index.drain()

    assert (delta.message_base, delta.drop_messages_from) == (2, None)


def test_rolling_back_more_turns_than_exist_drops_every_message() -> None:
    fold = started()
    feed(fold, turn(1, "one"))
    fold.index.drain()
    feed(fold, [rollback(5)])

    delta = fold.index.drain()

    assert (delta.drop_messages_from, delta.messages) == (0, [])


def test_a_rollback_of_zero_turns_keeps_every_message() -> None:
    fold = started()
    feed(fold, [*turn(1, "one"), rollback(0)])

    assert fold.index.drain().messages == ["one", "ans one"]
