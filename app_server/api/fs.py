"""`fs/*`: files on the host for IDE clients (remote workspaces), as codex 0.169 serves them.

Thin: paths are checked here (absolute, normalized; -32602 naming the field), the work runs in a
worker thread (`app_server.workspace_fs.operations`), and watches live in
`app_server.workspace_fs.watches`, one set per connection, stopped when it closes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from app_server.api.path_params import absolute_path
from app_server.client_connection import ClientConnection
from app_server.notification import notification
from app_server.workspace_fs import operations
from app_server.workspace_fs.watches import ConnectionWatches
from protocol.types import (
    FsChangedNotification,
    FsCopyParams,
    FsCopyResponse,
    FsCreateDirectoryParams,
    FsCreateDirectoryResponse,
    FsGetMetadataParams,
    FsGetMetadataResponse,
    FsReadDirectoryEntry,
    FsReadDirectoryParams,
    FsReadDirectoryResponse,
    FsReadFileParams,
    FsReadFileResponse,
    FsRemoveParams,
    FsRemoveResponse,
    FsUnwatchParams,
    FsUnwatchResponse,
    FsWatchParams,
    FsWatchResponse,
    FsWriteFileParams,
    FsWriteFileResponse,
)


class FsHandlers:
    """Handlers of the `fs/*` methods; holds each connection's watches."""

    def __init__(self) -> None:
        self._watches: dict[int, ConnectionWatches] = {}

    async def read_file(
        self, connection: ClientConnection, params: FsReadFileParams
    ) -> FsReadFileResponse:
        path = absolute_path("path", params.path)
        data = await asyncio.to_thread(operations.read_file_base64, path)
        return FsReadFileResponse(data_base64=data)

    async def write_file(
        self, connection: ClientConnection, params: FsWriteFileParams
    ) -> FsWriteFileResponse:
        path = absolute_path("path", params.path)
        await asyncio.to_thread(operations.write_file_base64, path, params.data_base64)
        return FsWriteFileResponse()

    async def create_directory(
        self, connection: ClientConnection, params: FsCreateDirectoryParams
    ) -> FsCreateDirectoryResponse:
        path = absolute_path("path", params.path)
        recursive = params.recursive is not False
        await asyncio.to_thread(operations.create_directory, path, recursive=recursive)
        return FsCreateDirectoryResponse()

    async def get_metadata(
        self, connection: ClientConnection, params: FsGetMetadataParams
    ) -> FsGetMetadataResponse:
        path = absolute_path("path", params.path)
        meta = await asyncio.to_thread(operations.metadata, path)
        return FsGetMetadataResponse(
            created_at_ms=meta.created_at_ms,
            is_directory=meta.is_directory,
            is_file=meta.is_file,
            is_symlink=meta.is_symlink,
            modified_at_ms=meta.modified_at_ms,
        )

    async def read_directory(
        self, connection: ClientConnection, params: FsReadDirectoryParams
    ) -> FsReadDirectoryResponse:
        path = absolute_path("path", params.path)
        entries = await asyncio.to_thread(operations.read_directory, path)
        return FsReadDirectoryResponse(
            entries=[
                FsReadDirectoryEntry(
                    file_name=e.file_name, is_directory=e.is_directory, is_file=e.is_file
                )
                for e in entries
            ]
        )

    async def remove(
        self, connection: ClientConnection, params: FsRemoveParams
    ) -> FsRemoveResponse:
        path = absolute_path("path", params.path)
        await asyncio.to_thread(
            operations.remove,
            path,
            recursive=params.recursive is not False,
            force=params.force is not False,
        )
        return FsRemoveResponse()

    async def copy(self, connection: ClientConnection, params: FsCopyParams) -> FsCopyResponse:
        source = absolute_path("sourcePath", params.source_path)
        destination = absolute_path("destinationPath", params.destination_path)
        await asyncio.to_thread(
            operations.copy, source, destination, recursive=params.recursive is True
        )
        return FsCopyResponse()

    async def watch(self, connection: ClientConnection, params: FsWatchParams) -> FsWatchResponse:
        path = absolute_path("path", params.path)
        watches = self._watches.get(connection.connection_id)
        if watches is None:
            watches = ConnectionWatches(
                lambda watch_id, paths: connection.notify(
                    notification(FsChangedNotification(watch_id=watch_id, changed_paths=paths))
                )
            )
            self._watches[connection.connection_id] = watches
        return FsWatchResponse(path=watches.watch(params.watch_id, path))

    async def unwatch(
        self, connection: ClientConnection, params: FsUnwatchParams
    ) -> FsUnwatchResponse:
        watches = self._watches.get(connection.connection_id)
        if watches is not None:
            watches.unwatch(params.watch_id)
        return FsUnwatchResponse()

    def connection_closed(self, connection: ClientConnection) -> None:
        """Stop the connection's watches (in the background: the hook cannot wait)."""
        watches = self._watches.pop(connection.connection_id, None)
        if watches is not None:
            _background(watches.close())

    async def close(self) -> None:
        """Stop every watch (server shutdown)."""
        watches, self._watches = list(self._watches.values()), {}
        for w in watches:
            await w.close()


_closing: set[asyncio.Task[None]] = set()


def _background(coro: Coroutine[Any, Any, None]) -> None:
    task = asyncio.create_task(coro)
    _closing.add(task)
    task.add_done_callback(_closing.discard)
