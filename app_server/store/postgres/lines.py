"""A thread's stored lines: fetched in order, parsed, and served to folds as fork bases.

Lines are stored as text (`rollout_lines.line`) with their byte offsets in the rollout the local
writer would have written, so the same `HistoryFold` and model-history code reads them as it
reads a file, and a paginated fork's `history_base.end_byte_offset` selects the same prefix.

Cold history may instead sit in zstd-compressed batches of consecutive lines
(`rollout_batches`, `cold_history.py`): every read here takes both tables in one statement (one
snapshot, so a batch being compressed is seen either as plain lines or as its batch, never both
or neither) and expands the batches it touches, so callers never know which they got.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Final

import asyncpg
import orjson
import zstandard

from app_server.rollout.history import RolloutLines
from app_server.rollout.lines import StoredLine
from app_server.store.postgres.connect import Connection

BASE_LINES_WAIT_SECONDS: Final = 60.0
"""How long a fold in a worker thread waits for a fork base's lines from the database."""

StoredText = list[tuple[int, str]]
"""`(byte_offset, line text)` of a thread's lines, in order."""


_LINES_SQL: Final = (
    "SELECT seq, byte_offset, line, NULL::bytea AS data, 0 AS count FROM rollout_lines"
    " WHERE thread_id = $1 AND seq >= $2 AND seq < $3"
    " AND ($4::bigint IS NULL OR byte_offset + octet_length(line) + 1 <= $4)"
    " UNION ALL SELECT first_seq, first_offset, NULL, data, line_count FROM rollout_batches"
    " WHERE thread_id = $1 AND first_seq < $3 AND first_seq + line_count > $2"
    " AND ($4::bigint IS NULL OR first_offset < $4)"
)
"""Plain lines and compressed batches of `[$2, $3)` (ending by byte `$4` when not null)."""
_ALL_SEQS: Final = 1 << 62
"""An end seq past every line."""
INLINE_EXPAND_BYTES: Final = 64 * 1024
"""Compressed bytes expanded on the event loop; more is expanded in a worker thread (zstd
decompresses about 1 GB/s: 64 KiB costs well under a millisecond of the loop)."""


async def fetch_lines(
    pool: asyncpg.Pool | Connection, thread_id: str, end_offset: int | None = None
) -> StoredText:
    """The thread's lines, in order (those ending by `end_offset` when given: the prefix a
    paginated fork references)."""
    return await fetch_line_range(pool, thread_id, 0, _ALL_SEQS, end_offset=end_offset)


async def fetch_line_range(
    pool: asyncpg.Pool | Connection,
    thread_id: str,
    first_seq: int,
    end_seq: int,
    *,
    end_offset: int | None = None,
) -> StoredText:
    """The lines with `first_seq <= seq < end_seq` in order, plain or from their batches."""
    rows = await pool.fetch(_LINES_SQL, thread_id, first_seq, end_seq, end_offset)
    plain = [row for row in rows if row["data"] is None]
    batches = [row for row in rows if row["data"] is not None]
    if not batches:
        return [(row["byte_offset"], row["line"]) for row in sorted(plain, key=_seq)]

    def expand() -> StoredText:
        numbered = [(row["seq"], row["byte_offset"], row["line"]) for row in plain]
        for batch in batches:
            numbered += expand_batch(batch["seq"], batch["byte_offset"], batch["data"])
        numbered.sort()
        return [
            (offset, text)
            for seq, offset, text in numbered
            if first_seq <= seq < end_seq
            and (end_offset is None or offset + len(text.encode()) + 1 <= end_offset)
        ]

    if sum(len(batch["data"]) for batch in batches) <= INLINE_EXPAND_BYTES:
        return expand()
    return await asyncio.to_thread(expand)


INSERT_MESSAGES: Final = (
    "INSERT INTO thread_messages (thread_id, seq, text)"
    " SELECT $1, s, t FROM unnest($2::bigint[], $3::text[]) AS u(s, t)"
    " ON CONFLICT (thread_id, seq) DO NOTHING"
)


async def insert_messages(
    connection: Connection, thread_id: str, first_seq: int, messages: Sequence[str]
) -> None:
    """Store a thread's searchable message texts, numbered from `first_seq` (a retried flush
    inserts nothing twice)."""
    if messages:
        await connection.execute(
            INSERT_MESSAGES,
            thread_id,
            list(range(first_seq, first_seq + len(messages))),
            list(messages),
        )


def _seq(row: asyncpg.Record) -> int:
    return int(row["seq"])


def expand_batch(first_seq: int, first_offset: int, data: bytes) -> list[tuple[int, int, str]]:
    """`(seq, byte_offset, text)` of each line of a compressed batch (its lines, each with its
    newline, compressed as one zstd frame)."""
    raw = zstandard.ZstdDecompressor().decompress(data)
    lines: list[tuple[int, int, str]] = []
    offset = first_offset
    for index, chunk in enumerate(raw.split(b"\n")[:-1]):
        lines.append((first_seq + index, offset, chunk.decode()))
        offset += len(chunk) + 1
    return lines


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
