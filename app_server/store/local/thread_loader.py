"""Read one stored thread from the data dir: find its rollout, fold it (with fork lineage).

This is the glue between the pure pieces: `rollout_files` finds files, `rollout_reader`
streams them, `history.HistoryFold` folds them, and `records` builds the index row. The base of
a paginated fork is resolved by thread id the same way (live or archived, plain or `.zst`).

Blocking I/O: run it in a worker thread.
"""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

from msgspec import Struct

from app_server.rollout.history import BaseLoader, HistoryFold, RolloutLines
from app_server.rollout.turn_entry import TurnEntry
from app_server.store.local.rollout_files import (
    RolloutFile,
    find_rollout_file,
    parse_rollout_file_name,
    relative_rollout_path,
)
from app_server.store.local.rollout_reader import iter_rollout_lines
from app_server.store.records import ThreadRecord, build_thread_record


class StoredThread(Struct, frozen=True):
    """A thread read from disk: its index record, its rollout file and the folded history."""

    record: ThreadRecord
    rollout: RolloutFile
    fold: HistoryFold

    def turns(self) -> list[TurnEntry]:
        """The thread's turns; raises `HistoryLineageError` if its fork lineage is broken."""
        return self.fold.turns()


def base_loader(data_dir: Path) -> BaseLoader:
    """A `BaseLoader` resolving base threads by id under `data_dir` (live or archived)."""

    def load(thread_id: str, end_byte_offset: int | None) -> RolloutLines | None:
        """The base's lines up to `end_byte_offset`, or `None` when it has no rollout."""
        rollout = find_rollout_file(data_dir, thread_id)
        if rollout is None:
            return None
        return iter_rollout_lines(rollout.path, end_offset=end_byte_offset)

    return load


def fold_rollout(data_dir: Path, rollout: RolloutFile) -> HistoryFold:
    """Fold a rollout file, resolving paginated fork bases under `data_dir`."""
    return HistoryFold(base_loader(data_dir)).feed_lines(iter_rollout_lines(rollout.path))


def mtime_ms(path: Path) -> int:
    """The file's mtime in unix milliseconds (floor), what codex's rebuild reports."""
    return path.stat().st_mtime_ns // 1_000_000


def record_for_rollout(
    data_dir: Path, rollout: RolloutFile, fold: HistoryFold, *, name: str | None = None
) -> ThreadRecord:
    """The index record of a folded rollout, timed like codex 0.169's rebuild.

    `updated_at_ms` and `recency_at_ms` are the rollout file's mtime (that is what the rebuilt
    index reports, see fixtures README "Volatile"); `archived_at_ms` too for archived files.
    """
    modified_ms = mtime_ms(rollout.path)
    parsed_name = parse_rollout_file_name(rollout.path.name)
    fallback_created_ms = None
    if parsed_name is not None:
        fallback_created_ms = int(parsed_name.created_at.replace(tzinfo=UTC).timestamp()) * 1000
    return build_thread_record(
        fold.metadata(),
        rollout_path=relative_rollout_path(data_dir, rollout.path),
        archived=rollout.archived,
        updated_at_ms=modified_ms,
        recency_at_ms=modified_ms,
        archived_at_ms=modified_ms if rollout.archived else None,
        name=name,
        fallback_created_at_ms=fallback_created_ms,
    )


def read_stored_thread(
    data_dir: Path, thread_id: str, *, name: str | None = None
) -> StoredThread | None:
    """Read `thread_id` from `data_dir`; `None` if it has no rollout file.

    Raises `ValueError` when the rollout has no `session_meta` (not a readable thread). A
    broken fork lineage does not raise here: the record is still usable, `turns()` raises.
    """
    rollout = find_rollout_file(data_dir, thread_id)
    if rollout is None:
        return None
    fold = fold_rollout(data_dir, rollout)
    record = record_for_rollout(data_dir, rollout, fold, name=name)
    return StoredThread(record=record, rollout=rollout, fold=fold)
