"""Releasing loaded threads: on request, when idle, on another process's handover, at shutdown.

A loaded thread holds its rollout's writer lock, its tool workspace and maybe a running turn;
releasing it stops the turn (recorded as interrupted), closes the workspace and closes the writer
(fsync, lock released). PROTOCOL.md §5: a thread nobody is subscribed to and no turn runs on is
unloaded after `idle_thread_unload_seconds` and every connection hears `thread/closed`; another
process sharing the store may ask for a thread it wants to serve. The thread manager decides who
is subscribed and tells this module when a thread may have become idle (a subscriber left, a turn
ended, the server loaded it for itself); this module owns the timers and the release, so the
manager keeps to its own concern, which threads are loaded and who listens to them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from app_server.threads.fanout import Connections
from app_server.threads.loaded_thread import LoadedThread
from protocol import types as wire
from protocol.types import NotLoadedThreadStatus, ThreadStatus

log = logging.getLogger(__name__)

SetStatus = Callable[[LoadedThread, ThreadStatus], None]
"""The manager's `set_status`: change a thread's status and tell every connection."""


class ThreadUnloader:
    """Unloads the manager's loaded threads (see the module docstring)."""

    def __init__(
        self,
        loaded: dict[str, LoadedThread],
        connections: Connections,
        set_status: SetStatus,
        *,
        idle_unload_seconds: float,
    ) -> None:
        self._loaded = loaded
        """The manager's table of loaded threads (shared: an unloaded thread leaves it)."""
        self._connections = connections
        self._set_status = set_status
        self._idle_unload_seconds = idle_unload_seconds

    def schedule_idle_unload(self, thread: LoadedThread) -> None:
        """Unload the thread after the idle delay unless it gets a subscriber first (no-op
        while it has one or the timer already runs)."""
        if thread.subscribers or thread.idle_unload is not None:
            return
        loop = asyncio.get_running_loop()
        thread.idle_unload = loop.call_later(
            self._idle_unload_seconds,
            lambda: loop.create_task(self._unload_if_idle(thread.id)),
        )

    async def _unload_if_idle(self, thread_id: str) -> None:
        thread = self._loaded.get(thread_id)
        if thread is None:
            return
        thread.idle_unload = None
        if thread.subscribers or thread.status.type == "active":
            return
        await self.unload(thread)
        self._connections.broadcast(wire.ThreadClosedNotification(thread_id=thread_id))

    async def unload(self, thread: LoadedThread) -> None:
        """Release a loaded thread (its writer lock too); every connection sees `notLoaded`."""
        if self._loaded.get(thread.id) is not thread:
            return
        del self._loaded[thread.id]
        await self._release(thread)
        self._set_status(thread, NotLoadedThreadStatus())

    async def _release(self, thread: LoadedThread) -> None:
        """Stop the thread's turn (recorded as interrupted), its background processes and its
        writer (fsync, writer lock released)."""
        thread.cancel_idle_unload()
        if thread.active_turn is not None:
            turn_task = thread.active_turn.task
            thread.active_turn.interrupt()
            if turn_task is not None:
                await asyncio.wait({turn_task})
        if thread.workspace is not None:
            thread.workspace.close()
        if thread.writer is not None:
            try:
                await thread.writer.close()
            except OSError:
                log.exception("closing the writer of %s failed", thread.id)
        thread.released()

    async def release_if_idle(self, thread_id: str) -> bool:
        """Another process sharing the store asks for this thread: unload it unless a turn is
        running (subscribers are told `thread/closed`, as by an idle unload); whether it was
        released."""
        thread = self._loaded.get(thread_id)
        if thread is None:
            return True
        if thread.status.type == "active" or thread.active_turn is not None:
            return False
        await self.unload(thread)
        self._connections.broadcast(wire.ThreadClosedNotification(thread_id=thread_id))
        return True

    async def release_if_unwatched(self, thread_id: str) -> bool:
        """Another process's client resumes this thread: hand it over (unload it, as
        `release_if_idle`) when nobody here is subscribed and no turn runs; whether it is not
        loaded here any more. A watched thread stays: the request is served here instead."""
        thread = self._loaded.get(thread_id)
        if thread is None:
            return True
        if thread.subscribers:
            return False
        return await self.release_if_idle(thread_id)

    def turn_ended(self, thread: LoadedThread) -> None:
        """A turn finished: an idle thread nobody listens to may now be unloaded."""
        self.schedule_idle_unload(thread)

    async def close(self) -> None:
        """Server shutdown: stop running turns (recorded as interrupted), close every writer."""
        for thread in list(self._loaded.values()):
            await self._release(thread)
        self._loaded.clear()
