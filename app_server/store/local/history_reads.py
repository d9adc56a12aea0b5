"""Reading one located rollout for the local store: history, model history, lines, turn pages.

`ThreadLocator` finds the file (and locates it again when a move races the read); this
module reads it. Every read streams the rollout in a worker thread. A turn page is answered from
the SQLite history index when that is current, which a fold of the file (re)builds first when
another program appended to the rollout or a crash lost an index update.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from msgspec.structs import replace

from app_server.rollout.history import HistoryFold
from app_server.rollout.lines import StoredLine
from app_server.rollout.model_history import (
    ModelHistory,
    collect_model_history,
    collect_model_items,
)
from app_server.store.interface import ThreadHistory, ThreadNotStored
from app_server.store.local.backfill import path_loader, stamp_of
from app_server.store.local.history_queries import HistoryQueries
from app_server.store.local.index_db import ThreadIndex
from app_server.store.local.rollout_files import RolloutFile
from app_server.store.local.rollout_reader import RolloutLineReader, iter_rollout_lines
from app_server.store.local.thread_loader import record_for_rollout
from app_server.store.local.turn_page_reader import read_turn_page
from app_server.store.records import ThreadRecord
from app_server.store.turn_pages import TurnPageRequest, TurnsPage, page_for_request

Reindex = Callable[[RolloutFile], Awaitable[ThreadRecord | None]]
"""Fold a rollout and write its index rows (`ThreadLocator.reindex`); None when it is gone."""


def history_of_fold(
    data_dir: Path, record: ThreadRecord | None, rollout: RolloutFile, fold: HistoryFold, size: int
) -> ThreadHistory:
    """The `ThreadHistory` of a whole-rollout fold that kept its items (`size`: the bytes
    folded); `record` is the index row, whose live timestamps and name are kept."""
    fresh = record_for_rollout(data_dir, rollout, fold, name=record.name if record else None)
    if record is not None:  # keep the live timestamps the index holds
        fresh = replace(
            fresh,
            updated_at_ms=record.updated_at_ms,
            recency_at_ms=record.recency_at_ms,
            archived_at_ms=record.archived_at_ms,
        )
    turns = fold.turns()
    next_ordinal = None if fold.last_ordinal is None else fold.last_ordinal + 1
    saved = fold.metadata().saved_settings
    return ThreadHistory(fresh, turns, next_ordinal, size, saved_settings=saved)


class HistoryReader:
    """The reads of a rollout the store has located (see the module docstring)."""

    def __init__(
        self,
        data_dir: Path,
        index: Callable[[], ThreadIndex],
        is_writing: Callable[[str], bool],
        reindex: Reindex,
    ) -> None:
        self._data_dir = data_dir
        self._index = index
        self._is_writing = is_writing
        self._reindex = reindex

    async def history(self, record: ThreadRecord | None, rollout: RolloutFile) -> ThreadHistory:
        """Metadata and every turn. Finished turns stay their wire JSON (`pending_turn`), so
        the history of a huge rollout costs about the size of the answer it makes."""

        def read() -> tuple[HistoryFold, int]:
            reader = RolloutLineReader(rollout.path)
            loader = path_loader(self._data_dir, {})
            fold = HistoryFold(loader, collect_index=False).feed_lines(reader)
            return fold, reader.next_offset

        fold, size = await asyncio.to_thread(read)
        return history_of_fold(self._data_dir, record, rollout, fold, size)

    async def model_history(self, rollout: RolloutFile) -> ModelHistory:
        """What the model has seen: streamed, and cut back to the replacement history at each
        `compacted` line, so only the current context window is held."""
        loader = path_loader(self._data_dir, {})
        return await asyncio.to_thread(
            lambda: collect_model_history(iter_rollout_lines(rollout.path), loader)
        )

    async def model_items(self, path: Path, start: int, end: int) -> list[dict[str, Any]]:
        """The model items of a plain rollout from `start` (a `compacted` line, see
        `ModelHistoryFold.items_from`) to `end`: a resume's first turn reads only these."""
        return await asyncio.to_thread(
            lambda: collect_model_items(
                iter_rollout_lines(path, start_offset=start, end_offset=end)
            )
        )

    async def copy_lines(self, rollout: RolloutFile) -> list[StoredLine]:
        """Every line as written, without ordinals (a legacy fork copies them)."""
        return await asyncio.to_thread(
            lambda: [
                StoredLine({k: v for k, v in line.items() if k != "ordinal"})
                for _, line in iter_rollout_lines(rollout.path)
            ]
        )

    async def turn_page(
        self,
        thread_id: str,
        record: ThreadRecord | None,
        rollout: RolloutFile,
        request: TurnPageRequest,
    ) -> TurnsPage:
        """One page of turns: from the history index when it is current, else from a fold."""
        if record is None or await self._index_is_stale(rollout):
            record = await self._reindex(rollout)
            if record is None:
                raise ThreadNotStored(thread_id)
        page = await read_turn_page(
            HistoryQueries(self._index()), rollout.path, thread_id, record.history_mode, request
        )
        if page is not None:
            return page
        history = await self.history(record, rollout)
        return page_for_request(
            thread_id, history.turns, history_mode=history.record.history_mode, request=request
        )

    async def _index_is_stale(self, rollout: RolloutFile) -> bool:
        """Whether the rollout changed since it was indexed (another program appended to it,
        or a crash lost an index update). A thread we are writing is always current."""
        if self._is_writing(rollout.thread_id):
            return False
        try:
            stamp = await asyncio.to_thread(stamp_of, rollout.thread_id, rollout.path)
        except FileNotFoundError:
            return False  # compressed or restored meanwhile: the reader finds the other name
        indexed = await self._index().stamp(rollout.thread_id)
        history = await HistoryQueries(self._index()).state(rollout.thread_id)
        return indexed != stamp or history is None
