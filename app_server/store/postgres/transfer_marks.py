"""Moving per-thread marks between a data dir and the PostgreSQL store (`storage import/export`).

Read receipts, goals and metadata patches are not in the rollouts: the local store keeps them in
its index (`state_app_server_2.sqlite`: `thread_read_receipts`, `thread_goals`,
`thread_metadata_patches`, `local/thread_marks_schema.py`), and codex keeps read receipts with
the same columns in its `state_5.sqlite`. Import reads those tables (read-only: the source is
never changed; our index's receipt wins over codex's for the same thread) and adds the marks of
threads the store holds; a mark already stored is kept (a client may have changed it since), so
importing again adds nothing. Every mark read is then checked to be stored (`MarksCount`).

Export writes them where the local store reads them: a fresh local index in the target
(created by the local store's own schema code, its scan of the rollouts still pending, so the
local store opening the directory indexes the rollouts and finds the marks beside them). Codex
0.169 itself keeps goals in `goals_1.sqlite`, whose schema is its own, and reads receipts from
its `state_5.sqlite`: neither is written (README, PostgreSQL limits). Without any mark, no index
file is written at all.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import asyncpg
from msgspec import Struct

from app_server.store.local.index_db import ThreadIndex
from app_server.store.local.index_schema import INDEX_DB_FILE

CODEX_STATE_DB: Final = "state_5.sqlite"
"""Codex's state database (read receipts, same columns as ours)."""

_RECEIPT_COLUMNS: Final = ("thread_id", "first_unread_turn", "revision", "last_published_turn")
_GOAL_COLUMNS: Final = (
    "thread_id",
    "goal_id",
    "objective",
    "status",
    "token_budget",
    "tokens_used",
    "time_used_seconds",
    "created_at_ms",
    "updated_at_ms",
)
_PATCH_COLUMNS: Final = ("thread_id", "git", "daybreak_enabled")
_TABLES: Final = (
    # (table in the local index, table in PostgreSQL, columns)
    ("thread_read_receipts", "read_receipts", _RECEIPT_COLUMNS),
    ("thread_goals", "goals", _GOAL_COLUMNS),
    ("thread_metadata_patches", "thread_metadata_patches", _PATCH_COLUMNS),
)


class MarksCount(Struct):
    """Marks imported (added) or exported, by kind."""

    receipts: int = 0
    goals: int = 0
    patches: int = 0

    def add(self, table: str, count: int) -> None:
        if table == "read_receipts":
            self.receipts += count
        elif table == "goals":
            self.goals += count
        else:
            self.patches += count


class MarksImportError(RuntimeError):
    """A mark read from the source is not in the store after the import (the count check)."""


def _read_table(path: Path, table: str, columns: Sequence[str]) -> list[tuple[Any, ...]]:
    """The rows of `table` in the SQLite file `path`, opened read-only; none when the file or
    the table is missing (blocking)."""
    if not path.is_file():
        return []
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        exists = connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).fetchone()
        if exists is None:
            return []
        return connection.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()
    finally:
        connection.close()


def read_marks(source: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every mark of `source` by PostgreSQL table, one row per thread (blocking)."""
    marks: dict[str, list[tuple[Any, ...]]] = {}
    for local_table, table, columns in _TABLES:
        rows = _read_table(source / INDEX_DB_FILE, local_table, columns)
        if table == "read_receipts":
            ours = {row[0] for row in rows}
            codex = _read_table(source / CODEX_STATE_DB, local_table, columns)
            rows += [row for row in codex if row[0] not in ours]
        if table == "thread_metadata_patches":
            rows = [(t, git, None if day is None else bool(day)) for t, git, day in rows]
        marks[table] = rows
    return marks


async def import_marks(pool: asyncpg.Pool, source: Path) -> MarksCount:
    """Add the marks of `source` for threads the store holds (module docstring). Raises
    `MarksImportError` when a mark read is not stored afterwards."""
    marks = await asyncio.to_thread(read_marks, source)
    added = MarksCount()
    async with pool.acquire() as connection, connection.transaction():
        for _local, table, columns in _TABLES:
            rows = marks[table]
            if not rows:
                continue
            stored_ids = {
                row["id"]
                for row in await connection.fetch(
                    "SELECT id FROM threads WHERE id = ANY($1::text[]) AND line_count > 0",
                    [row[0] for row in rows],
                )
            }
            wanted = [row for row in rows if row[0] in stored_ids]
            if not wanted:
                continue
            names = ", ".join(columns)
            placeholders = ", ".join(f"${i + 1}" for i in range(len(columns)))
            for row in wanted:
                result = await connection.execute(
                    f"INSERT INTO {table} ({names}) VALUES ({placeholders})"
                    " ON CONFLICT (thread_id) DO NOTHING",
                    *row,
                )
                added.add(table, 0 if result == "INSERT 0 0" else 1)
            present = await connection.fetchval(
                f"SELECT count(*) FROM {table} WHERE thread_id = ANY($1::text[])",
                [row[0] for row in wanted],
            )
            if present != len({row[0] for row in wanted}):
                raise MarksImportError(f"{table}: {present} of {len(wanted)} marks stored")
    return added


async def export_marks(pool: asyncpg.Pool, target: Path) -> MarksCount:
    """Write the stored marks of stored threads into a local index under `target` (module
    docstring); nothing at all when there is none."""
    tables: list[tuple[str, Sequence[str], list[asyncpg.Record]]] = []
    for local_table, table, columns in _TABLES:
        rows = await pool.fetch(
            f"SELECT {', '.join(f'm.{c}' for c in columns)} FROM {table} AS m"
            " JOIN threads AS t ON t.id = m.thread_id WHERE t.line_count > 0 ORDER BY m.thread_id"
        )
        tables.append((local_table, columns, rows))
    exported = MarksCount()
    if not any(rows for _, _, rows in tables):
        return exported
    index = await ThreadIndex.open(target)
    try:
        async with index.transaction() as db:
            for (local_table, names, rows), (_, table, _) in zip(tables, _TABLES, strict=True):
                placeholders = ", ".join("?" * len(names))
                await db.executemany(
                    f"INSERT OR REPLACE INTO {local_table} ({', '.join(names)})"
                    f" VALUES ({placeholders})",
                    [tuple(row) for row in rows],
                )
                exported.add(table, len(rows))
    finally:
        await index.close()
    return exported
