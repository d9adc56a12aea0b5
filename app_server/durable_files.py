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
