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
from datetime import datetime
from typing import Final

import asyncpg

from app_server.rollout.history import HistoryFold
from app_server.rollout.history_index import MAX_SEARCHABLE_MESSAGE_CHARS
from app_server.rollout.lines import HistoryMode, StoredLine
from app_server.rollout.model_history import ModelHistory, collect_model_history
from app_server.store.compression_report import CompressionReport
from app_server.store.errors import (
    StoreUnavailable,
    ThreadAlreadyStored,
    ThreadLoadedElsewhere,
    ThreadNotStored,
    WriterBusy,
)
from app_server.store.interface import ProcessMessage, StoreWarning, ThreadHistory
from app_server.store.list_cursor import parse_cursor
from app_server.store.local.rollout_files import (
    live_rollout_relative_path,
)
from app_server.store.marks_delegate import ThreadMarksMixin
from app_server.store.postgres import thread_ops
from app_server.store.postgres.connect import (
    describe_target,
    open_pool,
    unavailable_on_connection_loss,
)
from app_server.store.postgres.handover import HANDOVER_WAIT_SECONDS, Handover, ReleaseHandler
from app_server.store.postgres.lease import LEASE_SECONDS, ProcessLease, owner_is_dead
from app_server.store.postgres.lines import PoolBaseLoader, fetch_lines, parse_lines, rollout_size
from app_server.store.postgres.list_sql import build_list_sql, like_pattern
from app_server.store.postgres.marks import PostgresThreadMarks
from app_server.store.postgres.messages import MessageHandler, PostgresMessages
from app_server.store.postgres.migrations import migrate
from app_server.store.postgres.schema import SELECT_RECORD_COLUMNS, row_to_record
from app_server.store.postgres.thread_ops import LEASE_FREE
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

_TAKE_LEASE: Final = (
    "writer_owner = $2, writer_epoch = threads.writer_epoch + 1,"
    f" writer_expires_at = now() + make_interval(secs => {LEASE_SECONDS})"
)


def _local_datetime(unix_ms: int) -> datetime:
    """Codex names rollouts and date folders after the local wall-clock creation time."""
    return datetime.fromtimestamp(unix_ms / 1000)


class PostgresThreadStore(ThreadMarksMixin):
    """The ThreadStore over a PostgreSQL database (see the module docstring)."""

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        handover_wait_seconds: float = HANDOVER_WAIT_SECONDS,
    ) -> None:
        """`schema`: keep the tables in this schema (created if needed) instead of the
        role's default (`public`); tests give each test its own. `handover_wait_seconds`: how
        long to wait for another process to hand a thread over (`handover.py`)."""
        self._handover_wait_seconds = handover_wait_seconds
        self.url = url
        self.schema = schema
        self._pool_: asyncpg.Pool | None = None
        self._lease: ProcessLease | None = None
        self._handover_: Handover | None = None
        self._release_handler: ReleaseHandler | None = None
        self._messages: PostgresMessages | None = None
        self._message_handler: MessageHandler | None = None
        self._writers: dict[str, PostgresThreadWriter] = {}
        self._pg_marks = PostgresThreadMarks(lambda: self._pool, url)

    @property
    def _marks(self) -> PostgresThreadMarks:
        return self._pg_marks

    @property
    def _pool(self) -> asyncpg.Pool:
        if self._pool_ is None:
            raise RuntimeError("the store is not started")
        return self._pool_

    @property
    def pool(self) -> asyncpg.Pool:
        """The connection pool (for the store's own tools: export, import)."""
        return self._pool

    @property
    def process_id(self) -> str:
        """This process's id in the database (the owner named by its writer leases); empty
        before `start`."""
        return self._lease.process_id if self._lease is not None else ""

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> list[StoreWarning]:
        """Connect, apply pending migrations, register this process. Raises `StoreUnavailable`."""
        pool = await open_pool(self.url, schema=self.schema)
        try:
            async with pool.acquire() as connection:
                await migrate(connection, self.schema)
            lease = ProcessLease(pool)
            await lease.start()
            handover = Handover(pool, lease.process_id, wait_seconds=self._handover_wait_seconds)
            if self._release_handler is not None:
                handover.set_handler(self._release_handler)
            await handover.start()
            messages = PostgresMessages(pool, lease.process_id)
            if self._message_handler is not None:
                messages.set_handler(self._message_handler)
            await messages.start()
        except asyncpg.PostgresError as error:
            await pool.close()
            raise StoreUnavailable(describe_target(self.url), str(error)) from None
        except BaseException:
            await pool.close()
            raise
        self._pool_, self._lease, self._handover_ = pool, lease, handover
        self._messages = messages
        return []

    # -- the command channel (`messages.py`, the `ProcessMessaging` capability) ----------------
    async def live_owner(self, thread_id: str) -> str | None:
        """The other live process holding the thread's writer lease, or None."""
        if self._messages is None:
            return None
        return await self._messages.live_owner(thread_id)

    @property
    def channel_listening(self) -> bool:
        """Whether messages to this process are heard now (`messages.py`)."""
        return self._messages is not None and self._messages.listening

    def send_message(self, message: ProcessMessage) -> None:
        """Queue a message for another process (in order, never blocking)."""
        if self._messages is not None:
            self._messages.send(message)

    async def process_alive(self, process_id: str) -> bool:
        """Whether that process still runs (`messages.py`)."""
        if self._messages is None:
            return False
        return await self._messages.process_alive(process_id)

    def on_messages(self, handler: MessageHandler) -> None:
        """`handler` receives the messages addressed to this process, in order."""
        self._message_handler = handler
        if self._messages is not None:
            self._messages.set_handler(handler)

    def on_handover_request(self, handler: ReleaseHandler) -> None:
        """`handler(thread_id)` is called when another process asks for a thread this one has
        loaded; it unloads the thread if it is idle (see `handover.py`)."""
        self._release_handler = handler
        if self._handover_ is not None:
            self._handover_.set_handler(handler)

    @property
    def _handover(self) -> Handover:
        if self._handover_ is None:
            raise RuntimeError("the store is not started")
        return self._handover_

    async def close(self) -> None:
        if self._messages is not None:
            await self._messages.close()
            self._messages = None
        if self._handover_ is not None:
            await self._handover_.close()
            self._handover_ = None
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
    @unavailable_on_connection_loss
    async def get(self, thread_id: str) -> ThreadRecord | None:
        row = await self._pool.fetchrow(
            f"SELECT {SELECT_RECORD_COLUMNS} FROM threads AS t WHERE t.id = $1"
            " AND t.line_count > 0",
            thread_id,
        )
        return None if row is None else row_to_record(row)

    @unavailable_on_connection_loss
    async def list_threads(self, query: ThreadQuery) -> ThreadPage:
        limit = normalize_limit(query.limit)
        sql, params = build_list_sql(query, limit + 1)
        rows = await self._pool.fetch(sql, *params)
        return page_from_rows(query, [row_to_record(row) for row in rows], limit)

    @unavailable_on_connection_loss
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

    def _base_loader(self, loop: asyncio.AbstractEventLoop) -> PoolBaseLoader:
        return PoolBaseLoader(self._pool, loop)

    async def _folded(
        self, thread_id: str, *, keep_items: bool = True
    ) -> tuple[ThreadRecord, HistoryFold, int]:
        """The thread's record, its history folded (in a worker thread), and its byte size."""
        record = await self.get(thread_id)
        if record is None:
            raise ThreadNotStored(thread_id)
        lines = await fetch_lines(self._pool, thread_id)
        loader = self._base_loader(asyncio.get_running_loop())

        def fold() -> HistoryFold:
            return HistoryFold(loader, keep_items=keep_items, collect_index=False).feed_lines(
                parse_lines(lines)
            )

        folded = await asyncio.to_thread(fold)
        size = rollout_size(lines)
        return record, folded, size

    @unavailable_on_connection_loss
    async def read_history(self, thread_id: str) -> ThreadHistory:
        record, fold, size = await self._folded(thread_id)
        turns = fold.turns()
        next_ordinal = None if fold.last_ordinal is None else fold.last_ordinal + 1
        saved = fold.metadata().saved_settings
        return ThreadHistory(record, turns, next_ordinal, size, saved_settings=saved)

    @unavailable_on_connection_loss
    async def turn_page(self, thread_id: str, request: TurnPageRequest) -> TurnsPage:
        history = await self.read_history(thread_id)
        return page_for_request(
            thread_id, history.turns, history_mode=history.record.history_mode, request=request
        )

    @unavailable_on_connection_loss
    async def model_history(self, thread_id: str) -> ModelHistory:
        if await self.get(thread_id) is None:
            raise ThreadNotStored(thread_id)
        lines = await fetch_lines(self._pool, thread_id)
        loader = self._base_loader(asyncio.get_running_loop())
        return await asyncio.to_thread(lambda: collect_model_history(parse_lines(lines), loader))

    @unavailable_on_connection_loss
    async def copy_lines(self, thread_id: str) -> list[StoredLine]:
        if await self.get(thread_id) is None:
            raise ThreadNotStored(thread_id)
        return [
            StoredLine({k: v for k, v in line.items() if k != "ordinal"})
            for _, line in parse_lines(await fetch_lines(self._pool, thread_id))
        ]

    # -- writing ---------------------------------------------------------------------------------
    @unavailable_on_connection_loss
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
            f" WHERE threads.line_count = 0 AND {LEASE_FREE.replace('writer', 'threads.writer')}"
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

    @unavailable_on_connection_loss
    async def open_writer(self, thread_id: str) -> PostgresThreadWriter:
        """Take the thread's lease (asking a process that has it loaded, idle, to hand it
        over) and fold its history for the writer's index upkeep."""
        epoch, created_at_ms, path = await self._handover.attempt(
            thread_id, lambda: self._take_lease(thread_id)
        )
        try:
            lines = await fetch_lines(self._pool, thread_id)
            messages = await self._pool.fetchval(
                "SELECT count(*) FROM thread_messages WHERE thread_id = $1", thread_id
            )
            loader = self._base_loader(asyncio.get_running_loop())

            def fold() -> HistoryFold:
                folded = HistoryFold(loader, keep_items=False).feed_lines(parse_lines(lines))
                folded.index.drain()  # these messages are indexed already
                return folded

            folded = await asyncio.to_thread(fold)
        except BaseException:
            await self._release(thread_id, epoch)
            raise
        size = rollout_size(lines)
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
                raise ThreadLoadedElsewhere(thread_id, owner)
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

    # -- metadata operations (`thread_ops`) -------------------------------------------------------
    @unavailable_on_connection_loss
    async def set_name(self, thread_id: str, name: str, *, unsaved: bool = False) -> None:
        """An `unsaved` thread gets a row without lines (not stored until its first flush)
        holding the name, which its `create_writer` keeps."""
        await thread_ops.set_name(self._pool, thread_id, name, unsaved=unsaved)

    @unavailable_on_connection_loss
    async def archive(self, thread_id: str) -> ThreadRecord:
        return await self._handover.attempt(
            thread_id, lambda: thread_ops.archive(self._pool, thread_id, self.process_id)
        )

    @unavailable_on_connection_loss
    async def unarchive(self, thread_id: str) -> ThreadRecord:
        record = await self.get(thread_id)
        if record is None or not record.archived:
            raise ThreadNotStored(thread_id)
        return await thread_ops.unarchive(self._pool, record)

    @unavailable_on_connection_loss
    async def delete_tree(self, thread_id: str) -> list[str]:
        return await self._handover.attempt(
            thread_id, lambda: thread_ops.delete_tree(self._pool, thread_id, self.process_id)
        )
