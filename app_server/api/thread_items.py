"""`thread/items/list`: a thread's items, page by page, newest or oldest first.

Read-only like the other thread queries: it neither loads the thread nor subscribes the caller.
The history is read through the manager's `reads`, which flushes a loaded thread's writer first,
so the page includes everything it appended. The paging rules and cursors are 0.169's
(`app_server/store/item_pages.py`); refusals (a legacy or unknown thread, a bad cursor or anchor)
are store errors, worded by `app_server.rpc.store_errors`.
"""

from __future__ import annotations

from app_server.client_connection import ClientConnection
from app_server.store.errors import ItemsListUnsupported
from app_server.store.item_pages import ItemPageRequest, page_items
from app_server.threads.manager import ThreadManager, thread_id_param
from protocol.types import ThreadItemsListParams, ThreadItemsListResponse


class ThreadItemHandlers:
    """The handler of `thread/items/list`."""

    def __init__(self, manager: ThreadManager) -> None:
        self._manager = manager

    async def items_list(
        self, connection: ClientConnection, params: ThreadItemsListParams
    ) -> ThreadItemsListResponse:
        thread_id = thread_id_param(params.thread_id)
        request = ItemPageRequest(
            turn_id=params.turn_id,
            cursor=params.cursor,
            limit=params.limit,
            sort_direction=params.sort_direction,
        )
        loaded = self._manager.loaded(thread_id)
        if loaded is not None and not loaded.persisted:  # nothing written yet
            raise ItemsListUnsupported
        history = await self._manager.reads.read_history(thread_id)
        return page_items(thread_id, history.turns, request)
