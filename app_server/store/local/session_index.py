"""`session_index.jsonl`: codex's append-only thread-name index (STORAGE.md §4).

One JSON line per rename: `{"id":"<thread id>","thread_name":"…","updated_at":"<RFC 3339>"}`.
The latest line per id wins (file order: the file is append-only). Thread names live only here
and in SQLite, never in the rollout, so an index rebuild must read them from this file.

Robustness: torn or garbage lines are skipped when reading; an append after a torn tail starts
on a fresh line; `thread/delete` rewrites the file without the deleted ids through a temp file
in the same directory, fsync and an atomic rename, so a crash leaves the old or the new file.

Blocking I/O: run it in a worker thread.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import time
from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import Path

import orjson
from msgspec import Struct

from app_server.durable_files import fsync_dir

logger = logging.getLogger(__name__)

SESSION_INDEX_FILE = "session_index.jsonl"


class SessionIndexEntry(Struct, frozen=True):
    """One rename: the thread's name as of `updated_at` (RFC 3339 text, as written)."""

    thread_id: str
    thread_name: str
    updated_at: str


def session_index_path(data_dir: Path) -> Path:
    """`<data dir>/session_index.jsonl`."""
    return data_dir / SESSION_INDEX_FILE


def read_session_index(data_dir: Path) -> dict[str, SessionIndexEntry]:
    """Latest entry per thread id; `{}` when the file does not exist."""
    entries: dict[str, SessionIndexEntry] = {}
    path = session_index_path(data_dir)
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return entries
    with handle:
        for number, line in enumerate(handle, start=1):
            entry = _parse_line(line)
            if entry is None:
                if line.strip():
                    logger.warning("skipping unreadable line %d of %s", number, path)
                continue
            entries[entry.thread_id] = entry
    return entries


def thread_name(data_dir: Path, thread_id: str) -> str | None:
    """The current name of `thread_id`, or `None` when it was never named."""
    entry = read_session_index(data_dir).get(thread_id)
    return entry.thread_name if entry is not None else None


def format_updated_at(epoch_ns: int) -> str:
    """RFC 3339 UTC with nanoseconds and `Z`, like codex (`2026-11-24T18:57:49.150432202Z`)."""
    seconds, nanos = divmod(epoch_ns, 1_000_000_000)
    stamp = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{nanos:09d}Z"


def append_thread_name(
    data_dir: Path, thread_id: str, name: str, *, epoch_ns: int | None = None
) -> SessionIndexEntry:
    """Append a rename line (`epoch_ns` defaults to now) and fsync it; returns the entry."""
    entry = SessionIndexEntry(
        thread_id=thread_id,
        thread_name=name,
        updated_at=format_updated_at(time.time_ns() if epoch_ns is None else epoch_ns),
    )
    line = _encode(entry)
    path = session_index_path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        if _ends_with_torn_line(path):
            line = b"\n" + line
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)
    return entry


def rewrite_session_index_without(data_dir: Path, thread_ids: Collection[str]) -> int:
    """Rewrite the index without any line of `thread_ids`; returns how many lines were removed.

    Kept lines are copied byte for byte (newline-terminated); unreadable lines are removed too
    (and counted).
    The new file replaces the old one atomically (temp file in the same directory, fsync,
    rename, directory fsync) and keeps its permissions. No-op when the file does not exist or
    nothing would change.
    """
    path = session_index_path(data_dir)
    try:
        raw_lines = path.read_bytes().splitlines(keepends=True)
    except FileNotFoundError:
        return 0
    kept: list[bytes] = []
    for line in raw_lines:
        entry = _parse_line(line)
        if entry is None or entry.thread_id in thread_ids:
            continue
        kept.append(line if line.endswith(b"\n") else line + b"\n")
    if kept == raw_lines:
        return 0
    mode = path.stat().st_mode & 0o777
    fd, temp_name = tempfile.mkstemp(prefix=f".{SESSION_INDEX_FILE}.", suffix=".tmp", dir=data_dir)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.writelines(kept)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    fsync_dir(data_dir, best_effort=True)
    return len(raw_lines) - len(kept)


def _parse_line(line: bytes) -> SessionIndexEntry | None:
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(value, dict):
        return None
    thread_id = value.get("id")
    name = value.get("thread_name")
    updated_at = value.get("updated_at")
    if not isinstance(thread_id, str) or not isinstance(name, str):
        return None
    return SessionIndexEntry(
        thread_id=thread_id,
        thread_name=name,
        updated_at=updated_at if isinstance(updated_at, str) else "",
    )


def _encode(entry: SessionIndexEntry) -> bytes:
    value = {
        "id": entry.thread_id,
        "thread_name": entry.thread_name,
        "updated_at": entry.updated_at,
    }
    return orjson.dumps(value) + b"\n"


def _ends_with_torn_line(path: Path) -> bool:
    """Whether the file is non-empty and does not end with a newline."""
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() == 0:
            return False
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) != b"\n"
