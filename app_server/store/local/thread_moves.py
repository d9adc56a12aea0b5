"""Archiving, unarchiving and deleting threads of the local store: moves and removals of files.

The file change is the commit point and the index row follows it: a rename (archive,
unarchive) under the thread's writer lock and the store's `locations` lock, so no repair or scan
writes the old place back in between; an unlink per thread of a tree, deepest first, then the
rewrite of `session_index.jsonl` under the `names` lock. Whatever a kill leaves between a file
change and its row is settled by the next start's scan.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from app_server.notification import now_ms
from app_server.store.interface import ForkReferenced, ThreadNotStored
from app_server.store.local.backfill import MetadataLocks
from app_server.store.local.index_db import ThreadIndex
from app_server.store.local.rollout_files import (
    RolloutFile,
    archived_rollout_path,
    relative_rollout_path,
    unarchived_rollout_path,
)
from app_server.store.local.rollout_moves import (
    deepest_first,
    move_rollout_files,
    unlink_rollout_files,
)
from app_server.store.local.session_index import rewrite_session_index_without
from app_server.store.local.writer_gate import WriterGate
from app_server.store.local.writer_lock import ThreadWriterLock
from app_server.store.records import ThreadRecord

Locate = Callable[[str], Awaitable[tuple[ThreadRecord | None, RolloutFile | None]]]
"""The thread's record and its current file (`ThreadLocator.locate`)."""
Get = Callable[[str], Awaitable[ThreadRecord | None]]
"""The thread's record after read repair (the store's `get`)."""


class ThreadMoves:
    """Archive, unarchive and delete (see the module docstring)."""

    def __init__(
        self,
        data_dir: Path,
        index: Callable[[], ThreadIndex],
        gate: WriterGate,
        locks: MetadataLocks,
        writers: set[str],
        locate: Locate,
        get: Get,
    ) -> None:
        self._data_dir = data_dir
        self._index = index
        self._gate = gate
        self._locks = locks
        self._writers = writers
        self._locate = locate
        self._get = get

    async def _move(
        self, thread_id: str, rollout: RolloutFile, target_plain: Path, *, archived: bool
    ) -> None:
        """Move a thread's file(s) (plain and/or `.zst`) under its writer lock, and record the
        move in its row. The rename is the commit point; the row follows under `locations`,
        so no repair or scan can write the old place back in between (a kill in between is
        settled by the next start's scan)."""
        async with (
            self._gate.exclusive(thread_id),
            ThreadWriterLock(self._data_dir, thread_id),
            self._locks.locations,
        ):
            try:
                await asyncio.to_thread(move_rollout_files, rollout.path, target_plain)
            except FileNotFoundError:  # moved or deleted since it was located
                raise ThreadNotStored(thread_id) from None
            await self._index().set_archived(
                thread_id,
                archived,
                now_ms() if archived else None,
                relative_rollout_path(self._data_dir, target_plain),
            )

    async def archive(self, thread_id: str) -> ThreadRecord:
        """Move a live thread that is not being written to `archived_sessions/`."""
        _, rollout = await self._locate(thread_id)
        if rollout is None or rollout.archived or thread_id in self._writers:
            raise ThreadNotStored(thread_id)
        target = archived_rollout_path(self._data_dir, rollout.plain_path.name)
        await self._move(thread_id, rollout, target, archived=True)
        archived = await self._get(thread_id)
        if archived is None:
            raise ThreadNotStored(thread_id)
        return archived

    async def unarchive(self, thread_id: str) -> ThreadRecord:
        """Move an archived thread back to its date folder under `sessions/`."""
        _, rollout = await self._locate(thread_id)
        if rollout is None or not rollout.archived:
            raise ThreadNotStored(thread_id)
        target = unarchived_rollout_path(self._data_dir, rollout.plain_path.name)
        if target is None:
            raise ThreadNotStored(thread_id)
        await self._move(thread_id, rollout, target, archived=False)
        restored = await self._get(thread_id)
        if restored is None:
            raise ThreadNotStored(thread_id)
        return restored

    async def delete_tree(self, thread_id: str) -> list[str]:
        """Delete the thread and its descendants, deepest first; refused while a fork's
        history still starts in the tree (`ForkReferenced`)."""
        if await self._get(thread_id) is None:
            raise ThreadNotStored(thread_id)
        index = self._index()
        tree = {thread_id} | await index.descendant_ids(thread_id)
        if await index.history_dependents(tree):
            raise ForkReferenced(thread_id)
        order = await self._deepest_first(thread_id, tree)
        for doomed in order:
            await self._delete_one(doomed)
        async with self._locks.names:  # a rename appended meanwhile must not be dropped
            await asyncio.to_thread(rewrite_session_index_without, self._data_dir, set(order))
        return order

    async def _deepest_first(self, root: str, tree: set[str]) -> list[str]:
        parents: dict[str, str | None] = {}
        for thread_id in tree:
            record = await self._index().get(thread_id)
            parents[thread_id] = record.parent_thread_id if record else None
        return deepest_first(root, tree, parents)

    async def _delete_one(self, thread_id: str) -> None:
        """Remove one thread's file(s) then its rows; unlinking the file is the commit point."""
        _, rollout = await self._locate(thread_id)
        if rollout is not None:
            async with (
                self._gate.exclusive(thread_id),
                ThreadWriterLock(self._data_dir, thread_id),
            ):
                await asyncio.to_thread(unlink_rollout_files, rollout.path)
        await self._index().delete([thread_id])
