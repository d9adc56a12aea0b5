"""Behaviour matched to the real codex 0.169.0 binary (observed side by side, issue 16 point 4
and the TUI's resume): thread/list paging, thread/delete of a new thread, `threadSource`, and
the backwards cursors of thread/resume."""

from __future__ import annotations

import json

from tests.conftest import Servers
from tests.support.client import RpcClient
from tests.support.homes import BASE_MS, ThreadSpec, write_threads
from tests.support.model_server import ModelServer
from tests.support.turn_env import MODEL_ENV, run_turn, write_model_config


async def started(servers: Servers, model_server: ModelServer | None = None) -> RpcClient:
    if model_server is not None:
        write_model_config(servers.dirs.data_dir, model_server.base_url)
    client = await servers.stdio(env=MODEL_ENV if model_server is not None else None)
    await client.initialize()
    return client


def five_threads(servers: Servers) -> list[str]:
    """Five stored threads a second apart, oldest first."""
    specs = [ThreadSpec(BASE_MS + i * 1000, salt=i) for i in range(5)]
    write_threads(servers.dirs.data_dir, specs)
    return [spec.thread_id for spec in specs]


def ids(page: dict[str, object]) -> list[str]:
    return [thread["id"] for thread in page["data"]]  # type: ignore[attr-defined]


async def test_paging_back_from_a_second_page_returns_the_first_page(servers: Servers) -> None:
    threads = five_threads(servers)
    client = await started(servers)
    first = await client.call("thread/list", {"limit": 2})
    second = await client.call("thread/list", {"limit": 2, "cursor": first["nextCursor"]})

    back = await client.call(
        "thread/list", {"limit": 2, "sortDirection": "asc", "cursor": second["backwardsCursor"]}
    )

    assert ids(second) == [threads[2], threads[1]]
    assert ids(back) == [threads[3], threads[4]]


async def test_a_backwards_cursor_read_in_its_own_direction_rereads_the_page(
    servers: Servers,
) -> None:
    five_threads(servers)
    client = await started(servers)
    first = await client.call("thread/list", {"limit": 2})
    second = await client.call("thread/list", {"limit": 2, "cursor": first["nextCursor"]})

    again = await client.call("thread/list", {"limit": 2, "cursor": second["backwardsCursor"]})

    assert ids(again) == ids(second)


async def test_limit_zero_lists_one_thread(servers: Servers) -> None:
    threads = five_threads(servers)
    client = await started(servers)

    page = await client.call("thread/list", {"limit": 0})

    assert ids(page) == [threads[4]]
    assert page["nextCursor"] is not None


async def test_section_position_sorting_without_a_section_filter_is_refused(
    servers: Servers,
) -> None:
    five_threads(servers)
    client = await started(servers)

    reply = await client.request("thread/list", {"sortKey": "section_position"})

    assert (reply.code, reply.message) == (
        -32600,
        "section-position sorting requires a section filter",
    )


async def test_deleting_a_thread_without_a_turn_unloads_and_announces_it(
    servers: Servers,
) -> None:
    client = await started(servers)
    thread_id = (await client.call("thread/start", {}))["thread"]["id"]

    assert await client.call("thread/delete", {"threadId": thread_id}) == {}

    # codex 0.169's order: `thread/status/changed` before the answer, `thread/deleted` after.
    status = client.notifications_named("thread/status/changed")
    assert [m["params"] for m in status][-1:] == [
        {"threadId": thread_id, "status": {"type": "notLoaded"}}
    ]
    deleted = await client.wait_notification("thread/deleted")
    assert deleted["params"] == {"threadId": thread_id}
    assert await client.call("thread/loaded/list", {}) == {"data": [], "nextCursor": None}


async def test_thread_source_is_echoed_stored_and_read_back(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await started(servers, model_server)
    started_ = await client.call("thread/start", {"threadSource": "user"})
    thread_id = started_["thread"]["id"]
    await run_turn(client, thread_id, "hello")
    await client.call("thread/unsubscribe", {"threadId": thread_id})

    read = await client.call("thread/read", {"threadId": thread_id})

    assert started_["thread"]["threadSource"] == "user"
    assert read["thread"]["threadSource"] == "user"
    with open(read["thread"]["path"], encoding="utf-8") as rollout:
        meta = json.loads(rollout.readline())["payload"]
    assert meta["thread_source"] == "user"
    assert list(meta).index("thread_source") == list(meta).index("source") + 1


async def test_a_fork_takes_its_own_thread_source(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await started(servers, model_server)
    thread_id = (await client.call("thread/start", {"threadSource": "user"}))["thread"]["id"]
    await run_turn(client, thread_id, "hello")

    plain = await client.call("thread/fork", {"threadId": thread_id})
    titled = await client.call(
        "thread/fork", {"threadId": thread_id, "threadSource": "thread_title"}
    )

    assert plain["thread"]["threadSource"] is None
    assert titled["thread"]["threadSource"] == "thread_title"


async def test_resume_answers_cursors_that_hydrate_from_the_newest_turn_and_item(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await started(servers, model_server)
    thread_id = (await client.call("thread/start", {}))["thread"]["id"]
    await run_turn(client, thread_id, "first")
    newest = await run_turn(client, thread_id, "second")
    await client.call("thread/unsubscribe", {"threadId": thread_id})

    resumed = await client.call("thread/resume", {"threadId": thread_id, "excludeTurns": True})
    turns = await client.call(
        "thread/turns/list",
        {
            "threadId": thread_id,
            "limit": 10,
            "sortDirection": "desc",
            "itemsView": "notLoaded",
            "cursor": resumed["turnsBackwardsCursor"],
        },
    )
    items = await client.call(
        "thread/items/list",
        {
            "threadId": thread_id,
            "turnId": None,
            "cursor": resumed["itemsBackwardsCursor"],
            "limit": 100,
            "sortDirection": "desc",
        },
    )

    assert json.loads(resumed["turnsBackwardsCursor"])["scope"] == {"kind": "turns"}
    assert json.loads(resumed["itemsBackwardsCursor"])["scope"] == {
        "kind": "itemsByCreatedAtOrdinal"
    }
    assert turns["data"][0]["id"] == newest["id"]
    assert len(turns["data"]) == 2
    assert [entry["item"]["type"] for entry in items["data"]] == [
        "agentMessage",
        "userMessage",
        "agentMessage",
        "userMessage",
    ]
    assert items["data"][0]["turnId"] == newest["id"]


async def test_resume_of_a_thread_without_a_turn_has_no_cursors(servers: Servers) -> None:
    client = await started(servers)
    thread_id = (await client.call("thread/start", {}))["thread"]["id"]

    resumed = await client.call("thread/resume", {"threadId": thread_id})

    assert (resumed["turnsBackwardsCursor"], resumed["itemsBackwardsCursor"]) == (None, None)
