"""The local store's open writers: creating a thread's rollout, reopening one to append.

A thread has at most one writer in this process (`ThreadAlreadyStored` / the writer lock keep
other processes out). `writers` is the set of thread ids being written, shared with the gate,
the reconciler and compression, which leave those threads alone; `open` maps the ids to their
writers (a rename reaches a writer that has not created its row yet through it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

from msgspec import Struct
from msgspec.structs import replace

from app_server.rollout.history import HistoryFold
from app_server.rollout.lines import HistoryMode
from app_server.rollout.model_history import ModelHistory, ModelHistoryFold
from app_server.store.errors import ThreadAlreadyStored
from app_server.store.interface import ThreadHistory, ThreadNotStored
from app_server.store.local.backfill import fold_for_index, path_loader, stamp_of
from app_server.store.local.history_index_db import IndexedHistory
from app_server.store.local.history_queries import HistoryQueries
from app_server.store.local.history_reads import history_of_fold
from app_server.store.local.index_db import ThreadIndex
from app_server.store.local.indexed_writer import IndexedThreadWriter
from app_server.store.local.rollout_files import (
    RolloutFile,
    archived_rollout_path,
    live_rollout_path,
    relative_rollout_path,
    rollout_exists,
)
from app_server.store.local.rollout_writer import RolloutWriter
from app_server.store.local.writer_gate import WriterGate
from app_server.store.records import ThreadRecord


class ReopenedModel(Struct, frozen=True):
    """The model history a writer's reopening folded, without its items."""

    path: Path
    """The plain rollout the writer appends to (it stays there while the writer is open)."""
    byte_size: int
    """The bytes folded (the writer must not have appended since)."""
    summary: ModelHistory
    items_from: int | None
    """Where the items can be read from alone (`ModelHistoryFold.items_from`)."""


Locate = Callable[[str], Awaitable[tuple[ThreadRecord | None, RolloutFile | None]]]
"""The thread's record and its current file (`ThreadLocator.locate`)."""


class ThreadWriters:
    """Opens writers and keeps track of them (see the module docstring)."""

    def __init__(
        self,
        data_dir: Path,
        index: Callable[[], ThreadIndex],
        gate: WriterGate,
        writers: set[str],
        locate: Locate,
    ) -> None:
        self._data_dir = data_dir
        self._index = index
        self._gate = gate
        self.writers = writers
        """The ids of the threads being written (shared, see the module docstring)."""
        self.open: dict[str, IndexedThreadWriter] = {}
        """The open writers by thread id (`writers` holds the same ids, for the gate)."""
        self._locate = locate
        self._reopened: dict[str, ThreadHistory] = {}
        """The history the fold of `reopen` also gave, until `take_reopened_history` hands it
        to the read that follows (a resume), or the writer closes."""
        self._reopened_models: dict[str, ReopenedModel] = {}
        """The model history (without items) the same fold gave, until
        `take_reopened_model` hands it over, or the writer closes."""

    def _release(self, thread_id: str) -> None:
        self.writers.discard(thread_id)
        self.open.pop(thread_id, None)
        self._reopened.pop(thread_id, None)
        self._reopened_models.pop(thread_id, None)

    def take_reopened_history(self, thread_id: str) -> ThreadHistory | None:
        """The history folded when the thread's writer was reopened, once, if the writer has
        appended nothing since (else None: the caller reads the file). A resume opens the
        writer and then reads the history; this way a huge rollout is folded once, not twice
        (issue 17)."""
        history = self._reopened.pop(thread_id, None)
        writer = self.open.get(thread_id)
        if history is None or writer is None or writer.byte_size != history.byte_size:
            return None
        return history

    def take_reopened_model(self, thread_id: str) -> ReopenedModel | None:
        """The model history (without items) folded when the thread's writer was reopened,
        once, if the writer has appended nothing since (else None: the caller reads the file).
        The thread's first turn reads only the items then, from the last compaction on."""
        taken = self._reopened_models.pop(thread_id, None)
        writer = self.open.get(thread_id)
        if taken is None or writer is None or writer.byte_size != taken.byte_size:
            return None
        return taken

    def _opened(self, writer: IndexedThreadWriter) -> IndexedThreadWriter:
        self.open[writer.thread_id] = writer
        return writer

    async def create(
        self,
        thread_id: str,
        *,
        created_at: datetime,
        created_at_ms: int,
        history_mode: HistoryMode,
        start_ordinal: int,
        name: str | None,
    ) -> IndexedThreadWriter:
        """A writer of a new thread's rollout; `ThreadAlreadyStored` when it has one."""
        path = live_rollout_path(self._data_dir, thread_id, created_at)
        archived = archived_rollout_path(self._data_dir, path.name)
        if await asyncio.to_thread(lambda: rollout_exists(path) or rollout_exists(archived)):
            # A second file would shadow the first (a live copy wins over an archived one).
            raise ThreadAlreadyStored(thread_id)
        writer = await RolloutWriter.open(
            path,
            data_dir=self._data_dir,
            thread_id=thread_id,
            history_mode=history_mode,
            start_ordinal=start_ordinal,
        )
        self.writers.add(thread_id)
        return self._opened(
            IndexedThreadWriter(
                writer,
                HistoryFold(path_loader(self._data_dir, {}), keep_items=False),
                self._index(),
                rollout_path=relative_rollout_path(self._data_dir, path),
                created_at_ms=created_at_ms,
                on_close=self._release,
                name=name,
            )
        )

    async def reopen(self, thread_id: str) -> IndexedThreadWriter:
        """A writer appending to a stored, unarchived thread (its history index refreshed
        when the file says more than the index)."""
        record, rollout = await self._locate(thread_id)
        if rollout is None or rollout.archived or record is None:
            raise ThreadNotStored(thread_id)
        async with self._gate.exclusive(thread_id):  # waits for a compression of this thread
            try:
                writer = await RolloutWriter.open(
                    rollout.path,
                    data_dir=self._data_dir,
                    thread_id=thread_id,
                    history_mode=record.history_mode,
                    must_exist=True,
                )
            except FileNotFoundError:  # archived (or deleted) since it was located
                raise ThreadNotStored(thread_id) from None
            self.writers.add(thread_id)
        try:
            loader = path_loader(self._data_dir, {})
            model = ModelHistoryFold(loader, keep_items=False)
            fold, history = await asyncio.to_thread(
                fold_for_index, writer.path, loader, keep_items=True, model=model
            )
            if history is not None and not await self._history_is_current(history):
                stamp = await asyncio.to_thread(stamp_of, thread_id, writer.path)
                await self._index().upsert([], [stamp], [history])
            if history is not None and fold.lineage_error is None:
                plain = RolloutFile(thread_id, writer.path, rollout.archived)
                reopened = history_of_fold(
                    self._data_dir, record, plain, fold, history.indexed_through
                )
                if model.failed is None:
                    size = history.indexed_through
                    self._reopened_models[thread_id] = ReopenedModel(
                        writer.path, size, model.history, model.items_from
                    )
                    reopened = replace(reopened, model_summary=model.history)
                self._reopened[thread_id] = reopened
            fold.stop_keeping_items()  # the writer's fold keeps one turn, as before
        except BaseException:
            self._release(thread_id)
            await writer.close()
            raise
        return self._opened(
            IndexedThreadWriter(
                writer,
                fold,
                self._index(),
                rollout_path=relative_rollout_path(self._data_dir, writer.path),
                created_at_ms=record.created_at_ms,
                on_close=self._release,
            )
        )

    async def _history_is_current(self, history: IndexedHistory) -> bool:
        """Whether the stored history index already says what a fresh fold says (then a huge
        thread's rows are not rewritten every time it is resumed). The message count is
        compared too: an index written before rollbacks dropped messages may hold more, and a
        writer's later rollback deletes rows by their number among the thread's."""
        queries = HistoryQueries(self._index())
        state = await queries.state(history.thread_id)
        return (
            state is not None
            and state.indexed_through == history.indexed_through
            and state.turn_count == len(history.delta.turn_starts)
            and state.pageable == history.delta.pageable
            and await queries.message_count(history.thread_id) == len(history.delta.messages)
        )
