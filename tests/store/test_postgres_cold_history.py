"""Cold history of the PostgreSQL store: quiet threads' lines compressed, invisibly to readers.

On the real database: after a pass, reads, turn pages, resumes and exports are what they were
(an export is still byte-identical to the codex home imported), recent or written threads are
left alone, a writer is never blocked by a pass, and two processes passing at once store every
line once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from app_server.rollout.model_history import ModelHistory
from app_server.store.local.compression_worker import CompressionSettings
from app_server.store.postgres.cold_history import compress_lines
from app_server.store.postgres.store import PostgresThreadStore
from app_server.store.postgres.transfer import export_home, import_home
from app_server.store.turn_pages import TurnPageRequest
from tests.store.fixture_data import fixture_threads
from tests.store.test_postgres_transfer import plain_files
from tests.store.test_postgres_turn_index import bare
from tests.store.test_store_contract import new_thread, stored_thread, turn
from tests.store.turn_page_walk import paginated_thread, walk_and_compare
from tests.support.homes import BASE_MS, uuid7_at
from tests.support.postgres import fresh_schema

NOW = CompressionSettings(enabled=True, min_age_seconds=0)
"""Every thread is cold at once."""


@asynccontextmanager
async def cold_stores(
    count: int = 1, settings: CompressionSettings = NOW
) -> AsyncIterator[list[PostgresThreadStore]]:
    """`count` started stores (processes) sharing one fresh schema."""
    async with fresh_schema() as (dsn, schema):
        stores = [
            PostgresThreadStore(dsn, schema=schema, compression=settings) for _ in range(count)
        ]
        for store in stores:
            await store.start()
        try:
            yield stores
        finally:
            for store in stores:
                await store.close()


def model_view(history: ModelHistory) -> tuple[object, ...]:
    """What a model history compares by (its world state is compared by identity)."""
    return (
        history.items,
        history.token_totals,
        history.base_instructions,
        history.last_token_usage,
        history.model_context_window,
    )


async def line_tables(store: PostgresThreadStore) -> tuple[int, int]:
    """(plain lines, compressed batches) in the store."""
    plain = await store.pool.fetchval("SELECT count(*) FROM rollout_lines")
    batches = await store.pool.fetchval("SELECT count(*) FROM rollout_batches")
    return int(plain), int(batches)


async def test_a_compressed_codex_home_reads_and_exports_as_before(
    codex_home: Path, tmp_path: Path
) -> None:
    async with cold_stores() as (store,):
        imported = await import_home(store, codex_home)
        ids = [t["id"] for t in fixture_threads()]
        before = [await store.read_history(i) for i in ids]
        models = [model_view(await store.model_history(i)) for i in ids]
        copies = [await store.copy_lines(i) for i in ids]

        report = await store.compress_cold_rollouts()

        assert report.compressed == imported.threads
        assert 0 < report.bytes_after < report.bytes_before
        assert (await line_tables(store))[0] == 0
        assert [await store.read_history(i) for i in ids] == before
        assert [model_view(await store.model_history(i)) for i in ids] == models
        assert [await store.copy_lines(i) for i in ids] == copies
        for thread_id in ids:
            await walk_and_compare(store, thread_id, limit=1)
        again = await import_home(store, codex_home)
        await export_home(store, tmp_path / "out")

    assert again.present == imported.threads
    assert again.conflicts == []
    assert plain_files(tmp_path / "out") == plain_files(codex_home)


async def test_a_compressed_thread_resumes_and_its_new_lines_follow(tmp_path: Path) -> None:
    async with cold_stores() as (store,):
        thread_id = uuid7_at(BASE_MS, 1)
        writer = await store.create_writer(
            thread_id, created_at_ms=BASE_MS, history_mode="paginated"
        )
        writer.append(bare(paginated_thread(thread_id, 30)))
        await writer.close()
        await export_home(store, tmp_path / "before")
        assert (await store.compress_cold_rollouts()).compressed == 1

        writer = await store.open_writer(thread_id)
        late = uuid7_at(BASE_MS + 99, 99)
        writer.append(bare(turn(thread_id, 99, "late")))
        await writer.close()
        second = await store.compress_cold_rollouts()
        history = await store.read_history(thread_id)
        page = await store.turn_page(thread_id, TurnPageRequest(limit=1))
        await export_home(store, tmp_path / "after")
        assert await walk_and_compare(store, thread_id, limit=7) == 31

    assert second.compressed == 1  # the new lines, in a batch of their own
    assert len(history.turns) == 31
    assert history.turns[-1].turn_id == late
    assert [t.id for t in page.data] == [late]
    [before] = plain_files(tmp_path / "before").values()
    [after] = plain_files(tmp_path / "after").values()
    assert after.startswith(before)
    assert after.count(b"\n") == before.count(b"\n") + 4


async def test_recently_written_threads_stay_plain() -> None:
    async with cold_stores(settings=CompressionSettings(enabled=True)) as (store,):
        await stored_thread(store, 1)

        report = await store.compress_cold_rollouts()

        assert report.compressed == 0
        assert await line_tables(store) == (5, 0)


async def test_a_thread_whose_writer_is_open_is_left_alone() -> None:
    async with cold_stores() as (store,):
        _thread_id, writer = await new_thread(store, 1)

        report = await store.compress_cold_rollouts()

        assert (report.compressed, report.skipped) == (0, {"live": 1})
        await writer.close()


async def test_switched_off_compression_does_not_run() -> None:
    async with cold_stores(settings=CompressionSettings(enabled=False)) as (store,):
        await stored_thread(store, 1)

        report = await store.compress_cold_rollouts()

        assert report.skipped_run == "disabled"
        assert (await line_tables(store))[1] == 0


async def test_a_writer_is_not_blocked_by_a_compression_in_progress() -> None:
    async with cold_stores() as (store,):
        thread_id, writer = await new_thread(store, 1)
        line_count = await store.pool.fetchval(
            "SELECT line_count FROM threads WHERE id = $1", thread_id
        )
        async with store.pool.acquire() as connection, connection.transaction():
            await compress_lines(connection, thread_id, line_count)  # not committed yet
            writer.append(bare(turn(thread_id, 2, "meanwhile")))
            await asyncio.wait_for(writer.flush(), 5)
        await writer.close()

        history = await store.read_history(thread_id)

    assert [t.turn_id for t in history.turns] == [
        uuid7_at(BASE_MS + 1, 1),
        uuid7_at(BASE_MS + 2, 2),
    ]


async def test_two_processes_compressing_at_once_keep_every_line_once(codex_home: Path) -> None:
    async with cold_stores(2) as (first, second):
        imported = await import_home(first, codex_home)
        ids = [t["id"] for t in fixture_threads()]
        before = [await first.copy_lines(i) for i in ids]

        reports = await asyncio.gather(
            first.compress_cold_rollouts(), second.compress_cold_rollouts()
        )

        assert sum(report.compressed for report in reports) == imported.threads
        assert [await second.copy_lines(i) for i in ids] == before
        assert (await line_tables(first))[0] == 0


async def test_deleting_a_compressed_thread_removes_its_batches_and_turn_starts() -> None:
    async with cold_stores() as (store,):
        thread_id = await stored_thread(store, 1)
        assert (await store.compress_cold_rollouts()).compressed == 1

        await store.delete_tree(thread_id)

        assert await line_tables(store) == (0, 0)
        assert await store.pool.fetchval("SELECT count(*) FROM turn_starts") == 0
