"""`ThreadStore.turn_page` and `model_history`, for every implementation (local and memory).

Behaviour only: what a caller reads back after appending, never how a store keeps it.
"""

from __future__ import annotations

from typing import Any

import pytest

from app_server.store.errors import InvalidCursor, ThreadNotStored
from app_server.store.interface import ThreadStore
from app_server.store.turn_pages import TurnPageRequest
from tests.store.rollout_builders import as_stored
from tests.store.test_store_contract import (
    new_thread,
    paginated_fork,
    store,
    stored_thread,
    turn,
)
from tests.support.homes import BASE_MS, uuid7_at

__all__ = ["store"]  # the parametrized (local, memory) store fixture


def first_text(turn_: Any) -> str:
    return str(turn_.items[0].content[0].text)


async def thread_with_turns(store: ThreadStore, texts: list[str]) -> str:
    thread_id, writer = await new_thread(store, 1, texts[0])
    for index, text in enumerate(texts[1:], start=2):
        writer.append(as_stored(turn(thread_id, index, text)))
    await writer.close()
    return thread_id


def response_item(text: str) -> dict[str, Any]:
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
    return {"type": "response_item", "payload": item}


async def test_turn_page_lists_newest_first_by_default(store: ThreadStore) -> None:
    thread_id = await thread_with_turns(store, ["one", "two", "three"])

    page = await store.turn_page(thread_id, TurnPageRequest(items_view="full"))

    assert [first_text(t) for t in page.data] == ["three", "two", "one"]
    assert page.next_cursor is None


async def test_turn_pages_follow_their_cursors_without_gaps(store: ThreadStore) -> None:
    texts = ["one", "two", "three", "four", "five"]
    thread_id = await thread_with_turns(store, texts)

    seen: list[str] = []
    cursor = None
    while True:
        request = TurnPageRequest(cursor=cursor, limit=2, sort_direction="asc", items_view="full")
        page = await store.turn_page(thread_id, request)
        seen += [first_text(t) for t in page.data]
        cursor = page.next_cursor
        if cursor is None:
            break

    assert seen == texts


async def test_turn_page_sees_lines_once_they_are_flushed(store: ThreadStore) -> None:
    thread_id, writer = await new_thread(store, 1, "one")
    writer.append(as_stored(turn(thread_id, 2, "two")))
    await writer.flush()

    page = await store.turn_page(thread_id, TurnPageRequest(items_view="full"))

    assert [first_text(t) for t in page.data] == ["two", "one"]
    await writer.close()


async def test_turn_page_refuses_a_cursor_it_did_not_issue(store: ThreadStore) -> None:
    thread_id = await thread_with_turns(store, ["one", "two"])

    with pytest.raises(InvalidCursor, match=r"^invalid cursor: garbage$"):
        await store.turn_page(thread_id, TurnPageRequest(cursor="garbage"))


async def test_turn_page_refuses_another_threads_cursor(store: ThreadStore) -> None:
    first = await thread_with_turns(store, ["one", "two"])
    other = await stored_thread(store, 7, "other")
    page = await store.turn_page(first, TurnPageRequest(limit=1))
    assert page.next_cursor is not None

    with pytest.raises(InvalidCursor):
        await store.turn_page(other, TurnPageRequest(cursor=page.next_cursor))


async def test_turn_page_of_an_unknown_thread_is_not_stored(store: ThreadStore) -> None:
    with pytest.raises(ThreadNotStored):
        await store.turn_page(uuid7_at(BASE_MS, 99), TurnPageRequest())


async def test_model_history_is_the_response_items_in_order(store: ThreadStore) -> None:
    thread_id, writer = await new_thread(store, 1)
    writer.append(as_stored([response_item("first"), response_item("second")]))
    await writer.close()

    history = await store.model_history(thread_id)

    texts = [item["content"][0]["text"] for item in history.items]
    assert texts == ["first", "second"]


async def test_model_history_keeps_the_recorded_base_instructions(store: ThreadStore) -> None:
    thread_id = await stored_thread(store, 1, base_instructions={"text": "Be brief."})

    history = await store.model_history(thread_id)

    assert history.base_instructions == "Be brief."


async def test_model_history_of_an_unknown_thread_is_not_stored(store: ThreadStore) -> None:
    with pytest.raises(ThreadNotStored):
        await store.model_history(uuid7_at(BASE_MS, 99))


async def test_a_paginated_fork_sees_its_sources_model_history(store: ThreadStore) -> None:
    source, writer = await new_thread(store, 1)
    writer.append(as_stored([response_item("from the source")]))
    await writer.close()
    fork_id, fork = await paginated_fork(store, source, 5)
    fork.append(as_stored([response_item("in the fork")]))
    await fork.close()

    model = await store.model_history(fork_id)

    assert [item["content"][0]["text"] for item in model.items] == [
        "from the source",
        "in the fork",
    ]


async def test_history_read_right_after_reopening_is_the_files_history(store: ThreadStore) -> None:
    thread_id = await thread_with_turns(store, ["one", "two"])
    before = await store.read_history(thread_id)
    writer = await store.open_writer(thread_id)

    right_after = await store.read_history(thread_id)
    again = await store.read_history(thread_id)

    assert right_after == before
    assert again == before
    await writer.close()


async def test_history_read_after_reopening_and_appending_has_the_new_turn(
    store: ThreadStore,
) -> None:
    thread_id = await thread_with_turns(store, ["one"])
    writer = await store.open_writer(thread_id)
    writer.append(as_stored(turn(thread_id, 2, "two")))
    await writer.flush()

    history = await store.read_history(thread_id)

    assert [first_text(entry.turn) for entry in history.turns] == ["one", "two"]
    await writer.close()
