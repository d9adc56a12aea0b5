"""`ThreadIndex`: the async SQLite index of stored threads (`state_app_server_2.sqlite`).

The rollout files are the source of truth; this index only makes `thread/list` fast and keeps
the spawn tree. Everything in it can be rebuilt from the rollouts (backfill, STORAGE.md §7.1),
so a damaged file is quarantined and replaced rather than repaired (`db_recovery`).

This module is the index's statements: thread rows, spawn edges, rollout stamps, names,
locations and the backfill checkpoint. What they run on — the writer and query-only
connections, the lock that serializes the writer's statements, its transactions, and opening
the file with recovery — is `index_connections.IndexConnections`, which `ThreadIndex` extends.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Final, Literal

import orjson
from msgspec import Struct

from app_server.store.local.history_index_db import IndexedHistory, delete_history, write_history
from app_server.store.local.index_connections import IndexConnections
from app_server.store.local.index_schema import (
    SELECT_RECORD_COLUMNS,
    THREAD_COLUMNS,
    record_to_row,
    row_to_record,
)
from app_server.store.local.list_sql import build_list_sql
from app_server.store.local.thread_marks_schema import DELETE_MARKS_SQL
from app_server.store.records import ThreadRecord
from app_server.store.thread_query import ThreadPage, ThreadQuery, normalize_limit, page_from_rows

BackfillStatus = Literal["pending", "running", "complete"]

ITER_BATCH_SIZE: Final = 500
"""Rows per statement when iterating the whole index (bounds memory and lock hold time)."""
OPEN_SPAWN_EDGE: Final = "open"
"""`thread_spawn_edges.status` of a new edge (codex writes `open`)."""

LOCATION_COLUMNS: Final = frozenset({"rollout_path", "archived", "archived_at_ms"})
"""Where a thread's file is: changed only by whoever moves the file (or finds it moved)."""


def _upsert_thread_sql(kept: frozenset[str]) -> str:
    """Insert a row, or update an existing one except `id` and the `kept` columns."""
    updated = [name for name in THREAD_COLUMNS if name != "id" and name not in kept]
    return (
        f"INSERT INTO threads ({', '.join(THREAD_COLUMNS)})"
        f" VALUES ({', '.join('?' * len(THREAD_COLUMNS))})"
        " ON CONFLICT(id) DO UPDATE SET "
        + ", ".join(f"{name} = excluded.{name}" for name in updated)
    )


_UPSERT_THREAD: Final = _upsert_thread_sql(frozenset({"name"}))
_UPSERT_THREAD_IN_PLACE: Final = _upsert_thread_sql(frozenset({"name"}) | LOCATION_COLUMNS)
_UPSERT_EDGE: Final = (
    "INSERT INTO thread_spawn_edges (parent_thread_id, child_thread_id, status) VALUES (?, ?, ?)"
    " ON CONFLICT(child_thread_id) DO UPDATE SET parent_thread_id = excluded.parent_thread_id"
)
_IDS: Final = "SELECT value FROM json_each(?)"
"""Subquery over a JSON array parameter: any number of ids in one bound variable."""


class RolloutStamp(Struct, frozen=True):
    """What a rollout file looked like when its record was indexed."""

    thread_id: str
    size: int
    mtime_ns: int


class RowLocation(Struct, frozen=True):
    """Where an index row says a thread's rollout is (the plain path, relative)."""

    rollout_path: str
    archived: bool


class BackfillState(Struct, frozen=True):
    """Progress of the rollout scan that fills the index (resumable, STORAGE.md §7.1)."""

    status: BackfillStatus
    watermark: str | None = None
    """Relative path of the last rollout processed (the scan resumes after it)."""
    last_success_at: int | None = None
    """Unix seconds of the last completed scan."""


class ThreadIndex(IndexConnections):
    """An open index. Create with `await ThreadIndex.open(data_dir)`; `await close()` after."""

    # --- writes -------------------------------------------------------------------------------

    async def upsert(
        self,
        records: Iterable[ThreadRecord],
        stamps: Iterable[RolloutStamp] = (),
        histories: Iterable[IndexedHistory] = (),
        *,
        keep_location: bool = False,
    ) -> None:
        """Insert or replace rows, in one transaction; spawn edges follow `parent_thread_id`.

        A record with a parent gets (or is re-pointed by) an edge `parent → id`, keeping the
        edge's status; a record without one loses any edge where it is the child. `stamps`
        record the size and mtime of the rollouts the records were read from (see `stamps`);
        `histories` are their history-index rows (turn starts, searchable messages).

        An existing row keeps its `name`: names mirror `session_index.jsonl`, not the rollout,
        and change only through `set_name` and `sync_names` (a fold that read the names a moment
        earlier must not write an older one back). `keep_location`: an existing row also keeps
        its location (`rollout_path`, `archived`, `archived_at_ms`) — for a writer, whose
        file may have been archived by the time its update lands.
        """
        batch = list(records)
        history_batch = list(histories)
        if not batch and not history_batch:
            return
        edges = [(r.parent_thread_id, r.id, OPEN_SPAWN_EDGE) for r in batch if r.parent_thread_id]
        orphans = [r.id for r in batch if not r.parent_thread_id]
        async with self._transaction() as db:
            await db.executemany(
                _UPSERT_THREAD_IN_PLACE if keep_location else _UPSERT_THREAD,
                [record_to_row(r) for r in batch],
            )
            await db.executemany(_UPSERT_EDGE, edges)
            await db.executemany(
                "INSERT OR REPLACE INTO rollout_stamps (thread_id, size, mtime_ns)"
                " VALUES (?, ?, ?)",
                [(s.thread_id, s.size, s.mtime_ns) for s in stamps],
            )
            if orphans:
                await db.execute(
                    f"DELETE FROM thread_spawn_edges WHERE child_thread_id IN ({_IDS})",
                    (_json(orphans),),
                )
            for history in history_batch:
                await write_history(db, history)

    async def delete(self, ids: Iterable[str]) -> int:
        """Remove rows and every spawn edge touching them (either end); one transaction.

        Returns how many thread rows were deleted.
        """
        id_values = list(ids)
        id_list = _json(id_values)
        async with self._transaction() as db:
            async with db.execute(f"DELETE FROM threads WHERE id IN ({_IDS})", (id_list,)) as cur:
                deleted = cur.rowcount
            await db.execute(
                f"DELETE FROM thread_spawn_edges WHERE child_thread_id IN ({_IDS})"
                f" OR parent_thread_id IN ({_IDS})",
                (id_list, id_list),
            )
            await db.execute(f"DELETE FROM rollout_stamps WHERE thread_id IN ({_IDS})", (id_list,))
            await delete_history(db, id_values)
            for sql in DELETE_MARKS_SQL:
                await db.execute(sql, (id_list,))
        return deleted

    async def stamps(self) -> dict[str, RolloutStamp]:
        """Size and mtime of each indexed rollout when it was last read: a startup scan refolds
        only the files whose stamp changed (another program appended, or a crash lost our
        index update)."""
        rows = await self._db.execute_fetchall(
            "SELECT thread_id, size, mtime_ns FROM rollout_stamps"
        )
        return {row[0]: RolloutStamp(row[0], row[1], row[2]) for row in rows}

    async def stamp(self, thread_id: str) -> RolloutStamp | None:
        """The stamp of one thread's rollout when it was last indexed."""
        rows = await self._fetchall(
            "SELECT thread_id, size, mtime_ns FROM rollout_stamps WHERE thread_id = ?",
            (thread_id,),
        )
        return RolloutStamp(rows[0][0], rows[0][1], rows[0][2]) if rows else None

    async def set_name(self, thread_id: str, name: str | None) -> bool:
        """Set (or clear) the name; `False` when the thread is not indexed."""
        return await self._update("UPDATE threads SET name = ? WHERE id = ?", (name, thread_id))

    async def sync_names(self, names: Mapping[str, str]) -> int:
        """Make every row's name what `names` (the latest `session_index.jsonl` entry per
        thread) says, clearing names it does not have; returns how many rows changed."""
        rows = await self._fetchall("SELECT id, name FROM threads", ())
        changes = [(names.get(row[0]), row[0]) for row in rows if names.get(row[0]) != row[1]]
        if changes:
            async with self._transaction() as db:
                await db.executemany("UPDATE threads SET name = ? WHERE id = ?", changes)
        return len(changes)

    async def set_archived(
        self, thread_id: str, archived: bool, archived_at_ms: int | None, rollout_path: str
    ) -> bool:
        """Record an archive/unarchive (the file moved); `False` when not indexed."""
        return await self._update(
            "UPDATE threads SET archived = ?, archived_at_ms = ?, rollout_path = ? WHERE id = ?",
            (int(archived), archived_at_ms if archived else None, rollout_path, thread_id),
        )

    async def set_backfill_state(self, state: BackfillState) -> None:
        """Checkpoint the backfill scan."""
        await self._update(
            "UPDATE backfill_state SET status = ?, last_watermark = ?, last_success_at = ?,"
            " updated_at = ? WHERE id = 1",
            (state.status, state.watermark, state.last_success_at, int(time.time())),
        )

    # --- reads --------------------------------------------------------------------------------

    async def get(self, thread_id: str) -> ThreadRecord | None:
        """The record of `thread_id`, or `None`."""
        rows = await self.fetchall(
            f"SELECT {SELECT_RECORD_COLUMNS} FROM threads AS t WHERE t.id = ?", (thread_id,)
        )
        return row_to_record(rows[0]) if rows else None

    async def list_threads(self, query: ThreadQuery) -> ThreadPage:
        """One `thread/list` page (one SQL statement). Raises `InvalidCursor`."""
        limit = normalize_limit(query.limit)
        sql, params = build_list_sql(query, limit + 1)
        rows = await self.fetchall(sql, params)
        return page_from_rows(query, [row_to_record(row) for row in rows], limit)

    async def locations(self) -> dict[str, RowLocation]:
        """Where each row says its thread's rollout is (for reconciliation with the files)."""
        rows = await self._fetchall("SELECT id, rollout_path, archived FROM threads", ())
        return {row[0]: RowLocation(row[1], bool(row[2])) for row in rows}

    async def all_ids(self) -> set[str]:
        """Every indexed thread id (for reconciliation with the rollout files)."""
        rows = await self._fetchall("SELECT id FROM threads", ())
        return {row[0] for row in rows}

    async def iter_records(self, batch_size: int = ITER_BATCH_SIZE) -> AsyncIterator[ThreadRecord]:
        """Every record in id order, `batch_size` rows per statement (the lock is not held
        between batches, so rows changed meanwhile may or may not be seen)."""
        after = ""
        while True:
            rows = await self._fetchall(
                f"SELECT {SELECT_RECORD_COLUMNS} FROM threads AS t WHERE t.id > ?"
                " ORDER BY t.id LIMIT ?",
                (after, batch_size),
            )
            for row in rows:
                yield row_to_record(row)
            if len(rows) < batch_size:
                return
            after = rows[-1][0]

    async def descendant_ids(self, thread_id: str) -> set[str]:
        """All spawned descendants of `thread_id` at any depth, without itself."""
        rows = await self._fetchall(
            "WITH RECURSIVE d(id) AS ("
            " SELECT child_thread_id FROM thread_spawn_edges WHERE parent_thread_id = ?"
            " UNION SELECT e.child_thread_id FROM thread_spawn_edges AS e"
            " JOIN d ON e.parent_thread_id = d.id)"
            " SELECT id FROM d WHERE id <> ?",
            (thread_id, thread_id),
        )
        return {row[0] for row in rows}

    async def history_dependents(self, ids: Iterable[str]) -> set[str]:
        """Threads outside `ids` whose history references one inside: paginated forks based on
        it (`history_base_id`) or forks attached to it (the `thread/delete` refusal, §8.3)."""
        id_list = _json(list(ids))
        rows = await self._fetchall(
            f"SELECT id FROM threads WHERE (history_base_id IN ({_IDS})"
            f" OR attached_to_thread_id IN ({_IDS})) AND id NOT IN ({_IDS})",
            (id_list, id_list, id_list),
        )
        return {row[0] for row in rows}

    async def spawn_edges(self) -> list[tuple[str, str, str]]:
        """Every edge as `(parent_thread_id, child_thread_id, status)`, ordered by child."""
        rows = await self._fetchall(
            "SELECT parent_thread_id, child_thread_id, status FROM thread_spawn_edges"
            " ORDER BY child_thread_id",
            (),
        )
        return [(row[0], row[1], row[2]) for row in rows]

    async def count(self) -> int:
        """Number of indexed threads."""
        rows = await self._fetchall("SELECT count(*) FROM threads", ())
        return int(rows[0][0])

    async def backfill_state(self) -> BackfillState:
        """The backfill checkpoint (`pending` in a fresh index)."""
        rows = await self._fetchall(
            "SELECT status, last_watermark, last_success_at FROM backfill_state WHERE id = 1", ()
        )
        status, watermark, last_success_at = rows[0]
        return BackfillState(status, watermark, last_success_at)


def _json(values: list[str]) -> str:
    return orjson.dumps(values).decode()


async def replace_stamp(index: ThreadIndex, old: RolloutStamp, new: RolloutStamp) -> bool:
    """Swap a thread's rollout stamp from `old` to `new` if it still is `old`; whether it was.

    For a whole-file rewrite that keeps the content (compression): the record folded from the
    old file stays valid, so the next scan need not refold the new one. A stamp that is not
    `old` (the file changed before the index caught up) is left alone: that file needs its
    refold.
    """
    return await index._update(
        "UPDATE rollout_stamps SET size = ?, mtime_ns = ?"
        " WHERE thread_id = ? AND size = ? AND mtime_ns = ?",
        (new.size, new.mtime_ns, old.thread_id, old.size, old.mtime_ns),
    )
