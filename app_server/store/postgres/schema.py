"""The PostgreSQL schema of the store (as versioned migrations) and `ThreadRecord` ↔ row.

Every thread id is `text COLLATE "C"` (byte order: the order of the ids' text, and the same
collation everywhere, without which a join on ids cannot use the other table's index).

Tables (migration 1):
- `threads`: one column per `ThreadRecord` field (same names, unix ms), `source_kind` (the
  listing filter), and the writer's bookkeeping: `line_count` (the next `seq`), `byte_size` (bytes
  of the rollout the local writer would have written), `next_ordinal`, and the writer lease
  (`writer_owner`, `writer_epoch`, `writer_expires_at`). A row with `line_count = 0` is a thread
  that has no line yet (a writer was created, or a name was given first): it is not stored as far
  as the contract goes. The partial indexes are the SQLite index's (`local/index_schema.py`), so a
  default `thread/list` page is one keyset range scan.
- `rollout_lines(thread_id, seq, byte_offset, line)`: each line exactly as the local writer
  would write it (orjson text without its newline). `text`, not `jsonb`: jsonb reorders keys,
  which would break a lossless export and the byte offsets forks refer to.
- `thread_messages(thread_id, seq, text)`: the searchable user/agent messages, with a
  `gin_trgm_ops` index (case-insensitive substring search with `ILIKE`).
- `read_receipts`, `goals`: the marks (`store.thread_marks`).
- `processes`: live processes of the store and their heartbeat (writer leases name them).

Migration 2: `session_index(seq, thread_id, line)`, codex's `session_index.jsonl` as lines (every
rename, in order, as the local store appends them), so an export writes that file byte for byte.

Migration 3: `thread_metadata_patches(thread_id, git, daybreak_enabled)`, what
`thread/metadata/update` set (`store.thread_marks.MetadataPatch`; `git` a JSON object of the
Git fields set, text as the local index keeps it).

Migration 4: `process_messages(id, recipient, sender, kind, route, body)`, the outbox of the
per-process command channel (`messages.py`): forwarded requests, their answers and the
notifications of forwarded subscriptions, each row consumed (deleted) by its recipient.

Migration 5: the turn-start index and cold history.
- `turn_starts(thread_id, seq, turn_id, rollout_ordinal, line_seq, byte_offset, next_item_index,
  next_implicit_turn)`: where each visible turn starts (`seq`: its position among the thread's
  turns; `line_seq`: the `rollout_lines.seq` of its opening line) and the turn builder's state
  there, as the local index's `thread_turn_starts`, so `thread/turns/list` reads only the page's
  lines (`turn_index.py`). `threads` gets `turn_count` (NULL: not indexed yet, a thread written
  before this migration: its next writer indexes it), `turns_pageable` and
  `hidden_before_ordinal` (the local index's `thread_history_state`).
- `rollout_batches(thread_id, first_seq, line_count, first_offset, byte_count, data)`: runs of
  consecutive lines of a cold thread, their text (each line with its newline) as one zstd frame
  (`cold_history.py`); a line is either in `rollout_lines` or in one batch, never both.
  `data` is stored `EXTERNAL`: zstd output does not compress again, so PostgreSQL's own
  compression is not attempted on it.

Migrations are applied in order, each once, recorded in `schema_migrations`, in one transaction
under a database-wide advisory lock, so processes starting together on an empty database wait
for the first one instead of racing it (`migrations.py`).
"""

from __future__ import annotations

from typing import Any, Final

import asyncpg
import orjson

from app_server.store.records import ThreadRecord
from app_server.store.source_kinds import source_kind_of

_BIGINT_FIELDS: Final = frozenset(
    {
        "created_at_ms",
        "updated_at_ms",
        "recency_at_ms",
        "tokens_used",
        "archived_at_ms",
        "last_turn_started_at_ms",
    }
)
_BOOL_FIELDS: Final = frozenset({"has_user_event", "archived"})
_ID_FIELDS: Final = frozenset(
    {"session_id", "parent_thread_id", "forked_from_id", "attached_to_thread_id", "history_base_id"}
)
"""Thread-id columns: byte-order collation, like every `thread_id` column, so joins between
tables use their indexes (mixed collations make PostgreSQL scan instead)."""

RECORD_FIELDS: Final = tuple(ThreadRecord.__struct_fields__)
"""The `ThreadRecord` fields, in declaration order (= `threads` column names)."""


def _column_type(name: str) -> str:
    if name in _ID_FIELDS:
        return 'text COLLATE "C"'
    if name in _BIGINT_FIELDS:
        return "bigint"
    if name in _BOOL_FIELDS:
        return "boolean"
    return "text"


SELECT_RECORD_COLUMNS: Final = ", ".join(f"t.{name}" for name in RECORD_FIELDS)
"""Select list (alias `t`) whose rows `row_to_record` reads."""

UPDATABLE_BY_WRITER: Final = tuple(
    name
    for name in RECORD_FIELDS
    if name not in {"id", "name", "archived", "archived_at_ms", "rollout_path", "recency_at_ms"}
)
"""The record fields a writer's flush rewrites: the content-derived ones. Location (archive),
name (renames) and recency (never goes back) are kept by their own operations."""


def record_values(record: ThreadRecord) -> list[Any]:
    """The record's column values in `RECORD_FIELDS` order, then `source_kind`."""
    values: list[Any] = []
    for name in RECORD_FIELDS:
        value = getattr(record, name)
        values.append(orjson.dumps(value).decode() if name == "source" else value)
    values.append(source_kind_of(record.source))
    return values


def row_to_record(row: asyncpg.Record) -> ThreadRecord:
    """A record from a row selected with `SELECT_RECORD_COLUMNS`."""
    values = {name: row[name] for name in RECORD_FIELDS}
    values["source"] = orjson.loads(values["source"])
    return ThreadRecord(**values)


_RECORD_COLUMNS_DDL: Final = ",\n  ".join(
    f"{name} {_column_type(name)}" for name in RECORD_FIELDS if name != "id"
)
_VISIBLE: Final = "line_count > 0 AND preview <> ''"


def migration_1(trgm_schema: str) -> str:
    """Threads, rollout lines, searchable messages, marks (`trgm_schema`: where `pg_trgm` is)."""
    sort_indexes = "\n".join(
        f"CREATE INDEX threads_visible_{key} ON threads (archived, {key}_at_ms, id)"
        f" WHERE {_VISIBLE};\n"
        f"CREATE INDEX threads_visible_cwd_{key} ON threads (archived, cwd, {key}_at_ms, id)"
        f" WHERE {_VISIBLE};\n"
        f"CREATE INDEX threads_{key} ON threads ({key}_at_ms, id);"
        for key in ("created", "updated", "recency")
    )
    return f"""
CREATE TABLE threads (
  id text COLLATE "C" PRIMARY KEY,
  {_RECORD_COLUMNS_DDL},
  source_kind text,
  line_count bigint NOT NULL DEFAULT 0,
  byte_size bigint NOT NULL DEFAULT 0,
  next_ordinal bigint,
  writer_owner text,
  writer_epoch bigint NOT NULL DEFAULT 0,
  writer_expires_at timestamptz
);
{sort_indexes}
CREATE INDEX threads_parent ON threads (parent_thread_id) WHERE parent_thread_id IS NOT NULL;
CREATE INDEX threads_attached ON threads (attached_to_thread_id)
  WHERE attached_to_thread_id IS NOT NULL;
CREATE INDEX threads_history_base ON threads (history_base_id) WHERE history_base_id IS NOT NULL;
CREATE INDEX threads_writer_owner ON threads (writer_owner) WHERE writer_owner IS NOT NULL;
CREATE TABLE rollout_lines (
  thread_id text COLLATE "C" NOT NULL,
  seq bigint NOT NULL,
  byte_offset bigint NOT NULL,
  line text NOT NULL,
  PRIMARY KEY (thread_id, seq)
);
CREATE TABLE thread_messages (
  thread_id text COLLATE "C" NOT NULL,
  seq bigint NOT NULL,
  text text NOT NULL,
  PRIMARY KEY (thread_id, seq)
);
CREATE INDEX thread_messages_text ON thread_messages
  USING gin (text "{trgm_schema}".gin_trgm_ops);
CREATE TABLE read_receipts (
  thread_id text COLLATE "C" PRIMARY KEY,
  first_unread_turn text,
  revision text NOT NULL,
  last_published_turn text
);
CREATE TABLE goals (
  thread_id text COLLATE "C" PRIMARY KEY,
  goal_id text NOT NULL,
  objective text NOT NULL,
  status text NOT NULL,
  token_budget bigint,
  tokens_used bigint NOT NULL,
  time_used_seconds bigint NOT NULL,
  created_at_ms bigint NOT NULL,
  updated_at_ms bigint NOT NULL
);
CREATE TABLE processes (
  id text COLLATE "C" PRIMARY KEY,
  started_at timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now()
);
"""


def migration_2(trgm_schema: str) -> str:
    """`session_index`: the rename lines of `session_index.jsonl`, in order."""
    return """
CREATE TABLE session_index (
  seq bigserial PRIMARY KEY,
  thread_id text COLLATE "C" NOT NULL,
  line text NOT NULL
);
CREATE INDEX session_index_thread ON session_index (thread_id);
"""


def migration_3(trgm_schema: str) -> str:
    """`thread_metadata_patches`: the metadata `thread/metadata/update` set, per thread."""
    return """
CREATE TABLE thread_metadata_patches (
  thread_id text COLLATE "C" PRIMARY KEY,
  git text NOT NULL,
  daybreak_enabled boolean
);
"""


def migration_4(trgm_schema: str) -> str:
    """`process_messages`: the outbox between processes (`messages.py`)."""
    return """
CREATE TABLE process_messages (
  id bigserial PRIMARY KEY,
  recipient text COLLATE "C" NOT NULL,
  sender text COLLATE "C" NOT NULL,
  kind text NOT NULL,
  route text NOT NULL,
  body text NOT NULL
);
CREATE INDEX process_messages_recipient ON process_messages (recipient, id);
"""


def migration_5(trgm_schema: str) -> str:
    """`turn_starts` and the thread's turn-index state; `rollout_batches` (cold history)."""
    return """
ALTER TABLE threads ADD COLUMN turn_count bigint,
  ADD COLUMN turns_pageable boolean NOT NULL DEFAULT true,
  ADD COLUMN hidden_before_ordinal bigint;
CREATE TABLE turn_starts (
  thread_id text COLLATE "C" NOT NULL,
  seq bigint NOT NULL,
  turn_id text NOT NULL,
  rollout_ordinal bigint,
  line_seq bigint NOT NULL,
  byte_offset bigint NOT NULL,
  next_item_index bigint NOT NULL,
  next_implicit_turn bigint NOT NULL,
  PRIMARY KEY (thread_id, seq)
);
CREATE INDEX turn_starts_ordinal ON turn_starts (thread_id, rollout_ordinal);
CREATE INDEX turn_starts_turn ON turn_starts (thread_id, turn_id);
CREATE TABLE rollout_batches (
  thread_id text COLLATE "C" NOT NULL,
  first_seq bigint NOT NULL,
  line_count integer NOT NULL,
  first_offset bigint NOT NULL,
  byte_count bigint NOT NULL,
  data bytea NOT NULL,
  PRIMARY KEY (thread_id, first_seq)
);
ALTER TABLE rollout_batches ALTER COLUMN data SET STORAGE EXTERNAL;
"""
