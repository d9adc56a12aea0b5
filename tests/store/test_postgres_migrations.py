"""The PostgreSQL store's schema: versioned migrations, applied once even by concurrent starts."""

from __future__ import annotations

import asyncio

import asyncpg

from app_server.store.postgres.migrations import MIGRATIONS
from app_server.store.postgres.store import PostgresThreadStore
from tests.store.test_store_contract import stored_thread
from tests.support.postgres import fresh_schema

CONCURRENT_STARTS = 4


async def test_processes_starting_together_on_an_empty_database_migrate_it_once() -> None:
    async with fresh_schema() as (dsn, schema):
        stores = [PostgresThreadStore(dsn, schema=schema) for _ in range(CONCURRENT_STARTS)]
        await asyncio.gather(*(store.start() for store in stores))
        try:
            connection = await asyncpg.connect(dsn)
            try:
                versions = await connection.fetch(
                    f'SELECT version FROM "{schema}".schema_migrations ORDER BY version'
                )
            finally:
                await connection.close()
            thread_id = await stored_thread(stores[0], 1)
            seen = [await store.get(thread_id) for store in stores]
        finally:
            for store in stores:
                await store.close()

    assert [row["version"] for row in versions] == [m.version for m in MIGRATIONS]
    assert all(record is not None and record.id == thread_id for record in seen)


async def test_a_restart_applies_nothing_and_keeps_the_threads() -> None:
    async with fresh_schema() as (dsn, schema):
        first = PostgresThreadStore(dsn, schema=schema)
        await first.start()
        thread_id = await stored_thread(first, 1)
        await first.close()
        second = PostgresThreadStore(dsn, schema=schema)
        await second.start()
        try:
            record = await second.get(thread_id)
        finally:
            await second.close()

    assert record is not None
    assert record.preview == "hello"
