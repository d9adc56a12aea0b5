"""A thread's writer as the store hands it out: the rollout writer plus index upkeep.

Every line appended is also fed to the thread's `HistoryFold`, so after each `flush` the index row
(preview, model, tokens, updated time …) is rebuilt from exactly what reached the file — the
index follows the file and is never ahead of it (STORAGE.md §10). The history index (turn starts,
searchable messages) is caught up the same way, from the last indexed byte offset: only the new
lines are folded and only their rows are added, so search sees a turn's messages as soon as they
are flushed and turn pages never need the file re-read.

The writer owns the content of its thread's row, not its location or its name: the row it
creates at the first flush says where it writes (live) and the name the thread was given before
it had a file (`name`), and afterwards its updates leave both alone. An archive can move the
file while an update is on its way (a cancelled `close` finishes its update in the background),
and a rename can land between reading the row and writing it back: neither is undone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path

from msgspec.structs import replace

from app_server.notification import now_ms
from app_server.rollout.history import HistoryFold
from app_server.rollout.lines import RolloutLine, StoredLine
from app_server.store.local.backfill import stamp_of
from app_server.store.local.history_index_db import IndexedHistory
from app_server.store.local.index_db import RolloutStamp, ThreadIndex
from app_server.store.local.rollout_writer import RolloutWriter
from app_server.store.records import build_thread_record


class IndexedThreadWriter:
    """Implements `ThreadWriter` over a `RolloutWriter` and the index (module docstring)."""

    def __init__(
        self,
        writer: RolloutWriter,
        fold: HistoryFold,
        index: ThreadIndex,
        *,
        rollout_path: str,
        created_at_ms: int,
        on_close: Callable[[str], None],
        name: str | None = None,
    ) -> None:
        self._writer = writer
        self.name = name
        """The name the row gets if this writer creates it (a thread named before its first
        line was written); the store updates it when the thread is renamed meanwhile."""
        self._fold = fold
        self._index = index
        self._rollout_path = rollout_path
        self._created_at_ms = created_at_ms
        self._on_close = on_close
        # Lines appended but not yet folded into the index, with their byte offsets; they are
        # lines `_indexed_count …` of everything ever appended.
        self._unindexed: list[tuple[int, int, StoredLine]] = []
        self._appended_count = 0
        self._indexed_count = 0
        self._end_offset = writer.byte_size
        self._index_lock = asyncio.Lock()
        self._closed = False

    @property
    def thread_id(self) -> str:
        return self._writer.thread_id

    @property
    def next_ordinal(self) -> int | None:
        return self._writer.next_ordinal

    @property
    def byte_size(self) -> int:
        return self._writer.byte_size

    def append(self, lines: Sequence[RolloutLine]) -> None:
        for record, size in self._writer.append_sized(lines):
            self._unindexed.append((self._end_offset, size, record))
            self._end_offset += size
        self._appended_count += len(lines)

    async def flush(self) -> None:
        written = self._appended_count
        await self._writer.flush()
        await self._update_index(written)

    async def sync(self) -> None:
        written = self._appended_count
        await self._writer.sync()
        await self._update_index(written)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            written = self._appended_count
            await self._writer.close()
            await self._update_index(written)
        finally:
            self._on_close(self.thread_id)

    async def _update_index(self, written: int) -> None:
        """Fold the first `written` appended lines (they reached the file) into the index:
        the thread's row and its history-index rows.

        The update runs to its end even when the caller is cancelled (an interrupted turn
        cancels the flush it awaits): it takes the lines out of `_unindexed` before writing
        their rows, so stopping halfway would lose them from the history index for good."""
        await asyncio.shield(self._fold_into_index(written))

    async def _fold_into_index(self, written: int) -> None:
        async with self._index_lock:
            count = written - self._indexed_count
            if count <= 0:
                return
            lines, self._unindexed = self._unindexed[:count], self._unindexed[count:]
            self._indexed_count = written
            for offset, _size, line in lines:
                self._fold.feed(offset, line)
            last_offset, last_size, _ = lines[-1]
            history = IndexedHistory(
                self.thread_id, self._fold.index.drain(), last_offset + last_size, replace=False
            )
            existing = await self._index.get(self.thread_id)
            stamp = await asyncio.to_thread(_stamp_if_present, self.thread_id, self._writer.path)
            metadata = self._fold.metadata()
            record = build_thread_record(
                metadata,
                rollout_path=self._rollout_path,
                archived=False,
                updated_at_ms=now_ms(),
                recency_at_ms=metadata.last_turn_started_at_ms or self._created_at_ms,
                name=self.name,  # read with no await before the upsert queues (see `name`)
                fallback_created_at_ms=self._created_at_ms,
            )
            if existing is not None and existing.recency_at_ms > record.recency_at_ms:
                record = replace(record, recency_at_ms=existing.recency_at_ms)
            await self._index.upsert(
                [record], [stamp] if stamp is not None else [], [history], keep_location=True
            )


def _stamp_if_present(thread_id: str, path: Path) -> RolloutStamp | None:
    """The file's stamp, or None once it is gone from `path` (archived meanwhile: its stamp
    did not change with the move, and the index keeps the one it has)."""
    try:
        return stamp_of(thread_id, path)
    except FileNotFoundError:
        return None
