"""codex 0.171's additive thread methods: `thread/list.includedThreadIds`, `thread/search/stream`
with `thread/search/partial`, and the two search cancels (behaviour observed on codex 0.171.0)."""

from __future__ import annotations

import uuid
from typing import Any

from tests.conftest import Servers
from tests.support.client import RpcClient
from tests.support.homes import BASE_MS, ThreadSpec, write_thread

APPLE_OLD = ThreadSpec(BASE_MS, salt=1, text="hello apple")
APPLE_NEW = ThreadSpec(BASE_MS + 1000, salt=2, text="apple pie please")
BANANA = ThreadSpec(BASE_MS + 2000, salt=3, text="banana")


async def client_with_threads(servers: Servers) -> RpcClient:
    for spec in (APPLE_OLD, APPLE_NEW, BANANA):
        write_thread(servers.dirs.data_dir, spec)
    client = await servers.stdio()
    await client.initialize(experimental=True)
    return client


def listed_ids(result: dict[str, Any]) -> list[str]:
    return [thread["id"] for thread in result["data"]]


def hit_ids(result: dict[str, Any]) -> list[str]:
    return [hit["thread"]["id"] for hit in result["data"]]


async def test_thread_list_included_ids_lists_only_those_threads(servers: Servers) -> None:
    client = await client_with_threads(servers)

    result = await client.call(
        "thread/list", {"includedThreadIds": [APPLE_OLD.thread_id, BANANA.thread_id]}
    )

    assert listed_ids(result) == [BANANA.thread_id, APPLE_OLD.thread_id]


async def test_thread_list_included_ids_page_and_still_honour_exclusions(
    servers: Servers,
) -> None:
    client = await client_with_threads(servers)
    wanted = [APPLE_OLD.thread_id, APPLE_NEW.thread_id, BANANA.thread_id]

    first = await client.call("thread/list", {"includedThreadIds": wanted, "limit": 1})
    excluded = await client.call(
        "thread/list",
        {"includedThreadIds": wanted, "excludedThreadIds": [BANANA.thread_id]},
    )

    assert listed_ids(first) == [BANANA.thread_id]
    assert first["nextCursor"] is not None
    assert listed_ids(excluded) == [APPLE_NEW.thread_id, APPLE_OLD.thread_id]


async def test_thread_list_empty_included_ids_match_nothing(servers: Servers) -> None:
    client = await client_with_threads(servers)

    result = await client.call("thread/list", {"includedThreadIds": []})

    assert result["data"] == []


async def test_thread_list_refuses_more_than_100_included_ids_or_a_bad_one(
    servers: Servers,
) -> None:
    client = await client_with_threads(servers)

    too_many = await client.request(
        "thread/list", {"includedThreadIds": [str(uuid.uuid4()) for _ in range(101)]}
    )
    bad = await client.request("thread/list", {"includedThreadIds": ["x"]})

    assert (too_many.code, too_many.message) == (
        -32602,
        "includedThreadIds accepts at most 100 entries",
    )
    assert (bad.code, bad.message) == (-32602, "invalid included thread id: x")


async def test_search_stream_sends_one_partial_per_row_before_its_answer(
    servers: Servers,
) -> None:
    client = await client_with_threads(servers)

    reply = await client.request("thread/search/stream", {"searchTerm": "apple"})

    assert reply.error is None
    assert hit_ids(reply.result) == [APPLE_NEW.thread_id, APPLE_OLD.thread_id]
    partials = client.notifications_named("thread/search/partial")
    assert [p["params"]["requestId"] for p in partials] == [reply.id, reply.id]
    assert [[hit["thread"]["id"] for hit in p["params"]["data"]] for p in partials] == [
        [APPLE_NEW.thread_id],
        [APPLE_OLD.thread_id],
    ]
    assert [p["params"]["data"][0]["snippet"] for p in partials] == [
        "apple pie please",
        "hello apple",
    ]
    answer_at = next(i for i, m in enumerate(client.received) if m.get("id") == reply.id)
    assert all(client.received.index(p) < answer_at for p in partials)


async def test_search_stream_sends_no_more_partials_than_the_limit(servers: Servers) -> None:
    client = await client_with_threads(servers)

    one = await client.call("thread/search/stream", {"searchTerm": "apple", "limit": 1})
    none = await client.call("thread/search/stream", {"searchTerm": "zzz"})

    assert hit_ids(one) == [APPLE_NEW.thread_id]
    assert none["data"] == []
    assert len(client.notifications_named("thread/search/partial")) == 1


async def test_search_stream_cancel_stops_the_stream_with_an_error(servers: Servers) -> None:
    client = await client_with_threads(servers)
    stream_id = client.next_id() + 1  # the id requests_in_one_write gives the first request

    search, cancel = await client.requests_in_one_write(
        [
            ("thread/search/stream", {"searchTerm": "apple"}),
            ("thread/search/stream/cancel", {"requestId": stream_id}),
        ]
    )

    assert search.id == stream_id
    assert cancel.result == {}
    assert (search.code, search.message) == (-32600, "thread search cancelled")
    assert client.notifications_named("thread/search/partial") == []
    order = [m.get("id") for m in client.received if "id" in m]
    assert order.index(cancel.id) < order.index(search.id)


async def test_search_cancel_stops_a_thread_search(servers: Servers) -> None:
    client = await client_with_threads(servers)
    search_id = client.next_id() + 1

    search, cancel = await client.requests_in_one_write(
        [
            ("thread/search", {"searchTerm": "apple"}),
            ("thread/search/cancel", {"requestId": search_id}),
        ]
    )

    assert cancel.result == {}
    assert (search.code, search.message) == (-32600, "thread search cancelled")


async def test_a_cancel_of_the_other_kind_leaves_the_stream_running(servers: Servers) -> None:
    client = await client_with_threads(servers)
    stream_id = client.next_id() + 1

    search, cancel = await client.requests_in_one_write(
        [
            ("thread/search/stream", {"searchTerm": "apple"}),
            ("thread/search/cancel", {"requestId": stream_id}),
        ]
    )

    assert cancel.result == {}
    assert search.error is None
    assert hit_ids(search.result) == [APPLE_NEW.thread_id, APPLE_OLD.thread_id]


async def test_cancelling_an_unknown_search_is_acknowledged(servers: Servers) -> None:
    client = await client_with_threads(servers)

    plain = await client.call("thread/search/cancel", {"requestId": 12345})
    stream = await client.call("thread/search/stream/cancel", {"requestId": "nope"})

    assert (plain, stream) == ({}, {})
