"""Processes that stopped without saying so, and the threads they had loaded.

A process that stops gracefully releases its leases and removes its `processes` row itself
(`lease.py`), after relaying that its threads are no longer loaded (`rpc.relay`). One that was
killed, or lost its database session, or froze past its lease, cannot: the others find it here.
Every `SWEEP_SECONDS` each process runs `claim_departed`: the processes whose liveness lock can
be taken (their session is gone) or whose heartbeat is older than `FROZEN_SECONDS` are removed,
their leases cleared (a frozen writer that comes back is fenced: its appends name an owner the
row no longer has) and their waiting messages deleted, in one transaction. A departed process is
claimed by exactly one sweeper (the row's `DELETE` is the claim; a concurrent sweeper finds the
liveness lock taken and the row gone), which tells its clients and relays to every process
that the threads are `notLoaded` and closed: servable by whoever resumes them next.
"""

from __future__ import annotations

from typing import Final

import asyncpg
from msgspec import Struct

from app_server.store.postgres.lease import HEARTBEAT_SECONDS, LEASE_SECONDS, PROCESS_LOCK_SQL

SWEEP_SECONDS: Final = HEARTBEAT_SECONDS
"""How often a process looks for departed ones (one transaction): a killed owner's watchers
hear that its threads stopped within about this long (`FROZEN_SECONDS` for one that froze with
its session alive)."""


class Departure(Struct, frozen=True):
    """A process claimed as departed, and the threads whose leases it held."""

    process_id: str
    thread_ids: list[str]


FROZEN_SECONDS: Final = 2 * LEASE_SECONDS
"""A process whose heartbeat is older than this has departed even if its session lives (it
froze): its leases expired a lease ago, so any process could already take its threads; waiting
one lease more spares a process that stalled briefly the loss of all its writers."""

_RELEASE_LEASES: Final = """
WITH held AS (
  SELECT id, writer_owner FROM threads WHERE writer_owner = ANY($1::text[]) FOR UPDATE
)
UPDATE threads AS t SET writer_owner = NULL, writer_expires_at = NULL
FROM held WHERE t.id = held.id
RETURNING t.id, held.writer_owner AS owner
"""
_FIND_DEPARTED: Final = (
    "SELECT id FROM processes WHERE id <> $1 AND ("
    " heartbeat_at < now() - make_interval(secs => $2)"
    f" OR pg_try_advisory_xact_lock({PROCESS_LOCK_SQL.replace('$1', 'id')}))"
)


async def claim_departed(pool: asyncpg.Pool, me: str) -> list[Departure]:
    """Remove the processes that departed (see the module docstring) and release their
    leases; each departure is returned to exactly one caller across processes."""
    async with pool.acquire() as connection, connection.transaction():
        candidates = [
            row["id"] for row in await connection.fetch(_FIND_DEPARTED, me, FROZEN_SECONDS)
        ]
        if not candidates:
            return []
        claimed = [
            row["id"]
            for row in await connection.fetch(
                "DELETE FROM processes WHERE id = ANY($1::text[]) RETURNING id", candidates
            )
        ]
        if not claimed:
            return []
        released = await connection.fetch(_RELEASE_LEASES, claimed)
        await connection.execute(
            "DELETE FROM process_messages WHERE recipient = ANY($1::text[])", claimed
        )
    by_owner: dict[str, list[str]] = {process_id: [] for process_id in claimed}
    for row in released:
        by_owner.setdefault(row["owner"], []).append(row["id"])
    return [Departure(process_id, ids) for process_id, ids in by_owner.items()]
