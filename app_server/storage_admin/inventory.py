"""What a data dir holds, from file-system stats alone (`app-server storage report`).

Why stats only: the report must be fast on 10,000+ rollouts, work while a server (ours or
codex) is running, and change nothing — so it never opens (or creates) a SQLite index, never
takes a lock and never reads a rollout's content. Threads are found with the store's own walker
(`iter_rollout_files`: the plain file wins over a `.zst` sibling, names without a thread id are
not threads), so the report counts exactly what the server would list. Everything else is one
`scandir` walk of the data dir, each file put in one category, so the categories add up to the
total.

Sizes are `st_size`: a compressed rollout counts its compressed size.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

from msgspec import Struct, field

from app_server.store.local.db_recovery import BACKUPS_DIR
from app_server.store.local.index_schema import INDEX_DB_FILE
from app_server.store.local.rollout_files import (
    ARCHIVED_SESSIONS_DIR,
    SESSIONS_DIR,
    ZST_SUFFIX,
    iter_rollout_files,
    plain_rollout_path,
)
from app_server.store.local.session_index import SESSION_INDEX_FILE

OUR_INDEX_PREFIX = "state_app_server_"
"""Every generation of our own index is `state_app_server_<n>.sqlite` (codex's are others)."""

_SQLITE_FILE_RE = re.compile(r"\A.+\.sqlite(?:-wal|-shm|-journal)?\Z")
"""A database file or one of its side files, at the top of the data dir."""

TEMP_SUFFIX = ".tmp"
"""Compression, materialization and rewrites publish through `*.tmp` files in the same folder;
any still there when nothing is running are leftovers of a crash."""


class RolloutEntry(Struct, frozen=True):
    """One thread's rollout file and its stats."""

    thread_id: str
    path: Path
    archived: bool
    compressed: bool
    size: int
    mtime_ns: int


class Tally(Struct):
    """A number of files and their total size in bytes."""

    count: int = 0
    bytes: int = 0

    def add(self, size: int) -> None:
        """Count one more file of `size` bytes."""
        self.count += 1
        self.bytes += size


class SizedFile(Struct, frozen=True):
    """A file (path relative to the data dir, POSIX-style) and its size."""

    path: str
    bytes: int


class IndexFile(Struct, frozen=True):
    """A SQLite database file (or `-wal`/`-shm`/`-journal` side file) at the top of the data dir.

    `owner` is `app-server` for our own index (`state_app_server_*`; `current` tells the
    generation this version opens from older ones) and `codex` for everything else
    (`state_5.sqlite`, `thread_history_1.sqlite`, `logs_2.sqlite`, …).
    """

    path: str
    bytes: int
    owner: str
    current: bool


class StorageReport(Struct):
    """Everything `storage report` shows; `total` is the sum over every file in the data dir."""

    data_dir: Path
    live_plain: Tally = field(default_factory=Tally)
    live_compressed: Tally = field(default_factory=Tally)
    archived_plain: Tally = field(default_factory=Tally)
    archived_compressed: Tally = field(default_factory=Tally)
    largest: list[RolloutEntry] = field(default_factory=list)
    index_files: list[IndexFile] = field(default_factory=list)
    session_index: SizedFile | None = None
    temp_files: list[SizedFile] = field(default_factory=list)
    shadowed_zst: Tally = field(default_factory=Tally)
    """`.jsonl.zst` files whose plain sibling exists (a compression or materialization cut
    short, or in progress): readers ignore them, the bytes are still used."""
    other_in_trees: Tally = field(default_factory=Tally)
    """Anything else under `sessions/` and `archived_sessions/`."""
    db_backups: Tally = field(default_factory=Tally)
    db_backup_folders: int = 0
    other: Tally = field(default_factory=Tally)
    """Everything else: config, logs, writer locks, shell snapshots, codex's own files…"""
    total: Tally = field(default_factory=Tally)

    @property
    def threads(self) -> Tally:
        """All rollouts, live and archived, plain and compressed."""
        parts = (
            self.live_plain,
            self.live_compressed,
            self.archived_plain,
            self.archived_compressed,
        )
        return Tally(sum(t.count for t in parts), sum(t.bytes for t in parts))


def scan_rollouts(data_dir: Path) -> list[RolloutEntry]:
    """Every thread's rollout with its size and mtime, in the store's walk order.

    A file that disappears between the walk and its `stat` (archived, compressed or deleted by a
    running server meanwhile) is left out.
    """
    entries: list[RolloutEntry] = []
    for rollout in iter_rollout_files(data_dir):
        try:
            stat = rollout.path.stat()
        except FileNotFoundError:
            continue
        entries.append(
            RolloutEntry(
                thread_id=rollout.thread_id,
                path=rollout.path,
                archived=rollout.archived,
                compressed=rollout.compressed,
                size=stat.st_size,
                mtime_ns=stat.st_mtime_ns,
            )
        )
    return entries


def build_report(data_dir: Path, *, top: int) -> StorageReport:
    """Stat the data dir (read-only) and classify every file; `top` largest rollouts are kept."""
    report = StorageReport(data_dir=data_dir)
    rollouts = scan_rollouts(data_dir)
    for entry in rollouts:
        _thread_tally(report, entry).add(entry.size)
    report.largest = sorted(rollouts, key=lambda e: (-e.size, e.thread_id))[:top]
    rollout_paths = {entry.path for entry in rollouts}
    backup_folders: set[str] = set()
    for path, size in _walk_files(data_dir):
        report.total.add(size)
        parts = path.relative_to(data_dir).parts
        relative = "/".join(parts)
        if parts[0] in (SESSIONS_DIR, ARCHIVED_SESSIONS_DIR) and len(parts) > 1:
            if path in rollout_paths:
                continue  # counted above
            if path.name.endswith(TEMP_SUFFIX):
                report.temp_files.append(SizedFile(relative, size))
            elif path.name.endswith(ZST_SUFFIX) and plain_rollout_path(path) in rollout_paths:
                report.shadowed_zst.add(size)
            else:
                report.other_in_trees.add(size)
        elif parts[0] == BACKUPS_DIR and len(parts) > 1:
            report.db_backups.add(size)
            if len(parts) > 2:
                backup_folders.add(parts[1])
        elif len(parts) == 1 and _SQLITE_FILE_RE.match(path.name):
            ours = path.name.startswith(OUR_INDEX_PREFIX)
            report.index_files.append(
                IndexFile(
                    path=relative,
                    bytes=size,
                    owner="app-server" if ours else "codex",
                    current=ours and path.name.startswith(INDEX_DB_FILE),
                )
            )
        elif len(parts) == 1 and path.name == SESSION_INDEX_FILE:
            report.session_index = SizedFile(relative, size)
        else:
            report.other.add(size)
    report.db_backup_folders = len(backup_folders)
    report.index_files.sort(key=lambda f: f.path)
    report.temp_files.sort(key=lambda f: f.path)
    return report


def _thread_tally(report: StorageReport, entry: RolloutEntry) -> Tally:
    if entry.archived:
        return report.archived_compressed if entry.compressed else report.archived_plain
    return report.live_compressed if entry.compressed else report.live_plain


def _walk_files(root: Path) -> Iterator[tuple[Path, int]]:
    """(path, size) of every file under `root`; symlinks are not followed (their own size)."""
    pending = [root]
    while pending:
        directory = pending.pop()
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            pending.append(Path(entry.path))
                        else:
                            yield Path(entry.path), entry.stat(follow_symlinks=False).st_size
                    except OSError:
                        continue  # removed while we walked, or unreadable
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue
