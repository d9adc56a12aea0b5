"""`IndexConnections`: the two SQLite connections of the index, the lock and the transactions.

`ThreadIndex` (`index_db`) is the index's statements; this is what they run on, split off so the
statements read apart from the plumbing. `open` makes the file usable before anything is read:
it removes older generations of the index, and quarantines a damaged file and starts a fresh one
(`db_recovery`: everything in the index can be rebuilt from the rollouts).

All database work runs on aiosqlite's worker threads, so the event loop never blocks on SQLite;
the few file moves of a recovery run in `asyncio.to_thread`. One connection writes, and an
`asyncio.Lock` serializes its statements, so a transaction's statements never interleave with
another coroutine's (WAL still lets other processes read while we write). The reads that answer
requests (`thread/list`, `thread/search`, a record, the marks, the history queries) go through a
second, query-only connection (`fetchall`): under WAL they see every committed write, and they
never queue behind the startup scan's bulk statements or a long transaction on the writer.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiosqlite

from app_server.store.local.db_recovery import (
    DbRecovery,
    header_problem,
    is_damage_error,
    quarantine_database,
)
from app_server.store.local.index_schema import (
    BUSY_TIMEOUT_MS,
    INDEX_DB_FILE,
    OLDER_INDEX_DB_FILES,
    SchemaMismatch,
    apply_connection_pragmas,
    prepare_schema,
)


class DamagedDatabase(sqlite3.DatabaseError):
    """`PRAGMA quick_check` reported problems."""


class IndexConnections:
    """The writer and query-only connections of an open index, with the writer's lock and
    transactions (module docstring); `ThreadIndex` adds the statements."""

    def __init__(
        self,
        db: aiosqlite.Connection,
        reader: aiosqlite.Connection,
        path: Path,
        recovery: DbRecovery | None,
    ) -> None:
        self._db = db
        self._reader = reader
        self._lock = asyncio.Lock()
        self.path = path
        """The database file."""
        self.recovery = recovery
        """Set when `open` found the file damaged, moved it aside and started a fresh one."""

    @classmethod
    async def open(cls, data_dir: Path, *, clock: Callable[[], float] = time.time) -> Self:
        """Open (or create) `<data_dir>/state_app_server_2.sqlite`, recovering a damaged file.

        Damaged = not a database, `quick_check` failure, or not our schema. Other errors (locked,
        permissions, disk) propagate and leave the file alone. `clock` names the backup folder.
        `PRAGMA quick_check` reads every page once: O(file size), a few ms for thousands of
        threads, paid once per process start.
        """
        path = data_dir / INDEX_DB_FILE
        await asyncio.to_thread(data_dir.mkdir, parents=True, exist_ok=True)
        await asyncio.to_thread(_remove_older_generations, data_dir)
        reason = await asyncio.to_thread(header_problem, path)
        if reason is None:
            try:
                db = await _connect_checked(path)
            except (sqlite3.DatabaseError, SchemaMismatch) as error:
                if not (
                    isinstance(error, DamagedDatabase | SchemaMismatch) or is_damage_error(error)
                ):
                    raise
                reason = f"{type(error).__name__}: {error}"
            else:
                return cls(db, await _connect_reader(path, db), path, None)
        recovery = await asyncio.to_thread(
            quarantine_database, path, now_seconds=int(clock()), reason=reason
        )
        db = await _connect_checked(path)
        return cls(db, await _connect_reader(path, db), path, recovery)

    async def close(self) -> None:
        """Close both connections (pending statements finish first)."""
        async with self._lock:
            await self._reader.close()
            await self._db.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """`BEGIN IMMEDIATE … COMMIT` under the lock; rolled back on any error/cancellation.

        aiosqlite runs a statement even when its caller was cancelled while waiting for it (its
        worker thread takes statements in order). So a cancelled `BEGIN` still opens the
        transaction, and a failed `COMMIT` leaves it open: both are rolled back here, or the
        shared connection would stay inside a transaction and every later `BEGIN` would fail
        ("cannot start a transaction within a transaction").
        """
        async with self._lock:
            try:
                await self._db.execute("BEGIN IMMEDIATE")
            except asyncio.CancelledError:
                await asyncio.shield(self._rollback())
                raise
            try:
                yield self._db
                await self._db.execute("COMMIT")
            except BaseException:
                await asyncio.shield(self._rollback())
                raise

    def transaction(self) -> AbstractAsyncContextManager[aiosqlite.Connection]:
        """`BEGIN IMMEDIATE … COMMIT` under the connection's lock (for the per-thread marks,
        `thread_marks_db`)."""
        return self._transaction()

    async def _rollback(self) -> None:
        """`ROLLBACK` of the open transaction, if any (a failed `BEGIN` or `COMMIT`, or one
        SQLite already rolled back, leaves none: nothing to undo then)."""
        try:
            await self._db.execute("ROLLBACK")
        except sqlite3.OperationalError as error:
            if "no transaction is active" not in str(error):
                raise

    async def _update(self, sql: str, params: Sequence[Any]) -> bool:
        """One autocommit write statement; whether it changed a row."""
        async with self._lock, self._db.execute(sql, params) as cursor:
            return cursor.rowcount > 0

    async def _fetchall(self, sql: str, params: Sequence[Any]) -> list[sqlite3.Row]:
        async with self._lock:
            return list(await self._db.execute_fetchall(sql, params))

    async def fetchall(self, sql: str, params: Sequence[Any]) -> list[sqlite3.Row]:
        """Run one read statement on the query-only connection (module docstring): for the
        reads that answer requests (the history queries, the marks, listings). Bulk reads of
        the scan stay on the writer (`_fetchall`), so they never delay a request."""
        return list(await self._reader.execute_fetchall(sql, params))


async def _connect_checked(path: Path) -> aiosqlite.Connection:
    """Connect in autocommit mode, set pragmas, `quick_check`, create/check the schema."""
    db = await aiosqlite.connect(path, isolation_level=None)
    try:
        await apply_connection_pragmas(db)
        problems = [row[0] for row in await db.execute_fetchall("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise DamagedDatabase("quick_check: " + "; ".join(map(str, problems[:5])))
        await prepare_schema(db)
    except BaseException:
        await db.close()
        raise
    return db


async def _connect_reader(path: Path, writer: aiosqlite.Connection) -> aiosqlite.Connection:
    """The query-only connection for request reads (opened after the writer prepared the
    schema and WAL mode); closes `writer` if it cannot be opened."""
    try:
        reader = await aiosqlite.connect(path, isolation_level=None)
    except BaseException:
        await writer.close()
        raise
    try:
        await reader.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await reader.execute("PRAGMA query_only = ON")
    except BaseException:
        await reader.close()
        await writer.close()
        raise
    return reader


def _remove_older_generations(data_dir: Path) -> None:
    """Delete earlier generations of our own index (pure caches of the rollouts)."""
    for name in OLDER_INDEX_DB_FILES:
        for suffix in ("", "-wal", "-shm"):
            (data_dir / f"{name}{suffix}").unlink(missing_ok=True)
