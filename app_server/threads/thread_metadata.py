"""`thread/metadata/update`: a thread's Git metadata and Daybreak choice, patched and kept.

Codex 0.169 keeps these in its SQLite state only (no rollout line, no notification), over what
the rollout's `session_meta` says, for loaded and stored threads alike (also before the first
turn), and every later read shows them: `thread/read`, `thread/list`, `thread/resume`, after a
restart too (observed on the binary). Here the patch is a store mark (`MetadataPatch`, kept in
our index beside read receipts and goals) and `patched_thread` lays it over the wire `Thread`
wherever a thread is shown.
"""

from __future__ import annotations

from collections.abc import Sequence

from app_server.errors import NotFound
from app_server.store.records import ThreadRecord, thread_from_record
from app_server.store.thread_marks import MetadataPatch
from app_server.threads.manager import ThreadManager
from app_server.threads.metadata_patch import patched_thread
from protocol.types import Thread


async def patches_for(
    manager: ThreadManager, records: Sequence[ThreadRecord]
) -> dict[str, MetadataPatch]:
    """The metadata patches of the listed threads (one store read for the page)."""
    if not records:
        return {}
    return await manager.store.metadata_patches([record.id for record in records])


class ThreadMetadataUpdates:
    """Applies `thread/metadata/update` to loaded and stored threads."""

    def __init__(self, manager: ThreadManager) -> None:
        self._manager = manager

    async def update(self, thread_id: str, patch: MetadataPatch) -> Thread:
        """Store the patch and answer the thread as codex does: the stored view
        (`canAcceptDirectInput` null), with a loaded thread's status and environments."""
        loaded = self._manager.loaded(thread_id)
        record = await self._manager.reads.record(thread_id)
        if record is None:
            if loaded is None:
                raise NotFound(f"thread not found: {thread_id}")
            record = loaded.record
        stored = await self._manager.store.patch_metadata(thread_id, patch)
        thread = thread_from_record(record, self._manager.data_dir)
        if loaded is not None:  # a loaded thread's status and environments, as codex answers
            loaded.metadata = stored
            live = loaded.thread(self._manager.data_dir)
            thread = thread.model_copy(
                update={"status": live.status, "environments": live.environments}
            )
        return patched_thread(thread, stored)
