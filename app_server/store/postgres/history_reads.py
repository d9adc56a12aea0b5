"""Reads of the PostgreSQL store: thread rows, listing, search, and histories folded from lines.

Plain functions over the pool (the store wraps each so a lost connection is a clear
`StoreUnavailable`). History reads fetch the thread's stored lines and fold them in a worker
thread with the same `HistoryFold` the local store uses; a fork's base lines are fetched on the
event loop meanwhile (`lines.PoolBaseLoader`).
"""

from __future__ import annotations

import asyncio

import asyncpg

from app_server.rollout.history import HistoryFold
from app_server.rollout.history_index import MAX_SEARCHABLE_MESSAGE_CHARS
from app_server.rollout.lines import StoredLine
from app_server.rollout.model_history import ModelHistory, collect_model_history
from app_server.store.errors import ThreadNotStored
from app_server.store.interface import ThreadHistory
from app_server.store.list_cursor import parse_cursor
from app_server.store.postgres.lines import PoolBaseLoader, fetch_lines, parse_lines, rollout_size
from app_server.store.postgres.list_sql import build_list_sql, like_pattern
from app_server.store.postgres.schema import SELECT_RECORD_COLUMNS, row_to_record
from app_server.store.records import ThreadRecord
from app_server.store.thread_query import (
    ThreadPage,
    ThreadQuery,
    ThreadSearchPage,
    normalize_limit,
    page_from_rows,
)


async def get_record(pool: asyncpg.Pool, thread_id: str) -> ThreadRecord | None:
    """The stored thread's record (a row without lines is not stored yet)."""
    row = await pool.fetchrow(
        f"SELECT {SELECT_RECORD_COLUMNS} FROM threads AS t WHERE t.id = $1 AND t.line_count > 0",
        thread_id,
    )
    return None if row is None else row_to_record(row)


async def list_threads(pool: asyncpg.Pool, query: ThreadQuery) -> ThreadPage:
    """One `thread/list` page: one keyset statement (`list_sql.py`)."""
    limit = normalize_limit(query.limit)
    sql, params = build_list_sql(query, limit + 1)
    rows = await pool.fetch(sql, *params)
    return page_from_rows(query, [row_to_record(row) for row in rows], limit)


async def search_threads(pool: asyncpg.Pool, query: ThreadQuery, term: str) -> ThreadSearchPage:
    """One `thread/search` page, then the first matching message of each of its threads."""
    limit = normalize_limit(query.limit)
    if len(term) > MAX_SEARCHABLE_MESSAGE_CHARS or "\x00" in term:
        if query.cursor is not None:
            parse_cursor(query.cursor)  # a malformed cursor is still refused
        return ThreadSearchPage(page_from_rows(query, [], limit), {})
    sql, params = build_list_sql(query, limit + 1, content_term=term)
    rows = await pool.fetch(sql, *params)
    page = page_from_rows(query, [row_to_record(row) for row in rows], limit)
    if not page.records:
        return ThreadSearchPage(page, {})
    found = await pool.fetch(
        "SELECT DISTINCT ON (thread_id) thread_id, text FROM thread_messages"
        " WHERE thread_id = ANY($1::text[]) AND text ILIKE $2 ORDER BY thread_id, seq",
        [record.id for record in page.records],
        like_pattern(term),
    )
    return ThreadSearchPage(page, {row["thread_id"]: row["text"] for row in found})


async def folded(
    pool: asyncpg.Pool, thread_id: str, *, keep_items: bool = True
) -> tuple[ThreadRecord, HistoryFold, int]:
    """The thread's record, its history folded (in a worker thread), and its byte size."""
    record = await get_record(pool, thread_id)
    if record is None:
        raise ThreadNotStored(thread_id)
    lines = await fetch_lines(pool, thread_id)
    loader = PoolBaseLoader(pool, asyncio.get_running_loop())

    def fold() -> HistoryFold:
        return HistoryFold(loader, keep_items=keep_items, collect_index=False).feed_lines(
            parse_lines(lines)
        )

    return record, await asyncio.to_thread(fold), rollout_size(lines)


async def read_history(pool: asyncpg.Pool, thread_id: str) -> ThreadHistory:
    """The thread's record and every turn (`ThreadStore.read_history`)."""
    record, fold, size = await folded(pool, thread_id)
    next_ordinal = None if fold.last_ordinal is None else fold.last_ordinal + 1
    saved = fold.metadata().saved_settings
    return ThreadHistory(record, fold.turns(), next_ordinal, size, saved_settings=saved)


async def model_history(pool: asyncpg.Pool, thread_id: str) -> ModelHistory:
    """What the model saw of the thread (`ThreadStore.model_history`)."""
    if await get_record(pool, thread_id) is None:
        raise ThreadNotStored(thread_id)
    lines = await fetch_lines(pool, thread_id)
    loader = PoolBaseLoader(pool, asyncio.get_running_loop())
    return await asyncio.to_thread(lambda: collect_model_history(parse_lines(lines), loader))


async def copy_lines(pool: asyncpg.Pool, thread_id: str) -> list[StoredLine]:
    """The thread's lines without their ordinals, for a fork (`ThreadStore.copy_lines`)."""
    if await get_record(pool, thread_id) is None:
        raise ThreadNotStored(thread_id)
    return [
        StoredLine({k: v for k, v in line.items() if k != "ordinal"})
        for _, line in parse_lines(await fetch_lines(pool, thread_id))
    ]
