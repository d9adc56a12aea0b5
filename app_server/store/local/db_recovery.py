"""Quarantine of a damaged SQLite file, and the `configWarning` telling clients about it.

STORAGE.md §7.3: a database that is not a database, fails its integrity check or has a schema
we cannot read is **moved** (never deleted) with its `-wal`/`-shm` siblings into
`<data dir>/db-backups/sqlite-<unix seconds>-<n>/`, a fresh file is created and rebuilt from
the rollouts, and every client is told after `initialize` with a `configWarning` whose text is
`rebuilt_database_warning`. Rollouts are never touched. Any of our SQLite caches can use this.

Blocking file I/O: run it in a worker thread.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from msgspec import Struct

from app_server.durable_files import fsync_dir

BACKUPS_DIR: Final = "db-backups"
"""Folder under the data dir holding quarantined databases."""
SIDE_FILE_SUFFIXES: Final = ("-wal", "-shm", "-journal")
"""Siblings that belong to a SQLite file and move with it."""
MAX_BACKUP_FOLDERS_PER_SECOND: Final = 1000
"""Bound on `<n>` in `sqlite-<secs>-<n>` (a loop guard: n is 0 unless files collide)."""
SQLITE_HEADER: Final = b"SQLite format 3\x00"
"""The first 16 bytes of every non-empty SQLite database file."""
DAMAGE_ERROR_CODES: Final = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})
"""Primary SQLite result codes that mean "the file is damaged" (as opposed to locked, busy,
unreadable for permissions, …: those are raised, the file is left alone)."""

REBUILT_SUMMARY: Final = "Codex rebuilt its local database"
REBUILT_DETAILS: Final = (
    "Damaged local databases were rebuilt. Saved conversations remain in rollout files and can "
    "restore the thread list and history. Some database-only metadata may be unavailable. The "
    "original database files were preserved at the backup locations below."
)


class DbRecovery(Struct, frozen=True):
    """A damaged database that was moved aside and replaced by a fresh one."""

    db_path: Path
    """Where the database lives (now a fresh, empty file)."""
    backup_dir: Path
    """The folder holding the damaged file and its siblings."""
    reason: str
    """Why it was considered damaged (for logs)."""


class ConfigWarningText(Struct, frozen=True):
    """`configWarning` params: `summary` and `details`."""

    summary: str
    details: str


def is_damage_error(error: BaseException) -> bool:
    """Whether a `sqlite3` error says the file itself is damaged (corrupt / not a database)."""
    code = getattr(error, "sqlite_errorcode", None)
    return (
        isinstance(error, sqlite3.DatabaseError)
        and code is not None
        and (code & 0xFF) in DAMAGE_ERROR_CODES
    )


def header_problem(db_path: Path) -> str | None:
    """Why `db_path` cannot be a SQLite database, judged by its header; `None` if it may be.

    Checked *before* SQLite opens the file: a connection that fails with "file is not a
    database" deletes the `-wal`/`-shm` siblings when it closes, and those must be preserved.
    A missing or empty file is fine (SQLite creates the database in it).
    """
    try:
        with db_path.open("rb") as handle:
            head = handle.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return None
    if head and head != SQLITE_HEADER:
        return "file is not a database (bad header)"
    return None


def quarantine_database(db_path: Path, *, now_seconds: int, reason: str) -> DbRecovery:
    """Move `db_path` and its `-wal`/`-shm`/`-journal` into a new backup folder.

    The folder is `<db_path's dir>/db-backups/sqlite-<now_seconds>-<n>` with the smallest free
    `n` (claimed with an exclusive `mkdir`, so concurrent recoveries never share one). The main
    file moves first: a crash in between leaves only stray siblings, which SQLite ignores.
    """
    backups = db_path.parent / BACKUPS_DIR
    backups.mkdir(parents=True, exist_ok=True)
    for n in range(MAX_BACKUP_FOLDERS_PER_SECOND):
        backup_dir = backups / f"sqlite-{now_seconds}-{n}"
        try:
            backup_dir.mkdir()
        except FileExistsError:
            continue
        break
    else:
        raise FileExistsError(f"no free backup folder for sqlite-{now_seconds}-* in {backups}")
    for path in (db_path, *(db_path.with_name(db_path.name + s) for s in SIDE_FILE_SUFFIXES)):
        try:
            os.replace(path, backup_dir / path.name)
        except FileNotFoundError:
            continue
    fsync_dir(backup_dir, best_effort=True)
    fsync_dir(db_path.parent, best_effort=True)
    return DbRecovery(db_path=db_path, backup_dir=backup_dir, reason=reason)


def rebuilt_database_warning(recoveries: Sequence[DbRecovery]) -> ConfigWarningText:
    """The `configWarning` text of STORAGE.md §7.3 for one or more rebuilt databases.

    One `Database path: …` / `Backup folder: …` pair per database, blank-line separated.
    """
    blocks = [
        f"Database path: {recovery.db_path}\nBackup folder: {recovery.backup_dir}"
        for recovery in recoveries
    ]
    return ConfigWarningText(REBUILT_SUMMARY, "\n\n".join([REBUILT_DETAILS, *blocks]))
