"""`ThreadStore.search_threads`: content search, for every implementation (local and memory)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app_server.store.interface import ThreadStore
from app_server.store.local.store import LocalThreadStore
from app_server.store.thread_query import ThreadQuery
from tests.store.rollout_builders import (
    as_stored,
    line,
    paginated_turn,
    session_meta,
    write_rollout,
)
from tests.store.test_store_contract import new_thread, store, stored_thread, turn
from tests.support.homes import BASE_MS, uuid7_at

__all__ = ["store"]  # the parametrized (local, memory) store fixture


async def test_search_matches_user_and_agent_text_case_insensitively(store: ThreadStore) -> None:
    asked = await stored_thread(store, 1, "Where is the UNICORN config?")
    await stored_thread(store, 2, "nothing to see")

    found = await store.search_threads(ThreadQuery(), "unicorn")

    assert [r.id for r in found.page.records] == [asked]
    assert found.snippets == {asked: "Where is the UNICORN config?"}


async def test_search_snippet_is_the_first_matching_message(store: ThreadStore) -> None:
    thread_id, writer = await new_thread(store, 1, "first question")
    writer.append(as_stored(turn(thread_id, 2, "second question about zebras")))
    writer.append(as_stored(turn(thread_id, 3, "third question about zebras")))
    await writer.close()

    found = await store.search_threads(ThreadQuery(), "ZEBRAS")

    assert found.snippets == {thread_id: "second question about zebras"}


async def test_search_matches_agent_messages(store: ThreadStore) -> None:
    thread_id = await stored_thread(store, 1, "hi")  # every generated turn answers "ok"
    await stored_thread(store, 2, "hello")
    writer = await store.open_writer(thread_id)
    lines = paginated_turn(thread_id, uuid7_at(BASE_MS + 50, 50), 0, "q", "Hello there, friend!")
    writer.append([{"type": r["type"], "payload": r["payload"]} for r in lines])
    await writer.close()

    found = await store.search_threads(ThreadQuery(), "hello there")

    assert found.snippets == {thread_id: "Hello there, friend!"}


async def test_search_respects_the_archived_filter(store: ThreadStore) -> None:
    live = await stored_thread(store, 1, "common words")
    archived = await stored_thread(store, 2, "common words too")
    await store.archive(archived)

    live_hits = await store.search_threads(ThreadQuery(), "common")
    archived_hits = await store.search_threads(ThreadQuery(archived=True), "common")

    assert [r.id for r in live_hits.page.records] == [live]
    assert [r.id for r in archived_hits.page.records] == [archived]


async def test_search_pages_with_the_listing_cursors(store: ThreadStore) -> None:
    ids = [await stored_thread(store, index, f"needle {index}") for index in range(1, 6)]

    first = await store.search_threads(ThreadQuery(limit=2), "needle")
    second = await store.search_threads(
        ThreadQuery(limit=2, cursor=first.page.next_cursor), "needle"
    )
    rest = await store.search_threads(
        ThreadQuery(limit=2, cursor=second.page.next_cursor), "needle"
    )

    pages = [first, second, rest]
    assert [r.id for page in pages for r in page.page.records] == ids[::-1]
    assert rest.page.next_cursor is None


async def test_short_terms_match_too(store: ThreadStore) -> None:
    thread_id = await stored_thread(store, 1, "go to x1 now")

    found = await store.search_threads(ThreadQuery(), "X1")

    assert [r.id for r in found.page.records] == [thread_id]


async def test_search_terms_are_text_not_query_syntax(store: ThreadStore) -> None:
    thread_id = await stored_thread(store, 1, 'run "make" OR NOT (fail*)')
    await stored_thread(store, 2, "make it fail")

    found = await store.search_threads(ThreadQuery(), '"make" OR NOT (fail*)')

    assert [r.id for r in found.page.records] == [thread_id]


async def test_tool_output_is_not_searched(store: ThreadStore) -> None:
    _thread_id, writer = await new_thread(store, 1, "hi")
    writer.append(
        as_stored(
            [
                {
                    "type": "event_msg",
                    "payload": {"type": "exec_command_end", "aggregated_output": "Tool said xyzzy"},
                },
                {"type": "response_item", "payload": {"type": "message", "content": "xyzzy"}},
            ]
        )
    )
    await writer.close()

    found = await store.search_threads(ThreadQuery(), "xyzzy")

    assert found.page.records == ()


@pytest.mark.parametrize("compressed", [False, True])
async def test_rollouts_written_by_codex_are_searchable(tmp_path: Path, compressed: bool) -> None:
    thread_id = uuid7_at(BASE_MS, 9)
    records = [line("session_meta", session_meta(thread_id), 0)]
    records += paginated_turn(thread_id, uuid7_at(BASE_MS, 10), 1, "find the walrus", "done")
    path = write_rollout(tmp_path, thread_id, records, compressed=compressed)
    mtime = path.stat().st_mtime_ns
    store = LocalThreadStore(tmp_path)
    await store.start()
    await store.wait_until_scanned()
    try:
        found = await store.search_threads(ThreadQuery(), "walrus")
    finally:
        await store.close()

    assert found.snippets == {thread_id: "find the walrus"}
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # nothing materialized
    assert path.stat().st_mtime_ns == mtime
