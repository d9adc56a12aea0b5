"""The ThreadStore contract (`app_server/store/interface.py`), for every implementation.

Each test runs against `LocalThreadStore` (rollout files + SQLite in a temp dir), against
`MemoryThreadStore`, its in-memory twin, and against `PostgresThreadStore` (a schema of its own in
the test cluster, `tests/support/postgres.py`): all must behave the same.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from app_server.store.interface import (
    ForkReferenced,
    ThreadNotStored,
    ThreadStore,
    ThreadWriter,
    WriterBusy,
)
from app_server.store.local.store import LocalThreadStore
from app_server.store.memory import MemoryThreadStore
from app_server.store.thread_query import ThreadQuery
from tests.store.rollout_builders import as_stored, paginated_turn
from tests.support.homes import BASE_MS, uuid7_at
from tests.support.postgres import postgres_store


@pytest.fixture(params=["local", "memory", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ThreadStore]:
    implementation: ThreadStore
    if request.param == "postgres":
        async with postgres_store() as database:
            yield database
        return
    if request.param == "local":
        local = LocalThreadStore(tmp_path / "data")
        await local.start()
        await local.wait_until_scanned()
        implementation = local
    else:
        implementation = MemoryThreadStore()
        await implementation.start()
    yield implementation
    await implementation.close()


def meta(thread_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "session_meta",
        "payload": {
            "id": thread_id,
            "session_id": thread_id,
            "timestamp": "2026-11-24T18:57:46.159Z",
            "cwd": "/work",
            "originator": "tests",
            "cli_version": "0.1.0",
            "source": "vscode",
            "model_provider": "fake",
            "history_mode": "paginated",
            **extra,
        },
    }


def turn(thread_id: str, index: int, text: str) -> list[dict[str, Any]]:
    """A complete turn as the agent appends it (no envelope: the writer adds it)."""
    lines = paginated_turn(thread_id, uuid7_at(BASE_MS + index, index), 0, text, "ok")
    return [{"type": line["type"], "payload": line["payload"]} for line in lines]


async def new_thread(
    store: ThreadStore, index: int, text: str = "hello", **extra: Any
) -> tuple[str, ThreadWriter]:
    thread_id = uuid7_at(BASE_MS + index * 1000, index)
    writer = await store.create_writer(
        thread_id, created_at_ms=BASE_MS + index * 1000, history_mode="paginated"
    )
    writer.append(as_stored([meta(thread_id, **extra), *turn(thread_id, index, text)]))
    await writer.flush()
    return thread_id, writer


async def paginated_fork(store: ThreadStore, source: str, index: int) -> tuple[str, ThreadWriter]:
    """A paginated fork of `source` as it stands now (its history base: the source's lines so
    far), its writer left open after the fork's own `session_meta`."""
    history = await store.read_history(source)
    fork_id = uuid7_at(BASE_MS + index * 1000, index)
    writer = await store.create_writer(
        fork_id,
        created_at_ms=BASE_MS + index * 1000,
        history_mode="paginated",
        start_ordinal=history.next_ordinal or 0,
    )
    base = {
        "thread_id": source,
        "end_ordinal_exclusive": history.next_ordinal,
        "end_byte_offset": history.byte_size,
    }
    writer.append(as_stored([meta(fork_id, forked_from_id=source, history_base=base)]))
    return fork_id, writer


async def stored_thread(store: ThreadStore, index: int, text: str = "hello", **extra: Any) -> str:
    thread_id, writer = await new_thread(store, index, text, **extra)
    await writer.close()
    return thread_id


async def test_thread_is_stored_once_its_first_lines_are_flushed(store: ThreadStore) -> None:
    thread_id = uuid7_at(BASE_MS, 1)
    writer = await store.create_writer(thread_id, created_at_ms=BASE_MS, history_mode="paginated")
    assert await store.get(thread_id) is None
    writer.append(as_stored([meta(thread_id), *turn(thread_id, 1, "first words")]))
    await writer.flush()
    record = await store.get(thread_id)
    assert record is not None
    assert record.preview == "first words"
    await writer.close()


async def test_appended_turns_read_back_in_order(store: ThreadStore) -> None:
    thread_id, writer = await new_thread(store, 1, "one")
    writer.append(as_stored(turn(thread_id, 2, "two")))
    await writer.sync()
    history = await store.read_history(thread_id)
    texts = [entry.turn.items[0].content[0].text for entry in history.turns]  # type: ignore[union-attr]
    assert texts == ["one", "two"]
    await writer.close()


async def test_paginated_ordinals_continue_after_reopening(store: ThreadStore) -> None:
    thread_id = await stored_thread(store, 1)
    history = await store.read_history(thread_id)
    assert history.next_ordinal == 5
    writer = await store.open_writer(thread_id)
    assert writer.next_ordinal == 5
    await writer.close()


async def test_a_thread_has_one_writer_at_a_time(store: ThreadStore) -> None:
    thread_id, writer = await new_thread(store, 1)
    with pytest.raises(WriterBusy):
        await store.open_writer(thread_id)
    await writer.close()
    again = await store.open_writer(thread_id)
    await again.close()


async def test_opening_a_writer_for_an_unknown_thread_fails(store: ThreadStore) -> None:
    with pytest.raises(ThreadNotStored):
        await store.open_writer(uuid7_at(BASE_MS, 99))


async def test_name_is_kept_with_the_thread(store: ThreadStore) -> None:
    thread_id = await stored_thread(store, 1)
    await store.set_name(thread_id, "Named")
    record = await store.get(thread_id)
    assert record is not None
    assert record.name == "Named"
    with pytest.raises(ThreadNotStored):
        await store.set_name(uuid7_at(BASE_MS, 99), "x")


async def test_archive_and_unarchive_round_trip(store: ThreadStore) -> None:
    thread_id = await stored_thread(store, 1)
    archived = await store.archive(thread_id)
    assert archived.archived
    assert (await store.list_threads(ThreadQuery())).records == ()
    assert [r.id for r in (await store.list_threads(ThreadQuery(archived=True))).records] == [
        thread_id
    ]
    with pytest.raises(ThreadNotStored):
        await store.open_writer(thread_id)
    with pytest.raises(ThreadNotStored):
        await store.archive(thread_id)
    restored = await store.unarchive(thread_id)
    assert not restored.archived
    with pytest.raises(ThreadNotStored):
        await store.unarchive(thread_id)


async def test_delete_tree_removes_descendants_deepest_first(store: ThreadStore) -> None:
    root = await stored_thread(store, 1)
    child = await stored_thread(store, 2, parent_thread_id=root)
    grandchild = await stored_thread(store, 3, parent_thread_id=child)
    other = await stored_thread(store, 4)
    assert await store.delete_tree(root) == [grandchild, child, root]
    for gone in (root, child, grandchild):
        assert await store.get(gone) is None
    assert await store.get(other) is not None


async def test_delete_refuses_a_thread_a_paginated_fork_references(store: ThreadStore) -> None:
    source = await stored_thread(store, 1)
    fork_id, writer = await paginated_fork(store, source, 5)
    await writer.close()
    with pytest.raises(ForkReferenced):
        await store.delete_tree(source)
    assert await store.get(source) is not None
    fork_history = await store.read_history(fork_id)
    assert len(fork_history.turns) == 1


async def test_listing_pages_return_each_thread_once(store: ThreadStore) -> None:
    ids = {await stored_thread(store, i, f"thread {i}") for i in range(12)}
    seen: list[str] = []
    cursor = None
    while True:
        page = await store.list_threads(ThreadQuery(limit=5, cursor=cursor))
        seen += [record.id for record in page.records]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids)
    assert seen == sorted(seen, reverse=True)


async def test_threads_without_a_preview_are_not_listed(store: ThreadStore) -> None:
    thread_id = uuid7_at(BASE_MS, 1)
    writer = await store.create_writer(thread_id, created_at_ms=BASE_MS, history_mode="paginated")
    writer.append(as_stored([meta(thread_id)]))
    await writer.close()
    assert (await store.list_threads(ThreadQuery())).records == ()
    assert await store.get(thread_id) is not None


async def test_copy_lines_returns_the_history_without_ordinals(store: ThreadStore) -> None:
    thread_id = await stored_thread(store, 1)
    lines = await store.copy_lines(thread_id)
    assert [line["type"] for line in lines][:2] == ["session_meta", "event_msg"]
    assert all("ordinal" not in line and "timestamp" in line for line in lines)


async def test_planned_path_names_the_thread(store: ThreadStore) -> None:
    thread_id = uuid7_at(BASE_MS, 1)
    assert store.rollout_path_for(thread_id, BASE_MS).endswith(f"-{thread_id}.jsonl")
