"""Finding a thread's rollout for the local store, and repairing index rows that lost it.

The index row says where a thread's file is; another program, or a crash between a move and
its row update, can leave it wrong. A lookup falls back to searching the sessions trees; the
read repairs then point the row at the file's place (`relocate`, under the `locations` lock),
drop a row whose file is gone, or fold a rollout the index does not know and index it
(`reindex`, under both locks, `names` first). A read racing a move locates the file again
(`located`), and a listing checks its page's files before answering (`rows_in_place`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TypeVar

from app_server.notification import now_ms
from app_server.rollout.history import HistoryFold
from app_server.store.interface import ThreadNotStored
from app_server.store.local.backfill import MetadataLocks, fold_for_index, path_loader, stamp_of
from app_server.store.local.history_index_db import IndexedHistory
from app_server.store.local.index_db import RolloutStamp, ThreadIndex
from app_server.store.local.rollout_files import (
    RolloutFile,
    find_rollout_file,
    relative_rollout_path,
    rollout_exists,
    zst_rollout_path,
)
from app_server.store.local.session_index import thread_name
from app_server.store.local.thread_loader import record_for_rollout
from app_server.store.records import ThreadRecord

MOVED_WHILE_READING_RETRIES = 3
"""How often a read locates a rollout again after it moved while being opened (each attempt
costs one lookup; a thread moved more often than this during one read is answered as gone)."""

T = TypeVar("T")


class ThreadLocator:
    """Locates rollouts and repairs the rows that point at them (see the module docstring)."""

    def __init__(
        self,
        data_dir: Path,
        index: Callable[[], ThreadIndex],
        locks: MetadataLocks,
        writers: set[str],
    ) -> None:
        """`writers`: the threads being written, whose rows their writers keep current."""
        self._data_dir = data_dir
        self._index = index
        self._locks = locks
        self._writers = writers

    async def locate(self, thread_id: str) -> tuple[ThreadRecord | None, RolloutFile | None]:
        """The thread's record and its current file (the index path, else a search)."""
        record = await self._index().get(thread_id)
        if record is not None:
            plain = self._data_dir / record.rollout_path
            for path in (plain, zst_rollout_path(plain)):
                if path.exists():
                    return record, RolloutFile(thread_id, path, record.archived)
        rollout = await asyncio.to_thread(find_rollout_file, self._data_dir, thread_id)
        return record, rollout

    async def get(self, thread_id: str) -> ThreadRecord | None:
        """The thread's record, repaired first when its file moved or is not indexed yet."""
        record, rollout = await self.locate(thread_id)
        if record is not None:
            if rollout is not None and rollout.plain_path == self._data_dir / record.rollout_path:
                return record
            # The file moved or disappeared behind our back (another program, or a crash
            # between a move and its row update).
            await self.relocate(thread_id)
            return await self._index().get(thread_id)
        if rollout is None:
            return None
        return await self.reindex(rollout)

    async def relocate(self, thread_id: str) -> RolloutFile | None:
        """Point the thread's row at wherever its file is now (read repair), or drop the row
        when there is no file; returns the file. Under `locations`, so no move of ours is
        half done while the trees are searched, and none is written over."""
        async with self._locks.locations:
            rollout = await asyncio.to_thread(find_rollout_file, self._data_dir, thread_id)
            record = await self._index().get(thread_id)
            if rollout is None:
                if record is not None and thread_id not in self._writers:
                    await self._index().delete([thread_id])
                return None
            path = relative_rollout_path(self._data_dir, rollout.path)
            if record is not None and (record.rollout_path, record.archived) != (
                path,
                rollout.archived,
            ):
                await self._index().set_archived(
                    thread_id, rollout.archived, now_ms() if rollout.archived else None, path
                )
            return rollout

    async def reindex(self, rollout: RolloutFile) -> ThreadRecord | None:
        """Fold a rollout the index does not know (yet), or that changed behind its back, and
        index it: its row, stamp and history-index rows (read repair). None when the file is
        gone by the time it is indexed.

        The fold runs unlocked (it may take long); the row is written under both locks, at the
        place the file is then (it may have been archived or unarchived meanwhile) and, for a
        new row, with the name `session_index.jsonl` has then."""

        def fold() -> tuple[HistoryFold, IndexedHistory | None, RolloutStamp]:
            stamp = stamp_of(rollout.thread_id, rollout.path)
            folded, history = fold_for_index(rollout.path, path_loader(self._data_dir, {}))
            return folded, history, stamp

        thread_id = rollout.thread_id
        folded, history, stamp = await asyncio.to_thread(fold)
        async with self._locks.names, self._locks.locations:
            current: RolloutFile | None = rollout
            if not await asyncio.to_thread(rollout_exists, rollout.path):
                current = await asyncio.to_thread(find_rollout_file, self._data_dir, thread_id)
            if current is None:
                return None
            existing = await self._index().get(thread_id)
            if existing is not None and thread_id in self._writers:
                return existing  # our writer keeps it current; this fold may be older
            name = (
                existing.name
                if existing is not None
                else await asyncio.to_thread(thread_name, self._data_dir, thread_id)
            )
            try:
                record = record_for_rollout(self._data_dir, current, folded, name=name)
            except FileNotFoundError:  # compressed or restored this instant: the other name
                current = await asyncio.to_thread(find_rollout_file, self._data_dir, thread_id)
                if current is None:
                    return None
                record = record_for_rollout(self._data_dir, current, folded, name=name)
            await self._index().upsert([record], [stamp], [history] if history is not None else [])
        return await self._index().get(thread_id)

    async def rows_in_place(self, records: Sequence[ThreadRecord]) -> bool:
        """Whether every row's file is where the row says. Rows whose file moved or vanished
        behind our back are repaired first (False: the page must be queried again, so a
        thread is never listed on the side it left)."""
        paths = [self._data_dir / record.rollout_path for record in records]
        present = await asyncio.to_thread(lambda: [rollout_exists(path) for path in paths])
        stale = [record.id for record, here in zip(records, present, strict=True) if not here]
        for thread_id in stale:
            await self.relocate(thread_id)
        return not stale

    async def located(
        self,
        thread_id: str,
        read: Callable[[ThreadRecord | None, RolloutFile], Awaitable[T]],
    ) -> T:
        """`read` the thread's rollout where it is now. A rollout moved by an archive, an
        unarchive, a compression or a restore between locating and opening it is located
        again (at most `MOVED_WHILE_READING_RETRIES` times), so a read racing a move never
        fails on the path the file just left."""
        for _ in range(MOVED_WHILE_READING_RETRIES):
            record, rollout = await self.locate(thread_id)
            if rollout is None:
                raise ThreadNotStored(thread_id)
            try:
                return await read(record, rollout)
            except FileNotFoundError:
                continue
        raise ThreadNotStored(thread_id)
