"""Versioned migrations of the PostgreSQL schema, applied at start, safe for concurrent starts.

Each migration runs once, in order, recorded in `schema_migrations(version, description,
applied_at)`. All pending ones run in a single transaction holding a transaction-level advisory
lock (`MIGRATION_LOCK_KEY`, database-wide): processes starting at the same moment on an empty
database queue on the lock, and each later one finds the versions recorded and applies nothing.
A database migrated by a newer build (a version this build does not know) is refused rather than
written with an older idea of the schema.

`pg_trgm` (search) is created if missing; it is a trusted extension (PostgreSQL 13+), so the
database owner may create it. When that is refused, the error says what to run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import asyncpg
from msgspec import Struct

from app_server.store.errors import StoreUnavailable
from app_server.store.postgres.connect import Connection
from app_server.store.postgres.schema import (
    migration_1,
    migration_2,
    migration_3,
    migration_4,
    migration_5,
)

MIGRATION_LOCK_KEY: Final = 0x61707073_72767231
"""The advisory-lock key serializing migrations (`apps` `rvr1` in ASCII)."""


class Migration(Struct, frozen=True):
    version: int
    description: str
    sql: Callable[[str], str]
    """The statements, given the schema holding `pg_trgm`."""


MIGRATIONS: Final = (
    Migration(1, "threads, rollout lines, messages, marks, processes", migration_1),
    Migration(2, "session_index lines", migration_2),
    Migration(3, "thread metadata patches", migration_3),
    Migration(4, "process messages (forwarded requests and notifications)", migration_4),
    Migration(5, "turn-start index, compressed cold line batches", migration_5),
)
"""Every migration, in version order. Never edit a released one: add the next version."""

LATEST_VERSION: Final = MIGRATIONS[-1].version


class MigrationError(StoreUnavailable):
    """The schema cannot be brought to this build's version."""


async def migrate(connection: Connection, schema: str | None) -> list[int]:
    """Apply the pending migrations (in `schema`, created if needed); the versions applied."""
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK_KEY)
        if schema is not None:
            await connection.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            await connection.execute(f'SET LOCAL search_path = "{schema}", public')
        await connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, description text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        applied = {
            r["version"] for r in await connection.fetch("SELECT version FROM schema_migrations")
        }
        if applied and max(applied) > LATEST_VERSION:
            raise MigrationError(
                "schema",
                f"schema version {max(applied)} is newer than this build's {LATEST_VERSION}",
            )
        pending = [m for m in MIGRATIONS if m.version not in applied]
        if not pending:
            return []
        trgm_schema = await _ensure_trgm(connection)
        for migration in pending:
            await connection.execute(migration.sql(trgm_schema))
            await connection.execute(
                "INSERT INTO schema_migrations (version, description) VALUES ($1, $2)",
                migration.version,
                migration.description,
            )
        return [m.version for m in pending]


async def _ensure_trgm(connection: Connection) -> str:
    """The schema of `pg_trgm`, created in `public` when missing."""
    query = (
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
        " WHERE e.extname = 'pg_trgm'"
    )
    found = await connection.fetchval(query)
    if found is not None:
        return str(found)
    try:
        async with connection.transaction():  # a savepoint: the error must not end the outer one
            await connection.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
    except asyncpg.PostgresError as error:
        raise MigrationError(
            "pg_trgm",
            f"cannot create extension pg_trgm ({error}); run `CREATE EXTENSION pg_trgm;` in the"
            " database as its owner or a superuser (Debian: install postgresql-contrib)",
        ) from None
    return str(await connection.fetchval(query))
