"""Read-your-writes for stored threads: the one way the layers above read a thread's history.

Why one owner: a loaded thread's writer queues lines and writes them on `flush`, and the store
(its files, its index, or a database) only sees what was flushed. A read that forgets to flush
first answers with stale history: a turn missing from `thread/read`, a fork without the
source's last item. Every history read of the handlers and the thread manager goes through
`StoredReads`, which flushes the live writer of that thread (if any) before asking the store;
`tests/unit/test_stored_reads.py` keeps it so (no `store.read_history(` etc. elsewhere).

Reads that only list or look up metadata for policy (`list_threads`, the existence checks of
archive and delete, which unload the thread first) go to the store directly.
"""

from __future__ import annotations

from collections.abc import Callable

from app_server.rollout.lines import StoredLine
from app_server.rollout.model_history import ModelHistory
from app_server.store.interface import ThreadHistory, ThreadStore, ThreadWriter
from app_server.store.records import ThreadRecord
from app_server.store.turn_pages import TurnPageRequest, TurnsPage

LiveWriter = Callable[[str], ThreadWriter | None]
"""The writer of a loaded thread, by id (None when not loaded or nothing written yet)."""


class StoredReads:
    """The store's read methods, each after flushing the thread's live writer."""

    def __init__(self, store: ThreadStore, live_writer: LiveWriter) -> None:
        self._store = store
        self._live_writer = live_writer

    async def _flush(self, thread_id: str) -> None:
        writer = self._live_writer(thread_id)
        if writer is not None:
            await writer.flush()

    async def record(self, thread_id: str) -> ThreadRecord | None:
        """The thread's metadata including everything its live writer appended (preview,
        update time, usage), or None if it is not stored."""
        await self._flush(thread_id)
        return await self._store.get(thread_id)

    async def read_history(self, thread_id: str) -> ThreadHistory:
        """Metadata and every turn (store errors as `ThreadStore.read_history`)."""
        await self._flush(thread_id)
        return await self._store.read_history(thread_id)

    async def turn_page(self, thread_id: str, request: TurnPageRequest) -> TurnsPage:
        """One page of turns (store errors as `ThreadStore.turn_page`)."""
        await self._flush(thread_id)
        return await self._store.turn_page(thread_id, request)

    async def model_history(self, thread_id: str) -> ModelHistory:
        """What the model has seen (store errors as `ThreadStore.model_history`)."""
        await self._flush(thread_id)
        return await self._store.model_history(thread_id)

    async def copy_lines(self, thread_id: str) -> list[StoredLine]:
        """Every line as written, for a legacy fork (store errors as `ThreadStore.copy_lines`)."""
        await self._flush(thread_id)
        return await self._store.copy_lines(thread_id)
