"""Restore a compressed rollout (`<name>.jsonl.zst`) to its plain `<name>.jsonl` before appending.

Writers append only to plain files (STORAGE.md §6, invariant 1). A thread whose rollout was
compressed while cold is materialized first, atomically, so that at every instant a reader finds
the whole content under one of the two names (readers prefer the plain file, invariant 2):

1. stream-decompress into `<name>.jsonl.decompress.<pid>.<n>.tmp` in the same directory, created
   exclusively with the `.zst`'s permission bits; copy its atime/mtime (the content did not
   change, so neither does its age); fsync the temp;
2. publish it as `<name>.jsonl` with a no-clobber hard link (`link` fails if the name exists),
   falling back to a no-clobber rename (`renameat2(RENAME_NOREPLACE)`, or check-then-rename
   where that is unavailable) on file systems without hard links; fsync the directory;
3. remove the temp name (if the link succeeded), then the `.zst`; fsync the directory.

Crash at any step: before 2 the `.zst` is intact and only a stale `*.tmp` is left (the
compression worker sweeps those); after 2 both names hold the same content and the plain one
wins; after 3 only the plain file remains.

Only the thread's writer may materialize (the caller holds the thread's writer lock), so no
other process appends to the plain file meanwhile.

When the plain file already exists it is used as is. A `.zst` next to it is removed only when
that is known to be safe: its decompressed content is byte-identical to the plain file or a
prefix of it (nothing would be lost), *and* no compression run can be in flight (we can take
`.tmp/rollout-maintenance.lock` without waiting; a compressor between "publish .zst" and
"delete plain" would otherwise delete the plain file we just vouched for). Otherwise both are
kept and the plain file is preferred.

All functions here block; `materialize_rollout` runs them in a worker thread.
"""

from __future__ import annotations

import asyncio
import ctypes
import enum
import errno
import fcntl
import functools
import itertools
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import cast

import zstandard

from app_server.durable_files import fsync_dir, write_all
from app_server.store.local.rollout_files import plain_rollout_path, zst_rollout_path

logger = logging.getLogger(__name__)

MAINTENANCE_LOCK = Path(".tmp", "rollout-maintenance.lock")
"""Held (exclusive flock) by compression/migration runs, relative to the data dir."""

_CHUNK = 1 << 20
_temp_counter = itertools.count()


class MaterializeOutcome(enum.Enum):
    """What `materialize_rollout` found and did."""

    RESTORED = "restored"
    """Only the `.zst` existed; the plain file was restored and the `.zst` removed."""
    PLAIN = "plain"
    """The plain file already existed (a `.zst` sibling, if any, was removed only if safe)."""
    ABSENT = "absent"
    """Neither file exists (a thread without a rollout yet)."""


async def materialize_rollout(path: Path, *, data_dir: Path | None = None) -> MaterializeOutcome:
    """`materialize_rollout_blocking` in a worker thread."""
    return await asyncio.to_thread(materialize_rollout_blocking, path, data_dir=data_dir)


def materialize_rollout_blocking(path: Path, *, data_dir: Path | None = None) -> MaterializeOutcome:
    """Make sure the plain `.jsonl` of the rollout at `path` (plain or `.zst` path) exists.

    `data_dir` locates the maintenance lock; without it a stale `.zst` next to an existing plain
    file is never removed (when in doubt, keep both). The caller must hold the thread's writer
    lock.
    """
    plain = plain_rollout_path(path)
    zst = zst_rollout_path(path)
    if plain.exists():
        if zst.exists():
            _remove_stale_zst(plain, zst, data_dir)
        return MaterializeOutcome.PLAIN
    try:
        source = os.open(zst, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return MaterializeOutcome.PLAIN if plain.exists() else MaterializeOutcome.ABSENT
    try:
        restored = _restore(source, zst, plain)
    finally:
        os.close(source)
    if not restored:
        # The plain file appeared meanwhile (someone broke the writer-lock protocol): use it.
        logger.warning("plain rollout %s appeared while materializing; keeping both", plain)
        return MaterializeOutcome.PLAIN
    zst.unlink(missing_ok=True)
    fsync_dir(plain.parent)
    return MaterializeOutcome.RESTORED


def _restore(source: int, zst: Path, plain: Path) -> bool:
    """Decompress `source` to a temp and publish it as `plain`; False if `plain` exists."""
    info = os.fstat(source)
    mode = info.st_mode & 0o7777
    temp, fd = _create_temp(plain, mode)
    published = False
    try:
        try:
            os.fchmod(fd, mode)  # exact bits, whatever the umask
            _decompress_into(source, fd)
            os.utime(fd, ns=(info.st_atime_ns, info.st_mtime_ns))
            os.fsync(fd)
        finally:
            os.close(fd)
        published = publish_no_clobber(temp, plain)
        if published:
            fsync_dir(plain.parent)
        return published
    finally:
        # After a successful link the temp is a second name of the published file: drop it.
        # After a rename it no longer exists. After a failure it is garbage.
        temp.unlink(missing_ok=True)


def _create_temp(plain: Path, mode: int) -> tuple[Path, int]:
    """`<name>.jsonl.decompress.<pid>.<n>.tmp`, created exclusively (skips leftovers)."""
    while True:
        temp = plain.with_name(f"{plain.name}.decompress.{os.getpid()}.{next(_temp_counter)}.tmp")
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
        except FileExistsError:
            continue  # a leftover of a crashed process that had our pid
        return temp, fd


def _decompress_into(source: int, target: int) -> None:
    with (
        open(source, "rb", closefd=False) as raw,
        zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True) as reader,
    ):
        while chunk := reader.read(_CHUNK):
            write_all(target, chunk)


def publish_no_clobber(temp: Path, plain: Path) -> bool:
    """Give `temp`'s content the name `plain` without replacing an existing file.

    True if published (after a hard link `temp` is a second name of the file: the caller
    removes it; after the rename fallback it is gone), False if `plain` already exists. Shared
    with the compressor, which publishes `<name>.jsonl.zst` the same way.
    """
    try:
        os.link(temp, plain)
        return True
    except FileExistsError:
        return False
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        logger.debug("hard link unavailable for %s (%s); renaming instead", plain, error)
    return _rename_no_clobber(temp, plain)


def _rename_no_clobber(source: Path, target: Path) -> bool:
    """`renameat2(RENAME_NOREPLACE)` where available, else check-then-rename.

    The fallback has a window between the check and the rename; it is only reached on file
    systems without hard links *and* without RENAME_NOREPLACE, and the writer lock keeps other
    materializers of this thread out anyway.
    """
    result = _renameat2_noreplace(source, target)
    if result is not None:
        return result
    if target.exists():
        return False
    os.rename(source, target)
    return True


_AT_FDCWD = -100
_RENAME_NOREPLACE = 1


def _renameat2_noreplace(source: Path, target: Path) -> bool | None:
    """True if renamed, False if `target` exists, None if the call is unsupported here."""
    renameat2 = _libc_renameat2()
    if renameat2 is None:
        return None
    status = renameat2(
        _AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(target), _RENAME_NOREPLACE
    )
    if status == 0:
        return True
    code = ctypes.get_errno()
    if code == errno.EEXIST:
        return False
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return None
    raise OSError(code, os.strerror(code), str(source), None, str(target))


_Renameat2 = Callable[[int, bytes, int, bytes, int], int]


@functools.cache
def _libc_renameat2() -> _Renameat2 | None:
    try:
        # The running interpreter's own symbols include libc's (no ldconfig lookup needed).
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    function.argtypes = (
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    )
    function.restype = ctypes.c_int
    return cast(_Renameat2, function)


def _remove_stale_zst(plain: Path, zst: Path, data_dir: Path | None) -> None:
    """Remove `zst` if its content is contained in `plain` and no compressor can be running."""
    if data_dir is None:
        return
    lock_path = data_dir / MAINTENANCE_LOCK
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        lock = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError:
        return
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # a compression/migration run is in flight: keep both
        if _zst_is_prefix_of(zst, plain):
            zst.unlink(missing_ok=True)
            fsync_dir(plain.parent)
            logger.info("removed stale %s (its content is in %s)", zst, plain.name)
        else:
            logger.warning("%s differs from %s; keeping both (plain wins)", zst, plain.name)
    except (OSError, zstandard.ZstdError) as error:
        logger.warning("could not check stale %s: %s; keeping both", zst, error)
    finally:
        os.close(lock)


def _zst_is_prefix_of(zst: Path, plain: Path) -> bool:
    """Whether the decompressed `zst` equals `plain` or a prefix of it."""
    with (
        zst.open("rb") as raw,
        zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True) as reader,
        plain.open("rb") as plain_file,
    ):
        while chunk := reader.read(_CHUNK):
            if plain_file.read(len(chunk)) != chunk:
                return False
    return True
