"""Blocking file work of the rollout writer (always run in a worker thread).

Opening an existing rollout for appending means: restore it if only its `.zst` exists, terminate
a torn last line so the next line starts clean, and find the last ordinal (reading backwards from
the end, so a huge file costs a few reads). Creating a new one means creating its date folders,
and refusing a file that appeared without the writer lock.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

import orjson

from app_server.durable_files import fsync_dir
from app_server.store.local.materialize import materialize_rollout_blocking

logger = logging.getLogger(__name__)

NEW_FILE_MODE = 0o666
"""Mode of a new rollout before the umask (what Rust's `OpenOptions` uses by default)."""

TAIL_CHUNK_BYTES = 1 << 16
"""How much of the file is read per step when looking for the last ordinal."""


class RolloutFileConflict(OSError):
    """A rollout appeared while its writer was open: someone wrote it without the lock."""


def prepare_file(
    plain: Path, data_dir: Path, *, paginated: bool, must_exist: bool = False
) -> tuple[int | None, int, int | None]:
    """Worker thread: materialize, open an existing file, repair its tail, find its last ordinal.

    Returns `(append fd or None if there is no file yet, size, last ordinal or None)`.
    `must_exist`: raise `FileNotFoundError` instead when there is no file (under either name):
    an existing thread's file that is gone was moved or deleted since it was located, and
    appending would start a second rollout at the old place.
    """
    materialize_rollout_blocking(plain, data_dir=data_dir)
    try:
        fd = os.open(plain, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
    except FileNotFoundError:
        if must_exist:
            raise
        return None, 0, None
    try:
        reader = os.open(plain, os.O_RDONLY | os.O_CLOEXEC)
        try:
            size = os.fstat(reader).st_size
            if size > 0 and os.pread(reader, 1, size - 1) != b"\n":
                logger.warning("terminating the torn last line of %s", plain)
                os.write(fd, b"\n")
                size += 1
            last_ordinal = last_ordinal_of(reader, size) if paginated else None
        finally:
            os.close(reader)
    except BaseException:
        os.close(fd)
        raise
    return fd, size, last_ordinal


def close_prepared(prepared: tuple[int | None, int, int | None]) -> None:
    """Undo `_prepare_file` (its caller was cancelled)."""
    fd = prepared[0]
    if fd is not None:
        os.close(fd)


def last_ordinal_of(fd: int, size: int) -> int | None:
    """The `ordinal` of the last parsable line that has one, reading backwards from `size`.

    Unparsable lines (terminated torn fragments) and lines without an ordinal are passed over.
    Long lines are assembled from pieces, so a multi-megabyte line costs one join.
    """
    position = size
    pieces: list[bytes] = []  # the current line's pieces, last piece first
    while position > 0:
        start = max(0, position - TAIL_CHUNK_BYTES)
        block = os.pread(fd, position - start, start)
        if len(block) != position - start:
            raise OSError(f"short read at byte {start} while scanning the rollout tail")
        position = start
        end = len(block)
        while (newline := block.rfind(b"\n", 0, end)) >= 0:
            pieces.append(block[newline + 1 : end])
            ordinal = ordinal_of(b"".join(reversed(pieces)))
            pieces = []
            if ordinal is not None:
                return ordinal
            end = newline
        pieces.append(block[:end])
    return ordinal_of(b"".join(reversed(pieces))) if pieces else None


def ordinal_of(raw: bytes) -> int | None:
    if not raw.strip():
        return None
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(record, dict):
        return None
    ordinal = record.get("ordinal")
    if isinstance(ordinal, int) and not isinstance(ordinal, bool) and ordinal >= 0:
        return ordinal
    return None


def create_file(path: Path) -> tuple[int, set[Path]]:
    """Worker thread: create the rollout (and missing date folders) for appending.

    Returns the descriptor and the directories whose entries the first fsync must persist.
    Refuses a file that exists with content: it appeared after `open` checked, so someone
    wrote it without the writer lock and our ordinals could collide with its lines.
    """
    created: list[Path] = []
    directory = path.parent
    while not directory.exists():
        created.append(directory)
        directory = directory.parent
    for folder in reversed(created):
        with contextlib.suppress(FileExistsError):
            folder.mkdir()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, NEW_FILE_MODE)
    if os.fstat(fd).st_size != 0:
        os.close(fd)
        raise RolloutFileConflict(f"rollout {path} appeared while its writer was open")
    return fd, {path.parent, *(folder.parent for folder in created)}


def fsync_all(fd: int, directories: set[Path]) -> None:
    os.fsync(fd)
    for directory in sorted(directories, key=lambda d: len(d.parts), reverse=True):
        fsync_dir(directory)
