"""Serve a page of `thread/turns/list` by reading only that page's bytes of the rollout.

The history index knows where each visible turn starts (`thread_turn_starts`) and the fold state
at that point. A page of turns `lo..hi` is then the lines from turn `lo`'s start up to turn
`hi + 1`'s start (or the indexed end of the file), folded by a `TurnBuilder` started from turn
`lo`'s checkpoint: the cost is the page's bytes, not the file's. (A compressed rollout still has
to be decompressed from its start up to the page, since zstd streams cannot seek; that costs
time, not memory.)

Threads whose turns cannot be read this way (a paginated fork, whose first turns live in its base
thread's file; a thread with a rollback) are reported as not pageable and the store falls back
to folding the whole history. So is a window whose fold does not produce exactly the indexed
turns: the index is a cache, and a cache that disagrees with the file is never trusted.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from app_server.rollout.lines import HistoryMode
from app_server.rollout.turn_entry import TurnEntry
from app_server.store.local.history_index_db import TurnStartRow
from app_server.store.local.history_queries import HistoryQueries
from app_server.store.local.rollout_reader import RolloutLineReader
from app_server.store.turn_pages import (
    TurnPageRequest,
    TurnsPage,
    build_turns_page,
    first_seq,
    fold_window,
    page_window,
)

log = logging.getLogger(__name__)


async def read_turn_page(
    index: HistoryQueries,
    path: Path,
    thread_id: str,
    history_mode: HistoryMode,
    request: TurnPageRequest,
) -> TurnsPage | None:
    """The requested page, or `None` when the index cannot serve it (module docstring).

    Raises `InvalidCursor` for a cursor that does not name a turn of this thread.
    """
    state = await index.state(thread_id)
    if state is None or not state.pageable:
        return None
    descending = request.direction == "desc"
    count = state.turn_count
    start = await first_seq(
        index, thread_id, history_mode, request.cursor, descending=descending, count=count
    )
    window = page_window(start, count, request.limit, descending=descending)
    first, last, has_more = window.first, window.last, window.has_more
    if count == 0 or last < first:
        return build_turns_page(
            thread_id, [], has_more=False, history_mode=history_mode, view=request.view
        )
    rows = await index.turn_starts(thread_id, first, last + 1)
    wanted = last - first + 1
    if len(rows) < wanted or rows[0].seq != first:
        log.warning("turn index of %s is incomplete; reading the whole history", thread_id)
        return None
    end = rows[wanted].byte_offset if len(rows) > wanted else state.indexed_through
    entries = await asyncio.to_thread(_fold_window, path, rows[0], end, state.hidden_before_ordinal)
    if [entry.turn_id for entry in entries] != [row.turn_id for row in rows[:wanted]]:
        log.warning("turn index of %s disagrees with its rollout; reading it whole", thread_id)
        return None
    page = list(reversed(entries)) if descending else entries
    return build_turns_page(
        thread_id, page, has_more=has_more, history_mode=history_mode, view=request.view
    )


def _fold_window(
    path: Path, first: TurnStartRow, end_offset: int, hidden_before_ordinal: int | None
) -> list[TurnEntry]:
    """Fold the lines `[first.byte_offset, end_offset)` from `first`'s checkpoint (blocking)."""
    reader = RolloutLineReader(path, start_offset=first.byte_offset, end_offset=end_offset)
    return fold_window(reader, first.checkpoint, hidden_before_ordinal)
