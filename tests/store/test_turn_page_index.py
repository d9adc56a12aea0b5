"""Turn pages served from the history index equal pages of the whole-file fold.

`LocalThreadStore.turn_page` reads only the bytes of the requested turns (their starts are
indexed); these tests walk every page of each thread, in both directions, and compare it with
`page_turns` over the turns of a full `read_history`, which is the reference.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from app_server.store.errors import InvalidCursor
from app_server.store.local.history_queries import HistoryQueries
from app_server.store.local.store import LocalThreadStore
from app_server.store.local.turn_page_reader import read_turn_page
from app_server.store.thread_query import ThreadQuery
from app_server.store.turn_pages import (
    TurnPageRequest,
)
from tests.store.fixture_data import fixture_calls, fixture_threads, load_json
from tests.store.rollout_builders import (
    as_stored,
    encode,
    event,
    line,
    paginated_turn,
    session_meta,
    write_rollout,
)
from tests.store.turn_page_walk import paginated_thread, walk_and_compare
from tests.support.homes import BASE_MS, uuid7_at


@pytest.fixture
async def home_store(codex_home: Path) -> AsyncIterator[LocalThreadStore]:
    async with scanned_store(codex_home) as store:
        yield store


@asynccontextmanager
async def scanned_store(data_dir: Path) -> AsyncIterator[LocalThreadStore]:
    """A started store over `data_dir` whose first scan has indexed every rollout."""
    store = LocalThreadStore(data_dir)
    await store.start()
    await store.wait_until_scanned()
    try:
        yield store
    finally:
        await store.close()


@pytest.mark.parametrize("key", [t["key"] for t in fixture_threads()])
async def test_every_page_of_a_codex_thread_equals_the_full_fold(
    home_store: LocalThreadStore, key: str
) -> None:
    thread = next(t for t in fixture_threads() if t["key"] == key)

    turns = await walk_and_compare(home_store, thread["id"], limit=1)

    assert turns == len((await home_store.read_history(thread["id"])).turns)


@pytest.mark.parametrize("call", fixture_calls("thread/turns/list"), ids=lambda c: c["file"])
async def test_recorded_turns_list_calls_answer_as_codex(
    home_store: LocalThreadStore, call: dict[str, Any]
) -> None:
    params = call["params"]
    request = TurnPageRequest(
        cursor=params.get("cursor"),
        limit=params.get("limit"),
        sort_direction=params.get("sortDirection"),
        items_view=params.get("itemsView"),
    )

    page = await home_store.turn_page(params["threadId"], request)

    assert page.to_response().model_dump(mode="json") == load_json(call["file"])


async def test_a_paginated_thread_is_paged_from_the_index(tmp_path: Path) -> None:
    thread_id = uuid7_at(BASE_MS, 1)
    path = write_rollout(tmp_path, thread_id, paginated_thread(thread_id, 40))
    async with scanned_store(tmp_path) as store:
        direct = await read_turn_page(
            HistoryQueries(store.index), path, thread_id, "paginated", TurnPageRequest(limit=5)
        )
        assert direct is not None  # served from the index, not by the fallback
        assert [turn.id for turn in direct.data] == [
            uuid7_at(BASE_MS + index, index + 1) for index in range(39, 34, -1)
        ]
        assert await walk_and_compare(store, thread_id, limit=7) == 40


async def test_legacy_implicit_turns_page_like_the_full_fold(tmp_path: Path) -> None:
    thread_id = uuid7_at(BASE_MS, 2)
    records = [line("session_meta", session_meta(thread_id, mode="legacy"))]
    for index in range(9):
        records += [
            line("event_msg", event("user_message", message=f"question {index}")),
            line("event_msg", event("agent_reasoning", text="thinking")),
            line("event_msg", event("agent_message", message=f"reply {index}")),
        ]
    write_rollout(tmp_path, thread_id, records)
    async with scanned_store(tmp_path) as store:
        assert await walk_and_compare(store, thread_id, limit=2) == 9


async def test_a_rolled_back_thread_falls_back_to_the_full_fold(tmp_path: Path) -> None:
    thread_id = uuid7_at(BASE_MS, 3)
    records = paginated_thread(thread_id, 6)
    records.append(line("event_msg", event("thread_rolled_back", num_turns=2), len(records)))
    path = write_rollout(tmp_path, thread_id, records)
    async with scanned_store(tmp_path) as store:
        direct = await read_turn_page(
            HistoryQueries(store.index), path, thread_id, "paginated", TurnPageRequest()
        )
        assert direct is None
        assert await walk_and_compare(store, thread_id, limit=3) == 4


async def test_turns_appended_by_a_writer_are_paged_without_rereading(tmp_path: Path) -> None:
    thread_id = uuid7_at(BASE_MS, 4)
    path = write_rollout(tmp_path, thread_id, paginated_thread(thread_id, 3))
    async with scanned_store(tmp_path) as store:
        writer = await store.open_writer(thread_id)
        turn_id = uuid7_at(BASE_MS + 99, 99)
        appended = paginated_turn(thread_id, turn_id, 0, "late question", "late answer")
        writer.append([{"type": r["type"], "payload": r["payload"]} for r in appended])
        await writer.flush()

        direct = await read_turn_page(
            HistoryQueries(store.index), path, thread_id, "paginated", TurnPageRequest(limit=1)
        )

        assert direct is not None
        assert [turn.id for turn in direct.data] == [turn_id]
        assert await walk_and_compare(store, thread_id, limit=2) == 4
        await writer.close()


async def test_a_cursor_naming_no_turn_of_the_thread_is_refused(tmp_path: Path) -> None:
    thread_id = uuid7_at(BASE_MS, 5)
    write_rollout(tmp_path, thread_id, paginated_thread(thread_id, 2))
    async with scanned_store(tmp_path) as store:
        with pytest.raises(InvalidCursor):
            await store.turn_page(
                thread_id, TurnPageRequest(cursor='{"turnId":"nope","includeAnchor":false}')
            )


async def test_reopening_an_indexed_thread_keeps_its_history_rows(tmp_path: Path) -> None:
    thread_id = uuid7_at(BASE_MS, 6)
    write_rollout(tmp_path, thread_id, paginated_thread(thread_id, 5))
    query = "SELECT group_concat(id) FROM thread_messages WHERE thread_id = ?"
    async with scanned_store(tmp_path) as store:
        before = await store.index.fetchall(query, (thread_id,))
        writer = await store.open_writer(thread_id)
        await writer.close()
        after = await store.index.fetchall(query, (thread_id,))

    assert before[0][0] is not None
    assert after[0][0] == before[0][0]  # not deleted and inserted again


async def test_reopening_a_thread_changed_behind_the_index_reindexes_it(tmp_path: Path) -> None:
    thread_id = uuid7_at(BASE_MS, 7)
    path = write_rollout(tmp_path, thread_id, paginated_thread(thread_id, 2))
    async with scanned_store(tmp_path) as store:
        extra = paginated_turn(thread_id, uuid7_at(BASE_MS + 7, 7), 9, "added by codex", "ok")
        path.write_bytes(path.read_bytes() + encode(extra))
        writer = await store.open_writer(thread_id)
        await writer.close()
        found = await store.search_threads(ThreadQuery(), "added by codex")
        page = await HistoryQueries(store.index).state(thread_id)

    assert [record.id for record in found.page.records] == [thread_id]
    assert page is not None
    assert page.turn_count == 3


@pytest.mark.parametrize("ticks", range(8))
async def test_a_flush_cancelled_while_indexing_still_indexes_its_turns(
    tmp_path: Path, ticks: int
) -> None:
    # An interrupted turn cancels whatever it awaits, the index update of a flush included:
    # the lines that update was folding into the history index must not be lost to turn pages.
    async with scanned_store(tmp_path) as store:
        thread_id = uuid7_at(BASE_MS, 1)
        writer = await store.create_writer(
            thread_id, created_at_ms=BASE_MS, history_mode="paginated"
        )
        lines = [
            {"type": r["type"], "payload": r["payload"]} for r in paginated_thread(thread_id, 2)
        ]
        writer.append(as_stored(lines[:5]))
        flushing = asyncio.create_task(writer.flush())
        for _ in range(100_000):  # until written to the file: the index update comes next
            if writer.byte_size:
                break
            await asyncio.sleep(0)
        for _ in range(ticks):
            await asyncio.sleep(0)
        flushing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await flushing
        writer.append(as_stored(lines[5:]))
        await writer.sync()

        assert await walk_and_compare(store, thread_id, limit=1) == 2
        await writer.close()
