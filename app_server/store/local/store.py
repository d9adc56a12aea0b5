"""`LocalThreadStore`: Codex's rollout files in the data dir, indexed by our own SQLite file.

Keeps the contract of `app_server.store.interface` with the on-disk format of codex 0.169
(STORAGE.md), so both programs can share one data dir: rollouts are the source of truth, written
only through a writer holding codex's per-thread writer lock; `state_app_server_2.sqlite` is a
cache that `start()` recovers (a damaged file is quarantined and rebuilt) and reconciles with the
files in the background. Blocking file work runs in worker threads.

Archive, unarchive and names are crash-atomic: the file change (a rename; a line appended to
`session_index.jsonl` and fsynced) is the commit point, the row follows it, and whatever a kill
leaves between the two is settled from the files by the next start's scan before any listing
(`backfill`). Inside the process, two locks keep every writer of a name or of a location from
writing back what it read before a concurrent change: `_names` (a rename's append and row
update; a delete's rewrite of `session_index.jsonl`; the scan's name sync; a read repair's first
row) and `_locations` (a move and its row update; every repair of a row whose file moved; the
scan's row updates). When both are needed, `_names` is taken first.

This class answers the store's contract and names threads; it finds rollouts and repairs rows
through `thread_locator`, runs the scans and makes requests wait for them through
`scan_scheduler`, hands located rollouts to `history_reads`, opens writers through
`thread_writers`, and moves or removes files through `thread_moves`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from msgspec.structs import replace

from app_server.rollout.lines import HistoryMode, StoredLine
from app_server.rollout.model_history import ModelHistory
from app_server.store.compression_report import CompressionReport
from app_server.store.interface import StoreWarning, ThreadHistory, ThreadNotStored
from app_server.store.local.backfill import MetadataLocks
from app_server.store.local.clean_runs import (
    RunGuard,
    begin_run,
    end_run,
    new_run_key,
)
from app_server.store.local.compression_scheduler import CompressionScheduler
from app_server.store.local.compression_worker import CompressionSettings
from app_server.store.local.db_recovery import rebuilt_database_warning
from app_server.store.local.history_queries import HistoryQueries
from app_server.store.local.history_reads import HistoryReader
from app_server.store.local.index_db import ThreadIndex
from app_server.store.local.indexed_writer import IndexedThreadWriter
from app_server.store.local.rollout_files import RolloutFile, live_rollout_relative_path
from app_server.store.local.scan_scheduler import ScanScheduler
from app_server.store.local.session_index import append_thread_name
from app_server.store.local.thread_locator import ThreadLocator
from app_server.store.local.thread_marks_db import IndexThreadMarks
from app_server.store.local.thread_moves import ThreadMoves
from app_server.store.local.thread_writers import ThreadWriters
from app_server.store.local.writer_gate import WriterGate
from app_server.store.marks_delegate import ThreadMarksMixin
from app_server.store.records import ThreadRecord
from app_server.store.thread_query import ThreadPage, ThreadQuery, ThreadSearchPage
from app_server.store.turn_pages import TurnPageRequest, TurnsPage

T = TypeVar("T")


def _local_datetime(unix_ms: int) -> datetime:
    """Codex names rollouts and date folders after the local wall-clock creation time."""
    return datetime.fromtimestamp(unix_ms / 1000)


class LocalThreadStore(ThreadMarksMixin):
    """The ThreadStore over a data dir (see the module docstring)."""

    def __init__(self, data_dir: Path, *, compression: CompressionSettings | None = None) -> None:
        """`compression`: cold-rollout compression (a background run at `start`); off unless
        given, so tools and tests that open a store never rewrite files behind its back."""
        self.data_dir = data_dir
        self._index: ThreadIndex | None = None
        self._writers: set[str] = set()
        """The ids of the threads being written (`ThreadWriters`)."""
        self._locks = MetadataLocks(names=asyncio.Lock(), locations=asyncio.Lock())
        self._run_key = new_run_key()
        self._guard = RunGuard()
        self._gate = WriterGate(self._writers)
        index = lambda: self.index  # noqa: E731  (read when used: the index opens at `start`)
        self._scans = ScanScheduler(
            data_dir, lambda: self._index, self._writers, self._locks, self._run_key
        )
        self._locator = ThreadLocator(data_dir, index, self._locks, self._writers)
        self._reads = HistoryReader(
            data_dir, index, self._writers.__contains__, self._locator.reindex
        )
        self._thread_writers = ThreadWriters(
            data_dir, index, self._gate, self._writers, self._locator.locate
        )
        self._moves = ThreadMoves(
            data_dir, index, self._gate, self._locks, self._writers, self._locator.locate, self.get
        )
        self._compression = CompressionScheduler(
            data_dir,
            compression or CompressionSettings(enabled=False),
            self._gate,
            lambda: self.index,
        )
        self._index_marks = IndexThreadMarks(lambda: self.index)

    @property
    def _marks(self) -> IndexThreadMarks:
        return self._index_marks

    @property
    def index(self) -> ThreadIndex:
        if self._index is None:
            raise RuntimeError("the store is not started")
        return self._index

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> list[StoreWarning]:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._index = await ThreadIndex.open(self.data_dir)
        clean_start = await begin_run(self._index, self._run_key)
        await self._scans.start(self._index, clean_start=clean_start)
        self._compression.start(after=self._scans.task)
        if self._index.recovery is None:
            return []
        text = rebuilt_database_warning([self._index.recovery])
        return [StoreWarning(text.summary, text.details)]

    async def close(self) -> None:
        await self._compression.close()
        await self._scans.close()
        if self._index is not None:
            if self._guard.clean:
                with contextlib.suppress(Exception):  # then the next start settles first
                    await end_run(self._index, self._run_key)
            await self._index.close()
            self._index = None

    async def compress_cold_rollouts(self, *, force: bool = False) -> CompressionReport:
        return await self._compression.run(force=force)

    async def wait_until_scanned(self) -> None:
        """Wait for the first reconciliation scan (listings are complete after it)."""
        await self._scans.wait_until_scanned()

    # -- locating files --------------------------------------------------------------------------
    def rollout_path_for(self, thread_id: str, created_at_ms: int) -> str:
        return live_rollout_relative_path(thread_id, _local_datetime(created_at_ms)).as_posix()

    # -- reading ---------------------------------------------------------------------------------
    async def get(self, thread_id: str) -> ThreadRecord | None:
        self._scans.touch()
        return await self._locator.get(thread_id)

    async def list_threads(self, query: ThreadQuery) -> ThreadPage:
        """A page of the index; unless `state_db_only`, each row's file is checked to be where
        the row says (repaired, and the page queried again, when it is not). An index-only
        listing answers the index as it is, without touching the files (STORAGE.md, listing)."""
        await self._scans.wait_for_initial_scan(state_db_only=query.state_db_only)
        while True:
            page = await self.index.list_threads(query)
            if query.state_db_only or await self._locator.rows_in_place(page.records):
                return page

    async def read_history(self, thread_id: str) -> ThreadHistory:
        self._scans.touch()
        reopened = self._thread_writers.take_reopened_history(thread_id)
        if reopened is not None:
            return reopened
        return await self._locator.located(thread_id, self._reads.history)

    async def model_history(self, thread_id: str) -> ModelHistory:
        reopened = self._thread_writers.take_reopened_model(thread_id)
        if reopened is not None and reopened.items_from is not None:
            items = await self._reads.model_items(
                reopened.path, reopened.items_from, reopened.byte_size
            )
            return replace(reopened.summary, items=items)

        async def read(_: ThreadRecord | None, rollout: RolloutFile) -> ModelHistory:
            return await self._reads.model_history(rollout)

        return await self._locator.located(thread_id, read)

    async def copy_lines(self, thread_id: str) -> list[StoredLine]:
        async def read(_: ThreadRecord | None, rollout: RolloutFile) -> list[StoredLine]:
            return await self._reads.copy_lines(rollout)

        return await self._locator.located(thread_id, read)

    async def search_threads(self, query: ThreadQuery, term: str) -> ThreadSearchPage:
        await self._scans.wait_for_initial_scan()
        while True:
            found = await HistoryQueries(self.index).search(query, term)
            if await self._locator.rows_in_place(found.page.records):
                return found

    async def turn_page(self, thread_id: str, request: TurnPageRequest) -> TurnsPage:
        self._scans.touch()

        async def read(record: ThreadRecord | None, rollout: RolloutFile) -> TurnsPage:
            return await self._reads.turn_page(thread_id, record, rollout, request)

        return await self._locator.located(thread_id, read)

    # -- writing ---------------------------------------------------------------------------------
    async def create_writer(
        self,
        thread_id: str,
        *,
        created_at_ms: int,
        history_mode: HistoryMode,
        start_ordinal: int = 0,
        name: str | None = None,
    ) -> IndexedThreadWriter:
        self._scans.touch()
        return await self._thread_writers.create(
            thread_id,
            created_at=_local_datetime(created_at_ms),
            created_at_ms=created_at_ms,
            history_mode=history_mode,
            start_ordinal=start_ordinal,
            name=name,
        )

    async def open_writer(self, thread_id: str) -> IndexedThreadWriter:
        self._scans.touch()
        return await self._thread_writers.reopen(thread_id)

    # -- metadata operations ---------------------------------------------------------------------
    async def set_name(self, thread_id: str, name: str, *, unsaved: bool = False) -> None:
        """The name line is appended and fsynced first (the commit point), the row follows;
        a writer that has not created the row yet gets the name for it."""
        writers = self._thread_writers.open
        if not unsaved and thread_id not in writers and await self.get(thread_id) is None:
            raise ThreadNotStored(thread_id)
        await self._guarded(self._append_name(thread_id, name))

    async def _append_name(self, thread_id: str, name: str) -> None:
        async with self._locks.names:
            await asyncio.to_thread(append_thread_name, self.data_dir, thread_id, name)
            writer = self._thread_writers.open.get(thread_id)
            if writer is not None:
                writer.name = name
            await self.index.set_name(thread_id, name)

    async def archive(self, thread_id: str) -> ThreadRecord:
        return await self._guarded(self._moves.archive(thread_id))

    async def unarchive(self, thread_id: str) -> ThreadRecord:
        return await self._guarded(self._moves.unarchive(thread_id))

    async def delete_tree(self, thread_id: str) -> list[str]:
        await self._scans.wait_for_complete_index()
        return await self._guarded(self._moves.delete_tree(thread_id))

    async def _guarded(self, operation: Awaitable[T]) -> T:
        """Run a file-then-row operation; one that does not finish makes this run unclean
        (`clean_runs`), so the next start settles before listing."""
        self._guard.enter()
        finished = False
        try:
            result = await operation
            finished = True
            return result
        finally:
            self._guard.leave(finished=finished)
