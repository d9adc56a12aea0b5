"""Compress one cold rollout `<name>.jsonl` into `<name>.jsonl.zst` (STORAGE.md §6, per file).

The reverse of `materialize` (which restores the plain file before a writer appends), with the
same rule: at every instant a reader finds the whole content under one of the two names
(readers prefer the plain file, §6 invariant 2), and a crash at any step loses nothing:

1. skip if `<name>.jsonl.zst` already exists (it is never clobbered);
2. stream-compress (zstd level 3) into `rollout-compress-*.tmp`, created exclusively in the same
   directory, hashing the plain bytes as they are read;
3. verify: decompress the temp completely and compare length and hash with what was read;
4. re-stat the source: if its size, mtime, permission bits or identity changed since it was
   opened, someone appended or replaced it — drop the temp and skip ("changed");
5. copy the source's atime/mtime (its age survives, §6 invariant 4) and permission bits onto the
   temp, fsync it;
6. publish it as `<name>.jsonl.zst` with a no-clobber link/rename (`materialize`'s helper),
   fsync the directory;
7. re-check the source: if it changed (or vanished) meanwhile, delete the `.zst` again and keep
   the plain file ("changed");
8. delete the plain file and fsync the directory.

Crash before 6: the plain file is intact and a stale `*.tmp` remains (the worker sweeps those).
Between 6 and 8: both names hold the same content; readers and `materialize` use the plain one.
After 8: only the `.zst` remains.

What makes steps 7 and 8 safe is the caller, not this module: it must hold the thread's writer
lock for the whole call (`compression_worker` does), so no writer can append between the last
check and the unlink. The checks here are the second line of defence against programs that do
not follow the lock protocol.

Everything here blocks; run it in a worker thread. `stop` (a `threading.Event`) lets a shutdown
abandon a long compression between chunks, before anything is published.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

import zstandard
from msgspec import Struct

from app_server.durable_files import fsync_dir
from app_server.store.local.materialize import publish_no_clobber
from app_server.store.local.rollout_files import plain_rollout_path, zst_rollout_path

logger = logging.getLogger(__name__)

ZSTD_LEVEL = 3
"""codex's level: about 5 to 10 times smaller JSONL at a few hundred MB/s of one core."""

CHUNK_BYTES = 1 << 20
"""Bytes read, compressed and verified per step (bounds memory; `stop` is checked per chunk)."""

TEMP_PREFIX = "rollout-compress-"
TEMP_SUFFIX = ".tmp"


class CompressOutcome(enum.Enum):
    """What `compress_rollout` did with one file."""

    COMPRESSED = "compressed"
    """The `.zst` was published and the plain file removed."""
    EXISTS = "exists"
    """A `.zst` already existed (or appeared before publishing): nothing was replaced."""
    CHANGED = "changed"
    """The source changed (or vanished) while it was being compressed: it was kept plain."""
    MISSING = "missing"
    """The plain file did not exist (moved or compressed since it was listed)."""
    VERIFY_FAILED = "verify_failed"
    """The temp did not decompress to the source's bytes (a bug or a disk fault): dropped."""
    STOPPED = "stopped"
    """`stop` was set before publishing; the temp was removed."""


class CompressStep(enum.Enum):
    """Points of the protocol where a `checkpoint` callback runs (tests use it to interfere)."""

    VERIFIED = "verified"
    """After verification, before the source is re-checked and the `.zst` published."""
    PUBLISHED = "published"
    """After the `.zst` is published, before the source is re-checked and deleted."""


class CompressResult(Struct, frozen=True):
    """The outcome and the sizes (plain bytes read; `.zst` bytes written, 0 if none kept)."""

    outcome: CompressOutcome
    plain_bytes: int = 0
    compressed_bytes: int = 0
    mtime_ns: int = 0
    """The source's (and, when compressed, the `.zst`'s) mtime."""


class _Identity(Struct, frozen=True):
    """What must not change while a file is compressed."""

    device: int
    inode: int
    size: int
    mtime_ns: int
    mode: int

    @classmethod
    def of(cls, info: os.stat_result) -> _Identity:
        return cls(info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_mode)


class _Stopped(Exception):
    """`stop` was set while compressing."""


def compress_rollout(
    path: Path,
    *,
    stop: threading.Event | None = None,
    checkpoint: Callable[[CompressStep], None] | None = None,
) -> CompressResult:
    """Compress the rollout at `path` (plain path or `.zst` path) per the module protocol.

    The caller must hold the thread's writer lock. Raises `OSError` for I/O failures (the temp
    is removed; the plain file is untouched).
    """
    plain = plain_rollout_path(path)
    zst = zst_rollout_path(path)
    if os.path.lexists(zst):
        return CompressResult(CompressOutcome.EXISTS)
    try:
        source = os.open(plain, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return CompressResult(CompressOutcome.MISSING)
    try:
        info = os.fstat(source)
        before = _Identity.of(info)
        try:
            published = _compress_and_publish(source, info, plain, zst, stop, checkpoint)
        except _Stopped:
            return CompressResult(CompressOutcome.STOPPED, 0, 0, before.mtime_ns)
    finally:
        os.close(source)
    if published.outcome is not CompressOutcome.COMPRESSED:
        return published
    if checkpoint is not None:
        checkpoint(CompressStep.PUBLISHED)
    if _current(plain) != before:
        logger.info("%s changed while it was compressed; keeping it plain", plain)
        zst.unlink(missing_ok=True)
        fsync_dir(plain.parent)
        return CompressResult(CompressOutcome.CHANGED, published.plain_bytes, 0, before.mtime_ns)
    plain.unlink()
    fsync_dir(plain.parent)
    return published


def _compress_and_publish(
    source: int,
    info: os.stat_result,
    plain: Path,
    zst: Path,
    stop: threading.Event | None,
    checkpoint: Callable[[CompressStep], None] | None,
) -> CompressResult:
    """Steps 2 to 6: compress into a temp, verify, re-check, finish and publish it.

    COMPRESSED here means "published" (the plain file still exists).
    """
    before = _Identity.of(info)
    temp, size, digest = _compress_to_temp(source, plain.parent, stop)
    try:
        if size != before.size:  # appended (or truncated) while we read it
            return CompressResult(CompressOutcome.CHANGED, size, 0, before.mtime_ns)
        if not _decompresses_to(temp, size, digest, stop):
            logger.error("compressed %s does not decompress to the original; kept plain", plain)
            return CompressResult(CompressOutcome.VERIFY_FAILED, size, 0, before.mtime_ns)
        if checkpoint is not None:
            checkpoint(CompressStep.VERIFIED)
        if _current(plain) != before:
            return CompressResult(CompressOutcome.CHANGED, size, 0, before.mtime_ns)
        compressed = _finish_temp(temp, info)
        if not publish_no_clobber(temp, zst):
            return CompressResult(CompressOutcome.EXISTS, size, 0, before.mtime_ns)
        fsync_dir(plain.parent)
        return CompressResult(CompressOutcome.COMPRESSED, size, compressed, before.mtime_ns)
    finally:
        # After a link the temp is a second name of the `.zst`; after a rename it is gone;
        # after a skip or a failure it is garbage.
        temp.unlink(missing_ok=True)


def is_compress_temp_name(name: str) -> bool:
    """Whether `name` is one of our compression temps (`rollout-compress-*.tmp`)."""
    return name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX)


def _compress_to_temp(
    source: int, directory: Path, stop: threading.Event | None
) -> tuple[Path, int, bytes]:
    """Stream `source` through zstd into a new exclusive temp; (temp, bytes read, hash)."""
    fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX, dir=directory)
    temp = Path(name)
    hasher = hashlib.blake2b()
    size = 0
    try:
        with (
            open(fd, "wb", closefd=False) as target,
            zstandard.ZstdCompressor(level=ZSTD_LEVEL).stream_writer(
                target, closefd=False
            ) as writer,
        ):
            while chunk := os.read(source, CHUNK_BYTES):
                if stop is not None and stop.is_set():
                    raise _Stopped
                hasher.update(chunk)
                size += len(chunk)
                writer.write(chunk)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    finally:
        os.close(fd)
    return temp, size, hasher.digest()


def _decompresses_to(temp: Path, size: int, digest: bytes, stop: threading.Event | None) -> bool:
    """Whether `temp` decompresses to exactly `size` bytes hashing to `digest`."""
    hasher = hashlib.blake2b()
    total = 0
    try:
        with (
            temp.open("rb") as raw,
            zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True) as reader,
        ):
            while chunk := reader.read(CHUNK_BYTES):
                if stop is not None and stop.is_set():
                    raise _Stopped
                hasher.update(chunk)
                total += len(chunk)
    except zstandard.ZstdError as error:
        logger.error("verifying %s failed: %s", temp, error)
        return False
    return total == size and hasher.digest() == digest


def _finish_temp(temp: Path, source: os.stat_result) -> int:
    """Give the temp the source's permission bits and times, fsync it; its size."""
    fd = os.open(temp, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fchmod(fd, source.st_mode & 0o7777)
        os.utime(fd, ns=(source.st_atime_ns, source.st_mtime_ns))
        os.fsync(fd)
        return os.fstat(fd).st_size
    finally:
        os.close(fd)


def _current(plain: Path) -> _Identity | None:
    """The plain file's identity now, or None if it is gone."""
    try:
        return _Identity.of(os.stat(plain))
    except FileNotFoundError:
        return None
