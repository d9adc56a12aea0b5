"""One writer per thread across processes: the writer lease, its fencing token, the heartbeat.

The lease lives in the thread's row: `writer_owner` (a process id), `writer_epoch` (the fencing
token) and `writer_expires_at`. Taking a thread bumps `writer_epoch`; every append of the writer
is an `UPDATE … WHERE writer_owner = $me AND writer_epoch = $mine` in the same transaction as
its lines, so a writer whose thread was taken over (fenced) cannot append one line more: its
flush finds no row and raises `WriterFenced`.

Each process (`ProcessLease`) registers in `processes`, renews the leases of all its threads with
one statement per heartbeat, and holds a session advisory lock on its own id on a dedicated
connection for as long as it lives. A process that finds a thread leased by another one tries
that process's lock: if it gets it, the owner's session is gone (the process died or lost its
database connection), and the thread is taken over at once instead of after the lease expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Final

import asyncpg

from app_server.store.postgres.connect import Connection

log = logging.getLogger(__name__)

LEASE_SECONDS: Final = 15.0
"""How long a lease stays valid without a heartbeat. A thread whose process froze (not died: a
dead one is detected at once by its advisory lock) is taken over after this long; a shorter
lease costs more heartbeats and risks fencing a process during a long GC or network stall."""
HEARTBEAT_SECONDS: Final = LEASE_SECONDS / 3
"""How often a process renews its leases (one `UPDATE` of its own rows each time), so that
two heartbeats can be missed before a lease expires."""

PROCESS_LOCK_SQL: Final = "hashtextextended('app-server-process:' || $1, 0)"
"""The advisory-lock key of a process id (`$1`)."""


class ProcessLease:
    """This process's identity in the database, its liveness lock and its heartbeat."""

    def __init__(self, pool: asyncpg.Pool, *, process_id: str | None = None) -> None:
        self.process_id = process_id or str(uuid.uuid4())
        self._pool = pool
        self._lock_connection: Connection | None = None
        self._heartbeat: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Register, take the liveness lock, start the heartbeat."""
        connection = await self._pool.acquire()
        await connection.execute(f"SELECT pg_advisory_lock({PROCESS_LOCK_SQL})", self.process_id)
        self._lock_connection = connection
        await self._pool.execute(
            "INSERT INTO processes (id) VALUES ($1) ON CONFLICT (id) DO NOTHING", self.process_id
        )
        self._heartbeat = asyncio.create_task(self._beat(), name="postgres lease heartbeat")

    async def close(self) -> None:
        """Release every lease still held, stop the heartbeat, drop the liveness lock."""
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
            self._heartbeat = None
        with contextlib.suppress(asyncpg.PostgresError, OSError, asyncpg.InterfaceError):
            await self._pool.execute(
                "UPDATE threads SET writer_owner = NULL, writer_expires_at = NULL"
                " WHERE writer_owner = $1",
                self.process_id,
            )
            await self._pool.execute("DELETE FROM processes WHERE id = $1", self.process_id)
        if self._lock_connection is not None:
            with contextlib.suppress(asyncpg.PostgresError, OSError, asyncpg.InterfaceError):
                await self._lock_connection.execute(
                    f"SELECT pg_advisory_unlock({PROCESS_LOCK_SQL})", self.process_id
                )
            with contextlib.suppress(asyncpg.InterfaceError):  # a pool terminated already
                await self._pool.release(self._lock_connection)
            self._lock_connection = None

    async def renew(self) -> None:
        """Extend every lease of this process (one statement)."""
        await self._pool.execute(
            "UPDATE threads SET writer_expires_at = now() + make_interval(secs => $2)"
            " WHERE writer_owner = $1",
            self.process_id,
            LEASE_SECONDS,
        )
        await self._pool.execute(  # back after a freeze: registered again (`departures.py`)
            "INSERT INTO processes (id) VALUES ($1)"
            " ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()",
            self.process_id,
        )

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            try:
                await self.renew()
            except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError) as error:
                log.warning("could not renew the writer leases: %s", error)


async def owner_is_dead(connection: Connection, owner: str) -> bool:
    """Whether the process `owner` is gone: its liveness lock can be taken. Must run inside a
    transaction (the probe is a transaction-level lock, released at its end)."""
    return bool(
        await connection.fetchval(f"SELECT pg_try_advisory_xact_lock({PROCESS_LOCK_SQL})", owner)
    )
