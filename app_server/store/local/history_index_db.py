"""SQL of the history index: turn starts, indexing progress and searchable messages.

The tables are declared in `index_schema`; `ThreadIndex` runs these statements under its lock and
in its transactions. Rows are derived from the rollout like everything else in the index, so they
are replaced wholesale when a thread is refolded and appended to as its writer flushes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import aiosqlite
from msgspec import Struct

from app_server.rollout.history_index import HistoryIndexDelta
from app_server.rollout.turn_builder import TurnCheckpoint

MIN_TRIGRAM_TERM_CHARS: Final = 3
"""The FTS5 trigram index only answers terms of at least three characters; shorter terms are
matched by scanning the message texts (slower, but such terms are rarely useful)."""


class IndexedHistory(Struct, frozen=True):
    """History-index rows to write for one thread.

    `replace`: the delta covers the whole rollout (a refold) and replaces the thread's rows;
    otherwise it continues them (a writer's new lines). `indexed_through` is the byte offset just
    past the last line the delta covers.
    """

    thread_id: str
    delta: HistoryIndexDelta
    indexed_through: int
    replace: bool


class HistoryState(Struct, frozen=True):
    """How far a thread's rollout is indexed."""

    indexed_through: int
    turn_count: int
    pageable: bool
    hidden_before_ordinal: int | None


class TurnStartRow(Struct, frozen=True):
    """One indexed turn start (`seq` = its 0-based position among the thread's turns)."""

    seq: int
    turn_id: str
    rollout_ordinal: int | None
    byte_offset: int
    checkpoint: TurnCheckpoint


async def write_history(db: aiosqlite.Connection, history: IndexedHistory) -> None:
    """Write one thread's rows; call inside a transaction."""
    thread_id = history.thread_id
    first_seq = 0
    if history.replace:
        await delete_history(db, [thread_id])
    else:
        rows = list(
            await db.execute_fetchall(
                "SELECT turn_count FROM thread_history_state WHERE thread_id = ?", (thread_id,)
            )
        )
        first_seq = int(rows[0][0]) if rows else 0
    delta = history.delta
    await db.executemany(
        "INSERT OR REPLACE INTO thread_turn_starts (thread_id, seq, turn_id, rollout_ordinal,"
        " byte_offset, next_item_index, next_implicit_turn) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (
                thread_id,
                first_seq + position,
                start.turn_id,
                start.rollout_ordinal,
                start.byte_offset,
                start.checkpoint.next_item_index,
                start.checkpoint.next_implicit_turn,
            )
            for position, start in enumerate(delta.turn_starts)
        ],
    )
    if not history.replace and delta.drop_messages_from is not None:
        # A rollback dropped messages indexed before: the thread's rows from that number on
        # (its rows in id order are its kept messages in order, `history_index`).
        await db.execute(DELETE_MESSAGES_FROM, (thread_id, delta.drop_messages_from))
    await db.executemany(
        "INSERT INTO thread_messages (thread_id, text) VALUES (?, ?)",
        [(thread_id, text) for text in delta.messages],
    )
    await db.execute(
        "INSERT OR REPLACE INTO thread_history_state (thread_id, indexed_through, turn_count,"
        " pageable, hidden_before_ordinal) VALUES (?, ?, ?, ?, ?)",
        (
            thread_id,
            history.indexed_through,
            first_seq + len(delta.turn_starts),
            int(delta.pageable),
            delta.hidden_before_ordinal,
        ),
    )


async def delete_history(db: aiosqlite.Connection, thread_ids: Sequence[str]) -> None:
    """Remove every history-index row of these threads; call inside a transaction."""
    params = [(thread_id,) for thread_id in thread_ids]
    await db.executemany("DELETE FROM thread_messages WHERE thread_id = ?", params)
    await db.executemany("DELETE FROM thread_turn_starts WHERE thread_id = ?", params)
    await db.executemany("DELETE FROM thread_history_state WHERE thread_id = ?", params)


DELETE_MESSAGES_FROM: Final = (
    "DELETE FROM thread_messages WHERE id IN (SELECT id FROM thread_messages WHERE thread_id = ?"
    " ORDER BY id LIMIT -1 OFFSET ?)"
)
"""Delete a thread's messages from the n-th on (0-based): a rollback's (the index on
`(thread_id, id)` walks only that thread's rows)."""
COUNT_MESSAGES: Final = "SELECT count(*) FROM thread_messages WHERE thread_id = ?"


def state_from_row(row: Sequence[Any]) -> HistoryState:
    """A `HistoryState` from `SELECT indexed_through, turn_count, pageable, hidden…`."""
    return HistoryState(int(row[0]), int(row[1]), bool(row[2]), row[3])


SELECT_STATE: Final = (
    "SELECT indexed_through, turn_count, pageable, hidden_before_ordinal"
    " FROM thread_history_state WHERE thread_id = ?"
)
SELECT_TURN_STARTS: Final = (
    "SELECT seq, turn_id, rollout_ordinal, byte_offset, next_item_index, next_implicit_turn"
    " FROM thread_turn_starts WHERE thread_id = ? AND seq BETWEEN ? AND ? ORDER BY seq"
)


def turn_start_from_row(row: Sequence[Any]) -> TurnStartRow:
    """A `TurnStartRow` from `SELECT_TURN_STARTS`."""
    return TurnStartRow(
        seq=int(row[0]),
        turn_id=row[1],
        rollout_ordinal=row[2],
        byte_offset=int(row[3]),
        checkpoint=TurnCheckpoint(int(row[4]), int(row[5])),
    )


def seq_before_ordinal_sql(*, descending: bool, include: bool) -> str:
    """The seq of the first turn after a cursor's ordinal anchor, in the page direction."""
    if descending:
        return (
            "SELECT max(seq) FROM thread_turn_starts WHERE thread_id = ?"
            f" AND rollout_ordinal {'<=' if include else '<'} ?"
        )
    return (
        "SELECT min(seq) FROM thread_turn_starts WHERE thread_id = ?"
        f" AND rollout_ordinal {'>=' if include else '>'} ?"
    )


SELECT_SEQ_OF_TURN: Final = "SELECT seq FROM thread_turn_starts WHERE thread_id = ? AND turn_id = ?"
COUNT_UNORDERED_TURNS: Final = (
    "SELECT count(*) FROM thread_turn_starts WHERE thread_id = ? AND rollout_ordinal IS NULL"
)


def fts_phrase(term: str) -> str:
    """`term` as one FTS5 phrase (a quoted string): matched as a substring by the trigram
    tokenizer, whatever punctuation or operators it contains."""
    return '"' + term.replace('"', '""') + '"'


def content_match_sql(term: str) -> tuple[str, list[Any]]:
    """`(subquery, params)` selecting the ids of threads with a message containing `term`
    (case-insensitive), for `t.id IN (…)`."""
    if len(term) >= MIN_TRIGRAM_TERM_CHARS:
        return (
            "SELECT m.thread_id FROM thread_messages_fts AS f"
            " JOIN thread_messages AS m ON m.id = f.rowid"
            " WHERE thread_messages_fts MATCH ?",
            [fts_phrase(term)],
        )
    return (
        "SELECT thread_id FROM thread_messages WHERE instr(lower(text), lower(?)) > 0",
        [term],
    )


def snippets_sql(term: str, count: int) -> tuple[str, list[Any]]:
    """`(statement, params)` for the first matching message of each of `count` threads (ids
    bound after the returned params): rows `(thread_id, text)`."""
    placeholders = ", ".join("?" * count)
    if len(term) >= MIN_TRIGRAM_TERM_CHARS:
        return (
            "SELECT m.thread_id, m.text, min(m.id) FROM thread_messages_fts AS f"
            " JOIN thread_messages AS m ON m.id = f.rowid"
            f" WHERE thread_messages_fts MATCH ? AND m.thread_id IN ({placeholders})"
            " GROUP BY m.thread_id",
            [fts_phrase(term)],
        )
    return (
        "SELECT thread_id, text, min(id) FROM thread_messages"
        f" WHERE instr(lower(text), lower(?)) > 0 AND thread_id IN ({placeholders})"
        " GROUP BY thread_id",
        [term],
    )
