"""Reads of the history index: indexing progress, turn starts, and content search.

A thin typed layer over the statements of `history_index_db`, run on the `ThreadIndex`'s
connection (under its lock, so they never interleave with its transactions). Writes go through
`ThreadIndex.upsert`/`delete`, which keep these rows in step with the thread rows.
"""

from __future__ import annotations

from typing import Any

from app_server.rollout.history_index import MAX_SEARCHABLE_MESSAGE_CHARS
from app_server.store.list_cursor import parse_cursor
from app_server.store.local.history_index_db import (
    COUNT_MESSAGES,
    COUNT_UNORDERED_TURNS,
    SELECT_SEQ_OF_TURN,
    SELECT_STATE,
    SELECT_TURN_STARTS,
    HistoryState,
    TurnStartRow,
    content_match_sql,
    seq_before_ordinal_sql,
    snippets_sql,
    state_from_row,
    turn_start_from_row,
)
from app_server.store.local.index_db import ThreadIndex
from app_server.store.local.index_schema import row_to_record
from app_server.store.local.list_sql import build_list_sql
from app_server.store.thread_query import (
    ThreadQuery,
    ThreadSearchPage,
    normalize_limit,
    page_from_rows,
)


class HistoryQueries:
    """The history-index reads of one open `ThreadIndex`."""

    def __init__(self, index: ThreadIndex) -> None:
        self._index = index

    async def state(self, thread_id: str) -> HistoryState | None:
        """How far the thread's rollout is indexed, or `None` if it never was."""
        rows = await self._index.fetchall(SELECT_STATE, (thread_id,))
        return state_from_row(rows[0]) if rows else None

    async def message_count(self, thread_id: str) -> int:
        """How many searchable messages of the thread are indexed."""
        rows = await self._index.fetchall(COUNT_MESSAGES, (thread_id,))
        return int(rows[0][0])

    async def turn_starts(self, thread_id: str, first: int, last: int) -> list[TurnStartRow]:
        """The indexed turn starts with `first <= seq <= last`, in order."""
        rows = await self._index.fetchall(SELECT_TURN_STARTS, (thread_id, first, last))
        return [turn_start_from_row(row) for row in rows]

    async def seq_after_ordinal(
        self, thread_id: str, ordinal: int, *, descending: bool, include: bool
    ) -> int | None:
        """The first turn past a rollout-ordinal anchor in the page direction (`None`: none)."""
        sql = seq_before_ordinal_sql(descending=descending, include=include)
        rows = await self._index.fetchall(sql, (thread_id, ordinal))
        return None if not rows or rows[0][0] is None else int(rows[0][0])

    async def seq_of_turn(self, thread_id: str, turn_id: str) -> int | None:
        """The position of `turn_id` among the thread's turns, if indexed."""
        rows = await self._index.fetchall(SELECT_SEQ_OF_TURN, (thread_id, turn_id))
        return int(rows[0][0]) if rows else None

    async def has_unordered_turns(self, thread_id: str) -> bool:
        """Whether some turn has no rollout ordinal (legacy or implicit turns)."""
        rows = await self._index.fetchall(COUNT_UNORDERED_TURNS, (thread_id,))
        return int(rows[0][0]) > 0

    async def search(self, query: ThreadQuery, term: str) -> ThreadSearchPage:
        """A `thread/search` page: threads matching `query` with a message containing `term`
        (case-insensitive), and the first such message of each. Two statements: the page (the
        listing's filters, order and cursor, plus the FTS match), then its snippets.

        A term longer than the indexed text of any message matches nothing: answered without
        asking SQLite (an FTS5 phrase of a million trigrams would cost seconds and memory)."""
        limit = normalize_limit(query.limit)
        if len(term) > MAX_SEARCHABLE_MESSAGE_CHARS:
            if query.cursor is not None:
                parse_cursor(query.cursor)  # a malformed cursor is still refused
            return ThreadSearchPage(page_from_rows(query, [], limit), {})
        sql, params = build_list_sql(query, limit + 1, content_match=_content_match(term))
        rows = await self._index.fetchall(sql, params)
        page = page_from_rows(query, [row_to_record(row) for row in rows], limit)
        if not page.records:
            return ThreadSearchPage(page, {})
        ids = [record.id for record in page.records]
        snippet_sql, snippet_params = _snippets(term, len(ids))
        found = await self._index.fetchall(snippet_sql, [*snippet_params, *ids])
        return ThreadSearchPage(page, {row[0]: row[1] for row in found})


def _fts_can_match(term: str) -> bool:
    """FTS5 reads its query as a C string: a NUL ends it (`unterminated string`), so a term
    holding one is matched by scanning the texts, as `thread/list`'s search does (`instr`
    compares whole values, NUL included)."""
    return "\x00" not in term


def _content_match(term: str) -> tuple[str, list[Any]]:
    if _fts_can_match(term):
        return content_match_sql(term)
    return (
        "SELECT thread_id FROM thread_messages WHERE instr(lower(text), lower(?)) > 0",
        [term],
    )


def _snippets(term: str, count: int) -> tuple[str, list[Any]]:
    if _fts_can_match(term):
        return snippets_sql(term, count)
    placeholders = ", ".join("?" * count)
    return (
        "SELECT thread_id, text, min(id) FROM thread_messages"
        f" WHERE instr(lower(text), lower(?)) > 0 AND thread_id IN ({placeholders})"
        " GROUP BY thread_id",
        [term],
    )
