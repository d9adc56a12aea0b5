"""`thread/backgroundTerminals/list|terminate|clean`: the commands a thread keeps running in the
background.

They are the thread's `exec_command` processes that outlived their yield (codex's unified-exec
sessions); the TUI lists them after a resume. A thread that is stored but not loaded keeps
none (unloading kills them). Paged by process id: the cursor is the last id of the page.
`terminate` kills one (its whole process group) and answers whether there was one to kill;
`clean` kills them all.
"""

from __future__ import annotations

from app_server.agent.tools.exec.terminal_errors import UnknownTerminal
from app_server.agent.tools.workspace import ThreadWorkspace
from app_server.client_connection import ClientConnection
from app_server.errors import InvalidRequest, NotFound
from app_server.threads.manager import ThreadManager, thread_id_param
from protocol.types import (
    ThreadBackgroundTerminal,
    ThreadBackgroundTerminalsCleanParams,
    ThreadBackgroundTerminalsCleanResponse,
    ThreadBackgroundTerminalsListParams,
    ThreadBackgroundTerminalsListResponse,
    ThreadBackgroundTerminalsTerminateParams,
    ThreadBackgroundTerminalsTerminateResponse,
)


class BackgroundTerminalHandlers:
    """Handlers of `thread/backgroundTerminals/*`."""

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

    async def terminate(
        self, connection: ClientConnection, params: ThreadBackgroundTerminalsTerminateParams
    ) -> ThreadBackgroundTerminalsTerminateResponse:
        workspace = await self._workspace(params.thread_id)
        try:
            session_id = int(params.process_id)
        except ValueError:
            return ThreadBackgroundTerminalsTerminateResponse(terminated=False)
        if workspace is None:
            return ThreadBackgroundTerminalsTerminateResponse(terminated=False)
        try:
            await workspace.terminals.terminate(session_id)
        except UnknownTerminal:
            return ThreadBackgroundTerminalsTerminateResponse(terminated=False)
        return ThreadBackgroundTerminalsTerminateResponse(terminated=True)

    async def clean(
        self, connection: ClientConnection, params: ThreadBackgroundTerminalsCleanParams
    ) -> ThreadBackgroundTerminalsCleanResponse:
        workspace = await self._workspace(params.thread_id)
        if workspace is not None:
            await workspace.terminals.close_all()
        return ThreadBackgroundTerminalsCleanResponse()

    async def _workspace(self, raw_thread_id: str) -> ThreadWorkspace | None:
        """The loaded thread's workspace (None: not loaded, or no command ran yet);
        `NotFound` for a thread that does not exist."""
        thread_id = thread_id_param(raw_thread_id)
        thread = self._manager.loaded(thread_id)
        if thread is None:
            if await self._manager.store.get(thread_id) is None:
                raise NotFound(f"thread not found: {thread_id}")
            return None
        return thread.workspace


def _cursor(cursor: str | None) -> int:
    if cursor is None:
        return -1
    try:
        return int(cursor)
    except ValueError:
        raise InvalidRequest(f"invalid cursor: {cursor}") from None
