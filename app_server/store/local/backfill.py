"""Backfill and reconciliation: bring the SQLite index in line with the rollout files.

The files are the truth (STORAGE.md §7). A scan walks `sessions/` and `archived_sessions/`,
refolds every rollout whose size or mtime differs from what the index last read (a new index,
a file another program — codex itself — wrote or appended to, an index update lost in a crash),
and drops rows whose file is gone. Unchanged files cost one `stat`, so a restart over 10,000
threads re-reads nothing. The scan runs in the background: the server answers `initialize` at
once, and listings are complete when the scan finishes.

Threads with an open writer in this process are skipped: their writer keeps their row current,
and a scan that read the file a moment earlier must not overwrite it with an older fold.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from app_server.store.local.history import HistoryFold, RolloutLines
from app_server.store.local.history_index_db import IndexedHistory
from app_server.store.local.index_db import BackfillState, RolloutStamp, ThreadIndex
from app_server.store.local.rollout_files import RolloutFile, find_rollout_file, iter_rollout_files
from app_server.store.local.rollout_reader import RolloutLineReader, iter_rollout_lines
from app_server.store.local.session_index import read_session_index
from app_server.store.local.thread_loader import record_for_rollout
from app_server.store.records import ThreadRecord

log = logging.getLogger(__name__)

SCAN_BATCH_SIZE = 256
"""Rollouts folded per worker-thread hop and upserted per transaction: larger batches mean
fewer transactions, smaller ones make the first results visible sooner."""


@dataclass(frozen=True, slots=True)
class ScannedFile:
    """A rollout found by the scan, with the stamp it had."""

    rollout: RolloutFile
    stamp: RolloutStamp


@dataclass(frozen=True, slots=True)
class ScanReport:
    """What one scan did."""

    files: int
    refolded: int
    removed: int
    unreadable: int


def stamp_of(thread_id: str, path: Path) -> RolloutStamp:
    stat = path.stat()
    return RolloutStamp(thread_id, stat.st_size, stat.st_mtime_ns)


def list_rollouts(data_dir: Path) -> list[ScannedFile]:
    """Every rollout file with its stamp (blocking; one `stat` each). The first file seen for
    a thread id wins (live before archived, plain before `.zst`)."""
    found: dict[str, ScannedFile] = {}
    for rollout in iter_rollout_files(data_dir):
        if rollout.thread_id in found:
            continue
        try:
            found[rollout.thread_id] = ScannedFile(
                rollout, stamp_of(rollout.thread_id, rollout.path)
            )
        except FileNotFoundError:
            continue  # moved while we walked; the next scan sees it where it went
    return list(found.values())


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
    rollout_path: Path, load_base: Callable[[str, int | None], RolloutLines | None]
) -> tuple[HistoryFold, IndexedHistory | None]:
    """Fold a whole rollout for the index (blocking): metadata and history-index rows, without
    keeping turn items, so memory stays at one turn whatever the file's size. The history is
    `None` when the rollout has no `session_meta` (the fold's `metadata()` raises then)."""
    reader = RolloutLineReader(rollout_path)
    fold = HistoryFold(load_base, keep_items=False).feed_lines(reader)
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


class Reconciler:
    """Runs scans of one data dir against its index, one at a time."""

    def __init__(
        self, data_dir: Path, index: ThreadIndex, is_writing: Callable[[str], bool]
    ) -> None:
        self._data_dir = data_dir
        self._index = index
        self._is_writing = is_writing
        self._lock = asyncio.Lock()
        self.completed = asyncio.Event()
        """Set once the first scan finished: from then on listings are complete."""

    async def scan(self) -> ScanReport:
        """One full reconciliation pass (see the module docstring)."""
        async with self._lock:
            report = await self._scan()
        self.completed.set()
        return report

    async def _scan(self) -> ScanReport:
        data_dir = self._data_dir
        await self._index.set_backfill_state(BackfillState(status="running"))
        files = await asyncio.to_thread(list_rollouts, data_dir)
        names = {
            thread_id: entry.thread_name
            for thread_id, entry in (await asyncio.to_thread(read_session_index, data_dir)).items()
        }
        stamps = await self._index.stamps()
        known = {f.rollout.thread_id: f.rollout.path for f in files}
        changed = [
            f
            for f in files
            if stamps.get(f.rollout.thread_id) != f.stamp
            and not self._is_writing(f.rollout.thread_id)
        ]
        unreadable = 0
        for start in range(0, len(changed), SCAN_BATCH_SIZE):
            batch = changed[start : start + SCAN_BATCH_SIZE]
            records, batch_stamps, histories, bad = await asyncio.to_thread(
                fold_records, data_dir, batch, names, known
            )
            unreadable += bad
            fresh = [r for r in records if not self._is_writing(r.id)]
            await self._index.upsert(
                fresh,
                [s for s in batch_stamps if not self._is_writing(s.thread_id)],
                [h for h in histories if not self._is_writing(h.thread_id)],
            )
        indexed = await self._index.all_ids()
        gone = {i for i in indexed - set(known) if not self._is_writing(i)}
        if gone:
            await self._index.delete(gone)
        await self._index.set_backfill_state(
            BackfillState(status="complete", last_success_at=int(time.time()))
        )
        report = ScanReport(len(files), len(changed), len(gone), unreadable)
        log.info("rollout scan: %s", report)
        return report
