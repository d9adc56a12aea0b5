"""`thread/items/list`: a thread's items, page by page, newest or oldest first.

Read-only like the other thread queries: it neither loads the thread nor subscribes the caller.
A loaded thread's writer is flushed first, so the page includes everything it appended. The
paging rules and cursors are 0.169's (`app_server/store/item_pages.py`).
"""

from __future__ import annotations

from app_server.errors import InvalidParams, InvalidRequest, MethodNotFound
from app_server.rollout.history import HistoryLineageError
from app_server.session import ClientSession
from app_server.store.interface import ThreadNotStored
from app_server.store.item_pages import (
    ItemAnchorNeedsTurn,
    ItemPageRequest,
    ItemsListUnsupported,
    UnknownAnchorItem,
    page_items,
)
from app_server.store.turn_pages import InvalidCursorError
from app_server.threads.manager import ThreadManager, thread_id_param
from protocol.types import ThreadItemsListParams, ThreadItemsListResponse

ITEMS_LIST_UNSUPPORTED = "thread/items/list is not supported yet"
"""0.169's answer (-32601) for a thread without paginated item history: a legacy thread, one with
nothing stored yet, or an id it does not know."""


class ThreadItemHandlers:
    """The handler of `thread/items/list`."""

    def __init__(self, manager: ThreadManager) -> None:
        self._manager = manager

    async def items_list(
        self, session: ClientSession, params: ThreadItemsListParams
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
            raise MethodNotFound(ITEMS_LIST_UNSUPPORTED)
        if loaded is not None and loaded.writer is not None:
            await loaded.writer.flush()
        try:
            history = await self._manager.store.read_history(thread_id)
            return page_items(thread_id, history.turns, request)
        except (ThreadNotStored, ItemsListUnsupported):
            raise MethodNotFound(ITEMS_LIST_UNSUPPORTED) from None
        except (HistoryLineageError, InvalidCursorError) as exc:
            raise InvalidRequest(str(exc)) from None
        except (ItemAnchorNeedsTurn, UnknownAnchorItem) as exc:
            raise InvalidParams(str(exc)) from None
