"""A thread's writer as the store hands it out: the rollout writer plus index upkeep.

Every line appended is also fed to the thread's `HistoryFold`, so after each `flush` the index row
(preview, model, tokens, updated time …) is rebuilt from exactly what reached the file — the
index follows the file and is never ahead of it (STORAGE.md §10).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from app_server.notification import now_ms
from app_server.store.interface import RolloutLine
from app_server.store.list_cursor import format_timestamp_ms
from app_server.store.local.backfill import stamp_of
from app_server.store.local.history import HistoryFold
from app_server.store.local.index_db import ThreadIndex
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
    ) -> None:
        self._writer = writer
        self._fold = fold
        self._index = index
        self._rollout_path = rollout_path
        self._created_at_ms = created_at_ms
        self._on_close = on_close
        self._unindexed: list[dict[str, Any]] = []
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
        ordinal = self._writer.next_ordinal
        self._writer.append(lines)
        stamp = format_timestamp_ms(now_ms())
        for line in lines:
            envelope: dict[str, Any] = {"timestamp": line.get("timestamp") or stamp}
            if ordinal is not None:
                envelope["ordinal"] = ordinal
                ordinal += 1
            envelope.update(line)
            self._unindexed.append(envelope)

    async def flush(self) -> None:
        await self._writer.flush()
        await self._update_index()

    async def sync(self) -> None:
        await self._writer.sync()
        await self._update_index()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self._writer.close()
            await self._update_index()
        finally:
            self._on_close(self.thread_id)

    async def _update_index(self) -> None:
        """Fold what was written since the last update and upsert the thread's row."""
        async with self._index_lock:
            if not self._unindexed:
                return
            lines, self._unindexed = self._unindexed, []
            for line in lines:
                self._fold.feed(0, line)
            existing = await self._index.get(self.thread_id)
            metadata = self._fold.metadata()
            updated = now_ms()
            record = build_thread_record(
                metadata,
                rollout_path=self._rollout_path,
                archived=False,
                updated_at_ms=updated,
                recency_at_ms=metadata.last_turn_started_at_ms or self._created_at_ms,
                name=existing.name if existing is not None else None,
                fallback_created_at_ms=self._created_at_ms,
            )
            if existing is not None and existing.recency_at_ms > record.recency_at_ms:
                record = replace(record, recency_at_ms=existing.recency_at_ms)
            path = self._writer.path
            stamp = (
                await asyncio.to_thread(stamp_of, self.thread_id, path) if path.exists() else None
            )
            await self._index.upsert([record], [stamp] if stamp is not None else [])
