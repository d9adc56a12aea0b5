"""Schema of our SQLite thread index `state_app_server_2.sqlite`, and `ThreadRecord` ↔ row.

Why our own file and not codex's `state_5.sqlite`: codex 0.169 runs its sqlx migrations on any
`state_5.sqlite` it opens, and we must not fail on (or fake) 62 migrations we do not run. Both
are caches of the rollout files (STORAGE.md §1, §5), so each program keeps its own.

The trailing number is the schema **generation**. An incompatible schema gets a new file name
and is rebuilt from the rollouts; a file is never migrated in place. Inside one generation,
`PRAGMA user_version` and the `meta` table identify the file; anything else (another program's
database, a half-written schema) is treated like a damaged file: quarantined and rebuilt.

Columns are one per `ThreadRecord` field, with the same names (timestamps in unix ms, the sort
keys), plus `source_kind` (`source_kinds.source_kind_of(source)`), which the filter uses.

The history index (`history_index`) lives here too, so a search can filter and sort in the same
statement: `thread_turn_starts` (one row per visible turn: its byte offset and fold checkpoint),
`thread_history_state` (how far a thread's rollout is indexed, and whether its turns can be read
by offset), and `thread_messages` with its external-content FTS5 table `thread_messages_fts`
(trigram tokenizer: case-insensitive substring matching), kept in step by triggers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import aiosqlite
import orjson

from app_server.store.local.thread_marks_schema import MARKS_SCHEMA_SQL
from app_server.store.records import ThreadRecord
from app_server.store.source_kinds import source_kind_of

INDEX_DB_FILE: Final = "state_app_server_2.sqlite"
"""File name under the data dir; `_2` is the schema generation."""
OLDER_INDEX_DB_FILES: Final = ("state_app_server_1.sqlite",)
"""Earlier generations of our own index: caches nothing reads any more, removed on open."""
SCHEMA_NAME: Final = "app-server-thread-index"
"""`meta.schema`: identifies our file (a foreign SQLite file at our path is not ours)."""
SCHEMA_USER_VERSION: Final = 2
"""`PRAGMA user_version` of this generation's schema."""
BUSY_TIMEOUT_MS: Final = 5000
"""How long a statement waits for another process's write lock before failing (ms)."""

BOOL_FIELDS: Final = frozenset({"has_user_event", "archived"})
"""`ThreadRecord` fields stored as 0/1 integers."""

# (column, declaration). Order = `ThreadRecord` field order, then derived columns.
_THREAD_COLUMNS: Final[Sequence[tuple[str, str]]] = (
    ("id", "TEXT NOT NULL PRIMARY KEY"),
    ("session_id", "TEXT NOT NULL"),
    ("rollout_path", "TEXT NOT NULL"),
    ("created_at_ms", "INTEGER NOT NULL"),
    ("updated_at_ms", "INTEGER NOT NULL"),
    ("recency_at_ms", "INTEGER NOT NULL"),
    ("source", "TEXT NOT NULL"),
    ("thread_source", "TEXT"),
    ("parent_thread_id", "TEXT"),
    ("forked_from_id", "TEXT"),
    ("attached_to_thread_id", "TEXT"),
    ("model_provider", "TEXT NOT NULL"),
    ("model", "TEXT"),
    ("reasoning_effort", "TEXT"),
    ("cwd", "TEXT NOT NULL"),
    ("title", "TEXT NOT NULL"),
    ("preview", "TEXT NOT NULL"),
    ("first_user_message", "TEXT NOT NULL"),
    ("name", "TEXT"),
    ("approval_mode", "TEXT NOT NULL"),
    ("sandbox_policy", "TEXT NOT NULL"),
    ("tokens_used", "INTEGER NOT NULL"),
    ("has_user_event", "INTEGER NOT NULL"),
    ("archived", "INTEGER NOT NULL"),
    ("archived_at_ms", "INTEGER"),
    ("git_sha", "TEXT"),
    ("git_branch", "TEXT"),
    ("git_origin_url", "TEXT"),
    ("cli_version", "TEXT NOT NULL"),
    ("agent_nickname", "TEXT"),
    ("agent_role", "TEXT"),
    ("agent_path", "TEXT"),
    ("history_mode", "TEXT NOT NULL"),
    ("originator", "TEXT"),
    ("memory_mode", "TEXT NOT NULL"),
    ("last_turn_started_at_ms", "INTEGER"),
    ("history_base_id", "TEXT"),
    ("source_kind", "TEXT NOT NULL"),
)

RECORD_FIELDS: Final = tuple(name for name, _ in _THREAD_COLUMNS if name != "source_kind")
"""The `ThreadRecord` fields, in column order."""
THREAD_COLUMNS: Final = tuple(name for name, _ in _THREAD_COLUMNS)
"""All `threads` columns, in order (the record fields, then `source_kind`)."""
SELECT_RECORD_COLUMNS: Final = ", ".join(f"t.{name}" for name in RECORD_FIELDS)
"""Select list (alias `t`) whose rows `row_to_record` reads."""

_VISIBLE = "preview <> ''"
_COLUMN_DECLARATIONS = ",\n  ".join(f"{name} {decl}" for name, decl in _THREAD_COLUMNS)
SCHEMA_SQL: Final = f"""
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS threads (
  {_COLUMN_DECLARATIONS}
);
CREATE INDEX IF NOT EXISTS threads_created ON threads(created_at_ms, id);
CREATE INDEX IF NOT EXISTS threads_updated ON threads(updated_at_ms, id);
CREATE INDEX IF NOT EXISTS threads_recency ON threads(recency_at_ms, id);
CREATE INDEX IF NOT EXISTS threads_visible_created
  ON threads(archived, created_at_ms, id) WHERE {_VISIBLE};
CREATE INDEX IF NOT EXISTS threads_visible_updated
  ON threads(archived, updated_at_ms, id) WHERE {_VISIBLE};
CREATE INDEX IF NOT EXISTS threads_visible_recency
  ON threads(archived, recency_at_ms, id) WHERE {_VISIBLE};
CREATE INDEX IF NOT EXISTS threads_visible_cwd_created
  ON threads(archived, cwd, created_at_ms, id) WHERE {_VISIBLE};
CREATE INDEX IF NOT EXISTS threads_visible_cwd_updated
  ON threads(archived, cwd, updated_at_ms, id) WHERE {_VISIBLE};
CREATE INDEX IF NOT EXISTS threads_visible_cwd_recency
  ON threads(archived, cwd, recency_at_ms, id) WHERE {_VISIBLE};
CREATE INDEX IF NOT EXISTS threads_source_kind ON threads(source_kind);
CREATE INDEX IF NOT EXISTS threads_model_provider ON threads(model_provider);
CREATE INDEX IF NOT EXISTS threads_attached
  ON threads(attached_to_thread_id) WHERE attached_to_thread_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS threads_history_base
  ON threads(history_base_id) WHERE history_base_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS thread_spawn_edges (
  parent_thread_id TEXT NOT NULL,
  child_thread_id TEXT NOT NULL PRIMARY KEY,
  status TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS thread_spawn_edges_parent_status
  ON thread_spawn_edges(parent_thread_id, status);
CREATE TABLE IF NOT EXISTS rollout_stamps (
  thread_id TEXT NOT NULL PRIMARY KEY,
  size INTEGER NOT NULL,
  mtime_ns INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS backfill_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  status TEXT NOT NULL,
  last_watermark TEXT,
  last_success_at INTEGER,
  updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS thread_history_state (
  thread_id TEXT NOT NULL PRIMARY KEY,
  indexed_through INTEGER NOT NULL,
  turn_count INTEGER NOT NULL,
  pageable INTEGER NOT NULL,
  hidden_before_ordinal INTEGER
);
CREATE TABLE IF NOT EXISTS thread_turn_starts (
  thread_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  turn_id TEXT NOT NULL,
  rollout_ordinal INTEGER,
  byte_offset INTEGER NOT NULL,
  next_item_index INTEGER NOT NULL,
  next_implicit_turn INTEGER NOT NULL,
  PRIMARY KEY (thread_id, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS thread_turn_starts_ordinal
  ON thread_turn_starts(thread_id, rollout_ordinal);
CREATE INDEX IF NOT EXISTS thread_turn_starts_turn ON thread_turn_starts(thread_id, turn_id);
CREATE TABLE IF NOT EXISTS thread_messages (
  id INTEGER PRIMARY KEY,
  thread_id TEXT NOT NULL,
  text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS thread_messages_thread ON thread_messages(thread_id, id);
CREATE VIRTUAL TABLE IF NOT EXISTS thread_messages_fts USING fts5(
  text, content='thread_messages', content_rowid='id', tokenize='trigram'
);
CREATE TRIGGER IF NOT EXISTS thread_messages_ai AFTER INSERT ON thread_messages BEGIN
  INSERT INTO thread_messages_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER IF NOT EXISTS thread_messages_ad AFTER DELETE ON thread_messages BEGIN
  INSERT INTO thread_messages_fts(thread_messages_fts, rowid, text)
    VALUES ('delete', old.id, old.text);
END;
{MARKS_SCHEMA_SQL}
INSERT OR IGNORE INTO backfill_state (id, status, last_watermark, last_success_at, updated_at)
  VALUES (1, 'pending', NULL, NULL, 0);
INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', '{SCHEMA_NAME}');
PRAGMA user_version = {SCHEMA_USER_VERSION};
COMMIT;
"""
"""Idempotent DDL of the whole generation, one transaction (run on every open: it also adds
indexes a later build of the same generation defines)."""

_EXPECTED_COLUMNS: Final[Mapping[str, str]] = {
    "threads": ", ".join(THREAD_COLUMNS),
    "thread_spawn_edges": "parent_thread_id, child_thread_id, status",
    "backfill_state": "id, status, last_watermark, last_success_at, updated_at",
    "rollout_stamps": "thread_id, size, mtime_ns",
    "thread_history_state": "thread_id, indexed_through, turn_count, pageable,"
    " hidden_before_ordinal",
    "thread_turn_starts": "thread_id, seq, turn_id, rollout_ordinal, byte_offset,"
    " next_item_index, next_implicit_turn",
    "thread_messages": "id, thread_id, text",
    "thread_messages_fts": "text",
    "meta": "key, value",
}


class SchemaMismatch(Exception):
    """The file is a SQLite database, but not (a readable copy of) this schema generation."""


def record_to_row(record: ThreadRecord) -> tuple[Any, ...]:
    """The `threads` row of a record, in `THREAD_COLUMNS` order."""
    values: list[Any] = []
    for name in RECORD_FIELDS:
        value = getattr(record, name)
        if name == "source":
            value = orjson.dumps(value).decode()
        elif name in BOOL_FIELDS:
            value = int(value)
        values.append(value)
    values.append(source_kind_of(record.source))
    return tuple(values)


def row_to_record(row: Sequence[Any]) -> ThreadRecord:
    """A record from a row selected with `SELECT_RECORD_COLUMNS`."""
    values: dict[str, Any] = dict(zip(RECORD_FIELDS, row, strict=True))
    values["source"] = orjson.loads(values["source"])
    for name in BOOL_FIELDS:
        values[name] = bool(values[name])
    return ThreadRecord(**values)


async def apply_connection_pragmas(db: aiosqlite.Connection) -> None:
    """WAL journal, `synchronous=NORMAL` (durable at checkpoints; a cache may lose the last
    commits on power loss, never its consistency), a busy timeout for other processes."""
    await db.execute("PRAGMA journal_mode = WAL")
    await db.execute("PRAGMA synchronous = NORMAL")
    await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")


async def prepare_schema(db: aiosqlite.Connection) -> None:
    """Create the schema in an empty file, or check that the file holds this generation.

    Raises `SchemaMismatch` for a database that is not ours or not readable as ours.
    """
    version = await _scalar(db, "PRAGMA user_version")
    objects = await _scalar(db, "SELECT count(*) FROM sqlite_master")
    if version != 0 or objects != 0:
        if version != SCHEMA_USER_VERSION:
            raise SchemaMismatch(f"user_version {version}, expected {SCHEMA_USER_VERSION}")
        try:
            name = await _scalar(db, "SELECT value FROM meta WHERE key = 'schema'")
            for table, columns in _EXPECTED_COLUMNS.items():
                await db.execute_fetchall(f"SELECT {columns} FROM {table} LIMIT 0")
        except aiosqlite.OperationalError as error:
            raise SchemaMismatch(f"unreadable schema: {error}") from error
        if name != SCHEMA_NAME:
            raise SchemaMismatch(f"meta.schema is {name!r}, expected {SCHEMA_NAME!r}")
    try:
        await db.executescript(SCHEMA_SQL)
    except BaseException:
        if db.in_transaction:
            await db.execute("ROLLBACK")
        raise


async def _scalar(db: aiosqlite.Connection, sql: str) -> Any:
    """The first column of the first row (`None` when there is no row)."""
    rows = list(await db.execute_fetchall(sql))
    return rows[0][0] if rows else None
