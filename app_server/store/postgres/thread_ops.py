"""Metadata operations of the PostgreSQL store: names, archive, unarchive, delete.

Each is one transaction, so it is atomic and, once answered, visible to every process. An
operation that needs the thread free (archive, delete) refuses while a writer lease is held:
`WriterBusy` for a writer of this process (the thread manager closes its own first), and
`ThreadLoadedElsewhere` naming the owner for another process's (the store then asks it to hand
the thread over, `handover.py`). A rename appends the line the local store would append to
`session_index.jsonl` (`session_index`), so an export writes that file as the local store would.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Final

import asyncpg
import orjson

from app_server.notification import now_ms
from app_server.store.errors import (
    ForkReferenced,
    ThreadLoadedElsewhere,
    ThreadNotStored,
    WriterBusy,
)
from app_server.store.local.rollout_files import (
    ARCHIVED_SESSIONS_DIR,
    live_rollout_relative_path,
    unarchived_rollout_path,
)
from app_server.store.local.session_index import format_updated_at
from app_server.store.postgres.schema import SELECT_RECORD_COLUMNS, row_to_record
from app_server.store.records import ThreadRecord

LEASE_FREE: Final = "(writer_owner IS NULL OR writer_expires_at < now())"
"""SQL: nobody holds the thread's lease (or it expired)."""
_THREAD_TABLES: Final = (
    "rollout_lines",
    "rollout_batches",
    "turn_starts",
    "thread_messages",
    "read_receipts",
    "goals",
    "thread_metadata_patches",
    "session_index",
)
"""Tables with rows per thread (by `thread_id`), emptied when a thread is deleted."""


def session_index_line(thread_id: str, name: str, epoch_ns: int) -> str:
    """The `session_index.jsonl` line the local store appends for a rename (without `\\n`)."""
    entry = {"id": thread_id, "thread_name": name, "updated_at": format_updated_at(epoch_ns)}
    return orjson.dumps(entry).decode()


async def set_name(pool: asyncpg.Pool, thread_id: str, name: str, *, unsaved: bool) -> None:
    """Record a name (see `ThreadStore.set_name`). Raises `ThreadNotStored`."""
    line = session_index_line(thread_id, name, time.time_ns())
    async with pool.acquire() as connection, connection.transaction():
        if unsaved:
            await connection.execute(
                "INSERT INTO threads (id, name) VALUES ($1, $2)"
                " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name",
                thread_id,
                name,
            )
        else:
            updated = await connection.execute(
                "UPDATE threads SET name = $2 WHERE id = $1"
                " AND (line_count > 0 OR writer_owner IS NOT NULL)",
                thread_id,
                name,
            )
            if updated == "UPDATE 0":
                raise ThreadNotStored(thread_id)
        await connection.execute(
            "INSERT INTO session_index (thread_id, line) VALUES ($1, $2)", thread_id, line
        )


async def archive(pool: asyncpg.Pool, thread_id: str, process_id: str) -> ThreadRecord:
    """Archive a live thread nobody writes. Raises `ThreadNotStored` (not live, or written
    by this process) or `ThreadLoadedElsewhere`."""
    row = await pool.fetchrow(
        "UPDATE threads AS t SET archived = true, archived_at_ms = $2,"
        " rollout_path = $3 || '/' || regexp_replace(t.rollout_path, '^.*/', '')"
        f" WHERE t.id = $1 AND t.line_count > 0 AND NOT t.archived AND {LEASE_FREE}"
        f" RETURNING {SELECT_RECORD_COLUMNS}",
        thread_id,
        now_ms(),
        ARCHIVED_SESSIONS_DIR,
    )
    if row is not None:
        return row_to_record(row)
    owner = await pool.fetchval(
        f"SELECT writer_owner FROM threads WHERE id = $1 AND NOT {LEASE_FREE}"
        " AND line_count > 0 AND NOT archived",
        thread_id,
    )
    if owner is not None and owner != process_id:
        raise ThreadLoadedElsewhere(thread_id, owner)
    raise ThreadNotStored(thread_id)


async def unarchive(pool: asyncpg.Pool, record: ThreadRecord) -> ThreadRecord:
    """Move an archived thread back to its date folder. Raises `ThreadNotStored`."""
    name = PurePosixPath(record.rollout_path).name
    restored = unarchived_rollout_path(Path(), name)
    if restored is not None:
        path = restored.as_posix()
    else:  # a name without its stamp: the date folder of the creation time (local wall clock)
        created = datetime.fromtimestamp(record.created_at_ms / 1000)
        path = live_rollout_relative_path(record.id, created).as_posix()
    row = await pool.fetchrow(
        "UPDATE threads AS t SET archived = false, archived_at_ms = NULL, rollout_path = $2"
        f" WHERE t.id = $1 AND t.archived RETURNING {SELECT_RECORD_COLUMNS}",
        record.id,
        path,
    )
    if row is None:
        raise ThreadNotStored(record.id)
    return row_to_record(row)


async def delete_tree(pool: asyncpg.Pool, thread_id: str, process_id: str) -> list[str]:
    """Delete the thread and its spawned descendants, deepest first, in one transaction (see
    `ThreadStore.delete_tree`); nothing is deleted when any check fails."""
    async with pool.acquire() as connection, connection.transaction():
        rows = await connection.fetch(
            "WITH RECURSIVE tree(id, parent) AS ("
            ' SELECT id, NULL::text COLLATE "C" FROM threads WHERE id = $1 AND line_count > 0'
            " UNION SELECT c.id, c.parent_thread_id FROM threads AS c JOIN tree AS d"
            " ON c.parent_thread_id = d.id WHERE c.line_count > 0)"
            " SELECT id, parent FROM tree",
            thread_id,
        )
        if not rows:
            raise ThreadNotStored(thread_id)
        doomed = deepest_first(thread_id, [(r["id"], r["parent"]) for r in rows])
        referenced = await connection.fetchval(
            "SELECT 1 FROM threads WHERE line_count > 0 AND NOT (id = ANY($1::text[]))"
            " AND (history_base_id = ANY($1::text[])"
            " OR attached_to_thread_id = ANY($1::text[]))"
            " LIMIT 1",
            doomed,
        )
        if referenced is not None:
            raise ForkReferenced(thread_id)
        busy = await connection.fetchrow(
            "SELECT id, writer_owner FROM threads WHERE id = ANY($1::text[])"
            f" AND NOT {LEASE_FREE} ORDER BY id LIMIT 1",
            doomed,
        )
        if busy is not None:
            if busy["writer_owner"] != process_id:
                raise ThreadLoadedElsewhere(busy["id"], busy["writer_owner"])
            raise WriterBusy(f"thread {busy['id']} already has an active writer")
        for table in _THREAD_TABLES:
            await connection.execute(
                f"DELETE FROM {table} WHERE thread_id = ANY($1::text[])", doomed
            )
        await connection.execute("DELETE FROM threads WHERE id = ANY($1::text[])", doomed)
    return doomed


def deepest_first(root: str, edges: Sequence[tuple[str, str | None]]) -> list[str]:
    """The tree's ids, children before their parent (children in id order), as the other
    stores delete them."""
    children: dict[str, list[str]] = {}
    for child, parent in edges:
        if parent is not None:
            children.setdefault(parent, []).append(child)
    order: list[str] = []

    def visit(node: str) -> None:
        for child in sorted(children.get(node, ())):
            visit(child)
        order.append(node)

    visit(root)
    return order
