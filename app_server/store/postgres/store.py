"""`PostgresThreadStore`: the ThreadStore contract on PostgreSQL, shared by several processes.

Every process serving one database sees the same threads: rows, lines and marks live only in
the database, so a write is visible everywhere once its transaction commits (read-your-writes
across processes). Lines are kept as the exact text the local writer would write
(`writer.py`), so history reads fold them with the same `HistoryFold` as the local store, and an
export writes byte-identical rollouts. The thread row is maintained by the writer at each flush
(the SQLite index's columns and partial indexes), which serves `thread/list` with one keyset
statement (`list_sql.py`) and `thread/search` from `thread_messages` with a trigram index.

One writer per thread across processes: see `lease.py`. `turn_page` reads only the page's lines
through the turn-start index (`turn_index.py`), folding the whole history only for threads it
cannot serve. Lines of threads quiet for `min_age_days` are compressed in the background
(`cold_history.py`), invisibly to every read.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import asyncpg

from app_server.rollout.history import HistoryFold
from app_server.rollout.lines import HistoryMode, StoredLine
from app_server.rollout.model_history import ModelHistory
from app_server.store.compression_report import CompressionReport
from app_server.store.errors import StoreUnavailable, ThreadNotStored
from app_server.store.interface import ProcessMessage, StoreWarning, ThreadHistory
from app_server.store.local.compression_worker import CompressionSettings
from app_server.store.local.rollout_files import live_rollout_relative_path
from app_server.store.marks_delegate import ThreadMarksMixin
from app_server.store.postgres import history_reads, thread_ops, turn_index, writer_open
from app_server.store.postgres.cold_history import ColdHistory
from app_server.store.postgres.connect import (
    describe_target,
    open_pool,
    unavailable_on_connection_loss,
)
from app_server.store.postgres.handover import HANDOVER_WAIT_SECONDS, Handover, ReleaseHandler
from app_server.store.postgres.lease import ProcessLease
from app_server.store.postgres.lines import PoolBaseLoader
from app_server.store.postgres.marks import PostgresThreadMarks
from app_server.store.postgres.messages import MessageHandler, PostgresMessages
from app_server.store.postgres.migrations import migrate
from app_server.store.postgres.writer import PostgresThreadWriter, WriterPosition
from app_server.store.records import ThreadRecord
from app_server.store.thread_query import ThreadPage, ThreadQuery, ThreadSearchPage
from app_server.store.turn_pages import TurnPageRequest, TurnsPage, page_for_request


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
        compression: CompressionSettings | None = None,
    ) -> None:
        """`schema`: keep the tables in this schema (created if needed) instead of the
        role's default (`public`); tests give each test its own. `handover_wait_seconds`: how
        long to wait for another process to hand a thread over (`handover.py`).
        `compression`: when cold history is compressed (`cold_history.py`; default: the
        config's defaults)."""
        self._compression = compression or CompressionSettings()
        self._cold: ColdHistory | None = None
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
        self._cold = ColdHistory(pool, self._compression)
        self._cold.start()
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
        if self._cold is not None:
            await self._cold.close()
            self._cold = None
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

    @unavailable_on_connection_loss
    async def compress_cold_rollouts(self, *, force: bool = False) -> CompressionReport:
        """A pass of `cold_history` now (there is no run marker to ignore: `force` changes
        nothing; a pass of another process still makes this one `maintenance_busy`)."""
        if self._cold is None:
            raise RuntimeError("the store is not started")
        return await self._cold.run()

    # -- reading (`history_reads`) ---------------------------------------------------------------
    @unavailable_on_connection_loss
    async def get(self, thread_id: str) -> ThreadRecord | None:
        return await history_reads.get_record(self._pool, thread_id)

    @unavailable_on_connection_loss
    async def list_threads(self, query: ThreadQuery) -> ThreadPage:
        return await history_reads.list_threads(self._pool, query)

    @unavailable_on_connection_loss
    async def search_threads(self, query: ThreadQuery, term: str) -> ThreadSearchPage:
        return await history_reads.search_threads(self._pool, query, term)

    @unavailable_on_connection_loss
    async def read_history(self, thread_id: str) -> ThreadHistory:
        return await history_reads.read_history(self._pool, thread_id)

    @unavailable_on_connection_loss
    async def turn_page(self, thread_id: str, request: TurnPageRequest) -> TurnsPage:
        """Read from the turn-start index (only the page's lines); the whole history folded
        when the index cannot serve the thread (`turn_index.py`)."""
        page = await turn_index.read_turn_page(self._pool, thread_id, request)
        if page is not None:
            return page
        history = await history_reads.read_history(self._pool, thread_id)
        return page_for_request(
            thread_id, history.turns, history_mode=history.record.history_mode, request=request
        )

    @unavailable_on_connection_loss
    async def model_history(self, thread_id: str) -> ModelHistory:
        return await history_reads.model_history(self._pool, thread_id)

    @unavailable_on_connection_loss
    async def copy_lines(self, thread_id: str) -> list[StoredLine]:
        return await history_reads.copy_lines(self._pool, thread_id)

    # -- writing (`writer_open`) -----------------------------------------------------------------
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
        epoch = await writer_open.create_lease(
            self._pool,
            self.process_id,
            thread_id,
            name=name,
            path=path,
            created_at_ms=created_at_ms,
            history_mode=history_mode,
            next_ordinal=next_ordinal,
        )
        loader = PoolBaseLoader(self._pool, asyncio.get_running_loop())
        fold = HistoryFold(loader, keep_items=False)
        position = WriterPosition(0, 0, next_ordinal, 0, 0)
        return self._new_writer(thread_id, epoch, position, fold, created_at_ms, path)

    @unavailable_on_connection_loss
    async def open_writer(self, thread_id: str) -> PostgresThreadWriter:
        """Take the thread's lease (asking a process that has it loaded, idle, to hand it
        over) and fold its history for the writer's index upkeep."""
        epoch, created_at_ms, path = await self._handover.attempt(
            thread_id, lambda: writer_open.take_lease(self._pool, self.process_id, thread_id)
        )
        try:
            position, folded = await writer_open.resume_position(self._pool, thread_id, epoch)
        except BaseException:
            await writer_open.release_lease(self._pool, thread_id, epoch)
            raise
        return self._new_writer(thread_id, epoch, position, folded, created_at_ms, path)

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
