"""`thread/items/list`: a thread's items, page by page, newest or oldest first;
`thread/items/read`: up to `MAX_READ_ITEM_IDS` items of one turn by id, in stored order (ids not
found, or a turn not found, are left out, as in 0.169); and `thread/inject_items`
(`app_server/threads/injected_items.py`).

Read-only like the other thread queries: it neither loads the thread nor subscribes the caller.
The history is read through the manager's `reads`, which flushes a loaded thread's writer first,
so the page includes everything it appended. The paging rules and cursors are 0.169's
(`app_server/store/item_pages.py`); refusals (a legacy or unknown thread, a bad cursor or anchor)
are store errors, worded by `app_server.rpc.store_errors`.
"""

from __future__ import annotations

from app_server.client_connection import ClientConnection
from app_server.errors import InvalidRequest
from app_server.store.errors import ItemsListUnsupported
from app_server.store.item_pages import (
    ItemPageRequest,
    has_item_ordinals,
    page_items,
    positioned_items,
)
from app_server.threads.injected_items import inject_items
from app_server.threads.manager import ThreadManager, thread_id_param
from protocol.types import (
    ThreadInjectItemsParams,
    ThreadInjectItemsResponse,
    ThreadItemsListParams,
    ThreadItemsListResponse,
    ThreadItemsReadParams,
    ThreadItemsReadResponse,
)

MAX_READ_ITEM_IDS = 100
"""Most item ids one `thread/items/read` may name (0.169's bound: the answer carries each whole
item, command output included)."""


class ThreadItemHandlers:
    """The handlers of `thread/items/list`, `thread/items/read` and `thread/inject_items`."""

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

    async def inject_items(
        self, connection: ClientConnection, params: ThreadInjectItemsParams
    ) -> ThreadInjectItemsResponse:
        thread_id = thread_id_param(params.thread_id)
        await inject_items(self._manager, thread_id, params.items)
        return ThreadInjectItemsResponse()

    async def items_read(
        self, connection: ClientConnection, params: ThreadItemsReadParams
    ) -> ThreadItemsReadResponse:
        if not 1 <= len(params.item_ids) <= MAX_READ_ITEM_IDS:
            raise InvalidRequest(f"itemIds must contain 1 to {MAX_READ_ITEM_IDS} IDs")
        thread_id = thread_id_param(params.thread_id)
        loaded = self._manager.loaded(thread_id)
        if loaded is not None and not loaded.persisted:  # nothing written yet
            raise ItemsListUnsupported
        history = await self._manager.reads.read_history(thread_id)
        if not has_item_ordinals(history.turns):  # legacy: no item ordinals
            raise ItemsListUnsupported
        wanted = set(params.item_ids)
        return ThreadItemsReadResponse(
            data=[
                positioned.to_entry()
                for positioned in positioned_items(history.turns, params.turn_id)
                if positioned.item.id in wanted
            ]
        )
