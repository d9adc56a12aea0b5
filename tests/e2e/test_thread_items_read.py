"""`thread/items/read`: chosen items of one turn by id, in stored order, as 0.169 answers."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Servers
from tests.support.model_replies import Reply
from tests.support.model_server import ModelServer
from tests.support.tool_env import start_thread, tool_client, turn

INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601


async def test_items_read_returns_the_named_items_of_the_turn_in_stored_order(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("answer"))
    client = await tool_client(servers, model_server, experimental=True)
    thread_id = await start_thread(client, tmp_path)
    finished = await turn(client, thread_id, "question")
    read = await client.call("thread/read", {"threadId": thread_id, "includeTurns": True})
    user, agent = read["thread"]["turns"][0]["items"]

    result = await client.call(
        "thread/items/read",
        {"threadId": thread_id, "turnId": finished["id"], "itemIds": [agent["id"], user["id"]]},
    )

    assert [entry["item"] for entry in result["data"]] == [user, agent]
    assert {entry["turnId"] for entry in result["data"]} == {finished["id"]}
    assert result["data"][0]["startedAtMs"] == user["startedAtMs"]


async def test_items_read_leaves_out_unknown_items_and_turns(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("answer"))
    client = await tool_client(servers, model_server, experimental=True)
    thread_id = await start_thread(client, tmp_path)
    finished = await turn(client, thread_id, "question")

    unknown_item = await client.call(
        "thread/items/read", {"threadId": thread_id, "turnId": finished["id"], "itemIds": ["x"]}
    )
    unknown_turn = await client.call(
        "thread/items/read", {"threadId": thread_id, "turnId": "nope", "itemIds": ["x"]}
    )

    assert unknown_item == {"data": []}
    assert unknown_turn == {"data": []}


async def test_items_read_refuses_a_bad_id_count_and_an_unknown_thread(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("answer"))
    client = await tool_client(servers, model_server, experimental=True)
    thread_id = await start_thread(client, tmp_path)
    finished = await turn(client, thread_id, "question")
    unknown = "01a244e8-a28f-7381-967c-c38e975b61b0"

    none = await client.request(
        "thread/items/read", {"threadId": thread_id, "turnId": finished["id"], "itemIds": []}
    )
    too_many = await client.request(
        "thread/items/read",
        {"threadId": thread_id, "turnId": finished["id"], "itemIds": ["a"] * 101},
    )
    missing = await client.request(
        "thread/items/read", {"threadId": unknown, "turnId": "t", "itemIds": ["a"]}
    )

    expected = (INVALID_REQUEST, "itemIds must contain 1 to 100 IDs")
    assert (none.code, none.message) == expected
    assert (too_many.code, too_many.message) == expected
    assert (missing.code, missing.message) == (
        METHOD_NOT_FOUND,
        "thread/items/read is not supported yet",
    )
