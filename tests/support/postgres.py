"""PostgreSQL for tests: the throwaway cluster's DSN, and one fresh schema per test.

`scripts/pg_cluster.sh` (which `.ci/run` uses) starts a cluster and exports its DSN as
`APP_SERVER_TEST_PG_DSN`. Without it the PostgreSQL tests skip on a developer's machine, but
fail where PostgreSQL is required (`CI=true` or `APP_SERVER_REQUIRE_PG=1`, as `.ci/run` sets):
CI must never pass by skipping them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest

from app_server.store.postgres.store import PostgresThreadStore

DSN_ENV = "APP_SERVER_TEST_PG_DSN"
REQUIRE_ENV = "APP_SERVER_REQUIRE_PG"


def postgres_dsn() -> str:
    """The test cluster's DSN; skips the test (fails it where PostgreSQL is required)."""
    dsn = os.environ.get(DSN_ENV)
    if dsn:
        return dsn
    message = f"{DSN_ENV} is not set (run the tests under scripts/pg_cluster.sh run …)"
    if os.environ.get("CI", "").lower() == "true" or os.environ.get(REQUIRE_ENV):
        pytest.fail(message)
    pytest.skip(message)


def new_schema_name() -> str:
    return f"test_{uuid.uuid4().hex[:16]}"


async def drop_schema(dsn: str, schema: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await connection.close()


@asynccontextmanager
async def fresh_schema() -> AsyncIterator[tuple[str, str]]:
    """`(dsn, schema)`: a schema name of its own, dropped (with everything in it) at the end."""
    dsn = postgres_dsn()
    schema = new_schema_name()
    try:
        yield dsn, schema
    finally:
        await drop_schema(dsn, schema)


@asynccontextmanager
async def postgres_store() -> AsyncIterator[PostgresThreadStore]:
    """A started `PostgresThreadStore` in a fresh schema, closed and dropped at the end."""
    async with fresh_schema() as (dsn, schema):
        store = PostgresThreadStore(dsn, schema=schema)
        await store.start()
        try:
            yield store
        finally:
            await store.close()
