"""`thread/backgroundTerminals/list`: the commands a thread keeps running in the background.

They are the thread's `exec_command` processes that outlived their yield (codex's unified-exec
sessions); the TUI lists them after a resume. A thread that is stored but not loaded keeps
none (unloading kills them). Paged by process id: the cursor is the last id of the page.
"""

from __future__ import annotations

from app_server.client_connection import ClientConnection
from app_server.errors import InvalidRequest, NotFound
from app_server.threads.manager import ThreadManager, thread_id_param
from protocol.types import (
    ThreadBackgroundTerminal,
    ThreadBackgroundTerminalsListParams,
    ThreadBackgroundTerminalsListResponse,
)


class BackgroundTerminalHandlers:
    """Handler of `thread/backgroundTerminals/list`."""

    def __init__(self, manager: ThreadManager) -> None:
        self._manager = manager

    async def list(
        self, connection: ClientConnection, params: ThreadBackgroundTerminalsListParams
    ) -> ThreadBackgroundTerminalsListResponse:
        thread_id = thread_id_param(params.thread_id)
        thread = self._manager.loaded(thread_id)
        if thread is None:
            if await self._manager.store.get(thread_id) is None:
                raise NotFound(f"thread not found: {thread_id}")
            return ThreadBackgroundTerminalsListResponse(data=[], next_cursor=None)
        workspace = thread.workspace
        if workspace is None:  # no command ran yet
            return ThreadBackgroundTerminalsListResponse(data=[], next_cursor=None)
        after = _cursor(params.cursor)
        page = [t for t in workspace.terminals.running() if t.process_id > after]
        more = params.limit is not None and len(page) > params.limit
        if params.limit is not None:
            page = page[: params.limit]
        return ThreadBackgroundTerminalsListResponse(
            data=[
                ThreadBackgroundTerminal(
                    item_id=workspace.command_items.get(t.process_id, ""),
                    process_id=str(t.process_id),
                    command=t.command,
                    cwd=t.cwd,
                    os_pid=t.os_pid,
                )
                for t in page
            ],
            next_cursor=str(page[-1].process_id) if more and page else None,
        )


def _cursor(cursor: str | None) -> int:
    if cursor is None:
        return -1
    try:
        return int(cursor)
    except ValueError:
        raise InvalidRequest(f"invalid cursor: {cursor}") from None
