"""Operations on stored threads: name, archive, unarchive, delete (PROTOCOL.md §7.7 to §7.10).

They work whether or not the thread is loaded. A loaded thread is unloaded before its file moves
or disappears (archive, delete); the store then does the file work. A thread that is not stored
is refused with the store's `ThreadNotStored`, which `app_server.rpc.store_errors` words as 0.169
does for each method.
"""

from __future__ import annotations

from msgspec.structs import replace

from app_server.client_connection import ClientConnection
from app_server.errors import InvalidRequest
from app_server.store.errors import ThreadNotStored
from app_server.store.records import ThreadRecord
from app_server.threads.fanout import publish
from app_server.threads.manager import ThreadManager
from protocol import types as wire


class StoredThreadOperations:
    """Names, archives, restores and deletes threads on behalf of the thread manager."""

    def __init__(self, manager: ThreadManager) -> None:
        self._manager = manager

    async def set_name(self, thread_id: str, name: str) -> None:
        """Name a stored or loaded thread. A new thread's name is recorded at once too (as
        codex does, in `session_index.jsonl`) and its rollout's first index row carries it, so
        the name survives the first turn, an unload and a restart."""
        if not name.strip():
            raise InvalidRequest("thread name must not be empty")
        thread = self._manager.loaded(thread_id)
        if thread is not None and thread.ephemeral:
            thread.record = replace(thread.record, name=name)
            return
        await self._manager.store.set_name(
            thread_id, name, unsaved=thread is not None and not thread.persisted
        )
        if thread is not None:  # a writer the thread gets from now on is created with it
            thread.record = replace(thread.record, name=name)

    def announce_renamed(self, connection: ClientConnection, thread_id: str, name: str) -> None:
        """`thread/name/updated` to the thread's subscribers and the caller."""
        thread = self._manager.loaded(thread_id)
        listeners = dict(thread.subscribers) if thread is not None else {}
        listeners[connection.connection_id] = connection
        publish(
            listeners.values(),
            wire.ThreadNameUpdatedNotification(thread_id=thread_id, thread_name=name),
        )

    async def archive(self, thread_id: str) -> None:
        thread = self._manager.loaded(thread_id)
        if thread is not None and not thread.persisted:
            raise ThreadNotStored(thread_id)
        record = await self._manager.store.get(thread_id)
        if record is None or record.archived:
            raise ThreadNotStored(thread_id)
        if thread is not None:
            await self._manager.unloader.unload(thread)
        await self._manager.store.archive(thread_id)

    def announce_archived(self, thread_id: str) -> None:
        self._manager.connections.broadcast(wire.ThreadArchivedNotification(thread_id=thread_id))

    async def unarchive(self, thread_id: str) -> ThreadRecord:
        return await self._manager.store.unarchive(thread_id)

    def announce_unarchived(self, thread_id: str) -> None:
        self._manager.connections.broadcast(wire.ThreadUnarchivedNotification(thread_id=thread_id))

    async def delete(self, thread_id: str) -> list[str]:
        """Delete a thread and its spawned descendants; returns their ids, deepest first.

        A loaded thread that has no rollout yet (no turn) is only unloaded, as codex 0.169 does:
        it answers `{}` and announces `thread/status/changed` and `thread/deleted`."""
        if await self._manager.store.get(thread_id) is None:
            unsaved = self._manager.loaded(thread_id)
            if unsaved is None or unsaved.persisted:
                raise ThreadNotStored(thread_id)
            await self._manager.unloader.unload(unsaved)
            return [thread_id]
        for loaded in self._manager.loaded_threads():
            if loaded.id == thread_id or await self._descends_from(loaded.record, thread_id):
                await self._manager.unloader.unload(loaded)
        return await self._manager.store.delete_tree(thread_id)

    async def _descends_from(self, record: ThreadRecord, ancestor_id: str) -> bool:
        parent = record.parent_thread_id
        seen: set[str] = set()
        while parent is not None and parent not in seen:
            if parent == ancestor_id:
                return True
            seen.add(parent)
            loaded = self._manager.loaded(parent)
            parent_record = (
                loaded.record if loaded is not None else await self._manager.store.get(parent)
            )
            parent = parent_record.parent_thread_id if parent_record is not None else None
        return False

    def announce_deleted(self, thread_ids: list[str]) -> None:
        for deleted in thread_ids:
            self._manager.connections.broadcast(wire.ThreadDeletedNotification(thread_id=deleted))
