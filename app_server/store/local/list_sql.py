"""The one SQL statement serving a `thread/list` page from the index (`index_schema`).

Everything a listing needs (filters, spawn-tree walk, sort, keyset cursor, limit) is a single
`SELECT … ORDER BY <sort>_ms, id LIMIT n+1`, so a page is one consistent snapshot and one index
range scan (the default listing walks the partial index `threads_visible_<sort>`). Values are
always bound parameters; column names come from fixed tables (`SORT_COLUMNS`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from app_server.store.list_cursor import ListCursor, parse_cursor
from app_server.store.local.index_schema import SELECT_RECORD_COLUMNS
from app_server.store.thread_query import (
    INTERACTIVE_SOURCE_KINDS,
    SORT_COLUMNS,
    ThreadQuery,
    stored_source_kinds,
)

_SPAWN_DESCENDANTS: Final = (
    "WITH RECURSIVE descendants(id) AS ("
    " SELECT child_thread_id FROM thread_spawn_edges WHERE parent_thread_id = ?"
    " UNION"
    " SELECT e.child_thread_id FROM thread_spawn_edges AS e"
    " JOIN descendants AS d ON e.parent_thread_id = d.id) "
)
"""All spawned descendants of `?` at any depth (`UNION` dedups, so a cycle terminates)."""


def build_list_sql(
    query: ThreadQuery, fetch: int, *, content_match: tuple[str, list[Any]] | None = None
) -> tuple[str, list[Any]]:
    """The statement (and parameters) returning up to `fetch` rows of `query`'s page.

    `content_match`: a `(subquery, params)` selecting thread ids (`thread/search`'s message
    match), ANDed with the filters. Raises `InvalidCursor` for a malformed `query.cursor`.
    """
    column = f"t.{SORT_COLUMNS[query.sort_key]}"
    descending = query.sort_direction == "desc"
    prefix = ""
    where: list[str] = []
    params: list[Any] = []

    if query.ancestor_thread_id is not None:
        prefix = _SPAWN_DESCENDANTS
        params.append(query.ancestor_thread_id)
        where.append("t.id IN (SELECT id FROM descendants) AND t.id <> ?")
        params.append(query.ancestor_thread_id)
    if query.parent_thread_id is not None:
        where.append(
            "t.id IN (SELECT child_thread_id FROM thread_spawn_edges WHERE parent_thread_id = ?)"
        )
        params.append(query.parent_thread_id)
    if query.attached_to_thread_id is not None:
        where.append("t.attached_to_thread_id = ?")
        params.append(query.attached_to_thread_id)
    elif not query.include_attached:
        where.append("t.attached_to_thread_id IS NULL")
    if not query.is_lineage_query:
        where.append("t.preview <> ''")

    where.append("t.archived = ?")
    params.append(1 if query.archived else 0)
    _add_in(where, params, "t.cwd", query.cwds)
    _add_in(where, params, "t.model_provider", query.model_providers)
    kinds = query.source_kinds or (() if query.is_lineage_query else INTERACTIVE_SOURCE_KINDS)
    _add_in(where, params, "t.source_kind", stored_source_kinds(kinds))
    if query.search_term:
        where.append("(instr(t.title, ?) > 0 OR instr(t.name, ?) > 0)")
        params.extend((query.search_term, query.search_term))
    if content_match is not None:
        where.append(f"t.id IN ({content_match[0]})")
        params.extend(content_match[1])
    if query.included_ids is not None:  # an empty list matches nothing
        where.append(f"t.id IN ({_placeholders(len(query.included_ids))})")
        params.extend(query.included_ids)
    if query.excluded_ids:
        where.append(f"t.id NOT IN ({_placeholders(len(query.excluded_ids))})")
        params.extend(query.excluded_ids)
    if query.cursor is not None:
        _add_keyset(where, params, column, parse_cursor(query.cursor), descending=descending)

    order = "DESC" if descending else "ASC"
    sql = (
        f"{prefix}SELECT {SELECT_RECORD_COLUMNS} FROM threads AS t"
        f" WHERE {' AND '.join(where)}"
        f" ORDER BY {column} {order}, t.id {order} LIMIT ?"
    )
    params.append(fetch)
    return sql, params


def _add_keyset(
    where: list[str], params: list[Any], column: str, cursor: ListCursor, *, descending: bool
) -> None:
    """The cursor's bound in the query's direction: the SQL form of `ListCursor.admits` (row
    values where the bound is one millisecond, so SQLite seeks the sort index)."""
    first, last = cursor.sort_ms, cursor.last_ms
    if cursor.thread_id is None:
        where.append(f"{column} {'<=' if descending else '>'} ?")
        params.append(cursor.split_ms)
    elif first == last:
        where.append(f"({column}, t.id) {'<' if descending else '>'} (?, ?)")
        params.extend((first, cursor.thread_id))
    elif descending:
        where.append(f"({column} < ? OR ({column} <= ? AND t.id < ?))")
        params.extend((first, last, cursor.thread_id))
    else:
        where.append(f"({column} > ? OR ({column} >= ? AND t.id > ?))")
        params.extend((last, first, cursor.thread_id))


def _add_in(where: list[str], params: list[Any], column: str, values: Sequence[str] | None) -> None:
    """`column IN (…)` when `values` is non-empty (empty/`None` ⇒ no restriction)."""
    if values:
        where.append(f"{column} IN ({_placeholders(len(values))})")
        params.extend(values)


def _placeholders(count: int) -> str:
    return ", ".join("?" * count)
