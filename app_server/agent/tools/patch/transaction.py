"""Write a set of file changes all-or-nothing (blocking; run it in a worker thread).

Order of work, chosen so that most failures happen before anything visible changed:

1. check that every file is still what the plan read (else nothing is touched);
2. stage every new content in a temp file next to its target (parents created as needed),
   with the mode (and owner, when permitted) of the file it replaces, fsynced;
3. rename each temp file over its target, keeping a hard link (or a copy) of the old file;
4. deletes last: each file is renamed to a backup name;
5. fsync the directories, then drop the backups.

If any step of 2-4 fails, every step already done is undone in reverse order (backups renamed
back, new files removed, created directories removed) and `PatchApplyError` is raised.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Callable, Sequence
from pathlib import Path

from msgspec import Struct

from app_server.agent.tools.patch.errors import PatchApplyError
from app_server.durable_files import fsync_dir, write_all

NEW_FILE_MODE = 0o644
"""Mode of a file the patch creates, before the umask (the kernel applies it at creation)."""
STAGING_FILE_MODE = 0o600
"""Mode of a temp file that replaces an existing file, until it gets that file's mode."""
NEW_DIRECTORY_MODE = 0o777
"""Mode of a parent directory the patch creates, before the umask."""
TEMP_NAME_STEM_CHARS = 100
"""Room for the target's name in a temp/backup name, keeping it below NAME_MAX."""
TEMP_SUFFIX = ".patch-tmp"
BACKUP_SUFFIX = ".patch-bak"


class FileWrite(Struct, frozen=True):
    """The net effect of a patch on one physical file.

    `location` is the directory entry written (symlinks already resolved, except a symlink that
    is itself deleted); `shown` the path used in messages. `original` is the file's bytes when
    the plan read it (None: absent); `content` the new bytes (None: delete). `mode`/`owner` are
    applied to the new file (None mode: a new file, `NEW_FILE_MODE` minus umask).
    """

    location: Path
    shown: Path
    original: bytes | None
    content: bytes | None
    mode: int | None
    owner: tuple[int, int] | None


def read_regular_file(location: Path) -> tuple[bytes, os.stat_result] | None:
    """The file's bytes and status; None if absent.

    Raises `IsADirectoryError` for a directory and `OSError` for anything else that is not a
    regular file (checked before opening: opening a FIFO would block).
    """
    try:
        info = os.stat(location)
    except (FileNotFoundError, NotADirectoryError):
        return None
    if stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(location))
    if not stat.S_ISREG(info.st_mode):
        raise OSError(errno.EINVAL, "not a regular file", str(location))
    with open(location, "rb") as file:
        return file.read(), info


def commit_writes(writes: Sequence[FileWrite]) -> None:
    """Apply every write, or none: on failure the files are as before and the error is raised."""
    for write in writes:
        try:
            current = read_regular_file(write.location)
            unchanged = (None if current is None else current[0]) == write.original
        except OSError:
            unchanged = False  # now a directory, a FIFO, unreadable…
        if not unchanged:
            raise PatchApplyError(
                f"{write.shown} changed on disk after the patch was checked; nothing was written"
            )
    journal = _Journal()
    try:
        staged = [(write, journal.stage(write)) for write in writes if write.content is not None]
        for write, temp in staged:
            journal.replace(write, temp)
        for write in writes:
            if write.content is None and write.original is not None:
                journal.delete(write)
    except BaseException as error:
        problems = journal.rollback()
        if not isinstance(error, OSError):
            raise
        detail = error.strerror or str(error)
        message = f"{journal.action}: {detail}"
        if problems:
            message += "; rollback incomplete: " + "; ".join(problems)
        raise PatchApplyError(message) from error
    journal.commit()


class _Journal:
    """What has been done so far, so that it can be undone or finalised."""

    def __init__(self) -> None:
        self.token = secrets.token_hex(6)
        self.action = "Failed to apply patch"
        self.created_dirs: list[Path] = []
        self.temps: list[Path] = []
        self.replaced: list[tuple[Path, Path | None]] = []  # (target, backup of the old file)
        self.deleted: list[tuple[Path, Path]] = []  # (target, where it was moved)
        self.touched_dirs: set[Path] = set()

    def _sibling(self, target: Path, suffix: str) -> Path:
        return target.parent / f".{target.name[:TEMP_NAME_STEM_CHARS]}.{self.token}{suffix}"

    def _make_parents(self, directory: Path) -> None:
        missing: list[Path] = []
        current = directory
        while True:
            try:
                info = os.stat(current)
            except FileNotFoundError:
                missing.append(current)
                current = current.parent
                continue
            if not stat.S_ISDIR(info.st_mode):
                raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(current))
            break
        for created in reversed(missing):
            os.mkdir(created, NEW_DIRECTORY_MODE)
            self.created_dirs.append(created)
            self.touched_dirs.add(created.parent)

    def stage(self, write: FileWrite) -> Path:
        """Write the new content to a temp file beside the target; return its path."""
        assert write.content is not None
        self.action = f"Failed to create parent directories for {write.shown}"
        self._make_parents(write.location.parent)
        self.action = f"Failed to write file {write.shown}"
        temp = self._sibling(write.location, TEMP_SUFFIX)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW
        fd = os.open(temp, flags, NEW_FILE_MODE if write.mode is None else STAGING_FILE_MODE)
        self.temps.append(temp)
        try:
            write_all(fd, write.content)
            if write.owner is not None:
                with contextlib.suppress(OSError):
                    os.fchown(fd, *write.owner)
            if write.mode is not None:
                os.fchmod(fd, write.mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        return temp

    def _backup(self, write: FileWrite) -> Path:
        """Keep the old file under a backup name: a hard link, else a copy from memory."""
        backup = self._sibling(write.location, BACKUP_SUFFIX)
        try:
            os.link(write.location, backup, follow_symlinks=False)
        except OSError:
            assert write.original is not None
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW
            fd = os.open(backup, flags, STAGING_FILE_MODE)
            try:
                write_all(fd, write.original)
                if write.mode is not None:
                    os.fchmod(fd, write.mode)
            finally:
                os.close(fd)
        return backup

    def replace(self, write: FileWrite, temp: Path) -> None:
        """Rename the staged file over its target, keeping a backup of an existing target."""
        self.action = f"Failed to write file {write.shown}"
        backup = self._backup(write) if write.original is not None else None
        try:
            os.replace(temp, write.location)
        except BaseException:
            if backup is not None:
                with contextlib.suppress(OSError):
                    os.unlink(backup)
            raise
        self.temps.remove(temp)
        self.replaced.append((write.location, backup))
        self.touched_dirs.add(write.location.parent)

    def delete(self, write: FileWrite) -> None:
        """Move the file to a backup name; it disappears for good at commit."""
        self.action = f"Failed to delete file {write.shown}"
        backup = self._sibling(write.location, BACKUP_SUFFIX)
        os.rename(write.location, backup)
        self.deleted.append((write.location, backup))
        self.touched_dirs.add(write.location.parent)

    def rollback(self) -> list[str]:
        """Undo everything in reverse order; return what could not be undone."""
        problems: list[str] = []

        def attempt(description: str, action: Callable[..., object], *args: Path) -> None:
            try:
                action(*args)
            except OSError as error:
                problems.append(f"{description}: {error.strerror or error}")

        for target, backup in reversed(self.deleted):
            attempt(f"could not restore {target}", os.rename, backup, target)
        for target, original_backup in reversed(self.replaced):
            if original_backup is None:
                attempt(f"could not remove {target}", os.unlink, target)
            else:
                attempt(f"could not restore {target}", os.replace, original_backup, target)
        for temp in self.temps:
            attempt(f"could not remove {temp}", os.unlink, temp)
        for directory in reversed(self.created_dirs):
            attempt(f"could not remove {directory}", os.rmdir, directory)
        self._sync_dirs()
        return problems

    def commit(self) -> None:
        """Make the renames durable, then drop the backups (failures there change nothing)."""
        self._sync_dirs()
        backups = [backup for _, backup in self.replaced if backup is not None]
        backups += [backup for _, backup in self.deleted]
        for backup in backups:
            with contextlib.suppress(OSError):
                os.unlink(backup)

    def _sync_dirs(self) -> None:
        for directory in sorted(self.touched_dirs):
            fsync_dir(directory, best_effort=True)
