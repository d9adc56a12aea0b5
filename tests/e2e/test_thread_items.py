"""thread/items/list: a thread's items page by page, as codex 0.169 answers it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Servers
from tests.store.fixture_data import copy_home
from tests.support.client import RpcClient
from tests.support.model_replies import Reply
from tests.support.model_server import ModelServer
from tests.support.turn_env import MODEL_ENV, run_turn, write_model_config

UNSUPPORTED = "thread/items/list is not supported yet"
FIXTURE_THREAD_A = "01a20eeb-d4ab-7d60-be7d-402cf5f03555"  # two plain text turns, by codex
FIXTURE_LEGACY_THREAD = "01a20eeb-d831-7a02-9d64-3f4dc028f2f7"


async def two_turn_thread(
    servers: Servers, model_server: ModelServer
) -> tuple[RpcClient, str, list[str]]:
    """A thread with turns `first` (reasoning + answer) and `second` (answer)."""
    write_model_config(servers.dirs.data_dir, model_server.base_url)
    model_server.enqueue(
        Reply.text("answer one", reasoning_summary=["thinking"]), Reply.text("answer two")
    )
    client = await servers.stdio(env=MODEL_ENV)
    await client.initialize()
    thread_id = (await client.call("thread/start", {}))["thread"]["id"]
    turns = [(await run_turn(client, thread_id, text))["id"] for text in ("first", "second")]
    return client, thread_id, turns


def kinds(page: dict[str, Any]) -> list[str]:
    return [entry["item"]["type"] for entry in page["data"]]


async def test_items_are_listed_across_turns_oldest_first(
    servers: Servers, model_server: ModelServer
) -> None:
    client, thread_id, turns = await two_turn_thread(servers, model_server)

    page = await client.call("thread/items/list", {"threadId": thread_id})

    assert kinds(page) == [
        "userMessage",
        "reasoning",
        "agentMessage",
        "userMessage",
        "agentMessage",
    ]
    assert [entry["turnId"] for entry in page["data"]] == [turns[0]] * 3 + [turns[1]] * 2
    assert page["nextCursor"] is None
    for entry in page["data"]:
        assert entry["startedAtMs"] == entry["item"]["startedAtMs"] is not None
        assert entry["completedAtMs"] == entry["item"]["completedAtMs"] is not None


async def test_descending_pages_walk_every_item_newest_first_once(
    servers: Servers, model_server: ModelServer
) -> None:
    client, thread_id, _ = await two_turn_thread(servers, model_server)
    everything = await client.call("thread/items/list", {"threadId": thread_id})
    expected = [entry["item"]["id"] for entry in reversed(everything["data"])]

    seen: list[str] = []
    cursor = None
    while True:
        page = await client.call(
            "thread/items/list",
            {"threadId": thread_id, "limit": 2, "sortDirection": "desc", "cursor": cursor},
        )
        seen += [entry["item"]["id"] for entry in page["data"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break

    assert seen == expected


async def test_a_backwards_cursor_reads_forward_from_the_page_start(
    servers: Servers, model_server: ModelServer
) -> None:
    client, thread_id, _ = await two_turn_thread(servers, model_server)
    newest = await client.call(
        "thread/items/list", {"threadId": thread_id, "limit": 2, "sortDirection": "desc"}
    )

    forward = await client.call(
        "thread/items/list",
        {"threadId": thread_id, "sortDirection": "asc", "cursor": newest["backwardsCursor"]},
    )

    assert [e["item"]["id"] for e in forward["data"]] == [newest["data"][0]["item"]["id"]]
    assert forward["nextCursor"] is None


async def test_cursors_use_codex_encoding(servers: Servers, model_server: ModelServer) -> None:
    client, thread_id, _ = await two_turn_thread(servers, model_server)

    page = await client.call("thread/items/list", {"threadId": thread_id, "limit": 1})

    cursor = json.loads(page["nextCursor"])
    assert cursor["requestedThreadId"] == thread_id
    assert cursor["includeAnchor"] is False
    assert cursor["scope"] == {"kind": "itemsByCreatedAtOrdinal"}
    assert json.loads(page["backwardsCursor"])["includeAnchor"] is True


async def test_a_turn_id_limits_the_page_to_that_turn(
    servers: Servers, model_server: ModelServer
) -> None:
    client, thread_id, turns = await two_turn_thread(servers, model_server)

    page = await client.call("thread/items/list", {"threadId": thread_id, "turnId": turns[1]})

    assert kinds(page) == ["userMessage", "agentMessage"]
    assert {entry["turnId"] for entry in page["data"]} == {turns[1]}


async def test_an_item_anchor_starts_after_that_item_of_the_turn(
    servers: Servers, model_server: ModelServer
) -> None:
    client, thread_id, turns = await two_turn_thread(servers, model_server)
    first_turn = await client.call("thread/items/list", {"threadId": thread_id, "turnId": turns[0]})
    user_item = first_turn["data"][0]["item"]["id"]

    page = await client.call(
        "thread/items/list",
        {
            "threadId": thread_id,
            "turnId": turns[0],
            "cursor": {"type": "item", "itemId": user_item},
        },
    )

    assert kinds(page) == ["reasoning", "agentMessage"]


async def test_an_item_anchor_without_a_turn_id_is_invalid_params(
    servers: Servers, model_server: ModelServer
) -> None:
    client, thread_id, _ = await two_turn_thread(servers, model_server)

    error = await client.request(
        "thread/items/list", {"threadId": thread_id, "cursor": {"type": "item", "itemId": "x"}}
    )

    assert (error.code, error.message) == (
        -32602,
        "turnId is required when cursor is an item anchor",
    )


async def test_an_item_anchor_outside_the_turn_is_invalid_params(
    servers: Servers, model_server: ModelServer
) -> None:
    client, thread_id, turns = await two_turn_thread(servers, model_server)

    error = await client.request(
        "thread/items/list",
        {"threadId": thread_id, "turnId": turns[1], "cursor": {"type": "item", "itemId": "nope"}},
    )

    assert (error.code, error.message) == (
        -32602,
        "cursor.itemId does not identify an item in the requested history scope",
    )


async def test_a_garbage_cursor_is_an_invalid_request(
    servers: Servers, model_server: ModelServer
) -> None:
    client, thread_id, _ = await two_turn_thread(servers, model_server)

    error = await client.request("thread/items/list", {"threadId": thread_id, "cursor": "garbage"})

    assert (error.code, error.message) == (-32600, "invalid cursor: garbage")


async def test_limit_zero_returns_one_item(servers: Servers, model_server: ModelServer) -> None:
    client, thread_id, _ = await two_turn_thread(servers, model_server)

    page = await client.call("thread/items/list", {"threadId": thread_id, "limit": 0})

    assert len(page["data"]) == 1
    assert page["nextCursor"] is not None


async def test_a_thread_without_stored_items_is_refused_as_codex_does(servers: Servers) -> None:
    client = await servers.stdio()
    await client.initialize()
    thread_id = (await client.call("thread/start", {}))["thread"]["id"]

    fresh = await client.request("thread/items/list", {"threadId": thread_id})
    unknown = await client.request(
        "thread/items/list", {"threadId": "00000000-0000-0000-0000-000000000000"}
    )

    assert (fresh.code, fresh.message) == (-32601, UNSUPPORTED)
    assert (unknown.code, unknown.message) == (-32601, UNSUPPORTED)


@pytest.fixture
def fixture_home(servers: Servers) -> Path:
    data_dir = servers.dirs.data_dir
    data_dir.rmdir()
    return copy_home(data_dir)


async def test_items_of_a_codex_written_thread_are_listed(
    servers: Servers, fixture_home: Path
) -> None:
    client = await servers.stdio()
    await client.initialize()

    page = await client.call("thread/items/list", {"threadId": FIXTURE_THREAD_A})

    assert kinds(page) == [
        "userMessage",
        "reasoning",
        "agentMessage",
        "userMessage",
        "agentMessage",
    ]


async def test_a_legacy_thread_is_refused_as_codex_does(
    servers: Servers, fixture_home: Path
) -> None:
    client = await servers.stdio()
    await client.initialize()

    error = await client.request("thread/items/list", {"threadId": FIXTURE_LEGACY_THREAD})

    assert (error.code, error.message) == (-32601, UNSUPPORTED)
