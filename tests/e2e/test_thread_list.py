"""thread/list over real rollouts: pagination, sort keys, filters, and reconciliation."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Servers
from tests.support.client import RpcClient
from tests.support.homes import BASE_MS, ThreadSpec, write_thread, write_threads


async def list_all(client: RpcClient, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Every page of a listing, following `nextCursor`."""
    threads: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await client.call("thread/list", {**params, "cursor": cursor})
        threads += page["data"]
        cursor = page["nextCursor"]
        if cursor is None:
            return threads


@pytest.mark.parametrize("sort_key", ["created_at", "updated_at", "recency_at"])
@pytest.mark.parametrize("direction", ["desc", "asc"])
async def test_thousand_threads_are_listed_once_each_in_order(
    servers: Servers, sort_key: str, direction: str
) -> None:
    specs = [
        # Creation and update orders differ, and some share an instant.
        ThreadSpec(BASE_MS + (i // 3) * 1000, salt=i, updated_ms=BASE_MS + ((i * 7919) % 1000) * 10)
        for i in range(1000)
    ]
    write_threads(servers.dirs.data_dir, specs)
    client = await servers.stdio()
    await client.initialize()
    threads = await list_all(client, {"sortKey": sort_key, "sortDirection": direction, "limit": 37})
    ids = [t["id"] for t in threads]
    assert sorted(ids) == sorted(s.thread_id for s in specs)
    assert len(ids) == len(set(ids))
    field = {"created_at": "createdAt", "updated_at": "updatedAt", "recency_at": "recencyAt"}
    keys = [t[field[sort_key]] for t in threads]
    assert keys == sorted(keys, reverse=direction == "desc")


async def test_threads_added_while_paging_cause_no_duplicates_or_gaps(servers: Servers) -> None:
    old = write_threads(
        servers.dirs.data_dir, [ThreadSpec(BASE_MS + i * 1000, salt=i) for i in range(60)]
    )
    client = await servers.stdio()
    await client.initialize()
    seen: list[str] = []
    page = await client.call("thread/list", {"limit": 10})
    for round_ in range(20):
        seen += [t["id"] for t in page["data"]]
        if page["nextCursor"] is None:
            break
        write_thread(servers.dirs.data_dir, ThreadSpec(BASE_MS + 10**9 + round_, salt=500 + round_))
        page = await client.call("thread/list", {"limit": 10, "cursor": page["nextCursor"]})
    old_seen = [thread_id for thread_id in seen if thread_id in old]
    assert sorted(old_seen) == sorted(old)
    assert len(seen) == len(set(seen))


async def test_filters_combine(servers: Servers) -> None:
    match = ThreadSpec(BASE_MS, salt=1, text="alpha one", cwd="/a", provider="p1")
    specs = [
        match,
        ThreadSpec(BASE_MS + 1, salt=2, text="alpha two", cwd="/b", provider="p1"),
        ThreadSpec(BASE_MS + 2, salt=3, text="alpha three", cwd="/a", provider="p2"),
        ThreadSpec(BASE_MS + 3, salt=4, text="beta", cwd="/a", provider="p1"),
        ThreadSpec(BASE_MS + 4, salt=5, text="alpha five", cwd="/a", provider="p1", archived=True),
        ThreadSpec(BASE_MS + 5, salt=6, text="alpha six", cwd="/a", provider="p1", source="exec"),
    ]
    write_threads(servers.dirs.data_dir, specs)
    client = await servers.stdio()
    await client.initialize()
    result = await client.call(
        "thread/list", {"cwd": "/a", "modelProviders": ["p1"], "searchTerm": "alpha"}
    )
    assert [t["id"] for t in result["data"]] == [match.thread_id]


async def test_source_kinds_select_non_interactive_threads(servers: Servers) -> None:
    exec_thread = ThreadSpec(BASE_MS, salt=1, source="exec")
    write_threads(servers.dirs.data_dir, [exec_thread, ThreadSpec(BASE_MS + 1, salt=2)])
    client = await servers.stdio()
    await client.initialize()
    default = await client.call("thread/list", {})
    only_exec = await client.call("thread/list", {"sourceKinds": ["exec"]})
    assert exec_thread.thread_id not in [t["id"] for t in default["data"]]
    assert [t["id"] for t in only_exec["data"]] == [exec_thread.thread_id]


async def test_archived_filter_lists_only_archived_threads(servers: Servers) -> None:
    live, archived = ThreadSpec(BASE_MS, salt=1), ThreadSpec(BASE_MS + 1, salt=2, archived=True)
    write_threads(servers.dirs.data_dir, [live, archived])
    client = await servers.stdio()
    await client.initialize()
    assert [t["id"] for t in (await client.call("thread/list", {"archived": True}))["data"]] == [
        archived.thread_id
    ]
    assert [t["id"] for t in (await client.call("thread/list", {}))["data"]] == [live.thread_id]


async def test_thread_whose_rollout_was_deleted_disappears_from_the_list(
    servers: Servers,
) -> None:
    keep, gone = ThreadSpec(BASE_MS, salt=1), ThreadSpec(BASE_MS + 1, salt=2)
    paths = [write_thread(servers.dirs.data_dir, spec) for spec in (keep, gone)]
    client = await servers.stdio()
    await client.initialize()
    assert len((await client.call("thread/list", {}))["data"]) == 2
    paths[1].unlink()
    assert [t["id"] for t in (await client.call("thread/list", {}))["data"]] == [keep.thread_id]
    reply = await client.request("thread/read", {"threadId": gone.thread_id})
    assert reply.message == f"thread not loaded: {gone.thread_id}"


async def test_rollout_written_by_another_program_is_picked_up(servers: Servers) -> None:
    first = ThreadSpec(BASE_MS, salt=1)
    write_thread(servers.dirs.data_dir, first)
    client = await servers.stdio()
    await client.initialize()
    assert len((await client.call("thread/list", {}))["data"]) == 1
    later = ThreadSpec(BASE_MS + 1000, salt=2)
    write_thread(servers.dirs.data_dir, later)
    await client.call("thread/read", {"threadId": later.thread_id})  # read repair indexes it
    assert {t["id"] for t in (await client.call("thread/list", {}))["data"]} == {
        first.thread_id,
        later.thread_id,
    }


async def test_parent_and_ancestor_filters_are_mutually_exclusive(servers: Servers) -> None:
    client = await servers.stdio()
    await client.initialize(experimental=True)
    some = ThreadSpec(BASE_MS).thread_id
    reply = await client.request("thread/list", {"parentThreadId": some, "ancestorThreadId": some})
    assert (reply.code, reply.message) == (
        -32600,
        "parentThreadId and ancestorThreadId are mutually exclusive",
    )


async def test_ancestor_filter_pages_through_a_three_level_tree(servers: Servers) -> None:
    root = ThreadSpec(BASE_MS, salt=1)
    children = [ThreadSpec(BASE_MS + 10 + i, salt=10 + i, parent=root.thread_id) for i in range(3)]
    grandchildren = [
        ThreadSpec(BASE_MS + 100 + i, salt=100 + i, parent=children[i % 3].thread_id)
        for i in range(5)
    ]
    great = [ThreadSpec(BASE_MS + 1000, salt=1000, parent=grandchildren[0].thread_id)]
    unrelated = ThreadSpec(BASE_MS + 5, salt=5)
    write_threads(servers.dirs.data_dir, [root, unrelated, *children, *grandchildren, *great])
    client = await servers.stdio()
    await client.initialize(experimental=True)
    descendants = await list_all(client, {"ancestorThreadId": root.thread_id, "limit": 2})
    assert sorted(t["id"] for t in descendants) == sorted(
        s.thread_id for s in (*children, *grandchildren, *great)
    )
    direct = await client.call("thread/list", {"parentThreadId": root.thread_id})
    assert sorted(t["id"] for t in direct["data"]) == sorted(c.thread_id for c in children)


async def test_invalid_cursor_is_refused(servers: Servers) -> None:
    client = await servers.stdio()
    await client.initialize()
    reply = await client.request("thread/list", {"cursor": "garbage"})
    assert (reply.code, reply.message) == (-32600, "invalid cursor: garbage")


async def test_originator_filter_is_refused_as_unsupported(servers: Servers) -> None:
    client = await servers.stdio()
    await client.initialize()
    reply = await client.request("thread/list", {"originators": ["x"]})
    assert (reply.code, reply.message) == (
        -32602,
        "originator filtering is not supported by the local app-server",
    )


async def test_invalid_excluded_thread_id_is_invalid_params(servers: Servers) -> None:
    client = await servers.stdio()
    await client.initialize()
    reply = await client.request("thread/list", {"excludedThreadIds": ["nope"]})
    assert (reply.code, reply.message) == (-32602, "invalid excluded thread id: nope")


async def test_excluded_thread_ids_are_left_out(servers: Servers) -> None:
    specs = [ThreadSpec(BASE_MS + i, salt=i) for i in range(3)]
    write_threads(servers.dirs.data_dir, specs)
    client = await servers.stdio()
    await client.initialize()
    result = await client.call("thread/list", {"excludedThreadIds": [specs[1].thread_id]})
    assert [t["id"] for t in result["data"]] == [specs[2].thread_id, specs[0].thread_id]
