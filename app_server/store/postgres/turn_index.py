"""The turn-start index of the PostgreSQL store: `thread/turns/list` reads only the page's lines.

Each visible turn's start (`turn_starts`: the seq of its opening line and the turn builder's
state just before it) is written in the same transaction as the lines that hold it: by the
writer's flush, by `storage import`, and by a writer reopening a thread not indexed yet (written
before the index existed). A page of turns `lo..hi` is then the lines from turn `lo`'s start up
to turn `hi + 1`'s start (or the end of the thread), folded by a `TurnBuilder` started from turn
`lo`'s checkpoint: the cost is the page's lines, not the thread's (PostgreSQL, unlike a zstd
file, seeks to a seq at once, compressed batches included: only the batches of the page are
expanded).

The rules are the local store's (`local/turn_page_reader.py`): a thread whose turns cannot be
read this way (a paginated fork, a rollback: `turns_pageable` false; not indexed yet) is
answered `None` and the store folds the whole history; so is a window whose fold does not give
exactly the indexed turns (the index is a cache, never trusted over the lines).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Final

import asyncpg
from msgspec import Struct

from app_server.rollout.history_index import TurnStart
from app_server.rollout.lines import HistoryMode
from app_server.rollout.turn_builder import TurnCheckpoint
from app_server.rollout.turn_entry import TurnEntry
from app_server.store.errors import ThreadNotStored
from app_server.store.postgres.connect import Connection
from app_server.store.postgres.lines import StoredText, fetch_line_range, parse_lines
from app_server.store.turn_pages import (
    TurnPageRequest,
    TurnsPage,
    build_turns_page,
    first_seq,
    fold_window,
    page_window,
)

log = logging.getLogger(__name__)

INLINE_FOLD_LINES: Final = 200
"""Lines of a page folded on the event loop; a longer window (turns with many items) is folded
in a worker thread (about 10 µs a line: 200 lines keep the loop free within ~2 ms)."""

_INSERT_STARTS: Final = (
    "INSERT INTO turn_starts (thread_id, seq, turn_id, rollout_ordinal, line_seq, byte_offset,"
    " next_item_index, next_implicit_turn)"
    " SELECT $1, s, t, o, l, b, i, m FROM unnest($2::bigint[], $3::text[], $4::bigint[],"
    " $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[]) AS u(s, t, o, l, b, i, m)"
    " ON CONFLICT (thread_id, seq) DO UPDATE SET turn_id = EXCLUDED.turn_id,"
    " rollout_ordinal = EXCLUDED.rollout_ordinal, line_seq = EXCLUDED.line_seq,"
    " byte_offset = EXCLUDED.byte_offset, next_item_index = EXCLUDED.next_item_index,"
    " next_implicit_turn = EXCLUDED.next_implicit_turn"
)


async def write_turn_starts(
    connection: Connection,
    thread_id: str,
    first_seq: int,
    starts: Sequence[TurnStart],
    line_seqs: dict[int, int],
) -> bool:
    """Insert `starts` as turns `first_seq…` (`line_seqs`: byte offset → line seq of the lines
    they start at); call in the transaction writing those lines. False (nothing written) when a
    start is not at one of those lines: the caller marks the thread not pageable."""
    if not starts:
        return True
    if any(start.byte_offset not in line_seqs for start in starts):
        return False
    await connection.execute(
        _INSERT_STARTS,
        thread_id,
        list(range(first_seq, first_seq + len(starts))),
        [start.turn_id for start in starts],
        [start.rollout_ordinal for start in starts],
        [line_seqs[start.byte_offset] for start in starts],
        [start.byte_offset for start in starts],
        [start.checkpoint.next_item_index for start in starts],
        [start.checkpoint.next_implicit_turn for start in starts],
    )
    return True


async def replace_turn_starts(
    connection: Connection, thread_id: str, starts: Sequence[TurnStart], lines: StoredText
) -> int:
    """Write the whole index of a thread whose `lines` were folded into `starts` (a thread
    written before the index existed); the turn count stored. Call in a transaction."""
    await connection.execute("DELETE FROM turn_starts WHERE thread_id = $1", thread_id)
    line_seqs = {offset: seq for seq, (offset, _text) in enumerate(lines)}
    if not await write_turn_starts(connection, thread_id, 0, starts, line_seqs):
        await connection.execute(
            "UPDATE threads SET turns_pageable = false WHERE id = $1", thread_id
        )
    return len(starts)


class _Start(Struct, frozen=True):
    seq: int
    turn_id: str
    line_seq: int
    checkpoint: TurnCheckpoint


class _Window(Struct, frozen=True):
    history_mode: HistoryMode
    hidden_before_ordinal: int | None
    starts: list[_Start]
    lines: StoredText
    has_more: bool


async def read_turn_page(
    pool: asyncpg.Pool, thread_id: str, request: TurnPageRequest
) -> TurnsPage | None:
    """The requested page, or `None` when the index cannot serve it (module docstring).

    Raises `ThreadNotStored`, and `InvalidCursor` for a cursor naming no turn of the thread.
    """
    descending = request.direction == "desc"
    async with (
        pool.acquire() as connection,
        connection.transaction(isolation="repeatable_read", readonly=True),
    ):
        window = await _read_window(connection, thread_id, request, descending)
    if window is None:
        return None
    if isinstance(window, str):  # the history mode of an empty page
        return build_turns_page(
            thread_id, [], has_more=False, history_mode=window, view=request.view
        )
    first = window.starts[0]
    if len(window.lines) <= INLINE_FOLD_LINES:
        entries = _fold_window(window.lines, first.checkpoint, window.hidden_before_ordinal)
    else:
        entries = await asyncio.to_thread(
            _fold_window, window.lines, first.checkpoint, window.hidden_before_ordinal
        )
    if [entry.turn_id for entry in entries] != [start.turn_id for start in window.starts]:
        log.warning("turn index of %s disagrees with its lines; reading it whole", thread_id)
        return None
    page = list(reversed(entries)) if descending else entries
    return build_turns_page(
        thread_id,
        page,
        has_more=window.has_more,
        history_mode=window.history_mode,
        view=request.view,
    )


async def _read_window(
    connection: Connection, thread_id: str, request: TurnPageRequest, descending: bool
) -> _Window | HistoryMode | None:
    """The page's turn starts and lines (one snapshot); the history mode alone for an empty
    page; None when the index cannot serve the thread."""
    state = await connection.fetchrow(
        "SELECT history_mode, turn_count, turns_pageable, hidden_before_ordinal, line_count"
        " FROM threads WHERE id = $1 AND line_count > 0",
        thread_id,
    )
    if state is None:
        raise ThreadNotStored(thread_id)
    if state["turn_count"] is None or not state["turns_pageable"]:
        return None
    history_mode: HistoryMode = state["history_mode"]
    count = int(state["turn_count"])
    start = await first_seq(
        _IndexedSeqs(connection),
        thread_id,
        history_mode,
        request.cursor,
        descending=descending,
        count=count,
    )
    window = page_window(start, count, request.limit, descending=descending)
    first, last, has_more = window.first, window.last, window.has_more
    if count == 0 or last < first:
        return history_mode
    rows = await connection.fetch(
        "SELECT seq, turn_id, line_seq, next_item_index, next_implicit_turn FROM turn_starts"
        " WHERE thread_id = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq",
        thread_id,
        first,
        last + 1,
    )
    wanted = last - first + 1
    if len(rows) < wanted or rows[0]["seq"] != first:
        log.warning("turn index of %s is incomplete; reading the whole history", thread_id)
        return None
    starts = [
        _Start(
            row["seq"],
            row["turn_id"],
            row["line_seq"],
            TurnCheckpoint(row["next_item_index"], row["next_implicit_turn"]),
        )
        for row in rows
    ]
    end = starts[wanted].line_seq if len(starts) > wanted else int(state["line_count"])
    lines = await fetch_line_range(connection, thread_id, starts[0].line_seq, end)
    return _Window(history_mode, state["hidden_before_ordinal"], starts[:wanted], lines, has_more)


class _IndexedSeqs:
    """The turn index's answers `first_seq` needs, read on the page's one connection."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def has_unordered_turns(self, thread_id: str) -> bool:
        unordered = await self._connection.fetchval(
            "SELECT 1 FROM turn_starts WHERE thread_id = $1 AND rollout_ordinal IS NULL LIMIT 1",
            thread_id,
        )
        return unordered is not None

    async def seq_after_ordinal(
        self, thread_id: str, ordinal: int, *, descending: bool, include: bool
    ) -> int | None:
        if descending:
            pick, operator = "max", "<=" if include else "<"
        else:
            pick, operator = "min", ">=" if include else ">"
        sql = (
            f"SELECT {pick}(seq) FROM turn_starts WHERE thread_id = $1"
            f" AND rollout_ordinal {operator} $2"
        )
        seq = await self._connection.fetchval(sql, thread_id, ordinal)
        return None if seq is None else int(seq)

    async def seq_of_turn(self, thread_id: str, turn_id: str) -> int | None:
        found = await self._connection.fetchval(
            "SELECT seq FROM turn_starts WHERE thread_id = $1 AND turn_id = $2",
            thread_id,
            turn_id,
        )
        return None if found is None else int(found)


def _fold_window(
    lines: StoredText, checkpoint: TurnCheckpoint, hidden_before_ordinal: int | None
) -> list[TurnEntry]:
    """Fold the window's lines from its first turn's checkpoint."""
    return fold_window(parse_lines(lines), checkpoint, hidden_before_ordinal)
