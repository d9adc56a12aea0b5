"""One writer per thread across processes on the PostgreSQL store: the lease and its fencing.

Two `PostgresThreadStore`s on one schema stand for two server processes (each registers as a
process of its own, with its own liveness lock).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from app_server.store.errors import ThreadLoadedElsewhere, WriterFenced
from app_server.store.postgres.store import PostgresThreadStore
from tests.store.rollout_builders import as_stored
from tests.store.test_store_contract import new_thread, turn
from tests.support.postgres import fresh_schema

HANDOVER_WAIT = 0.2
"""Short: these stores have no thread manager that could hand a thread over."""


@pytest.fixture
async def two_stores() -> AsyncIterator[tuple[PostgresThreadStore, PostgresThreadStore, str]]:
    """Two stores (processes) on one fresh schema, and the DSN."""
    async with fresh_schema() as (dsn, schema):
        first = PostgresThreadStore(dsn, schema=schema, handover_wait_seconds=HANDOVER_WAIT)
        second = PostgresThreadStore(dsn, schema=schema, handover_wait_seconds=HANDOVER_WAIT)
        await first.start()
        await second.start()
        try:
            yield first, second, dsn
        finally:
            await second.close()
            await first.close()


async def expire_lease(dsn: str, schema: str | None, thread_id: str) -> None:
    """What a frozen process's lease looks like once it missed its heartbeats."""
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(
            f"UPDATE \"{schema}\".threads SET writer_expires_at = now() - interval '1 second'"
            " WHERE id = $1",
            thread_id,
        )
    finally:
        await connection.close()


async def test_a_thread_written_by_a_live_process_is_not_taken_by_another(
    two_stores: tuple[PostgresThreadStore, PostgresThreadStore, str],
) -> None:
    first, second, _ = two_stores
    thread_id, writer = await new_thread(first, 1)

    with pytest.raises(ThreadLoadedElsewhere):
        await second.open_writer(thread_id)
    await writer.close()
    taken = await second.open_writer(thread_id)
    await taken.close()


async def test_an_idle_thread_is_handed_over_when_its_owner_releases_it(
    two_stores: tuple[PostgresThreadStore, PostgresThreadStore, str],
) -> None:
    first, second, _ = two_stores
    thread_id, writer = await new_thread(first, 1)
    asked: list[str] = []

    async def release(requested: str) -> bool:
        asked.append(requested)
        await writer.close()
        return True

    first.on_handover_request(release)
    taken = await second.open_writer(thread_id)

    assert asked == [thread_id]
    assert taken.epoch == 2
    await taken.close()


async def test_a_fenced_writer_cannot_append(
    two_stores: tuple[PostgresThreadStore, PostgresThreadStore, str],
) -> None:
    first, second, dsn = two_stores
    thread_id, fenced = await new_thread(first, 1, "before")
    await expire_lease(dsn, first.schema, thread_id)
    successor = await second.open_writer(thread_id)

    fenced.append(as_stored(turn(thread_id, 2, "from the fenced writer")))
    with pytest.raises(WriterFenced):
        await fenced.flush()
    with pytest.raises(WriterFenced):
        fenced.append(as_stored(turn(thread_id, 3, "again")))
    successor.append(as_stored(turn(thread_id, 4, "from the successor")))
    await successor.close()
    await fenced.close()

    history = await second.read_history(thread_id)
    texts = [entry.turn.items[0].content[0].text for entry in history.turns]  # type: ignore[union-attr]
    assert texts == ["before", "from the successor"]


async def test_the_lease_of_a_process_that_died_is_taken_at_once(
    two_stores: tuple[PostgresThreadStore, PostgresThreadStore, str],
) -> None:
    first, second, dsn = two_stores
    thread_id, _writer = await new_thread(first, 1)
    connection = await asyncpg.connect(dsn)
    try:  # every session of the first process ends, as when it is killed
        await connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks"
            " WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()"
            " AND ((classid::bigint << 32) | objid::bigint)"
            " = hashtextextended('app-server-process:' || $1, 0)",
            first.process_id,
        )
    finally:
        await connection.close()

    taken = await second.open_writer(thread_id)

    assert taken.epoch == 2
    await taken.close()
