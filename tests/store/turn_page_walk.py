"""Walking a thread's turn pages against the reference pager, for every store's turn index.

An indexed page (`ThreadStore.turn_page`, which reads only the requested turns' lines) must equal
`page_for_request` over the turns of a full `read_history`; `walk_and_compare` pages through a
thread both ways and compares each page. `paginated_thread` builds a thread of plain turns.
"""

from __future__ import annotations

from typing import Any

from app_server.store.interface import ThreadStore
from app_server.store.turn_pages import TurnPageRequest, TurnsPage, page_for_request
from tests.store.rollout_builders import line, paginated_turn, session_meta
from tests.support.homes import BASE_MS, uuid7_at


async def reference_page(store: ThreadStore, thread_id: str, request: TurnPageRequest) -> TurnsPage:
    history = await store.read_history(thread_id)
    return page_for_request(
        thread_id, history.turns, history_mode=history.record.history_mode, request=request
    )


async def walk_and_compare(store: ThreadStore, thread_id: str, limit: int) -> int:
    """Page through the thread both ways, comparing each page; returns the turns seen."""
    seen = 0
    for direction in ("desc", "asc"):
        cursor: str | None = None
        seen = 0
        while True:
            request = TurnPageRequest(
                cursor=cursor, limit=limit, sort_direction=direction, items_view="full"
            )
            page = await store.turn_page(thread_id, request)
            expected = await reference_page(store, thread_id, request)
            assert page.to_response() == expected.to_response()
            seen += len(page.data)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    return seen


def paginated_thread(thread_id: str, turns: int) -> list[dict[str, Any]]:
    records = [line("session_meta", session_meta(thread_id), 0)]
    ordinal = 1
    for index in range(turns):
        turn_id = uuid7_at(BASE_MS + index, index + 1)
        records += paginated_turn(thread_id, turn_id, ordinal, f"ask {index}", f"answer {index}")
        ordinal += 4
    return records
