"""Backfill and reconciliation: bring the SQLite index in line with the rollout files.

The files are the truth (STORAGE.md §7). A scan walks `sessions/` and `archived_sessions/`,
refolds every rollout whose size or mtime differs from what the index last read (a new index,
a file another program — codex itself — wrote or appended to, an index update lost in a crash),
and drops rows whose file is gone. Unchanged files cost one `stat`, so a restart over 10,000
threads re-reads nothing. The scan runs in the background: the server answers `initialize` at
once, and listings are complete when the scan finishes.

Threads with an open writer in this process are skipped: their writer keeps their row current,
and a scan that read the file a moment earlier must not overwrite it with an older fold.

Two things are settled before anything else, every scan, and listings wait for the first time
(`located`): names and locations. A crash can land between a file change and its index update —
a rename (archive/unarchive) keeps size and mtime, so no stamp shows it; a name line appended to
`session_index.jsonl` changes no rollout at all — so each row's location is compared with where
its file is, and every name is set to what `session_index.jsonl` says. The state is then decided
by the files as they were at the kill, from the first listing on, and never flips later.

The scan shares the store's two locks, so it never writes back what it read before a concurrent
change: `names` (a rename appends and updates the row under it; the scan reads the file and
syncs under it) and `locations` (a move and its row update happen under it; the scan checks
that a file is still where it was listed, and only then writes a row saying so).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from pathlib import Path
from typing import TypeVar

from msgspec import Struct

from app_server.notification import now_ms
from app_server.rollout.history import HistoryFold, HistoryLineageError, RolloutLines
from app_server.rollout.model_history import ModelHistoryFold
from app_server.store.local.history_index_db import IndexedHistory
from app_server.store.local.index_db import BackfillState, RolloutStamp, RowLocation, ThreadIndex
from app_server.store.local.rollout_files import (
    RolloutFile,
    find_rollout_file,
    iter_rollout_files,
    relative_rollout_path,
    rollout_exists,
)
from app_server.store.local.rollout_reader import RolloutLineReader, iter_rollout_lines
from app_server.store.local.session_index import read_session_index
from app_server.store.local.thread_loader import record_for_rollout
from app_server.store.records import ThreadRecord

log = logging.getLogger(__name__)

T = TypeVar("T")

SCAN_BATCH_SIZE = 256
"""Rollouts folded per worker-thread hop and upserted per transaction: larger batches mean
fewer transactions, smaller ones make the first results visible sooner."""

SCAN_SLICE_FILES = 1000
"""Rollouts found or `stat`ed per worker-thread hop of a scan (~5-10 ms of Python): between two
hops a scan may pause for requests (`Reconciler.pace`). More hops cost a little more in all."""


class ScannedFile(Struct, frozen=True):
    """A rollout found by the scan, with the stamp it had."""

    rollout: RolloutFile
    stamp: RolloutStamp


class ScanReport(Struct, frozen=True):
    """What one scan did."""

    files: int
    refolded: int
    removed: int
    unreadable: int


def stamp_of(thread_id: str, path: Path) -> RolloutStamp:
    stat = path.stat()
    return RolloutStamp(thread_id, stat.st_size, stat.st_mtime_ns)


def walk_rollouts(data_dir: Path) -> dict[str, RolloutFile]:
    """Every thread's rollout file, by thread id (blocking; no `stat` per file). The first file
    seen for a thread id wins (live before archived, plain before `.zst`), as in
    `find_rollout_file`."""
    found: dict[str, RolloutFile] = {}
    for rollout in iter_rollout_files(data_dir):
        found.setdefault(rollout.thread_id, rollout)
    return found


def iter_stamped(rollouts: Iterable[RolloutFile]) -> Iterator[ScannedFile]:
    """The rollouts with their stamps (blocking; one `stat` each); files gone meanwhile are
    left out (the next scan sees them where they went)."""
    for rollout in rollouts:
        try:
            yield ScannedFile(rollout, stamp_of(rollout.thread_id, rollout.path))
        except FileNotFoundError:
            continue


def path_loader(
    data_dir: Path, known: dict[str, Path]
) -> Callable[[str, int | None], RolloutLines | None]:
    """A fork-base loader that looks bases up in `known` before walking the trees."""

    def load(thread_id: str, end_byte_offset: int | None) -> RolloutLines | None:
        path = known.get(thread_id)
        if path is None or not (path.exists() or path.with_name(path.name + ".zst").exists()):
            rollout = find_rollout_file(data_dir, thread_id)
            if rollout is None:
                return None
            path = rollout.path
        return iter_rollout_lines(path, end_offset=end_byte_offset)

    return load


def fold_for_index(
    rollout_path: Path,
    load_base: Callable[[str, int | None], RolloutLines | None],
    *,
    keep_items: bool = False,
    model: ModelHistoryFold | None = None,
) -> tuple[HistoryFold, IndexedHistory | None]:
    """Fold a whole rollout for the index (blocking): metadata and history-index rows, without
    keeping turn items (unless asked: a resume also wants the turns), so memory stays at one
    turn whatever the file's size. `model` is fed the same lines (a resume wants the model
    history too, and the file is streamed once for both). The history is `None` when the
    rollout has no `session_meta` (the fold's `metadata()` raises then)."""
    reader = RolloutLineReader(rollout_path)
    fold = HistoryFold(load_base, keep_items=keep_items)
    if model is None:
        fold.feed_lines(reader)
    else:
        modelling: ModelHistoryFold | None = model
        for offset, record in reader:
            fold.feed(offset, record)
            if modelling is not None:
                try:
                    modelling.feed(record, offset)
                except (HistoryLineageError, OSError, ValueError) as error:
                    # The model history's own read will fail the same way when it is wanted.
                    model.failed = error
                    modelling = None
    thread_id = fold.thread_id
    if thread_id is None:
        return fold, None
    history = IndexedHistory(thread_id, fold.index.drain(), reader.next_offset, replace=True)
    return fold, history


def fold_records(
    data_dir: Path,
    files: Iterable[ScannedFile],
    names: dict[str, str],
    known: dict[str, Path],
) -> tuple[list[ThreadRecord], list[RolloutStamp], list[IndexedHistory], int]:
    """Fold each file into its record and history-index rows (blocking). Unreadable files are
    logged and counted."""
    records: list[ThreadRecord] = []
    stamps: list[RolloutStamp] = []
    histories: list[IndexedHistory] = []
    unreadable = 0
    loader = path_loader(data_dir, known)
    for scanned in files:
        try:
            fold, history = fold_for_index(scanned.rollout.path, loader)
            record = record_for_rollout(
                data_dir, scanned.rollout, fold, name=names.get(scanned.rollout.thread_id)
            )
        except (OSError, ValueError) as exc:
            log.warning("skipping unreadable rollout %s: %s", scanned.rollout.path, exc)
            unreadable += 1
            continue
        if record.id != scanned.rollout.thread_id:
            log.warning(
                "skipping %s: its session_meta names thread %s", scanned.rollout.path, record.id
            )
            unreadable += 1
            continue
        records.append(record)
        stamps.append(scanned.stamp)
        if history is not None:
            histories.append(history)
    return records, stamps, histories, unreadable


class MetadataLocks(Struct, frozen=True):
    """The store's locks around names and file locations (see the module docstring). Taken in
    this order when both are needed."""

    names: asyncio.Lock
    locations: asyncio.Lock


def location_of(data_dir: Path, rollout: RolloutFile) -> RowLocation:
    """What an index row must say about a rollout found at `rollout.path`."""
    return RowLocation(relative_rollout_path(data_dir, rollout.path), rollout.archived)


def still_in_place(rollouts: Iterable[RolloutFile]) -> set[str]:
    """The ids of the files still where the scan found them (blocking: a `stat` or two each)."""
    return {rollout.thread_id for rollout in rollouts if rollout_exists(rollout.path)}


class Reconciler:
    """Runs scans of one data dir against its index, one at a time."""

    def __init__(
        self,
        data_dir: Path,
        index: ThreadIndex,
        is_writing: Callable[[str], bool],
        locks: MetadataLocks,
        pace: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """`pace` is awaited between the slices of a scan's walk and `stat`s (each
        `SCAN_SLICE_FILES` files): the store makes a background rescan wait there while
        requests come, since its Python work in a worker thread competes with them for the
        GIL (10-40 ms on a request over 10,000 threads)."""
        self._data_dir = data_dir
        self._index = index
        self._is_writing = is_writing
        self._locks = locks
        self._pace = pace
        self._lock = asyncio.Lock()
        self.located = asyncio.Event()
        """Set once the first scan settled names and locations (or failed): listings wait for
        it, so none is served from a row a crash left stale."""
        self.completed = asyncio.Event()
        """Set once the first scan finished: from then on listings are complete."""

    async def scan(self) -> ScanReport:
        """One full reconciliation pass (see the module docstring)."""
        try:
            async with self._lock:
                report = await self._scan()
        finally:
            self.located.set()
        self.completed.set()
        return report

    async def _scan(self) -> ScanReport:
        data_dir = self._data_dir
        if not self.completed.is_set():
            # Only an index that never was complete is marked running: a rescan of a complete
            # one that a short session cuts off (a CLI exits within a second) must not make the
            # next start wait for a whole scan before its first listing.
            await self._index.set_backfill_state(BackfillState(status="running"))
        walked: dict[str, RolloutFile] = {}
        for rollout in await self._in_slices(iter_rollout_files(data_dir)):
            walked.setdefault(rollout.thread_id, rollout)  # as `walk_rollouts`
        names = await self._sync_names()
        await self._settle_locations(walked.values())
        self.located.set()
        files = await self._in_slices(iter_stamped(walked.values()))
        stamps = await self._index.stamps()
        known = {thread_id: rollout.path for thread_id, rollout in walked.items()}
        changed = await asyncio.to_thread(self._changed, files, stamps)
        unreadable = 0
        for start in range(0, len(changed), SCAN_BATCH_SIZE):
            batch = changed[start : start + SCAN_BATCH_SIZE]
            records, batch_stamps, histories, bad = await asyncio.to_thread(
                fold_records, data_dir, batch, names, known
            )
            unreadable += bad
            await self._upsert_in_place(batch, records, batch_stamps, histories)
        indexed = await self._index.all_ids()
        missing = {i for i in indexed - set(known) if not self._is_writing(i)}
        gone = await self._drop_gone(missing) if missing else set()
        await self._index.set_backfill_state(
            BackfillState(status="complete", last_success_at=int(time.time()))
        )
        report = ScanReport(len(files), len(changed), len(gone), unreadable)
        log.info("rollout scan: %s", report)
        return report

    async def _in_slices(self, items: Iterator[T]) -> list[T]:
        """Every item of a blocking iterator, drawn in worker-thread hops of
        `SCAN_SLICE_FILES`, pacing between them."""
        drawn: list[T] = []
        while True:
            chunk = await asyncio.to_thread(lambda: list(itertools.islice(items, SCAN_SLICE_FILES)))
            drawn.extend(chunk)
            if len(chunk) < SCAN_SLICE_FILES:
                return drawn
            if self._pace is not None:
                await self._pace()

    async def _sync_names(self) -> dict[str, str]:
        """Every row's name as `session_index.jsonl` has it now (the names the file holds)."""
        async with self._locks.names:
            entries = await asyncio.to_thread(read_session_index, self._data_dir)
            names = {thread_id: entry.thread_name for thread_id, entry in entries.items()}
            await self._index.sync_names(names)
        return names

    async def _settle_locations(self, rollouts: Iterable[RolloutFile]) -> None:
        """Point every row whose file is elsewhere (a crash between a move and its row update,
        or another program's archive) at the file, if it is still there."""
        rows = await self._index.locations()
        moved = await asyncio.to_thread(self._moved, rollouts, rows)
        if not moved:
            return
        async with self._locks.locations:
            in_place = await asyncio.to_thread(still_in_place, moved)
            for rollout in moved:
                if rollout.thread_id in in_place:
                    await self._relocate_row(rollout)

    # The two comparisons below run in a worker thread: over 10,000 threads each is tens of
    # milliseconds of Python that would otherwise hold up every request on the loop right after
    # start. They only read (`_is_writing` is one set lookup).

    def _changed(
        self, files: list[ScannedFile], stamps: dict[str, RolloutStamp]
    ) -> list[ScannedFile]:
        """The files whose stamp differs from the indexed one, except those being written."""
        return [
            f
            for f in files
            if stamps.get(f.rollout.thread_id) != f.stamp
            and not self._is_writing(f.rollout.thread_id)
        ]

    def _moved(
        self, rollouts: Iterable[RolloutFile], rows: dict[str, RowLocation]
    ) -> list[RolloutFile]:
        """The rollouts whose row says they are elsewhere, except those being written."""
        return [
            rollout
            for rollout in rollouts
            if (row := rows.get(rollout.thread_id)) is not None
            and row != location_of(self._data_dir, rollout)
            and not self._is_writing(rollout.thread_id)
        ]

    async def _relocate_row(self, rollout: RolloutFile) -> None:
        """Point the thread's row at `rollout` (the caller holds the locations lock)."""
        await self._index.set_archived(
            rollout.thread_id,
            rollout.archived,
            now_ms() if rollout.archived else None,
            relative_rollout_path(self._data_dir, rollout.path),
        )

    async def _upsert_in_place(
        self,
        batch: list[ScannedFile],
        records: list[ThreadRecord],
        stamps: list[RolloutStamp],
        histories: list[IndexedHistory],
    ) -> None:
        """Index what was folded, except threads written meanwhile by this process and files
        that moved since they were listed (an archive or unarchive came between: the next
        scan folds them where they are now)."""
        async with self._locks.locations:
            in_place = await asyncio.to_thread(still_in_place, [f.rollout for f in batch])
            keep = {i for i in in_place if not self._is_writing(i)}
            await self._index.upsert(
                [r for r in records if r.id in keep],
                [s for s in stamps if s.thread_id in keep],
                [h for h in histories if h.thread_id in keep],
            )

    async def _drop_gone(self, missing: set[str]) -> set[str]:
        """Remove the rows of `missing` threads whose file is really gone; returns those.

        The first walk may have missed a file that moved while it ran (`sessions/` is walked
        before `archived_sessions/`); a second walk, while no move of ours can run, finds it,
        and its row is pointed at it instead."""
        async with self._locks.locations:
            walked = await asyncio.to_thread(walk_rollouts, self._data_dir)
            found = {i: rollout for i, rollout in walked.items() if i in missing}
            rows = await self._index.locations()
            for thread_id, rollout in found.items():
                row = rows.get(thread_id)
                if row is not None and row != location_of(self._data_dir, rollout):
                    await self._relocate_row(rollout)
            gone = {i for i in missing - set(found) if not self._is_writing(i)}
            if gone:
                await self._index.delete(gone)
        return gone
