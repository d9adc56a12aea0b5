"""`ThreadIndex.list_threads` filters, alone and combined, and codex's fixture listings."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from app_server.store.local.index_db import ThreadIndex
from app_server.store.local.rollout_files import iter_rollout_files
from app_server.store.local.thread_loader import fold_rollout, record_for_rollout
from app_server.store.records import ThreadRecord
from app_server.store.thread_query import MAX_LIST_LIMIT, ThreadQuery
from protocol.types import ThreadSourceKind
from tests.store.fixture_data import fixture_calls, load_json
from tests.store.thread_record_factory import make_record, thread_id

CWDS = ("/a", "/b", "/c")
PROVIDERS = ("openai", "fake")
SOURCES: tuple[tuple[Any, ThreadSourceKind], ...] = (
    ("vscode", "vscode"),
    ("cli", "cli"),
    ("exec", "exec"),
    ({"subAgent": "review"}, "subAgentReview"),
    ({"subAgent": {"other": "guardian"}}, "subAgentOther"),
)
TITLES = ("alpha hello", "Alpha beta", "gamma")
SUB_AGENT_KINDS = {"subAgentReview", "subAgentCompact", "subAgentThreadSpawn", "subAgentOther"}


@pytest.fixture
async def index(tmp_path: Path) -> AsyncIterator[ThreadIndex]:
    opened = await ThreadIndex.open(tmp_path)
    yield opened
    await opened.close()


def grid() -> list[tuple[ThreadRecord, ThreadSourceKind]]:
    """One visible thread per (archived, cwd, provider, source, title), with its source kind."""
    combos = itertools.product((False, True), CWDS, PROVIDERS, SOURCES, TITLES)
    return [
        (
            make_record(
                n,
                archived=archived,
                archived_at_ms=1 if archived else None,
                cwd=cwd,
                model_provider=provider,
                source=source,
                title=title,
                name="Zebra" if n % 7 == 0 else None,
            ),
            kind,
        )
        for n, (archived, cwd, provider, (source, kind), title) in enumerate(combos)
    ]


def matches(record: ThreadRecord, kind: ThreadSourceKind, query: ThreadQuery) -> bool:
    """The filter semantics, written independently of the SQL."""
    kinds: set[str] = set(query.source_kinds or ("cli", "vscode"))
    if "subAgent" in kinds:
        kinds |= SUB_AGENT_KINDS
    term = query.search_term
    return (
        record.archived == bool(query.archived)
        and (not query.cwds or record.cwd in query.cwds)
        and (not query.model_providers or record.model_provider in query.model_providers)
        and kind in kinds
        and (not term or term in record.title or term in (record.name or ""))
        and record.id not in query.excluded_ids
    )


async def listed(index: ThreadIndex, query: ThreadQuery) -> list[str]:
    """Ids of the single page `query` returns (asserting there is no second page)."""
    page = await index.list_threads(msgspec.structs.replace(query, limit=MAX_LIST_LIMIT))
    assert page.next_cursor is None
    return [record.id for record in page.records]


QUERIES = [
    ThreadQuery(archived=True),
    ThreadQuery(cwds=("/a", "/c")),
    ThreadQuery(model_providers=("fake",)),
    ThreadQuery(source_kinds=("exec",)),
    ThreadQuery(source_kinds=("subAgent",)),
    ThreadQuery(source_kinds=("subAgentReview", "cli")),
    ThreadQuery(search_term="alpha"),
    ThreadQuery(search_term="Zebra"),
    ThreadQuery(excluded_ids=(thread_id(0), thread_id(1), thread_id(2))),
    ThreadQuery(
        archived=True,
        cwds=("/b",),
        model_providers=("openai", "fake"),
        source_kinds=("vscode", "subAgentOther"),
        search_term="a",
        excluded_ids=(thread_id(97),),
    ),
    ThreadQuery(archived=False, cwds=("/a",), model_providers=("fake",), search_term="beta"),
]


@pytest.mark.parametrize("query", QUERIES)
async def test_filters_combine_to_exactly_the_matching_threads(
    index: ThreadIndex, query: ThreadQuery
) -> None:
    rows = grid()
    await index.upsert(record for record, _ in rows)

    chosen = [record for record, kind in rows if matches(record, kind, query)]
    chosen.sort(key=lambda record: (record.created_at_ms, record.id), reverse=True)
    assert chosen
    assert await listed(index, query) == [record.id for record in chosen]


async def test_search_term_is_case_sensitive_over_title_or_name(index: ThreadIndex) -> None:
    await index.upsert(
        [
            make_record(1, title="alpha hello"),
            make_record(2, title="Alpha"),
            make_record(3, title="other", name="the alpha name"),
            make_record(4, title="other", preview="alpha in preview only"),
        ]
    )

    assert await listed(index, ThreadQuery(search_term="alpha")) == [thread_id(3), thread_id(1)]


async def test_excluded_ids_apply_before_the_limit(index: ThreadIndex) -> None:
    await index.upsert([make_record(n) for n in range(5)])

    page = await index.list_threads(ThreadQuery(limit=2, excluded_ids=(thread_id(4), thread_id(3))))

    assert [record.id for record in page.records] == [thread_id(2), thread_id(1)]


async def test_empty_filter_lists_mean_no_restriction(index: ThreadIndex) -> None:
    await index.upsert([make_record(1, cwd="/x", model_provider="p")])

    query = ThreadQuery(cwds=(), model_providers=(), source_kinds=(), excluded_ids=())

    assert await listed(index, query) == [thread_id(1)]


async def test_custom_sources_match_no_source_kind(index: ThreadIndex) -> None:
    await index.upsert([make_record(1, source={"custom": "bot"})])
    every_kind: tuple[ThreadSourceKind, ...] = (
        "cli",
        "vscode",
        "exec",
        "appServer",
        "subAgent",
        "unknown",
    )

    assert await listed(index, ThreadQuery(source_kinds=every_kind)) == []


async def index_fixture_home(index: ThreadIndex, data_dir: Path) -> None:
    """Index the codex fixture home the way a backfill does (record per rollout)."""
    records = [
        record_for_rollout(data_dir, rollout, fold_rollout(data_dir, rollout))
        for rollout in iter_rollout_files(data_dir)
    ]
    await index.upsert(records)


def fixture_list_calls() -> list[Any]:
    """The recorded `thread/list` calls."""
    return [pytest.param(call, id=call["file"]) for call in fixture_calls("thread/list")]


async def test_codex_fixture_parent_listing_returns_the_sub_agent(
    index: ThreadIndex, codex_home: Path
) -> None:
    await index_fixture_home(index, codex_home)
    parent = "01a20eeb-d917-71c1-9a35-ec541d97bb05"

    page = await index.list_threads(ThreadQuery(parent_thread_id=parent))

    assert [record.id for record in page.records] == ["01a20eeb-d97d-74f1-ae05-b6a6dc1ccdb5"]


@pytest.mark.parametrize("call", fixture_list_calls())
async def test_codex_fixture_listings_match_codex(
    index: ThreadIndex, codex_home: Path, call: dict[str, Any]
) -> None:
    await index_fixture_home(index, codex_home)
    params = call["params"]
    want = load_json(call["file"])

    page = await index.list_threads(
        ThreadQuery(
            archived=params.get("archived"),
            parent_thread_id=params.get("parentThreadId"),
            sort_key=params.get("sortKey", "created_at"),
            limit=params.get("limit"),
        )
    )

    assert [record.id for record in page.records] == [thread["id"] for thread in want["data"]]
    assert page.next_cursor == want["nextCursor"]
    assert page.backwards_cursor == want["backwardsCursor"]
