"""Codex 0.169's rollout file layout: names, locations and discovery (STORAGE.md §1, §2, §6).

Layout under the data dir (`CODEX_HOME`):

    sessions/YYYY/MM/DD/rollout-<YYYY-MM-DDThh-mm-ss>-<thread uuid>.jsonl[.zst]   live threads
    archived_sessions/rollout-….jsonl[.zst]                                       archived (flat)

Why readers never compute a path from a clock: the date folders and the file-name timestamp are
the creation time in *local* time (per third-party analysis), so the only reliable way to find a
thread is to walk the trees and match the thread id at the end of the file name. Writers choose
the path once, when the file is created (`live_rollout_path`).

A thread may exist as a plain `.jsonl`, a compressed `.jsonl.zst`, or briefly both (during
compression or materialization). Readers prefer the plain file, ignore a `.zst` whose plain
sibling exists, and always *report* the plain path (STORAGE.md §6 invariants 2 and 3).

All functions are blocking file-system calls (or pure); async callers use a worker thread.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path, PurePosixPath

from msgspec import Struct

from app_server.rollout.file_names import PLAIN_SUFFIX as PLAIN_SUFFIX
from app_server.rollout.file_names import ROLLOUT_FILE_NAME_RE as ROLLOUT_FILE_NAME_RE
from app_server.rollout.file_names import ZST_SUFFIX as ZST_SUFFIX
from app_server.rollout.file_names import RolloutFileName as RolloutFileName
from app_server.rollout.file_names import is_rollout_file_name as is_rollout_file_name
from app_server.rollout.file_names import parse_rollout_file_name as parse_rollout_file_name
from app_server.rollout.file_names import rollout_file_name as rollout_file_name

SESSIONS_DIR = "sessions"
"""Live threads: `sessions/YYYY/MM/DD/<rollout file>`."""

ARCHIVED_SESSIONS_DIR = "archived_sessions"
"""Archived threads: `archived_sessions/<rollout file>` (flat, no date folders)."""


class RolloutFile(Struct, frozen=True):
    """One thread's rollout as found on disk.

    `path` is the file that exists (plain or `.zst`); `plain_path` is the `.jsonl` path that is
    reported to clients and stored in the index even when only the `.zst` exists.
    """

    thread_id: str
    path: Path
    archived: bool

    @property
    def compressed(self) -> bool:
        """Whether the existing file is the zstd-compressed `.jsonl.zst`."""
        return self.path.name.endswith(ZST_SUFFIX)

    @property
    def plain_path(self) -> Path:
        """The plain `.jsonl` path of this rollout (may not exist if compressed)."""
        return plain_rollout_path(self.path)


def live_rollout_relative_path(thread_id: str, created_at: datetime) -> PurePosixPath:
    """`sessions/YYYY/MM/DD/<name>` for a new thread (writers only; readers search instead)."""
    return PurePosixPath(
        SESSIONS_DIR,
        f"{created_at.year:04d}",
        f"{created_at.month:02d}",
        f"{created_at.day:02d}",
        rollout_file_name(thread_id, created_at),
    )


def live_rollout_path(data_dir: Path, thread_id: str, created_at: datetime) -> Path:
    """Absolute path of a new thread's live rollout (writers only)."""
    return data_dir / live_rollout_relative_path(thread_id, created_at)


def unarchived_rollout_path(data_dir: Path, file_name: str) -> Path | None:
    """Where `thread/unarchive` puts an archived file: the date folder from its file name.

    Returns `None` when the name carries no parsable timestamp.
    """
    parsed = parse_rollout_file_name(file_name)
    if parsed is None:
        return None
    stamp = parsed.created_at
    return data_dir.joinpath(
        SESSIONS_DIR, f"{stamp.year:04d}", f"{stamp.month:02d}", f"{stamp.day:02d}", file_name
    )


def archived_rollout_path(data_dir: Path, file_name: str) -> Path:
    """Where `thread/archive` puts a rollout: `archived_sessions/<same file name>`."""
    return data_dir / ARCHIVED_SESSIONS_DIR / file_name


def plain_rollout_path(path: Path) -> Path:
    """The `.jsonl` path for a rollout path (strips a trailing `.zst`; plain paths unchanged)."""
    if path.name.endswith(ZST_SUFFIX):
        return path.with_name(path.name[: -len(".zst")])
    return path


def zst_rollout_path(path: Path) -> Path:
    """The `.jsonl.zst` path for a rollout path (adds `.zst` to a plain path)."""
    if path.name.endswith(ZST_SUFFIX):
        return path
    return path.with_name(path.name + ".zst")


def rollout_exists(path: Path) -> bool:
    """Whether the rollout at `path` (either name) is there under its plain or `.zst` name."""
    plain = plain_rollout_path(path)
    return plain.exists() or zst_rollout_path(plain).exists()


def relative_rollout_path(data_dir: Path, path: Path) -> str:
    """The plain path of `path` relative to the data dir, POSIX-style (index/report form)."""
    return plain_rollout_path(path).relative_to(data_dir).as_posix()


def iter_rollout_files(data_dir: Path) -> Iterator[RolloutFile]:
    """Every rollout under `sessions/` (recursively) then `archived_sessions/`, sorted by path.

    A `.jsonl.zst` whose plain sibling exists is skipped (the plain file wins). Files whose name
    matches the rollout pattern but carries no thread id are skipped too: nothing can address
    them by id.
    """
    yield from _iter_tree(data_dir / SESSIONS_DIR, archived=False)
    yield from _iter_tree(data_dir / ARCHIVED_SESSIONS_DIR, archived=True)


def find_rollout_file(data_dir: Path, thread_id: str) -> RolloutFile | None:
    """The rollout of `thread_id`: live first, then archived; plain preferred over `.zst`.

    `None` if the thread has no rollout file. The search walks the trees: it never derives the
    date folder from a clock.
    """
    wanted = thread_id.lower()
    suffixes = (f"-{wanted}{PLAIN_SUFFIX}", f"-{wanted}{ZST_SUFFIX}")
    for root, archived in (
        (data_dir / SESSIONS_DIR, False),
        (data_dir / ARCHIVED_SESSIONS_DIR, True),
    ):
        for directory, names in _walk_sorted(root):
            candidates = [
                n for n in names if n.lower().endswith(suffixes) and is_rollout_file_name(n)
            ]
            if not candidates:
                continue
            plain = [n for n in candidates if n.endswith(PLAIN_SUFFIX)]
            chosen = plain[0] if plain else candidates[0]
            return RolloutFile(thread_id=wanted, path=directory / chosen, archived=archived)
    return None


def _iter_tree(root: Path, *, archived: bool) -> Iterator[RolloutFile]:
    for directory, names in _walk_sorted(root):
        present = set(names)
        for name in names:
            if not is_rollout_file_name(name):
                continue
            if name.endswith(ZST_SUFFIX) and name[: -len(".zst")] in present:
                continue
            parsed = parse_rollout_file_name(name)
            if parsed is None:
                continue
            yield RolloutFile(thread_id=parsed.thread_id, path=directory / name, archived=archived)


def _walk_sorted(root: Path) -> Iterator[tuple[Path, list[str]]]:
    """(directory, sorted regular-file names) for `root` and its subdirectories, in path order.

    Uses the entry types `readdir` reports, so a walk costs no `stat` per file (the startup
    scan walks every tree before the first listing is served); symlinks are followed, as
    `os.walk` + `is_file` did."""
    try:
        entries = list(os.scandir(root))
    except (FileNotFoundError, NotADirectoryError):
        return
    files = sorted(entry.name for entry in entries if _is_file(entry))
    yield root, files
    for name in sorted(entry.name for entry in entries if _is_dir(entry)):
        yield from _walk_sorted(root / name)


def _is_file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file()
    except OSError:
        return False


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False
