"""Small POSIX building blocks for durable file changes, shared by the local store's modules.

A rename or unlink is durable only once its directory is fsynced; a `write(2)` may be short.
"""

from __future__ import annotations

import os
from pathlib import Path


def fsync_dir(directory: Path, *, best_effort: bool = False) -> None:
    """fsync a directory, making renames/unlinks in it durable.

    `best_effort`: ignore file systems that refuse to open or fsync directories (the operation
    already happened; only its durability against power loss is weaker there).
    """
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        if best_effort:
            return
        raise
    try:
        os.fsync(fd)
    except OSError:
        if not best_effort:
            raise
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    """Write every byte, looping over short writes."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def replace_atomically(path: Path, data: bytes) -> None:
    """Make `path` hold exactly `data`, or leave it as it was: a crash or a full disk at any
    point leaves the old file or the new one, never a mix (temp file in the same directory,
    fsync, rename, fsync of the directory). An existing file keeps its permission bits."""
    directory = path.parent
    directory.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o600
    temp = directory / f".{path.name}.{os.getpid()}.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    try:
        write_all(fd, data)
        os.fchmod(fd, mode)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        temp.unlink(missing_ok=True)
        raise
    os.close(fd)
    try:
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_dir(directory, best_effort=True)
