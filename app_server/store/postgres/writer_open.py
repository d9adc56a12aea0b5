"""Opening a thread's writer in the PostgreSQL store: taking its lease, and where it resumes.

`create_lease` claims a new thread's row (or a row holding only a name given first); `take_lease`
claims a stored live thread, at once when its lease is free, expired, or held by a dead process
(its liveness lock can be taken, `lease.owner_is_dead`). Both bump `writer_epoch`, the fencing
token every flush of the new writer is checked against. `resume_position` folds the stored
history for the writer's index upkeep, says where its next line goes, and indexes the turns
of a thread written before the turn-start index existed.
"""

from __future__ import annotations

import asyncio
from typing import Final

import asyncpg

from app_server.rollout.history import HistoryFold
from app_server.rollout.history_index import HistoryIndexDelta
from app_server.rollout.lines import HistoryMode
from app_server.store.errors import (
    ThreadAlreadyStored,
    ThreadLoadedElsewhere,
    ThreadNotStored,
    WriterBusy,
    WriterFenced,
)
from app_server.store.postgres.lease import LEASE_SECONDS, owner_is_dead
from app_server.store.postgres.lines import (
    PoolBaseLoader,
    fetch_lines,
    insert_messages,
    parse_lines,
    rollout_size,
)
from app_server.store.postgres.thread_ops import LEASE_FREE
from app_server.store.postgres.turn_index import replace_turn_starts
from app_server.store.postgres.writer import WriterPosition

TAKE_LEASE: Final = (
    "writer_owner = $2, writer_epoch = threads.writer_epoch + 1,"
    f" writer_expires_at = now() + make_interval(secs => {LEASE_SECONDS})"
)
"""SQL SET list taking the lease of thread `$1` for process `$2` (bumping the fencing token)."""


async def create_lease(
    pool: asyncpg.Pool,
    process_id: str,
    thread_id: str,
    *,
    name: str | None,
    path: str,
    created_at_ms: int,
    history_mode: HistoryMode,
    next_ordinal: int | None,
) -> int:
    """Claim the row of a thread about to get its first line; its fencing token. Raises
    `ThreadAlreadyStored` (it has lines) or `WriterBusy` (another writer holds it)."""
    epoch = await pool.fetchval(
        "INSERT INTO threads (id, name, rollout_path, created_at_ms, history_mode, archived,"
        " next_ordinal, writer_owner, writer_epoch, writer_expires_at, turn_count)"
        " VALUES ($1, $3, $4, $5, $6, false, $7, $2, 1,"
        f" now() + make_interval(secs => {LEASE_SECONDS}), 0)"
        f" ON CONFLICT (id) DO UPDATE SET {TAKE_LEASE},"
        " name = COALESCE(EXCLUDED.name, threads.name), rollout_path = EXCLUDED.rollout_path,"
        " created_at_ms = EXCLUDED.created_at_ms, history_mode = EXCLUDED.history_mode,"
        " archived = false, next_ordinal = EXCLUDED.next_ordinal, turn_count = 0,"
        " turns_pageable = true, hidden_before_ordinal = NULL"
        f" WHERE threads.line_count = 0 AND {LEASE_FREE.replace('writer', 'threads.writer')}"
        " RETURNING writer_epoch",
        thread_id,
        process_id,
        name,
        path,
        created_at_ms,
        history_mode,
        next_ordinal,
    )
    if epoch is None:
        stored = await pool.fetchval("SELECT line_count > 0 FROM threads WHERE id = $1", thread_id)
        if stored:
            raise ThreadAlreadyStored(thread_id)
        raise WriterBusy(f"thread {thread_id} already has an active writer")
    return int(epoch)


async def take_lease(pool: asyncpg.Pool, process_id: str, thread_id: str) -> tuple[int, int, str]:
    """Take the lease of a stored live thread: `(epoch, created_at_ms, rollout_path)`.
    A lease of a dead process is taken at once. Raises `ThreadNotStored`, `WriterBusy`
    (a writer of this process), or `ThreadLoadedElsewhere`."""
    async with pool.acquire() as connection, connection.transaction():
        row = await connection.fetchrow(
            "SELECT writer_owner, writer_expires_at < now() AS expired FROM threads"
            " WHERE id = $1 AND line_count > 0 AND NOT archived FOR UPDATE",
            thread_id,
        )
        if row is None:
            raise ThreadNotStored(thread_id)
        owner = row["writer_owner"]
        free = owner is None or row["expired"]
        if not free and owner != process_id:
            free = await owner_is_dead(connection, owner)
        if not free:
            if owner == process_id:
                raise WriterBusy(f"thread {thread_id} already has an active writer")
            raise ThreadLoadedElsewhere(thread_id, owner)
        taken = await connection.fetchrow(
            f"UPDATE threads SET {TAKE_LEASE} WHERE id = $1"
            " RETURNING writer_epoch, created_at_ms, rollout_path",
            thread_id,
            process_id,
        )
        assert taken is not None
        return taken["writer_epoch"], taken["created_at_ms"], taken["rollout_path"]


async def release_lease(pool: asyncpg.Pool, thread_id: str, epoch: int) -> None:
    """Give up a lease taken with `epoch` (a writer that could not be opened after all)."""
    await pool.execute(
        "UPDATE threads SET writer_owner = NULL, writer_expires_at = NULL"
        " WHERE id = $1 AND writer_epoch = $2",
        thread_id,
        epoch,
    )


async def resume_position(
    pool: asyncpg.Pool, thread_id: str, epoch: int
) -> tuple[WriterPosition, HistoryFold]:
    """Where a reopened thread's writer continues, and its history folded for index upkeep
    (its messages are indexed already: drained and dropped). A thread whose turn index does
    not count the turns folded (written before the index existed) is indexed now, under the
    lease just taken (`epoch`)."""
    lines = await fetch_lines(pool, thread_id)
    row = await pool.fetchrow(
        "SELECT turn_count, (SELECT count(*) FROM thread_messages WHERE thread_id = $1) AS messages"
        " FROM threads WHERE id = $1",
        thread_id,
    )
    assert row is not None
    loader = PoolBaseLoader(pool, asyncio.get_running_loop())

    def fold() -> tuple[HistoryFold, HistoryIndexDelta]:
        folded = HistoryFold(loader, keep_items=False).feed_lines(parse_lines(lines))
        return folded, folded.index.drain()  # the messages are indexed already

    folded, delta = await asyncio.to_thread(fold)
    turn_count = len(delta.turn_starts)
    messages = [m.replace("\x00", "") for m in delta.messages]
    if row["messages"] != len(messages):
        # Stored before rollbacks dropped messages (or by an older version): the fold's kept
        # messages replace them, so a later rollback's numbers match the rows.
        await _replace_messages(pool, thread_id, epoch, messages)
    if row["turn_count"] != turn_count:
        async with pool.acquire() as connection, connection.transaction():
            owned = await connection.execute(
                "UPDATE threads SET turn_count = $3, turns_pageable = $4,"
                " hidden_before_ordinal = $5 WHERE id = $1 AND writer_epoch = $2",
                thread_id,
                epoch,
                turn_count,
                delta.pageable,
                delta.hidden_before_ordinal,
            )
            if owned == "UPDATE 0":
                raise WriterFenced(thread_id)
            await replace_turn_starts(connection, thread_id, delta.turn_starts, lines)
    next_ordinal = None if folded.last_ordinal is None else folded.last_ordinal + 1
    position = WriterPosition(
        len(lines), rollout_size(lines), next_ordinal, len(messages), turn_count
    )
    return position, folded


async def _replace_messages(
    pool: asyncpg.Pool, thread_id: str, epoch: int, messages: list[str]
) -> None:
    """Make the thread's searchable messages exactly `messages`, under the lease `epoch`."""
    async with pool.acquire() as connection, connection.transaction():
        # A no-op update: locks the thread's row until the commit, and only while the lease
        # is still ours (a fenced writer must not rewrite another's rows).
        owned = await connection.execute(
            "UPDATE threads SET writer_epoch = writer_epoch WHERE id = $1 AND writer_epoch = $2",
            thread_id,
            epoch,
        )
        if owned == "UPDATE 0":
            raise WriterFenced(thread_id)
        await connection.execute("DELETE FROM thread_messages WHERE thread_id = $1", thread_id)
        await insert_messages(connection, thread_id, 0, messages)
