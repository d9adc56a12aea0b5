"""A thread's stored lines: fetched in order, parsed, and served to folds as fork bases.

Lines are stored as text (`rollout_lines.line`) with their byte offsets in the rollout the local
writer would have written, so the same `HistoryFold` and model-history code reads them as it
reads a file, and a paginated fork's `history_base.end_byte_offset` selects the same prefix.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Final

import asyncpg
import orjson

from app_server.rollout.history import RolloutLines
from app_server.rollout.lines import StoredLine

BASE_LINES_WAIT_SECONDS: Final = 60.0
"""How long a fold in a worker thread waits for a fork base's lines from the database."""

StoredText = list[tuple[int, str]]
"""`(byte_offset, line text)` of a thread's lines, in order."""


async def fetch_lines(
    pool: asyncpg.Pool, thread_id: str, end_offset: int | None = None
) -> StoredText:
    """The thread's lines, in order (those ending by `end_offset` when given: the prefix a
    paginated fork references)."""
    rows = await pool.fetch(
        "SELECT byte_offset, line FROM rollout_lines WHERE thread_id = $1"
        " AND ($2::bigint IS NULL OR byte_offset + octet_length(line) + 1 <= $2)"
        " ORDER BY seq",
        thread_id,
        end_offset,
    )
    return [(row["byte_offset"], row["line"]) for row in rows]


def rollout_size(lines: StoredText) -> int:
    """Bytes of the rollout these lines make (each with its newline)."""
    if not lines:
        return 0
    offset, text = lines[-1]
    return offset + len(text.encode()) + 1


def parse_lines(lines: Sequence[tuple[int, str]]) -> list[tuple[int, StoredLine]]:
    """Stored line texts as `(byte_offset, record)`; a line that is not a JSON object (an
    imported file may hold one) is skipped, as the local reader skips it."""
    parsed: list[tuple[int, StoredLine]] = []
    for offset, text in lines:
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            continue
        if isinstance(value, dict):
            parsed.append((offset, StoredLine(value)))
    return parsed


class PoolBaseLoader:
    """The fold's `BaseLoader` for a fold running in a worker thread: fetches a fork base's
    lines on the event loop and waits for them (a fold never runs on the loop itself)."""

    def __init__(self, pool: asyncpg.Pool, loop: asyncio.AbstractEventLoop) -> None:
        self._pool = pool
        self._loop = loop

    def __call__(self, thread_id: str, end_offset: int | None) -> RolloutLines | None:
        async def load() -> StoredText | None:
            stored = await self._pool.fetchval(
                "SELECT 1 FROM threads WHERE id = $1 AND line_count > 0", thread_id
            )
            return None if stored is None else await fetch_lines(self._pool, thread_id, end_offset)

        lines = asyncio.run_coroutine_threadsafe(load(), self._loop).result(BASE_LINES_WAIT_SECONDS)
        return None if lines is None else parse_lines(lines)
