"""`PostgresThreadStore`: the ThreadStore contract on PostgreSQL, shared by several processes.

Every process serving one database sees the same threads: rows, lines and marks live only in
the database, so a write is visible everywhere once its transaction commits (read-your-writes
across processes). Lines are kept as the exact text the local writer would write
(`writer.py`), so history reads fold them with the same `HistoryFold` as the local store, and an
export writes byte-identical rollouts. The thread row is maintained by the writer at each flush
(the SQLite index's columns and partial indexes), which serves `thread/list` with one keyset
statement (`list_sql.py`) and `thread/search` from `thread_messages` with a trigram index.

One writer per thread across processes: see `lease.py`. `turn_page` folds the whole history and
pages it (as the in-memory store does); the turn-start index of the local store is not kept
here yet. Compression of cold history is not done (`compress_cold_rollouts` reports nothing).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Final

import asyncpg
import orjson

from app_server.notification import now_ms
from app_server.rollout.history import HistoryFold, RolloutLines
from app_server.rollout.history_index import MAX_SEARCHABLE_MESSAGE_CHARS
from app_server.rollout.lines import HistoryMode, StoredLine
from app_server.rollout.model_history import ModelHistory, collect_model_history
from app_server.store.compression_report import CompressionReport
from app_server.store.errors import (
    ForkReferenced,
    StoreUnavailable,
    ThreadAlreadyStored,
    ThreadLoadedElsewhere,
    ThreadNotStored,
    WriterBusy,
)
from app_server.store.interface import StoreWarning, ThreadHistory
from app_server.store.list_cursor import parse_cursor
from app_server.store.local.rollout_files import (
    ARCHIVED_SESSIONS_DIR,
    live_rollout_relative_path,
    unarchived_rollout_path,
)
from app_server.store.marks_delegate import ThreadMarksMixin
from app_server.store.postgres.connect import describe_target, open_pool
from app_server.store.postgres.lease import LEASE_SECONDS, ProcessLease, owner_is_dead
from app_server.store.postgres.list_sql import build_list_sql, like_pattern
from app_server.store.postgres.marks import PostgresThreadMarks
from app_server.store.postgres.migrations import migrate
from app_server.store.postgres.schema import SELECT_RECORD_COLUMNS, row_to_record
from app_server.store.postgres.writer import PostgresThreadWriter, WriterPosition
from app_server.store.records import ThreadRecord
from app_server.store.thread_query import (
    ThreadPage,
    ThreadQuery,
    ThreadSearchPage,
    normalize_limit,
    page_from_rows,
)
from app_server.store.turn_pages import TurnPageRequest, TurnsPage, page_for_request

_LEASE_FREE: Final = "(writer_owner IS NULL OR writer_expires_at < now())"
"""SQL: nobody holds the thread's lease (or it expired)."""
_TAKE_LEASE: Final = (
    "writer_owner = $2, writer_epoch = threads.writer_epoch + 1,"
    f" writer_expires_at = now() + make_interval(secs => {LEASE_SECONDS})"
)
BASE_LINES_WAIT_SECONDS: Final = 60.0
"""How long a fold in a worker thread waits for a fork base's lines from the database."""


def _local_datetime(unix_ms: int) -> datetime:
    """Codex names rollouts and date folders after the local wall-clock creation time."""
    return datetime.fromtimestamp(unix_ms / 1000)


class PostgresThreadStore(ThreadMarksMixin):
    """The ThreadStore over a PostgreSQL database (see the module docstring)."""

    def __init__(self, url: str, *, schema: str | None = None) -> None:
        """`schema`: keep the tables in this schema (created if needed) instead of the
        role's default (`public`); tests give each test its own."""
        self.url = url
        self.schema = schema
        self._pool_: asyncpg.Pool | None = None
        self._lease: ProcessLease | None = None
        self._writers: dict[str, PostgresThreadWriter] = {}
        self._pg_marks = PostgresThreadMarks(lambda: self._pool)

    @property
    def _marks(self) -> PostgresThreadMarks:
        return self._pg_marks

    @property
    def _pool(self) -> asyncpg.Pool:
        if self._pool_ is None:
            raise RuntimeError("the store is not started")
        return self._pool_

    @property
    def process_id(self) -> str:
        """This process's id in the database (the owner named by its writer leases)."""
        assert self._lease is not None
        return self._lease.process_id

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> list[StoreWarning]:
        """Connect, apply pending migrations, register this process. Raises `StoreUnavailable`."""
        pool = await open_pool(self.url, schema=self.schema)
        try:
            async with pool.acquire() as connection:
                await migrate(connection, self.schema)
            lease = ProcessLease(pool)
            await lease.start()
        except asyncpg.PostgresError as error:
            await pool.close()
            raise StoreUnavailable(describe_target(self.url), str(error)) from None
        except BaseException:
            await pool.close()
            raise
        self._pool_, self._lease = pool, lease
        return []

    async def close(self) -> None:
        if self._lease is not None:
            await self._lease.close()
            self._lease = None
        if self._pool_ is not None:
            await self._pool_.close()
            self._pool_ = None

    def rollout_path_for(self, thread_id: str, created_at_ms: int) -> str:
        return live_rollout_relative_path(thread_id, _local_datetime(created_at_ms)).as_posix()

    async def compress_cold_rollouts(self, *, force: bool = False) -> CompressionReport:
        """Cold history stays in the database uncompressed for now: an empty report."""
        return CompressionReport()

    # -- reading ---------------------------------------------------------------------------------
    async def get(self, thread_id: str) -> ThreadRecord | None:
        row = await self._pool.fetchrow(
            f"SELECT {SELECT_RECORD_COLUMNS} FROM threads AS t WHERE t.id = $1"
            " AND t.line_count > 0",
            thread_id,
        )
        return None if row is None else row_to_record(row)

    async def list_threads(self, query: ThreadQuery) -> ThreadPage:
        limit = normalize_limit(query.limit)
        sql, params = build_list_sql(query, limit + 1)
        rows = await self._pool.fetch(sql, *params)
        return page_from_rows(query, [row_to_record(row) for row in rows], limit)

    async def search_threads(self, query: ThreadQuery, term: str) -> ThreadSearchPage:
        limit = normalize_limit(query.limit)
        if len(term) > MAX_SEARCHABLE_MESSAGE_CHARS or "\x00" in term:
            if query.cursor is not None:
                parse_cursor(query.cursor)  # a malformed cursor is still refused
            return ThreadSearchPage(page_from_rows(query, [], limit), {})
        sql, params = build_list_sql(query, limit + 1, content_term=term)
        rows = await self._pool.fetch(sql, *params)
        page = page_from_rows(query, [row_to_record(row) for row in rows], limit)
        if not page.records:
            return ThreadSearchPage(page, {})
        found = await self._pool.fetch(
            "SELECT DISTINCT ON (thread_id) thread_id, text FROM thread_messages"
            " WHERE thread_id = ANY($1::text[]) AND text ILIKE $2 ORDER BY thread_id, seq",
            [record.id for record in page.records],
            like_pattern(term),
        )
        return ThreadSearchPage(page, {row["thread_id"]: row["text"] for row in found})

    async def _lines(self, thread_id: str, end_offset: int | None = None) -> list[tuple[int, str]]:
        """`(byte_offset, text)` of the thread's lines, in order (those ending by
        `end_offset`, when given: the prefix a paginated fork references)."""
        rows = await self._pool.fetch(
            "SELECT byte_offset, line FROM rollout_lines WHERE thread_id = $1"
            " AND ($2::bigint IS NULL OR byte_offset + octet_length(line) + 1 <= $2)"
            " ORDER BY seq",
            thread_id,
            end_offset,
        )
        return [(row["byte_offset"], row["line"]) for row in rows]

    def _base_loader(self, loop: asyncio.AbstractEventLoop) -> _BaseLoader:
        return _BaseLoader(self, loop)

    async def _folded(
        self, thread_id: str, *, keep_items: bool = True
    ) -> tuple[ThreadRecord, HistoryFold, int]:
        """The thread's record, its history folded (in a worker thread), and its byte size."""
        record = await self.get(thread_id)
        if record is None:
            raise ThreadNotStored(thread_id)
        lines = await self._lines(thread_id)
        loader = self._base_loader(asyncio.get_running_loop())

        def fold() -> HistoryFold:
            return HistoryFold(loader, keep_items=keep_items, collect_index=False).feed_lines(
                _parsed(lines)
            )

        folded = await asyncio.to_thread(fold)
        size = lines[-1][0] + len(lines[-1][1].encode()) + 1 if lines else 0
        return record, folded, size

    async def read_history(self, thread_id: str) -> ThreadHistory:
        record, fold, size = await self._folded(thread_id)
        turns = fold.turns()
        next_ordinal = None if fold.last_ordinal is None else fold.last_ordinal + 1
        return ThreadHistory(record, turns, next_ordinal, size)

    async def turn_page(self, thread_id: str, request: TurnPageRequest) -> TurnsPage:
        history = await self.read_history(thread_id)
        return page_for_request(
            thread_id, history.turns, history_mode=history.record.history_mode, request=request
        )

    async def model_history(self, thread_id: str) -> ModelHistory:
        if await self.get(thread_id) is None:
            raise ThreadNotStored(thread_id)
        lines = await self._lines(thread_id)
        loader = self._base_loader(asyncio.get_running_loop())
        return await asyncio.to_thread(lambda: collect_model_history(_parsed(lines), loader))

    async def copy_lines(self, thread_id: str) -> list[StoredLine]:
        if await self.get(thread_id) is None:
            raise ThreadNotStored(thread_id)
        return [
            StoredLine({k: v for k, v in line.items() if k != "ordinal"})
            for _, line in _parsed(await self._lines(thread_id))
        ]

    # -- writing ---------------------------------------------------------------------------------
    async def create_writer(
        self,
        thread_id: str,
        *,
        created_at_ms: int,
        history_mode: HistoryMode,
        start_ordinal: int = 0,
        name: str | None = None,
    ) -> PostgresThreadWriter:
        path = self.rollout_path_for(thread_id, created_at_ms)
        next_ordinal = start_ordinal if history_mode == "paginated" else None
        epoch = await self._pool.fetchval(
            "INSERT INTO threads (id, name, rollout_path, created_at_ms, history_mode, archived,"
            " next_ordinal, writer_owner, writer_epoch, writer_expires_at)"
            " VALUES ($1, $3, $4, $5, $6, false, $7, $2, 1,"
            f" now() + make_interval(secs => {LEASE_SECONDS}))"
            f" ON CONFLICT (id) DO UPDATE SET {_TAKE_LEASE},"
            " name = COALESCE(EXCLUDED.name, threads.name), rollout_path = EXCLUDED.rollout_path,"
            " created_at_ms = EXCLUDED.created_at_ms, history_mode = EXCLUDED.history_mode,"
            " archived = false, next_ordinal = EXCLUDED.next_ordinal"
            f" WHERE threads.line_count = 0 AND {_LEASE_FREE.replace('writer', 'threads.writer')}"
            " RETURNING writer_epoch",
            thread_id,
            self.process_id,
            name,
            path,
            created_at_ms,
            history_mode,
            next_ordinal,
        )
        if epoch is None:
            stored = await self._pool.fetchval(
                "SELECT line_count > 0 FROM threads WHERE id = $1", thread_id
            )
            if stored:
                raise ThreadAlreadyStored(thread_id)
            raise WriterBusy(f"thread {thread_id} already has an active writer")
        fold = HistoryFold(self._base_loader(asyncio.get_running_loop()), keep_items=False)
        position = WriterPosition(0, 0, next_ordinal, 0)
        return self._new_writer(thread_id, epoch, position, fold, created_at_ms, path)

    async def open_writer(self, thread_id: str) -> PostgresThreadWriter:
        epoch, created_at_ms, path = await self._take_lease(thread_id)
        try:
            lines = await self._lines(thread_id)
            messages = await self._pool.fetchval(
                "SELECT count(*) FROM thread_messages WHERE thread_id = $1", thread_id
            )
            loader = self._base_loader(asyncio.get_running_loop())

            def fold() -> HistoryFold:
                folded = HistoryFold(loader, keep_items=False).feed_lines(_parsed(lines))
                folded.index.drain()  # these messages are indexed already
                return folded

            folded = await asyncio.to_thread(fold)
        except BaseException:
            await self._release(thread_id, epoch)
            raise
        size = lines[-1][0] + len(lines[-1][1].encode()) + 1 if lines else 0
        next_ordinal = None if folded.last_ordinal is None else folded.last_ordinal + 1
        position = WriterPosition(len(lines), size, next_ordinal, int(messages))
        return self._new_writer(thread_id, epoch, position, folded, created_at_ms, path)

    async def _take_lease(self, thread_id: str) -> tuple[int, int, str]:
        """Take the lease of a stored live thread: `(epoch, created_at_ms, rollout_path)`.
        A lease of a dead process is taken at once. Raises `ThreadNotStored`, `WriterBusy`
        (a writer of this process), or `ThreadLoadedElsewhere`."""
        async with self._pool.acquire() as connection, connection.transaction():
            row = await connection.fetchrow(
                "SELECT writer_owner, writer_expires_at < now() AS expired FROM threads"
                " WHERE id = $1 AND line_count > 0 AND NOT archived FOR UPDATE",
                thread_id,
            )
            if row is None:
                raise ThreadNotStored(thread_id)
            owner = row["writer_owner"]
            free = owner is None or row["expired"]
            if not free and owner != self.process_id:
                free = await owner_is_dead(connection, owner)
            if not free:
                if owner == self.process_id:
                    raise WriterBusy(f"thread {thread_id} already has an active writer")
                raise ThreadLoadedElsewhere(thread_id)
            taken = await connection.fetchrow(
                f"UPDATE threads SET {_TAKE_LEASE} WHERE id = $1"
                " RETURNING writer_epoch, created_at_ms, rollout_path",
                thread_id,
                self.process_id,
            )
            assert taken is not None
            return taken["writer_epoch"], taken["created_at_ms"], taken["rollout_path"]

    def _new_writer(
        self,
        thread_id: str,
        epoch: int,
        position: WriterPosition,
        fold: HistoryFold,
        created_at_ms: int,
        path: str,
    ) -> PostgresThreadWriter:
        writer = PostgresThreadWriter(
            self._pool,
            thread_id,
            owner=self.process_id,
            epoch=epoch,
            position=position,
            fold=fold,
            created_at_ms=created_at_ms,
            rollout_path=path,
            on_close=self._forget_writer,
        )
        self._writers[thread_id] = writer
        return writer

    def _forget_writer(self, thread_id: str) -> None:
        self._writers.pop(thread_id, None)

    async def _release(self, thread_id: str, epoch: int) -> None:
        await self._pool.execute(
            "UPDATE threads SET writer_owner = NULL, writer_expires_at = NULL"
            " WHERE id = $1 AND writer_epoch = $2",
            thread_id,
            epoch,
        )

    # -- metadata operations ---------------------------------------------------------------------
    async def set_name(self, thread_id: str, name: str, *, unsaved: bool = False) -> None:
        """An `unsaved` thread gets a row without lines (not stored until its first flush)
        holding the name, which its `create_writer` keeps."""
        if unsaved:
            await self._pool.execute(
                "INSERT INTO threads (id, name) VALUES ($1, $2)"
                " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name",
                thread_id,
                name,
            )
            return
        updated = await self._pool.execute(
            "UPDATE threads SET name = $2 WHERE id = $1"
            " AND (line_count > 0 OR writer_owner IS NOT NULL)",
            thread_id,
            name,
        )
        if updated == "UPDATE 0":
            raise ThreadNotStored(thread_id)

    async def archive(self, thread_id: str) -> ThreadRecord:
        row = await self._pool.fetchrow(
            "UPDATE threads AS t SET archived = true, archived_at_ms = $2,"
            " rollout_path = $3 || '/' || regexp_replace(t.rollout_path, '^.*/', '')"
            f" WHERE t.id = $1 AND t.line_count > 0 AND NOT t.archived AND {_LEASE_FREE}"
            f" RETURNING {SELECT_RECORD_COLUMNS}",
            thread_id,
            now_ms(),
            ARCHIVED_SESSIONS_DIR,
        )
        if row is None:
            await self._raise_if_loaded_elsewhere(thread_id)
            raise ThreadNotStored(thread_id)
        return row_to_record(row)

    async def _raise_if_loaded_elsewhere(self, thread_id: str) -> None:
        """Raise `ThreadLoadedElsewhere` when another live process holds the thread's lease."""
        owner = await self._pool.fetchval(
            f"SELECT writer_owner FROM threads WHERE id = $1 AND NOT {_LEASE_FREE}"
            " AND line_count > 0 AND NOT archived",
            thread_id,
        )
        if owner is not None and owner != self.process_id:
            raise ThreadLoadedElsewhere(thread_id)

    async def unarchive(self, thread_id: str) -> ThreadRecord:
        record = await self.get(thread_id)
        if record is None or not record.archived:
            raise ThreadNotStored(thread_id)
        name = PurePosixPath(record.rollout_path).name
        restored = unarchived_rollout_path(Path(), name)
        path = (
            restored.as_posix()
            if restored is not None
            else self.rollout_path_for(thread_id, record.created_at_ms)
        )
        row = await self._pool.fetchrow(
            "UPDATE threads AS t SET archived = false, archived_at_ms = NULL, rollout_path = $2"
            f" WHERE t.id = $1 AND t.archived RETURNING {SELECT_RECORD_COLUMNS}",
            thread_id,
            path,
        )
        if row is None:
            raise ThreadNotStored(thread_id)
        return row_to_record(row)

    async def delete_tree(self, thread_id: str) -> list[str]:
        async with self._pool.acquire() as connection, connection.transaction():
            rows = await connection.fetch(
                "WITH RECURSIVE tree(id, parent) AS ("
                " SELECT id, NULL::text FROM threads WHERE id = $1 AND line_count > 0"
                " UNION SELECT c.id, c.parent_thread_id FROM threads AS c JOIN tree AS d"
                " ON c.parent_thread_id = d.id WHERE c.line_count > 0)"
                " SELECT id, parent FROM tree",
                thread_id,
            )
            if not rows:
                raise ThreadNotStored(thread_id)
            doomed = _deepest_first(thread_id, [(r["id"], r["parent"]) for r in rows])
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
                f" AND NOT {_LEASE_FREE} ORDER BY id LIMIT 1",
                doomed,
            )
            if busy is not None:
                if busy["writer_owner"] != self.process_id:
                    raise ThreadLoadedElsewhere(busy["id"])
                raise WriterBusy(f"thread {busy['id']} already has an active writer")
            for table in ("rollout_lines", "thread_messages", "read_receipts", "goals"):
                await connection.execute(
                    f"DELETE FROM {table} WHERE thread_id = ANY($1::text[])", doomed
                )
            await connection.execute("DELETE FROM threads WHERE id = ANY($1::text[])", doomed)
        return doomed


class _BaseLoader:
    """The fold's `BaseLoader` for a fold running in a worker thread: fetches a fork base's
    lines on the event loop and waits for them (a fold never runs on the loop itself)."""

    def __init__(self, store: PostgresThreadStore, loop: asyncio.AbstractEventLoop) -> None:
        self._store = store
        self._loop = loop

    def __call__(self, thread_id: str, end_offset: int | None) -> RolloutLines | None:
        async def load() -> list[tuple[int, str]] | None:
            if (
                await self._store._pool.fetchval(
                    "SELECT 1 FROM threads WHERE id = $1 AND line_count > 0", thread_id
                )
                is None
            ):
                return None
            return await self._store._lines(thread_id, end_offset)

        future = asyncio.run_coroutine_threadsafe(load(), self._loop)
        lines = future.result(BASE_LINES_WAIT_SECONDS)
        return None if lines is None else _parsed(lines)


def _parsed(lines: Sequence[tuple[int, str]]) -> list[tuple[int, StoredLine]]:
    """Stored line texts as `(byte_offset, record)`."""
    return [(offset, StoredLine(orjson.loads(text))) for offset, text in lines]


def _deepest_first(root: str, edges: Sequence[tuple[str, str | None]]) -> list[str]:
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
