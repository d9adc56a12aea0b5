"""The one statement serving a `thread/list` (or `thread/search`) page from PostgreSQL.

The PostgreSQL twin of `local/list_sql.py`: filters, spawn-tree walk (a recursive CTE over
`threads.parent_thread_id`), sort, keyset cursor and limit in one `SELECT … ORDER BY
<sort>_ms, id LIMIT n+1`, so a default page is one range scan of a partial index
(`threads_visible_<sort>`). Values are always bound parameters; column names come from
`SORT_COLUMNS`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from app_server.store.list_cursor import ListCursor, parse_cursor
from app_server.store.postgres.schema import SELECT_RECORD_COLUMNS
from app_server.store.thread_query import (
    INTERACTIVE_SOURCE_KINDS,
    SORT_COLUMNS,
    ThreadQuery,
    stored_source_kinds,
)

LIKE_ESCAPE: Final = "\\"


class Params:
    """Bound parameters, numbered as they are added (`$1`, `$2`, …)."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def __call__(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def like_pattern(term: str) -> str:
    """`%term%` with `LIKE`'s wildcards in `term` escaped (a term is text, not syntax)."""
    escaped = term.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def build_list_sql(
    query: ThreadQuery, fetch: int, *, content_term: str | None = None
) -> tuple[str, list[Any]]:
    """The statement (and parameters) returning up to `fetch` rows of `query`'s page.

    `content_term`: only threads with a searchable message containing it (case-insensitive).
    Raises `InvalidCursor` for a malformed `query.cursor`.
    """
    column = f"t.{SORT_COLUMNS[query.sort_key]}"
    descending = query.sort_direction == "desc"
    p = Params()
    prefix = ""
    where = ["t.line_count > 0"]

    if query.ancestor_thread_id is not None:
        root = p(query.ancestor_thread_id)
        prefix = (
            "WITH RECURSIVE descendants(id) AS ("
            f" SELECT id FROM threads WHERE parent_thread_id = {root}"
            " UNION SELECT c.id FROM threads AS c JOIN descendants AS d"
            " ON c.parent_thread_id = d.id) "
        )
        where.append(f"t.id IN (SELECT id FROM descendants) AND t.id <> {root}")
    if query.parent_thread_id is not None:
        where.append(f"t.parent_thread_id = {p(query.parent_thread_id)}")
    if query.attached_to_thread_id is not None:
        where.append(f"t.attached_to_thread_id = {p(query.attached_to_thread_id)}")
    elif not query.include_attached:
        where.append("t.attached_to_thread_id IS NULL")
    if not query.is_lineage_query:
        where.append("t.preview <> ''")
    where.append(f"t.archived = {p(bool(query.archived))}")
    _add_in(where, p, "t.cwd", query.cwds)
    _add_in(where, p, "t.model_provider", query.model_providers)
    kinds = query.source_kinds or (() if query.is_lineage_query else INTERACTIVE_SOURCE_KINDS)
    _add_in(where, p, "t.source_kind", stored_source_kinds(kinds))
    if query.search_term:
        term = p(query.search_term)
        where.append(f"(strpos(t.title, {term}) > 0 OR strpos(t.name, {term}) > 0)")
    if content_term is not None:
        where.append(
            "EXISTS (SELECT 1 FROM thread_messages AS m WHERE m.thread_id = t.id"
            f" AND m.text ILIKE {p(like_pattern(content_term))})"
        )
    if query.excluded_ids:
        where.append(f"NOT (t.id = ANY({p(list(query.excluded_ids))}::text[]))")
    if query.cursor is not None:
        _add_keyset(where, p, column, parse_cursor(query.cursor), descending=descending)

    order = "DESC" if descending else "ASC"
    sql = (
        f"{prefix}SELECT {SELECT_RECORD_COLUMNS} FROM threads AS t"
        f" WHERE {' AND '.join(where)}"
        f" ORDER BY {column} {order}, t.id {order} LIMIT {p(fetch)}"
    )
    return sql, p.values


def _add_keyset(
    where: list[str], p: Params, column: str, cursor: ListCursor, *, descending: bool
) -> None:
    """The cursor's bound in the query's direction (the SQL form of `ListCursor.admits`)."""
    first, last = cursor.sort_ms, cursor.last_ms
    if cursor.thread_id is None:
        where.append(f"{column} {'<=' if descending else '>'} {p(cursor.split_ms)}")
    elif first == last:
        where.append(
            f"({column}, t.id) {'<' if descending else '>'} ({p(first)}, {p(cursor.thread_id)})"
        )
    elif descending:
        a, b, i = p(first), p(last), p(cursor.thread_id)
        where.append(f"({column} < {a} OR ({column} <= {b} AND t.id < {i}))")
    else:
        b, a, i = p(last), p(first), p(cursor.thread_id)
        where.append(f"({column} > {b} OR ({column} >= {a} AND t.id > {i}))")


def _add_in(where: list[str], p: Params, column: str, values: Sequence[str] | None) -> None:
    """`column = ANY(…)` when `values` is non-empty (empty/`None` ⇒ no restriction)."""
    if values:
        where.append(f"{column} = ANY({p(list(values))}::text[])")
