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

This class locates files, repairs rows and lists; it hands located rollouts to `history_reads`,
opens writers through `thread_writers`, and moves or removes files through `thread_moves`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from msgspec.structs import replace

from app_server.notification import now_ms
from app_server.rollout.history import HistoryFold
from app_server.rollout.lines import HistoryMode, StoredLine
from app_server.rollout.model_history import ModelHistory
from app_server.store.compression_report import CompressionReport
from app_server.store.interface import (
    StoreWarning,
    ThreadHistory,
    ThreadNotStored,
)
from app_server.store.local.backfill import (
    MetadataLocks,
    Reconciler,
    fold_for_index,
    path_loader,
    stamp_of,
)
from app_server.store.local.clean_runs import (
    RunGuard,
    begin_run,
    end_run,
    forget_dead_runs,
    new_run_key,
)
from app_server.store.local.compression_scheduler import CompressionScheduler
from app_server.store.local.compression_worker import CompressionSettings
from app_server.store.local.db_recovery import rebuilt_database_warning
from app_server.store.local.history_index_db import IndexedHistory
from app_server.store.local.history_queries import HistoryQueries
from app_server.store.local.history_reads import HistoryReader
from app_server.store.local.index_db import RolloutStamp, ThreadIndex
from app_server.store.local.indexed_writer import IndexedThreadWriter
from app_server.store.local.rollout_files import (
    RolloutFile,
    find_rollout_file,
    live_rollout_relative_path,
    relative_rollout_path,
    rollout_exists,
    zst_rollout_path,
)
from app_server.store.local.session_index import (
    append_thread_name,
    thread_name,
)
from app_server.store.local.thread_loader import record_for_rollout
from app_server.store.local.thread_marks_db import IndexThreadMarks
from app_server.store.local.thread_moves import ThreadMoves
from app_server.store.local.thread_writers import ThreadWriters
from app_server.store.local.writer_gate import WriterGate
from app_server.store.marks_delegate import ThreadMarksMixin
from app_server.store.records import ThreadRecord
from app_server.store.thread_query import ThreadPage, ThreadQuery, ThreadSearchPage
from app_server.store.turn_pages import TurnPageRequest, TurnsPage

log = logging.getLogger(__name__)

MOVED_WHILE_READING_RETRIES = 3
"""How often a read locates a rollout again after it moved while being opened (each attempt
costs one lookup; a thread moved more often than this during one read is answered as gone)."""

T = TypeVar("T")

INITIAL_SCAN_WAIT_SECONDS = 2.0
"""How long a listing waits for the startup scan before answering from what is indexed so far:
small homes get complete answers from the first request, huge ones a fast partial page."""

RESCAN_INTERVAL_SECONDS = 5.0
"""A listing triggers a background rescan (for rollouts other programs wrote) at most this
often; each rescan costs one `stat` per rollout."""

STARTUP_RESCAN_QUIET_SECONDS = 0.3
"""The startup rescan of a complete index that every earlier process closed cleanly (nothing
to settle before listing) waits until no request has read the store for this long. Over
10,000 threads that rescan is ~0.5 s of walking and `stat`s in a worker thread, competing for
the GIL with the loop: the first requests of a session (a CLI lists right after spawning it)
took 10-40 ms instead of 1-2 ms while it ran. The cost: rollouts another program wrote while no
server ran show up this much later (a listing that is not index-only still waits for the
settling, and starts the rescan at once)."""

STARTUP_RESCAN_MAX_DELAY_SECONDS = 5.0
"""The deferred startup rescan (`STARTUP_RESCAN_QUIET_SECONDS`) starts at the latest this long
after the store did, even while requests keep coming."""

SCAN_SLICE_QUIET_SECONDS = 0.05
"""A rescan of a complete index that no request waits for pauses between its slices
(`backfill.SCAN_SLICE_FILES` files) until no request has read the store for this long: a slice
competes for the GIL with the requests it overlaps, so a burst of requests meets at most one."""

SCAN_SLICE_PAUSE_MAX_SECONDS = 1.0
"""The longest such a pause lasts, so that requests coming without a break cannot hold the
rescan up for ever (10,000 rollouts are ten slices)."""


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
        self._clean_start = False
        """Whether every earlier process using the index shut down cleanly (`clean_runs`): an
        index-only listing then needs no wait for the startup scan's settling."""
        self._gate = WriterGate(self._writers)
        index = lambda: self.index  # noqa: E731  (read when used: the index opens at `start`)
        self._reads = HistoryReader(data_dir, index, self._writers.__contains__, self._reindex)
        self._thread_writers = ThreadWriters(
            data_dir, index, self._gate, self._writers, self._locate
        )
        self._moves = ThreadMoves(
            data_dir, index, self._gate, self._locks, self._writers, self._locate, self.get
        )
        self._compression = CompressionScheduler(
            data_dir,
            compression or CompressionSettings(enabled=False),
            self._gate,
            lambda: self.index,
        )
        self._reconciler: Reconciler | None = None
        self._scan_task: asyncio.Task[object] | None = None
        self._last_scan_started = 0.0
        self._last_read = 0.0
        """`loop.time()` of the last request that read the store (for the deferred rescan)."""
        self._scan_now = asyncio.Event()
        """Set when a deferred startup rescan must start at once (a listing waits for it)."""
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
        self._clean_start = await begin_run(self._index, self._run_key)
        self._reconciler = Reconciler(
            self.data_dir, self._index, self._writers.__contains__, self._locks, self._pace
        )
        deferred = False
        if (await self._index.backfill_state()).status == "complete":
            # A warm index already lists everything it last saw: serve it at once while the
            # scan looks for what changed since (once requests pause, after clean runs).
            self._reconciler.completed.set()
            deferred = self._clean_start
        self._schedule_scan(deferred=deferred)
        self._compression.start(after=self._scan_task)
        if self._index.recovery is None:
            return []
        text = rebuilt_database_warning([self._index.recovery])
        return [StoreWarning(text.summary, text.details)]

    async def close(self) -> None:
        await self._compression.close()
        if self._scan_task is not None:
            self._scan_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):  # failures were logged
                await self._scan_task
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
        assert self._reconciler is not None
        await self._reconciler.completed.wait()

    def _schedule_scan(self, *, deferred: bool = False) -> None:
        """Start a scan unless one runs; `deferred`: once the store is quiet
        (`STARTUP_RESCAN_QUIET_SECONDS`)."""
        if self._reconciler is None or (self._scan_task and not self._scan_task.done()):
            return
        now = asyncio.get_running_loop().time()
        self._last_scan_started = self._last_read = now
        reconciler = self._reconciler
        scan = (
            self._when_quiet(reconciler, deadline=now + STARTUP_RESCAN_MAX_DELAY_SECONDS)
            if deferred
            else self._run_scan(reconciler)
        )
        self._scan_task = asyncio.create_task(scan, name="rollout scan")

    async def _when_quiet(self, reconciler: Reconciler, *, deadline: float) -> object:
        """Scan once no request has read the store for `STARTUP_RESCAN_QUIET_SECONDS`,
        at `deadline`, or when `_scan_now` is set, whichever comes first."""
        await self._until_quiet(STARTUP_RESCAN_QUIET_SECONDS, deadline)
        self._last_scan_started = asyncio.get_running_loop().time()
        return await self._run_scan(reconciler)

    async def _pace(self) -> None:
        """Between two slices of a scan (`Reconciler`): a scan of a complete index that no
        listing waits for waits until requests pause (`SCAN_SLICE_QUIET_SECONDS`)."""
        reconciler = self._reconciler
        if reconciler is None or not reconciler.completed.is_set():
            return  # a first backfill: listings are incomplete until it ends
        deadline = asyncio.get_running_loop().time() + SCAN_SLICE_PAUSE_MAX_SECONDS
        await self._until_quiet(SCAN_SLICE_QUIET_SECONDS, deadline)

    async def _until_quiet(self, quiet: float, deadline: float) -> None:
        """Until no request has read the store for `quiet` seconds, `deadline` (loop time)
        passed, or a listing waits for the scan (`_scan_now`)."""
        loop = asyncio.get_running_loop()
        while not self._scan_now.is_set():
            wait = min(self._last_read + quiet, deadline) - loop.time()
            if wait <= 0:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._scan_now.wait(), wait)

    def _touch(self) -> None:
        """A request reads the store now (defers the startup rescan, `_when_quiet`)."""
        self._last_read = asyncio.get_running_loop().time()

    async def _run_scan(self, reconciler: Reconciler) -> object:
        try:
            report = await reconciler.scan()
        except Exception:
            log.exception("rollout scan failed")
            reconciler.completed.set()
            return None
        if self._index is not None:  # what dead runs may have left stale is settled now
            try:
                await forget_dead_runs(self._index, self._run_key)
            except Exception:
                log.warning("could not forget the runs of dead processes", exc_info=True)
        return report

    # -- locating files --------------------------------------------------------------------------
    def rollout_path_for(self, thread_id: str, created_at_ms: int) -> str:
        return live_rollout_relative_path(thread_id, _local_datetime(created_at_ms)).as_posix()

    async def _locate(self, thread_id: str) -> tuple[ThreadRecord | None, RolloutFile | None]:
        """The thread's record and its current file (the index path, else a search)."""
        record = await self.index.get(thread_id)
        if record is not None:
            plain = self.data_dir / record.rollout_path
            for path in (plain, zst_rollout_path(plain)):
                if path.exists():
                    return record, RolloutFile(thread_id, path, record.archived)
        rollout = await asyncio.to_thread(find_rollout_file, self.data_dir, thread_id)
        return record, rollout

    # -- reading ---------------------------------------------------------------------------------
    async def get(self, thread_id: str) -> ThreadRecord | None:
        self._touch()
        record, rollout = await self._locate(thread_id)
        if record is not None:
            if rollout is not None and rollout.plain_path == self.data_dir / record.rollout_path:
                return record
            # The file moved or disappeared behind our back (another program, or a crash
            # between a move and its row update).
            await self._relocate(thread_id)
            return await self.index.get(thread_id)
        if rollout is None:
            return None
        return await self._reindex(rollout)

    async def _relocate(self, thread_id: str) -> RolloutFile | None:
        """Point the thread's row at wherever its file is now (read repair), or drop the row
        when there is no file; returns the file. Under `_locations`, so no move of ours is
        half done while the trees are searched, and none is written over."""
        async with self._locks.locations:
            rollout = await asyncio.to_thread(find_rollout_file, self.data_dir, thread_id)
            record = await self.index.get(thread_id)
            if rollout is None:
                if record is not None and thread_id not in self._writers:
                    await self.index.delete([thread_id])
                return None
            path = relative_rollout_path(self.data_dir, rollout.path)
            if record is not None and (record.rollout_path, record.archived) != (
                path,
                rollout.archived,
            ):
                await self.index.set_archived(
                    thread_id, rollout.archived, now_ms() if rollout.archived else None, path
                )
            return rollout

    async def _reindex(self, rollout: RolloutFile) -> ThreadRecord | None:
        """Fold a rollout the index does not know (yet), or that changed behind its back, and
        index it: its row, stamp and history-index rows (read repair). None when the file is
        gone by the time it is indexed.

        The fold runs unlocked (it may take long); the row is written under both locks, at the
        place the file is then (it may have been archived or unarchived meanwhile) and, for a
        new row, with the name `session_index.jsonl` has then."""

        def fold() -> tuple[HistoryFold, IndexedHistory | None, RolloutStamp]:
            stamp = stamp_of(rollout.thread_id, rollout.path)
            folded, history = fold_for_index(rollout.path, path_loader(self.data_dir, {}))
            return folded, history, stamp

        thread_id = rollout.thread_id
        folded, history, stamp = await asyncio.to_thread(fold)
        async with self._locks.names, self._locks.locations:
            current: RolloutFile | None = rollout
            if not await asyncio.to_thread(rollout_exists, rollout.path):
                current = await asyncio.to_thread(find_rollout_file, self.data_dir, thread_id)
            if current is None:
                return None
            existing = await self.index.get(thread_id)
            if existing is not None and thread_id in self._writers:
                return existing  # our writer keeps it current; this fold may be older
            name = (
                existing.name
                if existing is not None
                else await asyncio.to_thread(thread_name, self.data_dir, thread_id)
            )
            try:
                record = record_for_rollout(self.data_dir, current, folded, name=name)
            except FileNotFoundError:  # compressed or restored this instant: the other name
                current = await asyncio.to_thread(find_rollout_file, self.data_dir, thread_id)
                if current is None:
                    return None
                record = record_for_rollout(self.data_dir, current, folded, name=name)
            await self.index.upsert([record], [stamp], [history] if history is not None else [])
        return await self.index.get(thread_id)

    async def _wait_for_initial_scan(self, *, state_db_only: bool = False) -> None:
        """Wait until the startup scan has settled names and locations (a listing never shows
        a row a crash left stale), give it a moment more to finish (listings are complete
        after it), and rescan now and then for rollouts other programs wrote. An index-only
        listing after a clean shutdown skips the settling: no crash left anything to settle."""
        self._touch()
        reconciler = self._reconciler
        if reconciler is not None and not (state_db_only and self._clean_start):
            if not reconciler.located.is_set():
                self._scan_now.set()
            await reconciler.located.wait()
        if reconciler is not None and not reconciler.completed.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(reconciler.completed.wait(), INITIAL_SCAN_WAIT_SECONDS)
        loop = asyncio.get_running_loop()
        if loop.time() - self._last_scan_started > RESCAN_INTERVAL_SECONDS:
            self._schedule_scan()

    async def list_threads(self, query: ThreadQuery) -> ThreadPage:
        """A page of the index; unless `state_db_only`, each row's file is checked to be where
        the row says (repaired, and the page queried again, when it is not). An index-only
        listing answers the index as it is, without touching the files (STORAGE.md, listing)."""
        await self._wait_for_initial_scan(state_db_only=query.state_db_only)
        while True:
            page = await self.index.list_threads(query)
            if query.state_db_only or await self._rows_in_place(page.records):
                return page

    async def _rows_in_place(self, records: Sequence[ThreadRecord]) -> bool:
        """Whether every row's file is where the row says. Rows whose file moved or vanished
        behind our back are repaired first (False: the page must be queried again, so a
        thread is never listed on the side it left)."""
        paths = [self.data_dir / record.rollout_path for record in records]
        present = await asyncio.to_thread(lambda: [rollout_exists(path) for path in paths])
        stale = [record.id for record, here in zip(records, present, strict=True) if not here]
        for thread_id in stale:
            await self._relocate(thread_id)
        return not stale

    async def _located(
        self,
        thread_id: str,
        read: Callable[[ThreadRecord | None, RolloutFile], Awaitable[T]],
    ) -> T:
        """`read` the thread's rollout where it is now. A rollout moved by an archive, an
        unarchive, a compression or a restore between locating and opening it is located
        again (at most `MOVED_WHILE_READING_RETRIES` times), so a read racing a move never
        fails on the path the file just left."""
        for _ in range(MOVED_WHILE_READING_RETRIES):
            record, rollout = await self._locate(thread_id)
            if rollout is None:
                raise ThreadNotStored(thread_id)
            try:
                return await read(record, rollout)
            except FileNotFoundError:
                continue
        raise ThreadNotStored(thread_id)

    async def read_history(self, thread_id: str) -> ThreadHistory:
        self._touch()
        reopened = self._thread_writers.take_reopened_history(thread_id)
        if reopened is not None:
            return reopened
        return await self._located(thread_id, self._reads.history)

    async def model_history(self, thread_id: str) -> ModelHistory:
        reopened = self._thread_writers.take_reopened_model(thread_id)
        if reopened is not None and reopened.items_from is not None:
            items = await self._reads.model_items(
                reopened.path, reopened.items_from, reopened.byte_size
            )
            return replace(reopened.summary, items=items)

        async def read(_: ThreadRecord | None, rollout: RolloutFile) -> ModelHistory:
            return await self._reads.model_history(rollout)

        return await self._located(thread_id, read)

    async def copy_lines(self, thread_id: str) -> list[StoredLine]:
        async def read(_: ThreadRecord | None, rollout: RolloutFile) -> list[StoredLine]:
            return await self._reads.copy_lines(rollout)

        return await self._located(thread_id, read)

    async def search_threads(self, query: ThreadQuery, term: str) -> ThreadSearchPage:
        await self._wait_for_initial_scan()
        while True:
            found = await HistoryQueries(self.index).search(query, term)
            if await self._rows_in_place(found.page.records):
                return found

    async def turn_page(self, thread_id: str, request: TurnPageRequest) -> TurnsPage:
        self._touch()

        async def read(record: ThreadRecord | None, rollout: RolloutFile) -> TurnsPage:
            return await self._reads.turn_page(thread_id, record, rollout, request)

        return await self._located(thread_id, read)

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
        self._touch()
        return await self._thread_writers.create(
            thread_id,
            created_at=_local_datetime(created_at_ms),
            created_at_ms=created_at_ms,
            history_mode=history_mode,
            start_ordinal=start_ordinal,
            name=name,
        )

    async def open_writer(self, thread_id: str) -> IndexedThreadWriter:
        self._touch()
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
        await self._wait_for_complete_index()
        return await self._guarded(self._moves.delete_tree(thread_id))

    async def _wait_for_complete_index(self) -> None:
        """Wait for the first scan to finish (started now if it was deferred): a tree's
        descendants are found through the index's parent links, and a child the scan has not
        indexed yet would be left behind, orphaned, by a delete sent right after start. A
        listing may answer from a partial index (`INITIAL_SCAN_WAIT_SECONDS`); a delete may not."""
        self._touch()
        reconciler = self._reconciler
        if reconciler is not None and not reconciler.completed.is_set():
            self._scan_now.set()
            await reconciler.completed.wait()

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
