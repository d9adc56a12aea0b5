"""`thread/search` after `thread/revert`, for every store (local, memory, postgres): the messages
of the turns a `thread_rolled_back` line dropped are no longer found — whether the rollback was
appended by a writer, folded by an index rebuild from the rollouts, or imported into
PostgreSQL — while the retained turns and the turns written after it still are."""

from __future__ import annotations

from pathlib import Path

from app_server.rollout import thread_events
from app_server.store.interface import ThreadStore
from app_server.store.local.store import LocalThreadStore
from app_server.store.postgres.transfer import import_home
from app_server.store.thread_query import ThreadQuery
from tests.store.rollout_builders import as_stored, line, paginated_turn, session_meta
from tests.store.rollout_builders import write_rollout as write_rollout_file
from tests.store.test_revert_contract import reverted_thread
from tests.store.test_store_contract import new_thread, store, turn
from tests.support.homes import BASE_MS, uuid7_at
from tests.support.postgres import postgres_store

__all__ = ["store"]  # the parametrized (local, memory, postgres) store fixture


async def found_ids(store: ThreadStore, term: str) -> list[str]:
    found = await store.search_threads(ThreadQuery(), term)
    return [record.id for record in found.page.records]


async def test_search_does_not_find_rolled_back_turns(store: ThreadStore) -> None:
    await reverted_thread(store, ["kept walrus", "dropped narwhal", "dropped okapi"], 2)

    assert await found_ids(store, "narwhal") == []
    assert await found_ids(store, "okapi") == []


async def test_search_still_finds_the_retained_turns(store: ThreadStore) -> None:
    thread_id = await reverted_thread(store, ["kept walrus", "dropped narwhal"], 1)

    found = await store.search_threads(ThreadQuery(), "walrus")

    assert found.snippets == {thread_id: "kept walrus"}


async def test_search_finds_turns_written_after_a_rollback(store: ThreadStore) -> None:
    thread_id = await reverted_thread(store, ["kept walrus", "dropped narwhal"], 1)
    writer = await store.open_writer(thread_id)
    writer.append(as_stored(turn(thread_id, 9, "new capybara")))
    await writer.close()

    assert await found_ids(store, "capybara") == [thread_id]
    assert await found_ids(store, "narwhal") == []


async def test_a_second_rollback_drops_the_turns_written_after_the_first(
    store: ThreadStore,
) -> None:
    thread_id = await reverted_thread(store, ["kept walrus", "dropped narwhal"], 1)
    writer = await store.open_writer(thread_id)
    writer.append(as_stored(turn(thread_id, 9, "new capybara")))
    await writer.flush()
    writer.append([thread_events.thread_rolled_back(1)])
    await writer.close()

    assert await found_ids(store, "capybara") == []
    assert await found_ids(store, "walrus") == [thread_id]


async def test_a_rollback_flushed_with_its_turns_drops_them(store: ThreadStore) -> None:
    thread_id, writer = await new_thread(store, 1, "kept walrus")
    writer.append(as_stored(turn(thread_id, 2, "dropped narwhal")))
    writer.append([thread_events.thread_rolled_back(1)])
    writer.append(as_stored(turn(thread_id, 3, "new capybara")))
    await writer.close()

    assert await found_ids(store, "narwhal") == []
    assert await found_ids(store, "capybara") == [thread_id]
    assert await found_ids(store, "walrus") == [thread_id]


def rolled_back_rollout(thread_id: str) -> list[dict[str, object]]:
    """A paginated rollout of two turns whose second was rolled back, then a third turn."""
    records = [line("session_meta", session_meta(thread_id), 0)]
    records += paginated_turn(thread_id, uuid7_at(BASE_MS, 10), 1, "kept walrus", "ok")
    records += paginated_turn(thread_id, uuid7_at(BASE_MS, 11), 5, "dropped narwhal", "ok")
    records.append(line("event_msg", dict(thread_events.thread_rolled_back(1)["payload"]), 9))
    records += paginated_turn(thread_id, uuid7_at(BASE_MS, 12), 10, "new capybara", "ok")
    return records


async def test_an_index_rebuilt_from_the_rollouts_leaves_rolled_back_turns_out(
    tmp_path: Path,
) -> None:
    thread_id = uuid7_at(BASE_MS, 9)
    write_rollout_file(tmp_path, thread_id, rolled_back_rollout(thread_id))
    local = LocalThreadStore(tmp_path)
    await local.start()
    await local.wait_until_scanned()
    try:
        assert await found_ids(local, "narwhal") == []
        assert await found_ids(local, "walrus") == [thread_id]
        assert await found_ids(local, "capybara") == [thread_id]
    finally:
        await local.close()


async def test_an_imported_rollout_leaves_rolled_back_turns_out_of_postgres_search(
    tmp_path: Path,
) -> None:
    thread_id = uuid7_at(BASE_MS, 9)
    write_rollout_file(tmp_path, thread_id, rolled_back_rollout(thread_id))
    async with postgres_store() as database:
        await import_home(database, tmp_path)

        assert await found_ids(database, "narwhal") == []
        assert await found_ids(database, "capybara") == [thread_id]


async def test_an_imported_rolled_back_thread_can_be_rolled_back_again(tmp_path: Path) -> None:
    thread_id = uuid7_at(BASE_MS, 9)
    write_rollout_file(tmp_path, thread_id, rolled_back_rollout(thread_id))
    async with postgres_store() as database:
        await import_home(database, tmp_path)
        writer = await database.open_writer(thread_id)
        writer.append([thread_events.thread_rolled_back(1)])
        await writer.close()

        assert await found_ids(database, "capybara") == []
        assert await found_ids(database, "walrus") == [thread_id]


async def test_a_local_index_holding_dropped_messages_is_repaired_when_the_thread_reopens(
    tmp_path: Path,
) -> None:
    local = LocalThreadStore(tmp_path)
    await local.start()
    try:
        thread_id = await reverted_thread(local, ["kept walrus", "dropped narwhal"], 1)
        # What an index written before rollbacks dropped messages holds: one more row.
        async with local.index.transaction() as db:
            await db.execute(
                "INSERT INTO thread_messages (thread_id, text) VALUES (?, 'stale narwhal')",
                (thread_id,),
            )
        assert await found_ids(local, "narwhal") == [thread_id]

        writer = await local.open_writer(thread_id)
        writer.append(as_stored(turn(thread_id, 9, "new capybara")))
        writer.append([thread_events.thread_rolled_back(1)])
        await writer.close()

        assert await found_ids(local, "narwhal") == []
        assert await found_ids(local, "capybara") == []
        assert await found_ids(local, "walrus") == [thread_id]
    finally:
        await local.close()


async def test_postgres_rows_holding_dropped_messages_are_repaired_when_the_thread_reopens() -> (
    None
):
    async with postgres_store() as database:
        thread_id = await reverted_thread(database, ["kept walrus", "dropped narwhal"], 1)
        # What rows written before rollbacks dropped messages hold: one more.
        await database.pool.execute(
            "INSERT INTO thread_messages (thread_id, seq, text) VALUES ($1, 99, 'stale narwhal')",
            thread_id,
        )
        assert await found_ids(database, "narwhal") == [thread_id]

        writer = await database.open_writer(thread_id)
        writer.append(as_stored(turn(thread_id, 9, "new capybara")))
        writer.append([thread_events.thread_rolled_back(1)])
        await writer.close()

        assert await found_ids(database, "narwhal") == []
        assert await found_ids(database, "capybara") == []
        assert await found_ids(database, "walrus") == [thread_id]
