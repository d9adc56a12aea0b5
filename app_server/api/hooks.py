"""`hooks/list`: the lifecycle hooks that would run for each working directory.

This server runs no hooks (no `hooks.json`, no `[hooks]` support), so each directory's entry is
empty, as codex answers for a home without hooks: one entry per requested `cwd`, the server's
working directory when none is given (the thread's when a loaded `threadId` is).
"""

from __future__ import annotations

from app_server.client_connection import ClientConnection
from app_server.threads.manager import ThreadManager
from protocol.types import HooksListEntry, HooksListParams, HooksListResponse


class HookHandlers:
    """Handler of `hooks/list`."""

    def __init__(self, threads: ThreadManager) -> None:
        self._threads = threads

    async def list(
        self, connection: ClientConnection, params: HooksListParams
    ) -> HooksListResponse:
        cwds = list(params.cwds or ())
        if not cwds:
            thread = self._threads.loaded(params.thread_id) if params.thread_id else None
            cwd = thread.settings.cwd if thread is not None else self._threads.server_cwd
            cwds = [str(cwd)]
        return HooksListResponse(
            data=[HooksListEntry(cwd=cwd, hooks=[], warnings=[], errors=[]) for cwd in cwds]
        )
