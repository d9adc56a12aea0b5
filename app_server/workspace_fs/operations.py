"""File operations on absolute host paths, as codex 0.169 serves `fs/*` (observed on the binary).

Every function here blocks (it is plain `os` work) and is meant to run in a worker thread
(`asyncio.to_thread`). A failure the client can cause raises `PathError` naming the path and the
OS's reason in codex's words ("No such file or directory (os error 2)"); a refusal codex words
itself (a directory copied without `recursive`) raises `InvalidRequest` with codex's text.

Memory: a file is read straight into its base64 text chunk by chunk, and a write decodes chunk by
chunk into a temporary file, so neither holds the raw bytes and their encoding at once.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator

from msgspec import Struct

from app_server.errors import InvalidRequest, PathError

CHUNK_BYTES = 3 * 1024 * 1024
"""Raw bytes read (or decoded) per step: a multiple of 3 so that each chunk's base64 has no
padding and the chunks concatenate into the file's encoding. The cost is one chunk of memory
beside the result."""

CHUNK_CHARS = CHUNK_BYTES // 3 * 4
"""Base64 characters decoded per step of a write (one `CHUNK_BYTES` of output)."""


class Metadata(Struct, frozen=True):
    """What `fs/getMetadata` reports: the target's kind (symlinks followed), whether the path
    itself is a symlink, and its times in Unix milliseconds (0 when the system has none)."""

    is_directory: bool
    is_file: bool
    is_symlink: bool
    created_at_ms: int
    modified_at_ms: int


class DirectoryEntry(Struct, frozen=True):
    """One child of a directory (`fs/readDirectory`), its kind with symlinks followed."""

    file_name: str
    is_directory: bool
    is_file: bool


def os_reason(exc: OSError) -> str:
    """The OS's text for `exc` as codex (Rust's `io::Error`) prints it."""
    if exc.errno is None:
        return str(exc)
    return f"{os.strerror(exc.errno)} (os error {exc.errno})"


@contextlib.contextmanager
def _named(path: str) -> Iterator[None]:
    """Turn an `OSError` inside the block into a `PathError` naming `path`."""
    try:
        yield
    except OSError as exc:
        raise PathError(path, os_reason(exc)) from None


def read_file_base64(path: str) -> str:
    """The file's content as base64. A directory (or anything not a regular file after following
    symlinks) is refused with codex's text."""
    with _named(path):
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        with _named(path):
            info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InvalidRequest(f"path `{path}` is not a file")
        out = bytearray()
        with _named(path), os.fdopen(fd, "rb", buffering=0, closefd=False) as stream:
            while chunk := stream.read(CHUNK_BYTES):
                out += base64.b64encode(chunk)
        return out.decode("ascii")
    finally:
        os.close(fd)


WRITE_TEMP_PREFIX = ".fs-write-"
WRITE_TEMP_SUFFIX = ".tmp"
"""How `write_file_base64` names its temporary file beside the target (`fs/watch` leaves such
files out of `fs/changed`: codex writes in place, so its watchers see the target only)."""


def is_write_temp(path: str) -> bool:
    """Whether `path` is one of `write_file_base64`'s temporary files."""
    name = os.path.basename(path)
    return name.startswith(WRITE_TEMP_PREFIX) and name.endswith(WRITE_TEMP_SUFFIX)


def write_file_base64(path: str, data_base64: str) -> None:
    """Replace the file's content atomically: decoded into a temporary file beside it, flushed
    to disk, then renamed over it (a reader sees the old or the new content, never a mix; a
    failure leaves the old file untouched). A symlink is written through to its target, and an
    existing file keeps its permissions."""
    target = os.path.realpath(path) if os.path.islink(path) else path
    with _named(path):
        if os.path.isdir(target):
            raise IsADirectoryError(21, "Is a directory")
        directory = os.path.dirname(target) or "/"
        fd, temp = tempfile.mkstemp(
            prefix=WRITE_TEMP_PREFIX, suffix=WRITE_TEMP_SUFFIX, dir=directory
        )
    try:
        with os.fdopen(fd, "wb") as stream:
            for start in range(0, len(data_base64), CHUNK_CHARS):
                piece = data_base64[start : start + CHUNK_CHARS]
                try:
                    stream.write(base64.b64decode(piece, validate=True))
                except (binascii.Error, ValueError) as exc:
                    raise InvalidRequest(
                        f"fs/writeFile requires valid base64 dataBase64: {exc}"
                    ) from None
            stream.flush()
            os.fsync(stream.fileno())
        with _named(path):
            try:
                mode = stat.S_IMODE(os.stat(target).st_mode)
            except FileNotFoundError:
                umask = os.umask(0)
                os.umask(umask)
                mode = 0o666 & ~umask
            os.chmod(temp, mode)
            os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def create_directory(path: str, *, recursive: bool) -> None:
    """`mkdir -p` when `recursive` (an existing directory is fine), else one `mkdir` (an existing
    path is refused, as codex does)."""
    with _named(path):
        if recursive:
            os.makedirs(path, exist_ok=True)
        else:
            os.mkdir(path)


def metadata(path: str) -> Metadata:
    """`stat` (symlinks followed) plus whether the path itself is a symlink."""
    with _named(path):
        link = os.lstat(path)
        info = os.stat(path) if stat.S_ISLNK(link.st_mode) else link
    birth = getattr(info, "st_birthtime", None)
    return Metadata(
        is_directory=stat.S_ISDIR(info.st_mode),
        is_file=stat.S_ISREG(info.st_mode),
        is_symlink=stat.S_ISLNK(link.st_mode),
        created_at_ms=int(birth * 1000) if birth is not None else 0,
        modified_at_ms=info.st_mtime_ns // 1_000_000,
    )


def read_directory(path: str) -> list[DirectoryEntry]:
    """The directory's children in the order the file system lists them (as codex)."""
    entries = []
    with _named(path), os.scandir(path) as listing:
        for entry in listing:
            entries.append(
                DirectoryEntry(
                    file_name=entry.name,
                    is_directory=_quiet(entry.is_dir),
                    is_file=_quiet(entry.is_file),
                )
            )
    return entries


def _quiet(check: object) -> bool:
    """`entry.is_dir()` / `is_file()`, False when the entry vanished or cannot be followed."""
    try:
        return bool(check())  # type: ignore[operator]
    except OSError:
        return False


def remove(path: str, *, recursive: bool, force: bool) -> None:
    """Remove a file, a symlink (not its target) or a directory (its whole tree when
    `recursive`, else only when empty). A missing path is fine when `force`."""
    with _named(path):
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            if force:
                return
            raise
        if not stat.S_ISDIR(info.st_mode):
            os.unlink(path)
        elif recursive:
            shutil.rmtree(path)
        else:
            os.rmdir(path)


def copy(source: str, destination: str, *, recursive: bool) -> None:
    """Copy a file (over an existing one), a symlink (as a symlink) or, with `recursive`, a
    directory tree (symlinks inside kept as symlinks). Refusals use codex's texts."""
    with _named(source):
        info = os.lstat(source)
    if stat.S_ISDIR(info.st_mode):
        if not recursive:
            raise InvalidRequest("fs/copy requires recursive: true when sourcePath is a directory")
        if destination == source or destination.startswith(source.rstrip("/") + "/"):
            raise InvalidRequest(
                "fs/copy cannot copy a directory to itself or one of its descendants"
            )
        with _named(destination):
            shutil.copytree(source, destination, symlinks=True, dirs_exist_ok=True)
        return
    with _named(destination):
        if stat.S_ISLNK(info.st_mode):
            link = os.readlink(source)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(destination)
            os.symlink(link, destination)
        else:
            shutil.copyfile(source, destination)
            shutil.copymode(source, destination)
