"""The PostgreSQL store's turn-start index: pages read from it equal pages of the full fold.

`PostgresThreadStore.turn_page` reads only the lines of the requested turns (their starts are in
`turn_starts`); these tests walk every page in both directions and compare each with
`page_turns` over a full `read_history`, the reference, as the local store's index is tested.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app_server.rollout.lines import StoredLine
from app_server.store.errors import InvalidCursor
from app_server.store.postgres.store import PostgresThreadStore
from app_server.store.postgres.transfer import import_home
from app_server.store.postgres.turn_index import read_turn_page
from app_server.store.turn_pages import TurnPageRequest
from tests.store.fixture_data import fixture_calls, fixture_threads, load_json
from tests.store.rollout_builders import (
    as_stored,
    event,
    line,
    paginated_turn,
    session_meta,
    write_rollout,
)
from tests.store.turn_page_walk import paginated_thread, walk_and_compare
from tests.support.homes import BASE_MS, uuid7_at
from tests.support.postgres import postgres_store


def bare(records: list[dict[str, Any]]) -> list[StoredLine]:
    """Lines as a writer is given them (the store adds the timestamp and ordinal)."""
    return as_stored({"type": r["type"], "payload": r["payload"]} for r in records)


async def imported_thread(
    store: PostgresThreadStore, home: Path, thread_id: str, records: list[dict[str, Any]]
) -> None:
    write_rollout(home, thread_id, records)
    report = await import_home(store, home)
    assert report.threads == 1


async def test_every_page_of_a_codex_thread_equals_the_full_fold(codex_home: Path) -> None:
    async with postgres_store() as store:
        await import_home(store, codex_home)
        for thread in fixture_threads():
            turns = await walk_and_compare(store, thread["id"], limit=1)

            assert turns == len((await store.read_history(thread["id"])).turns)


async def test_recorded_turns_list_calls_answer_as_codex(codex_home: Path) -> None:
    async with postgres_store() as store:
        await import_home(store, codex_home)
        for call in fixture_calls("thread/turns/list"):
            params = call["params"]
            request = TurnPageRequest(
                cursor=params.get("cursor"),
                limit=params.get("limit"),
                sort_direction=params.get("sortDirection"),
                items_view=params.get("itemsView"),
            )

            page = await store.turn_page(params["threadId"], request)

            assert page.to_response().model_dump(mode="json") == load_json(call["file"])


async def test_an_imported_paginated_thread_is_paged_from_the_index(tmp_path: Path) -> None:
    thread_id = uuid7_at(BASE_MS, 1)
    async with postgres_store() as store:
        await imported_thread(store, tmp_path, thread_id, paginated_thread(thread_id, 40))

        direct = await read_turn_page(store.pool, thread_id, TurnPageRequest(limit=5))

        assert direct is not None  # served from the index, not by the fallback
        assert [turn.id for turn in direct.data] == [
            uuid7_at(BASE_MS + index, index + 1) for index in range(39, 34, -1)
        ]
        assert await walk_and_compare(store, thread_id, limit=7) == 40


async def test_a_page_reads_only_its_own_turns_lines(tmp_path: Path) -> None:
    thread_id = uuid7_at(BASE_MS, 2)
    async with postgres_store() as store:
        await imported_thread(store, tmp_path, thread_id, paginated_thread(thread_id, 10))
        # spoil the first turn's lines: a page of the last turns never looks at them
        await store.pool.execute(
            "UPDATE rollout_lines SET line = '{}' WHERE thread_id = $1 AND seq BETWEEN 1 AND 4",
            thread_id,
        )

        page = await store.turn_page(thread_id, TurnPageRequest(limit=3, items_view="full"))

        assert [turn.id for turn in page.data] == [
            uuid7_at(BASE_MS + index, index + 1) for index in range(9, 6, -1)
        ]
        assert [item.type for item in page.data[0].items] == ["userMessage", "agentMessage"]


async def test_turns_written_by_a_writer_are_paged_from_the_index() -> None:
    thread_id = uuid7_at(BASE_MS, 3)
    async with postgres_store() as store:
        writer = await store.create_writer(
            thread_id, created_at_ms=BASE_MS, history_mode="paginated"
        )
        records = paginated_thread(thread_id, 6)
        writer.append(bare(records[:1]))
        for start in range(1, len(records), 4):  # one flush per turn, as turns are written
            writer.append(bare(records[start : start + 4]))
            await writer.flush()
        await writer.close()

        direct = await read_turn_page(store.pool, thread_id, TurnPageRequest(limit=2))

        assert direct is not None
        assert [turn.id for turn in direct.data] == [
            uuid7_at(BASE_MS + 5, 6),
            uuid7_at(BASE_MS + 4, 5),
        ]
        assert await walk_and_compare(store, thread_id, limit=4) == 6


async def test_a_thread_stored_before_the_index_is_indexed_when_reopened(tmp_path: Path) -> None:
    thread_id = uuid7_at(BASE_MS, 4)
    async with postgres_store() as store:
        await imported_thread(store, tmp_path, thread_id, paginated_thread(thread_id, 5))
        await store.pool.execute("DELETE FROM turn_starts WHERE thread_id = $1", thread_id)
        await store.pool.execute("UPDATE threads SET turn_count = NULL WHERE id = $1", thread_id)
        assert await read_turn_page(store.pool, thread_id, TurnPageRequest()) is None
        assert await walk_and_compare(store, thread_id, limit=2) == 5  # the full fold serves it

        writer = await store.open_writer(thread_id)
        turn_id = uuid7_at(BASE_MS + 99, 99)
        writer.append(bare(paginated_turn(thread_id, turn_id, 0, "late question", "late answer")))
        await writer.close()

        direct = await read_turn_page(store.pool, thread_id, TurnPageRequest(limit=1))
        assert direct is not None
        assert [turn.id for turn in direct.data] == [turn_id]
        assert await walk_and_compare(store, thread_id, limit=2) == 6


async def test_a_rolled_back_thread_falls_back_to_the_full_fold(tmp_path: Path) -> None:
    thread_id = uuid7_at(BASE_MS, 5)
    records = paginated_thread(thread_id, 6)
    records.append(line("event_msg", event("thread_rolled_back", num_turns=2), len(records)))
    async with postgres_store() as store:
        await imported_thread(store, tmp_path, thread_id, records)

        assert await read_turn_page(store.pool, thread_id, TurnPageRequest()) is None
        assert await walk_and_compare(store, thread_id, limit=3) == 4


async def test_legacy_implicit_turns_page_like_the_full_fold(tmp_path: Path) -> None:
    thread_id = uuid7_at(BASE_MS, 6)
    records = [line("session_meta", session_meta(thread_id, mode="legacy"))]
    for index in range(9):
        records += [
            line("event_msg", event("user_message", message=f"question {index}")),
            line("event_msg", event("agent_message", message=f"reply {index}")),
        ]
    async with postgres_store() as store:
        await imported_thread(store, tmp_path, thread_id, records)

        assert await read_turn_page(store.pool, thread_id, TurnPageRequest()) is not None
        assert await walk_and_compare(store, thread_id, limit=2) == 9


async def test_a_cursor_naming_no_turn_of_the_thread_is_refused(tmp_path: Path) -> None:
    thread_id = uuid7_at(BASE_MS, 7)
    async with postgres_store() as store:
        await imported_thread(store, tmp_path, thread_id, paginated_thread(thread_id, 2))

        with pytest.raises(InvalidCursor):
            await store.turn_page(
                thread_id, TurnPageRequest(cursor='{"turnId":"nope","includeAnchor":false}')
            )
