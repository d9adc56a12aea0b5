"""The `turnsBackwardsCursor` / `itemsBackwardsCursor` of a `thread/resume` answer.

Clients that resume without turns (the Codex TUI: `excludeTurns: true`) hydrate the thread
backwards: they pass these to `thread/turns/list` and `thread/items/list` with
`sortDirection: "desc"`. Codex 0.169 answers, for each, the `backwardsCursor` of the newest-first
first page (observed: the anchor on the newest turn, and on the newest item, `includeAnchor:
true`), so the first page read with it starts at, and includes, the newest entry. A thread with
nothing written yet has neither; a legacy thread (no item ordinals) has no items cursor.

Both come from the history the resume just read when there is one (a huge thread is not read
again, and of its turns only the newest with items is parsed: issue 17).
"""

from __future__ import annotations

from app_server.store.interface import ThreadHistory
from app_server.store.item_pages import (
    encode_item_cursor,
    has_item_ordinals,
    newest_item_ordinal,
)
from app_server.store.turn_pages import TurnPageRequest, page_for_request

NEWEST_FIRST = TurnPageRequest(limit=1, sort_direction="desc", items_view="notLoaded")
"""The turns page whose `backwardsCursor` is the answer's (one turn: nothing else is used)."""


def resume_cursors(thread_id: str, history: ThreadHistory | None) -> tuple[str | None, str | None]:
    """`(turnsBackwardsCursor, itemsBackwardsCursor)` for a resumed thread with this stored
    `history` (None: nothing stored yet, so neither)."""
    if history is None:
        return None, None
    turns = page_for_request(
        thread_id,
        history.turns,
        history_mode=history.record.history_mode,
        request=NEWEST_FIRST,
    ).backwards_cursor
    items = None
    if has_item_ordinals(history.turns):
        newest = newest_item_ordinal(history.turns)
        if newest is not None:
            items = encode_item_cursor(thread_id, newest, True)
    return turns, items
