"""`thread/list` for any store: the query, the page, limits, and the page/cursor rule.

Store-agnostic: the local store serves a `ThreadQuery` with one SQL statement
(`local/list_sql.py`), the in-memory store in Python; both order by `(<sort>_ms, id)`, fetch
`limit + 1` rows and build the page with `page_from_rows`. Sort values are unix ms with the
thread id as tie-breaker, which makes the order total, so the keyset cursor (`list_cursor`)
gives stable pagination: while rows are inserted between requests, every row that existed is
returned exactly once (STORAGE.md §7.2).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from msgspec import Struct

from app_server.store.errors import InvalidCursor
from app_server.store.list_cursor import (
    format_backwards_cursor,
    format_next_cursor,
)
from app_server.store.records import ThreadRecord
from app_server.store.source_kinds import SUB_AGENT_KINDS
from protocol.types import SortDirection, ThreadSortKey, ThreadSourceKind

__all__ = [
    "DEFAULT_LIST_LIMIT",
    "INTERACTIVE_SOURCE_KINDS",
    "MAX_LIST_LIMIT",
    "MIN_LIST_LIMIT",
    "SORT_COLUMNS",
    "InvalidCursor",
    "ThreadPage",
    "ThreadQuery",
    "ThreadSearchPage",
    "normalize_limit",
    "page_from_rows",
    "stored_source_kinds",
]

DEFAULT_LIST_LIMIT: Final = 25
"""Page size when the client gives none (or 0). Codex leaves it "reasonable"; 25 fills a
sidebar and keeps the reconciliation pass (a `stat` per returned row) in the milliseconds."""
MAX_LIST_LIMIT: Final = 200
"""Largest page served; bigger requests are clamped, not rejected. Cost per row: one wire
`Thread` (~1 KB of JSON, more with long previews) and one `stat` for reconciliation, so a
page stays well under 1 MB and tens of milliseconds."""
MIN_LIST_LIMIT: Final = 1
"""Smallest page served (a page must advance the cursor)."""

INTERACTIVE_SOURCE_KINDS: Final[tuple[ThreadSourceKind, ...]] = ("cli", "vscode")
"""The default of `sourceKinds` (omitted/empty) for normal listings, as codex 0.169."""

SORT_COLUMNS: Final[dict[str, str]] = {
    "created_at": "created_at_ms",
    "updated_at": "updated_at_ms",
    "recency_at": "recency_at_ms",
    "section_position": "updated_at_ms",
}
"""Sort key → `threads` column (and `ThreadRecord` field). Sections are out of scope, so
`section_position` sorts like `updated_at`."""


class ThreadQuery(Struct, frozen=True):
    """One `thread/list` request, already validated by the RPC layer.

    `None`/empty list filters mean "no restriction", except `source_kinds`: empty ⇒
    interactive sources (`cli`, `vscode`) for normal listings, all sources for
    `parent_thread_id` / `ancestor_thread_id` queries (codex lists the spawned sub-agents).
    """

    archived: bool | None = None
    """`True` ⇒ only archived threads; `False`/`None` ⇒ only non-archived ones."""
    cwds: tuple[str, ...] | None = None
    """Exact match on the thread cwd, any of these."""
    model_providers: tuple[str, ...] | None = None
    """Exact match on the model provider, any of these."""
    source_kinds: tuple[ThreadSourceKind, ...] | None = None
    """Wire `ThreadSourceKind`s; `subAgent` matches every sub-agent source."""
    search_term: str | None = None
    """Case-sensitive substring of the title or the name."""
    parent_thread_id: str | None = None
    """Only direct spawned children of this thread (spawn edges); any preview."""
    ancestor_thread_id: str | None = None
    """Only spawned descendants of this thread at any depth (not itself); any preview."""
    attached_to_thread_id: str | None = None
    """Only threads attached to this thread (attached forks), including empty ones."""
    excluded_ids: tuple[str, ...] = ()
    """Thread ids left out before the limit applies."""
    included_ids: tuple[str, ...] | None = None
    """Only these thread ids (codex 0.171's `includedThreadIds`); None: no restriction, empty:
    nothing matches. Exclusions still apply."""
    include_attached: bool = False
    """Also list attached forks (hidden by default)."""
    sort_key: ThreadSortKey = "created_at"
    sort_direction: SortDirection = "desc"
    limit: int | None = None
    state_db_only: bool = False
    """`useStateDbOnly`: answer from the index as it is (after a clean shutdown, without
    waiting for the startup scan; see `store/local/clean_runs.py`)."""
    """Page size; see `normalize_limit`."""
    cursor: str | None = None
    """A `next_cursor` (same direction) or `backwards_cursor` (reversed direction)."""

    def __post_init__(self) -> None:
        if self.parent_thread_id is not None and self.ancestor_thread_id is not None:
            raise ValueError("parentThreadId and ancestorThreadId are mutually exclusive")

    @property
    def is_lineage_query(self) -> bool:
        """Lists children/descendants/attached threads: preview-less rows are included."""
        return (
            self.parent_thread_id is not None
            or self.ancestor_thread_id is not None
            or self.attached_to_thread_id is not None
        )


class ThreadPage(Struct, frozen=True):
    """One page: the records in order, and the cursors (`None` when there are none)."""

    records: tuple[ThreadRecord, ...]
    next_cursor: str | None
    """After the last record, same direction; `None` on the last page."""
    backwards_cursor: str | None
    """One millisecond before the first record's sort instant (see `list_cursor`): the
    reversed listing starts right after the first record, the same direction re-reads the
    page from it; `None` if the page is empty."""


class ThreadSearchPage(Struct, frozen=True):
    """One `thread/search` page: the threads (as a listing page) and, for each, the text of
    its first message that matched (thread id → text)."""

    page: ThreadPage
    snippets: dict[str, str]


def normalize_limit(limit: int | None) -> int:
    """`None` ⇒ `DEFAULT_LIST_LIMIT`; otherwise clamped to `[MIN, MAX]_LIST_LIMIT` (so `0`
    lists one thread, as codex 0.169 does)."""
    if limit is None:
        return DEFAULT_LIST_LIMIT
    return max(MIN_LIST_LIMIT, min(MAX_LIST_LIMIT, limit))


def stored_source_kinds(kinds: Sequence[ThreadSourceKind]) -> tuple[str, ...]:
    """Stored `source_kind` values selected by wire `ThreadSourceKind`s."""
    stored: list[str] = []
    for kind in kinds:
        for value in SUB_AGENT_KINDS if kind == "subAgent" else (kind,):
            if value not in stored:
                stored.append(value)
    return tuple(stored)


def page_from_rows(query: ThreadQuery, records: Sequence[ThreadRecord], limit: int) -> ThreadPage:
    """The page of `records` fetched with `limit + 1` (one extra row ⇒ there is a next page)."""
    shown = tuple(records[:limit])
    field = SORT_COLUMNS[query.sort_key]
    next_cursor = None
    if len(records) > limit and shown:
        last = shown[-1]
        next_cursor = format_next_cursor(getattr(last, field), last.id)
    backwards_cursor = None
    if shown:
        backwards_cursor = format_backwards_cursor(getattr(shown[0], field))
    return ThreadPage(shown, next_cursor, backwards_cursor)
