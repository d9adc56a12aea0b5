"""`ThreadIndex.list_threads`: keyset pagination, cursors, limits and visibility."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from app_server.store.errors import InvalidCursor
from app_server.store.list_cursor import (
    format_next_cursor,
    format_timestamp_ms,
    parse_cursor,
)
from app_server.store.local.index_db import ThreadIndex
from app_server.store.records import ThreadRecord
from app_server.store.thread_query import (
    DEFAULT_LIST_LIMIT,
    MAX_LIST_LIMIT,
    SORT_COLUMNS,
    ThreadQuery,
)
from protocol.types import SortDirection, ThreadSortKey
from tests.store.thread_record_factory import BASE_MS, make_record, sub_agent, thread_id

SORT_KEYS: list[ThreadSortKey] = ["created_at", "updated_at", "recency_at"]
DIRECTIONS: list[SortDirection] = ["desc", "asc"]


@pytest.fixture
async def index(tmp_path: Path) -> AsyncIterator[ThreadIndex]:
    opened = await ThreadIndex.open(tmp_path)
    yield opened
    await opened.close()


def sort_value(record: ThreadRecord, key: ThreadSortKey) -> int:
    value: int = getattr(record, SORT_COLUMNS[key])
    return value


def in_order(
    records: list[ThreadRecord], key: ThreadSortKey, direction: SortDirection
) -> list[str]:
    ordered = sorted(records, key=lambda record: (sort_value(record, key), record.id))
    return [record.id for record in (ordered[::-1] if direction == "desc" else ordered)]


def random_records(count: int, seed: int) -> list[ThreadRecord]:
    """Records with many ties in every sort column (few distinct instants)."""
    rng = random.Random(seed)
    return [
        make_record(
            n,
            id=str(uuid.UUID(int=rng.getrandbits(128))),
            created_at_ms=BASE_MS + rng.randrange(300),
            updated_at_ms=BASE_MS + rng.randrange(50) * 1000,
            recency_at_ms=BASE_MS + rng.randrange(10),
        )
        for n in range(count)
    ]


async def collect_ids(index: ThreadIndex, query: ThreadQuery) -> list[str]:
    """Page through `query` to the end; the ids in the order returned."""
    ids: list[str] = []
    cursor = query.cursor
    while True:
        page = await index.list_threads(msgspec.structs.replace(query, cursor=cursor))
        ids.extend(record.id for record in page.records)
        if page.next_cursor is None:
            return ids
        cursor = page.next_cursor


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("key", SORT_KEYS)
async def test_thousand_threads_page_exactly_once_in_order(
    index: ThreadIndex, key: ThreadSortKey, direction: SortDirection
) -> None:
    records = random_records(1000, seed=7)
    await index.upsert(records)

    query = ThreadQuery(sort_key=key, sort_direction=direction, limit=37)
    ids = await collect_ids(index, query)

    assert ids == in_order(records, key, direction)


async def test_rows_inserted_between_pages_cause_no_duplicates_or_gaps(index: ThreadIndex) -> None:
    old = random_records(300, seed=11)
    await index.upsert(old)
    rng = random.Random(12)
    seen: list[str] = []
    cursor: str | None = None
    while True:
        page = await index.list_threads(ThreadQuery(limit=20, cursor=cursor))
        seen.extend(record.id for record in page.records)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
        last = page.records[-1]
        await index.upsert(  # new rows before, at and after the cursor's instant
            make_record(
                0,
                id=str(uuid.UUID(int=rng.getrandbits(128))),
                created_at_ms=last.created_at_ms + rng.choice((-1, 0, 0, 1)),
            )
            for _ in range(5)
        )

    old_ids = {record.id for record in old}
    assert [i for i in seen if i in old_ids] == in_order(old, "created_at", "desc")
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize("direction", DIRECTIONS)
async def test_backwards_cursor_splits_the_listing_right_after_the_pages_first_row(
    index: ThreadIndex, direction: SortDirection
) -> None:
    # Codex 0.169 (observed): from a page's backwardsCursor, a descending read starts at the
    # page's first row, an ascending read right after it. The old expectation (the reversed
    # read includes the first row) gave, paging back from a descending page, the page shifted
    # by one thread. Rows here lie at distinct instants (a bare timestamp cannot split a tie).
    records = [make_record(n, created_at_ms=BASE_MS + n * 1000) for n in range(30)]
    await index.upsert(records)
    first = await index.list_threads(ThreadQuery(sort_direction=direction, limit=4))
    second = await index.list_threads(
        ThreadQuery(sort_direction=direction, limit=4, cursor=first.next_cursor)
    )
    anchor = second.records[0].created_at_ms

    ascending = await index.list_threads(
        ThreadQuery(sort_direction="asc", limit=50, cursor=second.backwards_cursor)
    )
    descending = await index.list_threads(
        ThreadQuery(sort_direction="desc", limit=50, cursor=second.backwards_cursor)
    )

    newer = [r for r in records if r.created_at_ms > anchor]
    rest = [r for r in records if r.created_at_ms <= anchor]
    assert [r.id for r in ascending.records] == in_order(newer, "created_at", "asc")
    assert [r.id for r in descending.records] == in_order(rest, "created_at", "desc")
    if direction == "desc":
        assert [r.id for r in ascending.records][:4] == [r.id for r in reversed(first.records)]


async def test_backwards_cursor_is_anchored_just_before_the_first_row(
    index: ThreadIndex,
) -> None:
    await index.upsert([make_record(1, created_at_ms=1_795_546_671_084)])

    page = await index.list_threads(ThreadQuery())

    assert page.backwards_cursor == "2026-11-24T18:57:51.083Z"
    assert page.next_cursor is None


async def test_next_cursor_points_after_the_last_row(index: ThreadIndex) -> None:
    records = [make_record(n) for n in range(3)]
    await index.upsert(records)

    page = await index.list_threads(ThreadQuery(limit=2))

    assert page.next_cursor == format_next_cursor(records[1].created_at_ms, records[1].id)


async def test_full_last_page_has_no_next_cursor(index: ThreadIndex) -> None:
    await index.upsert([make_record(n) for n in range(4)])

    page = await index.list_threads(ThreadQuery(limit=4))

    assert len(page.records) == 4
    assert page.next_cursor is None


async def test_empty_listing_has_no_cursors(index: ThreadIndex) -> None:
    page = await index.list_threads(ThreadQuery())

    assert (page.records, page.next_cursor, page.backwards_cursor) == ((), None, None)


async def test_codex_seconds_cursor_continues_after_that_second_and_id(
    index: ThreadIndex,
) -> None:
    records = [make_record(n, created_at_ms=BASE_MS + 1000 + n * 100) for n in range(20)]
    await index.upsert(records)  # ten rows in each of two seconds
    cursor = f"2026-11-24T18:57:47Z|{thread_id(5)}"  # BASE_MS + 1 s

    page = await index.list_threads(ThreadQuery(cursor=cursor))

    assert [r.id for r in page.records] == [thread_id(n) for n in (4, 3, 2, 1, 0)]


@pytest.mark.parametrize("direction", DIRECTIONS)
async def test_sql_bound_selects_exactly_the_rows_the_cursor_admits(
    index: ThreadIndex, direction: SortDirection
) -> None:
    records = random_records(200, seed=3)
    await index.upsert(records)
    descending = direction == "desc"
    cursors = [
        format_next_cursor(records[0].created_at_ms, records[0].id),
        format_timestamp_ms(records[1].created_at_ms),
        f"{format_timestamp_ms(BASE_MS)[:19]}Z|{records[2].id}",
    ]

    for text in cursors:
        page = await index.list_threads(
            ThreadQuery(sort_direction=direction, limit=MAX_LIST_LIMIT, cursor=text)
        )
        cursor = parse_cursor(text)
        admitted = [
            r for r in records if cursor.admits(r.created_at_ms, r.id, descending=descending)
        ]
        assert [r.id for r in page.records] == in_order(admitted, "created_at", direction), text


async def test_garbage_cursor_is_rejected(index: ThreadIndex) -> None:
    with pytest.raises(InvalidCursor, match=r"^invalid cursor: garbage$"):
        await index.list_threads(ThreadQuery(cursor="garbage"))


@pytest.mark.parametrize(
    ("limit", "served"),
    # `0` lists one thread, as codex 0.169 does (observed); it used to mean the default 25.
    [(None, DEFAULT_LIST_LIMIT), (0, 1), (1, 1), (100_000, MAX_LIST_LIMIT)],
)
async def test_limit_defaults_and_clamps(
    index: ThreadIndex, limit: int | None, served: int
) -> None:
    await index.upsert([make_record(n) for n in range(MAX_LIST_LIMIT + 5)])

    page = await index.list_threads(ThreadQuery(limit=limit))

    assert len(page.records) == served
    assert page.next_cursor is not None


async def test_default_listing_hides_empty_previews(index: ThreadIndex) -> None:
    await index.upsert([make_record(1), make_record(2, preview="")])

    page = await index.list_threads(ThreadQuery())

    assert [r.id for r in page.records] == [thread_id(1)]


async def test_default_listing_hides_attached_forks(index: ThreadIndex) -> None:
    await index.upsert([make_record(1), make_record(2, attached_to_thread_id=thread_id(1))])

    hidden = await index.list_threads(ThreadQuery())
    shown = await index.list_threads(ThreadQuery(include_attached=True))

    assert [r.id for r in hidden.records] == [thread_id(1)]
    assert [r.id for r in shown.records] == [thread_id(2), thread_id(1)]


async def test_attached_to_thread_id_lists_its_forks_even_empty(index: ThreadIndex) -> None:
    attached = make_record(2, attached_to_thread_id=thread_id(1), preview="")
    await index.upsert([make_record(1), attached, make_record(3)])

    page = await index.list_threads(ThreadQuery(attached_to_thread_id=thread_id(1)))

    assert page.records == (attached,)


async def test_default_listing_shows_only_interactive_sources(index: ThreadIndex) -> None:
    sources = ["cli", "vscode", "exec", "appServer", "unknown", {"custom": "bot"}]
    await index.upsert(make_record(n, source=source) for n, source in enumerate(sources))
    await index.upsert([sub_agent(9, thread_id(0), preview="has one")])

    page = await index.list_threads(ThreadQuery())

    assert [r.id for r in page.records] == [thread_id(1), thread_id(0)]


async def test_parent_thread_id_lists_direct_children_only(index: ThreadIndex) -> None:
    await index.upsert(
        [
            make_record(1),
            sub_agent(2, thread_id(1)),
            sub_agent(3, thread_id(1), archived=True),
            sub_agent(4, thread_id(2)),
            sub_agent(5, thread_id(9)),
        ]
    )

    page = await index.list_threads(ThreadQuery(parent_thread_id=thread_id(1)))

    assert [r.id for r in page.records] == [thread_id(2)]


async def test_ancestor_lists_every_descendant_once_across_pages(index: ThreadIndex) -> None:
    root = make_record(0)
    level1 = [sub_agent(n, root.id) for n in range(1, 4)]
    level2 = [sub_agent(10 + i, parent.id) for i, parent in enumerate(level1)]
    level2 += [sub_agent(50 + i, level1[i % 3].id, preview="visible") for i in range(6)]
    level3 = [sub_agent(100 + i, level2[i % len(level2)].id) for i in range(12)]
    other = [make_record(500), sub_agent(501, thread_id(500)), sub_agent(502, thread_id(501))]
    await index.upsert([root, *level1, *level2, *level3, *other])

    query = ThreadQuery(ancestor_thread_id=root.id, sort_key="updated_at", limit=4)
    ids = await collect_ids(index, query)

    descendants = [*level1, *level2, *level3]
    assert ids == in_order(descendants, "updated_at", "desc")
    assert len(ids) == len(set(ids)) == 3 + 9 + 12


async def test_ancestor_query_combines_with_filters(index: ThreadIndex) -> None:
    await index.upsert(
        [
            make_record(0),
            sub_agent(1, thread_id(0), model_provider="other"),
            sub_agent(2, thread_id(1)),
            sub_agent(3, thread_id(1), archived=True),
            sub_agent(4, thread_id(2)),
        ]
    )

    query = ThreadQuery(
        ancestor_thread_id=thread_id(0),
        model_providers=("openai",),
        excluded_ids=(thread_id(4),),
        sort_direction="asc",
    )
    page = await index.list_threads(query)

    assert [r.id for r in page.records] == [thread_id(2)]
