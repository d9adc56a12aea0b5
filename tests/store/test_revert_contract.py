"""`thread/revert`'s record in every store: a `thread_rolled_back` line appended to a paginated
thread drops its last turns from every read — turns, turn pages, model history and token totals —
and the turns appended after it follow the retained ones."""

from __future__ import annotations

from typing import Any

from app_server.rollout import thread_events
from app_server.store.interface import ThreadStore
from app_server.store.turn_pages import TurnPageRequest
from tests.store.rollout_builders import as_stored
from tests.store.test_store_contract import new_thread, paginated_fork, store, turn

__all__ = ["store"]  # the parametrized (local, memory, postgres) store fixture


def said(text: str) -> dict[str, Any]:
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
    return {"type": "response_item", "payload": item}


def usage(total: int) -> dict[str, Any]:
    counts = {"input_tokens": total, "output_tokens": 0, "total_tokens": total}
    info = {"total_token_usage": counts, "last_token_usage": counts}
    return {"type": "event_msg", "payload": {"type": "token_count", "info": info}}


def spoken_turn(thread_id: str, index: int, text: str) -> list[dict[str, Any]]:
    """A turn whose model history holds `text` and whose token total is `index * 100`."""
    lines = turn(thread_id, index, text)
    return [lines[0], said(text), *lines[1:-1], usage(index * 100), lines[-1]]


async def reverted_thread(store: ThreadStore, texts: list[str], dropped: int) -> str:
    thread_id, writer = await new_thread(store, 1, "zero")
    for index, text in enumerate(texts, start=2):
        writer.append(as_stored(spoken_turn(thread_id, index, text)))
    await writer.close()
    writer = await store.open_writer(thread_id)
    writer.append([thread_events.thread_rolled_back(dropped)])
    await writer.close()
    return thread_id


def first_texts(turns: list[Any]) -> list[str]:
    return [str(entry.items[0].content[0].text) for entry in turns]


async def test_rolled_back_turns_leave_the_history(store: ThreadStore) -> None:
    thread_id = await reverted_thread(store, ["one", "two", "three"], 2)

    history = await store.read_history(thread_id)

    assert first_texts([entry.turn for entry in history.turns]) == ["zero", "one"]


async def test_rolled_back_turns_leave_the_turn_pages(store: ThreadStore) -> None:
    thread_id = await reverted_thread(store, ["one", "two", "three"], 2)

    page = await store.turn_page(thread_id, TurnPageRequest(items_view="full"))

    assert first_texts(page.data) == ["one", "zero"]


async def test_rolled_back_turns_leave_the_model_history_and_token_totals(
    store: ThreadStore,
) -> None:
    thread_id = await reverted_thread(store, ["one", "two", "three"], 2)

    model = await store.model_history(thread_id)

    assert [item["content"][0]["text"] for item in model.items] == ["one"]
    assert model.token_totals is not None
    assert model.token_totals["total_tokens"] == 200


async def test_turns_after_a_rollback_follow_the_retained_ones(store: ThreadStore) -> None:
    thread_id = await reverted_thread(store, ["one", "two"], 1)
    writer = await store.open_writer(thread_id)
    writer.append(as_stored(spoken_turn(thread_id, 9, "nine")))
    await writer.close()

    history = await store.read_history(thread_id)
    model = await store.model_history(thread_id)

    assert first_texts([entry.turn for entry in history.turns]) == ["zero", "one", "nine"]
    assert [item["content"][0]["text"] for item in model.items] == ["one", "nine"]


async def test_a_rollback_in_a_fork_reaches_into_its_sources_turns(store: ThreadStore) -> None:
    source, writer = await new_thread(store, 1, "zero")
    writer.append(as_stored(spoken_turn(source, 2, "one")))
    await writer.close()
    fork_id, fork = await paginated_fork(store, source, 5)
    fork.append(as_stored(spoken_turn(fork_id, 3, "two")))
    fork.append([thread_events.thread_rolled_back(2)])
    await fork.close()

    forked = await store.read_history(fork_id)
    model = await store.model_history(fork_id)

    assert first_texts([entry.turn for entry in forked.turns]) == ["zero"]
    assert model.items == []
    assert model.token_totals is None
