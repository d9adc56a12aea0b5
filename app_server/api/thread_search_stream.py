"""codex 0.171's additions to `thread/search` (experimental): `thread/search/stream` with
`thread/search/partial` notifications, and `thread/search/cancel` / `thread/search/stream/cancel`.

What codex 0.171 does (observed): `thread/search/stream` takes `thread/search`'s params and
answers the same result; before the answer it sends one `thread/search/partial`
(`{requestId, data: [row]}`) per row of the final page, up to the requested `limit` (none for
`limit: 0`), each thread as stored (`environments: null`; the final answer is authoritative). A
cancel names a request of the same connection by its id and is answered `{}` at once, whatever
that id is (idempotent; unknown ids included). `thread/search/cancel` stops only a running
`thread/search`, `thread/search/stream/cancel` only a running `thread/search/stream`; a stopped
search is answered -32600 `thread search cancelled` (after the cancel's answer, with no partial
after it); one that finished first keeps its result.

Our search is one indexed query (`thread/search`'s FTS5 lookup), not an incremental scan, so the
partials are the final page's rows sent just before the answer: the shape and order codex
clients expect, with nothing to gain from sending them earlier.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Literal

from app_server.api.thread_queries import ThreadQueryHandlers
from app_server.client_connection import CURRENT_REQUEST_ID, ClientConnection
from app_server.errors import InvalidRequest
from app_server.notification import notification
from protocol.types import (
    RequestId,
    ThreadSearchCancelParams,
    ThreadSearchCancelResponse,
    ThreadSearchParams,
    ThreadSearchPartialNotification,
    ThreadSearchResponse,
)

SearchKind = Literal["thread/search", "thread/search/stream"]
SEARCH_CANCELLED = "thread search cancelled"
"""codex 0.171's answer (-32600) to a search stopped by its cancel request."""

_Key = tuple[int, SearchKind, str, RequestId]
"""A running search: connection, method, and its request id (typed: `1` and `"1"` differ)."""


class ThreadSearchStreamHandlers:
    """`thread/search` (cancellable), `thread/search/stream` and the two cancels."""

    def __init__(self, queries: ThreadQueryHandlers) -> None:
        self._queries = queries
        self._running: dict[_Key, asyncio.Task[ThreadSearchResponse]] = {}

    async def search(
        self, connection: ClientConnection, params: ThreadSearchParams
    ) -> ThreadSearchResponse:
        return await self._cancellable(
            connection, "thread/search", lambda: self._queries.search(connection, params)
        )

    async def stream(
        self, connection: ClientConnection, params: ThreadSearchParams
    ) -> ThreadSearchResponse:
        result = await self._cancellable(
            connection, "thread/search/stream", lambda: self._queries.search(connection, params)
        )
        request_id = CURRENT_REQUEST_ID.get()
        if request_id is not None:
            shown = result.data if params.limit is None else result.data[: params.limit]
            for row in shown:
                provisional = row.model_copy(
                    update={"thread": row.thread.model_copy(update={"environments": None})}
                )
                connection.notify(
                    notification(
                        ThreadSearchPartialNotification(request_id=request_id, data=[provisional])
                    )
                )
        return result

    async def cancel(
        self, connection: ClientConnection, params: ThreadSearchCancelParams
    ) -> ThreadSearchCancelResponse:
        self._stop(connection, "thread/search", params.request_id)
        return ThreadSearchCancelResponse()

    async def stream_cancel(
        self, connection: ClientConnection, params: ThreadSearchCancelParams
    ) -> ThreadSearchCancelResponse:
        self._stop(connection, "thread/search/stream", params.request_id)
        return ThreadSearchCancelResponse()

    def _stop(self, connection: ClientConnection, kind: SearchKind, request_id: RequestId) -> None:
        task = self._running.get(_key(connection, kind, request_id))
        if task is not None:
            task.cancel()

    async def _cancellable(
        self,
        connection: ClientConnection,
        kind: SearchKind,
        search: Callable[[], Awaitable[ThreadSearchResponse]],
    ) -> ThreadSearchResponse:
        """Run `search` where a cancel request can stop it (-32600 `thread search cancelled`)."""
        request_id = CURRENT_REQUEST_ID.get()
        if request_id is None:
            return await search()

        async def run() -> ThreadSearchResponse:
            return await search()

        key = _key(connection, kind, request_id)
        task = asyncio.create_task(run())
        self._running[key] = task
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.cancelled() and not _current_task_cancelling():
                raise InvalidRequest(SEARCH_CANCELLED) from None
            task.cancel()  # this handler itself was cancelled (the connection closed)
            raise
        finally:
            if self._running.get(key) is task:
                del self._running[key]


def _key(connection: ClientConnection, kind: SearchKind, request_id: RequestId) -> _Key:
    return (connection.connection_id, kind, type(request_id).__name__, request_id)


def _current_task_cancelling() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
