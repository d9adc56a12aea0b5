"""The PostgreSQL store when its database connections go away (a restart, a network cut)."""

from __future__ import annotations

import asyncpg
import pytest

from app_server.store.errors import StoreUnavailable
from app_server.store.postgres.store import PostgresThreadStore
from tests.store.test_store_contract import stored_thread
from tests.support.postgres import postgres_dsn, postgres_store


async def terminate_sessions_of(store: PostgresThreadStore) -> int:
    """End every database session of the store's pool, as a database restart does."""
    dsn = postgres_dsn()
    connection = await asyncpg.connect(dsn)
    try:
        pids = [row["pid"] for row in await store.pool.fetch("SELECT pg_backend_pid() AS pid")]
        ended = await connection.fetchval(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = 'app-server' AND pid = ANY($1::int[])) AS t",
            pids,
        )
    finally:
        await connection.close()
    return int(ended)


async def test_requests_are_served_again_after_the_sessions_were_cut() -> None:
    async with postgres_store() as store:
        thread_id = await stored_thread(store, 1)
        assert await terminate_sessions_of(store) == 1

        records = []
        for _ in range(3):  # the first may meet the dead connection; the pool reconnects
            try:
                records.append(await store.get(thread_id))
            except StoreUnavailable:
                continue

    assert records
    assert records[-1] is not None
    assert records[-1].id == thread_id


async def test_a_request_without_a_database_fails_naming_it() -> None:
    async with postgres_store() as store:
        thread_id = await stored_thread(store, 1)
        store.pool.terminate()  # every connection closed at once, none comes back

        with pytest.raises(StoreUnavailable) as raised:
            await store.get(thread_id)

    assert "app_server_test" in str(raised.value)
