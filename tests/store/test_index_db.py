"""`ThreadIndex` storage: file, schema, writes, persistence and damaged-file recovery."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from app_server.store.local.db_recovery import rebuilt_database_warning
from app_server.store.local.index_db import BackfillState, ThreadIndex
from app_server.store.local.index_schema import INDEX_DB_FILE, RECORD_FIELDS
from app_server.store.records import ThreadRecord
from app_server.store.thread_query import ThreadQuery
from tests.store.thread_record_factory import make_record, sub_agent, thread_id

RECOVERY_SECONDS = 1_795_544_909


def fixed_clock() -> float:
    return RECOVERY_SECONDS + 0.75


@pytest.fixture
async def index(tmp_path: Path) -> AsyncIterator[ThreadIndex]:
    opened = await ThreadIndex.open(tmp_path)
    yield opened
    await opened.close()


def backup_dir(data_dir: Path, n: int = 0) -> Path:
    return data_dir / "db-backups" / f"sqlite-{RECOVERY_SECONDS}-{n}"


def everything_set(n: int) -> ThreadRecord:
    """A record whose every optional field holds a value."""
    return make_record(
        n,
        session_id=thread_id(999),
        source={"subAgent": {"other": "guardian"}},
        thread_source="subagent",
        parent_thread_id=thread_id(998),
        forked_from_id=thread_id(997),
        attached_to_thread_id=thread_id(996),
        name="named",
        archived=True,
        archived_at_ms=123,
        git_sha="abc",
        git_branch="main",
        git_origin_url="https://example.invalid/repo.git",
        agent_nickname="Tesla",
        agent_role="explorer",
        agent_path="/root/task",
        history_base_id=thread_id(995),
        has_user_event=False,
    )


async def test_fresh_index_is_our_own_wal_file(tmp_path: Path, index: ThreadIndex) -> None:
    assert index.path == tmp_path / INDEX_DB_FILE == tmp_path / "state_app_server_2.sqlite"
    assert index.recovery is None
    assert await index.count() == 0
    with sqlite3.connect(index.path) as other:
        assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert not (tmp_path / "state_5.sqlite").exists()


def test_every_record_field_has_a_column() -> None:
    assert set(RECORD_FIELDS) == {field.name for field in msgspec.structs.fields(ThreadRecord)}


async def test_every_field_round_trips(index: ThreadIndex) -> None:
    records = [everything_set(1), make_record(2), make_record(3, source={"custom": "bot"})]

    await index.upsert(records)

    assert [await index.get(record.id) for record in records] == records


async def test_unknown_id_reads_as_none(index: ThreadIndex) -> None:
    assert await index.get(thread_id(1)) is None


async def test_upsert_is_idempotent(index: ThreadIndex) -> None:
    records = [make_record(1), sub_agent(2, thread_id(1))]

    await index.upsert(records)
    await index.upsert(records)

    assert await index.count() == 2
    assert await index.spawn_edges() == [(thread_id(1), thread_id(2), "open")]
    assert await index.get(thread_id(2)) == records[1]


async def test_failed_upsert_batch_changes_nothing(index: ThreadIndex) -> None:
    await index.upsert([make_record(1)])
    broken = make_record(3, cwd=None)  # violates NOT NULL after the first two rows

    with pytest.raises(sqlite3.IntegrityError):
        await index.upsert([make_record(1, preview="changed"), make_record(2), broken])

    assert await index.all_ids() == {thread_id(1)}
    assert await index.get(thread_id(1)) == make_record(1)
    await index.upsert([make_record(2)])  # the connection is usable again
    assert await index.count() == 2


async def test_a_write_cancelled_at_any_point_leaves_the_connection_usable(
    index: ThreadIndex,
) -> None:
    # aiosqlite still runs a statement whose caller was cancelled: a cancelled `BEGIN` used to
    # leave the shared connection inside a transaction, failing every later write.
    for ticks in range(12):
        task = asyncio.create_task(index.upsert([make_record(1, preview=f"cancelled {ticks}")]))
        for _ in range(ticks):
            await asyncio.sleep(0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

        await index.upsert([make_record(2, preview=f"after {ticks}")])

        assert await index.get(thread_id(2)) == make_record(2, preview=f"after {ticks}")


async def test_upsert_replaces_changed_fields(index: ThreadIndex) -> None:
    await index.upsert([make_record(1)])

    changed = make_record(1, preview="new preview", updated_at_ms=5, tokens_used=77)
    await index.upsert([changed])

    assert await index.get(thread_id(1)) == changed


async def test_spawn_edge_follows_the_records_parent(index: ThreadIndex) -> None:
    await index.upsert([make_record(1), make_record(2), sub_agent(3, thread_id(1))])
    await index.upsert([sub_agent(3, thread_id(2))])
    assert await index.spawn_edges() == [(thread_id(2), thread_id(3), "open")]

    await index.upsert([make_record(3)])
    assert await index.spawn_edges() == []


async def test_delete_removes_rows_and_edges(index: ThreadIndex) -> None:
    await index.upsert(
        [
            make_record(1),
            sub_agent(2, thread_id(1)),
            sub_agent(3, thread_id(2)),
            sub_agent(4, thread_id(1)),
        ]
    )

    deleted = await index.delete([thread_id(2)])

    assert deleted == 1
    assert await index.get(thread_id(2)) is None
    assert await index.all_ids() == {thread_id(1), thread_id(3), thread_id(4)}
    assert await index.spawn_edges() == [(thread_id(1), thread_id(4), "open")]
    page = await index.list_threads(ThreadQuery(ancestor_thread_id=thread_id(1)))
    assert [record.id for record in page.records] == [thread_id(4)]


async def test_delete_of_unknown_ids_changes_nothing(index: ThreadIndex) -> None:
    await index.upsert([make_record(1)])

    assert await index.delete([thread_id(5), thread_id(6)]) == 0
    assert await index.all_ids() == {thread_id(1)}


async def test_set_name_updates_only_the_name(index: ThreadIndex) -> None:
    await index.upsert([make_record(1)])

    assert await index.set_name(thread_id(1), "Zebra") is True
    assert await index.set_name(thread_id(9), "nobody") is False

    assert await index.get(thread_id(1)) == make_record(1, name="Zebra")


async def test_set_archived_moves_the_row_between_listings(index: ThreadIndex) -> None:
    await index.upsert([make_record(1)])
    archived_path = "archived_sessions/rollout-x.jsonl"

    assert await index.set_archived(thread_id(1), True, 42, archived_path)

    stored = await index.get(thread_id(1))
    assert stored == make_record(1, archived=True, archived_at_ms=42, rollout_path=archived_path)
    assert (await index.list_threads(ThreadQuery())).records == ()
    assert (await index.list_threads(ThreadQuery(archived=True))).records == (stored,)


async def test_unarchive_clears_the_archive_time(index: ThreadIndex) -> None:
    await index.upsert([make_record(1, archived=True, archived_at_ms=42)])

    assert await index.set_archived(thread_id(1), False, 42, make_record(1).rollout_path)

    assert await index.get(thread_id(1)) == make_record(1)


async def test_iteration_yields_every_record_in_id_order(index: ThreadIndex) -> None:
    records = [make_record(n) for n in (5, 1, 3, 2, 4)]
    await index.upsert(records)

    seen = [record async for record in index.iter_records(batch_size=2)]

    assert seen == sorted(records, key=lambda record: record.id)


async def test_descendant_ids_walk_the_spawn_tree(index: ThreadIndex) -> None:
    await index.upsert(
        [make_record(1), sub_agent(2, thread_id(1)), sub_agent(3, thread_id(2)), make_record(4)]
    )

    assert await index.descendant_ids(thread_id(1)) == {thread_id(2), thread_id(3)}
    assert await index.descendant_ids(thread_id(4)) == set()


async def test_history_dependents_are_forks_outside_the_set(index: ThreadIndex) -> None:
    await index.upsert(
        [
            make_record(1),
            make_record(2, history_base_id=thread_id(1)),
            make_record(3, attached_to_thread_id=thread_id(1)),
            make_record(4, history_base_id=thread_id(5)),
        ]
    )

    assert await index.history_dependents([thread_id(1)]) == {thread_id(2), thread_id(3)}
    assert await index.history_dependents([thread_id(1), thread_id(2), thread_id(3)]) == set()


async def test_backfill_state_starts_pending_and_is_checkpointed(index: ThreadIndex) -> None:
    assert await index.backfill_state() == BackfillState("pending")

    state = BackfillState("running", "sessions/2026/11/24/rollout-a.jsonl", None)
    await index.set_backfill_state(state)

    assert await index.backfill_state() == state


async def test_reopening_keeps_the_data(tmp_path: Path) -> None:
    records = [make_record(1, name="kept"), sub_agent(2, thread_id(1))]
    async with await ThreadIndex.open(tmp_path) as first:
        await first.upsert(records)
        await first.set_backfill_state(BackfillState("complete", None, 1_795_546_700))

    async with await ThreadIndex.open(tmp_path) as second:
        assert second.recovery is None
        assert [await second.get(record.id) for record in records] == records
        assert await second.spawn_edges() == [(thread_id(1), thread_id(2), "open")]
        assert await second.backfill_state() == BackfillState("complete", None, 1_795_546_700)


async def test_random_bytes_file_is_moved_aside_and_replaced(tmp_path: Path) -> None:
    garbage = os.urandom(64 * 1024)
    (tmp_path / INDEX_DB_FILE).write_bytes(garbage)
    (tmp_path / f"{INDEX_DB_FILE}-wal").write_bytes(b"stale wal")

    async with await ThreadIndex.open(tmp_path, clock=fixed_clock) as index:
        assert index.recovery is not None
        assert index.recovery.db_path == tmp_path / INDEX_DB_FILE
        assert index.recovery.backup_dir == backup_dir(tmp_path)
        assert await index.count() == 0
        await index.upsert([make_record(1)])
        assert await index.count() == 1

    assert (backup_dir(tmp_path) / INDEX_DB_FILE).read_bytes() == garbage
    assert (backup_dir(tmp_path) / f"{INDEX_DB_FILE}-wal").read_bytes() == b"stale wal"


async def test_second_recovery_in_the_same_second_gets_its_own_folder(tmp_path: Path) -> None:
    for _ in range(2):
        (tmp_path / INDEX_DB_FILE).write_bytes(b"not a database" * 100)
        async with await ThreadIndex.open(tmp_path, clock=fixed_clock):
            pass

    assert sorted(p.name for p in (tmp_path / "db-backups").iterdir()) == [
        f"sqlite-{RECOVERY_SECONDS}-0",
        f"sqlite-{RECOVERY_SECONDS}-1",
    ]


async def test_foreign_sqlite_database_is_moved_aside(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / INDEX_DB_FILE) as foreign:
        foreign.execute("CREATE TABLE threads (id TEXT PRIMARY KEY, title TEXT)")
        foreign.execute("INSERT INTO threads VALUES ('x', 'someone else')")
    foreign.close()

    async with await ThreadIndex.open(tmp_path, clock=fixed_clock) as index:
        assert index.recovery is not None
        assert await index.count() == 0

    with sqlite3.connect(backup_dir(tmp_path) / INDEX_DB_FILE) as kept:
        assert kept.execute("SELECT title FROM threads").fetchall() == [("someone else",)]
    kept.close()


async def test_database_with_damaged_pages_is_moved_aside(tmp_path: Path) -> None:
    async with await ThreadIndex.open(tmp_path) as index:
        await index.upsert([make_record(n, preview="x" * 2000) for n in range(200)])
    path = tmp_path / INDEX_DB_FILE
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    data = bytearray(path.read_bytes())
    page_size = 4096
    for offset in range(2 * page_size, len(data) - page_size, 3 * page_size):
        data[offset : offset + page_size] = os.urandom(page_size)
    path.write_bytes(bytes(data))

    async with await ThreadIndex.open(tmp_path, clock=fixed_clock) as index:
        assert index.recovery is not None
        assert await index.count() == 0
    assert (backup_dir(tmp_path) / INDEX_DB_FILE).read_bytes() == bytes(data)


async def test_rebuilt_warning_names_database_and_backup(tmp_path: Path) -> None:
    (tmp_path / INDEX_DB_FILE).write_bytes(b"garbage" * 1000)
    async with await ThreadIndex.open(tmp_path, clock=fixed_clock) as index:
        assert index.recovery is not None
        warning = rebuilt_database_warning([index.recovery])

    assert warning.summary == "Codex rebuilt its local database"
    assert warning.details == (
        "Damaged local databases were rebuilt. Saved conversations remain in rollout files and "
        "can restore the thread list and history. Some database-only metadata may be "
        "unavailable. The original database files were preserved at the backup locations "
        f"below.\n\nDatabase path: {tmp_path / INDEX_DB_FILE}\n"
        f"Backup folder: {backup_dir(tmp_path)}"
    )


async def test_an_earlier_generation_of_our_index_is_removed_on_open(tmp_path: Path) -> None:
    older = [tmp_path / f"state_app_server_1.sqlite{suffix}" for suffix in ("", "-wal", "-shm")]
    for path in older:
        path.write_bytes(b"an old cache")

    async with await ThreadIndex.open(tmp_path):
        pass

    assert [path.exists() for path in older] == [False, False, False]
    assert (tmp_path / INDEX_DB_FILE).exists()
