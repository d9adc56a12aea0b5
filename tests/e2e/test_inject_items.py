"""`thread/inject_items`: raw Responses items appended to a thread's history without a turn, sent
to the model at the next turn and kept across a restart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import Servers
from tests.support.model_replies import Reply
from tests.support.model_server import ModelServer
from tests.support.tool_env import start_thread, tool_client, turn
from tests.support.turn_env import MODEL_ENV

INVALID_REQUEST = -32600


def user_message(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def input_texts(body: dict[str, Any]) -> list[str]:
    """Every text part and function output of a model request's input, in order."""
    texts: list[str] = []
    for item in body["input"]:
        if item.get("type") == "message":
            texts += [part["text"] for part in item["content"] if "text" in part]
        elif item.get("type") == "function_call_output":
            texts.append(str(item["output"]))
    return texts


async def test_injected_items_are_sent_to_the_model_at_the_next_turn(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("one"), Reply.text("two"))
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    await turn(client, thread_id, "first")
    injected = [
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "A"}]},
        {"type": "function_call", "name": "shell", "arguments": "{}", "call_id": "c9"},
        {"type": "function_call_output", "call_id": "c9", "output": "out9"},
    ]

    result = await client.call("thread/inject_items", {"threadId": thread_id, "items": injected})
    await turn(client, thread_id, "second")

    assert result == {}
    requests = await model_server.wait_for_requests(2)
    texts = input_texts(requests[1].body)
    assert texts[texts.index("first") :] == ["first", "one", "A", "out9", "second"]
    call = next(i for i in requests[1].body["input"] if i.get("type") == "function_call")
    assert call["id"].startswith("fc_")


async def test_injected_items_before_the_first_turn_come_with_the_harness_context(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("ok"))
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)

    await client.call(
        "thread/inject_items", {"threadId": thread_id, "items": [user_message("EARLY")]}
    )
    await turn(client, thread_id, "go")

    (request,) = await model_server.wait_for_requests(1)
    roles = [i.get("role") for i in request.body["input"] if i.get("type") == "message"]
    assert "developer" in roles
    texts = input_texts(request.body)
    assert texts.index("EARLY") < texts.index("go")


async def test_injected_items_are_kept_across_a_restart(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("one"), Reply.text("two"))
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    await turn(client, thread_id, "first")
    await client.call(
        "thread/inject_items", {"threadId": thread_id, "items": [user_message("REMEMBERED")]}
    )
    await client.close()
    await servers.processes[-1].wait()

    again = await servers.stdio(env=MODEL_ENV)
    await again.initialize()
    await again.call("thread/resume", {"threadId": thread_id})
    await turn(again, thread_id, "second")

    requests = await model_server.wait_for_requests(2)
    texts = input_texts(requests[1].body)
    assert texts[texts.index("first") :] == ["first", "one", "REMEMBERED", "second"]


async def test_injected_items_are_response_item_lines_in_the_rollout(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("one"))
    client = await tool_client(servers, model_server)
    started = await client.call("thread/start", {"cwd": str(tmp_path)})
    thread = started["thread"]
    await turn(client, thread["id"], "first")

    await client.call(
        "thread/inject_items", {"threadId": thread["id"], "items": [user_message("LINE")]}
    )

    last = json.loads(Path(thread["path"]).read_text().splitlines()[-1])
    assert last["type"] == "response_item"
    assert last["payload"]["content"] == [{"type": "input_text", "text": "LINE"}]
    assert last["payload"]["id"].startswith("msg_")
    assert last["payload"]["internal_chat_message_metadata_passthrough"] == {
        "turn_id": "auto-compact-0"
    }


async def test_inject_items_bad_input_is_refused_and_changes_nothing(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("one"), Reply.text("two"))
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    await turn(client, thread_id, "first")
    unknown = "01a244e8-a28f-7381-967c-c38e975b61b0"

    empty = await client.request("thread/inject_items", {"threadId": thread_id, "items": []})
    untyped = await client.request(
        "thread/inject_items",
        {"threadId": thread_id, "items": [user_message("NOT KEPT"), {"foo": 1}]},
    )
    no_role = await client.request(
        "thread/inject_items",
        {"threadId": thread_id, "items": [{"type": "message", "content": []}]},
    )
    missing = await client.request(
        "thread/inject_items", {"threadId": unknown, "items": [user_message("x")]}
    )
    await turn(client, thread_id, "second")

    assert (empty.code, empty.message) == (INVALID_REQUEST, "items must not be empty")
    assert (untyped.code, untyped.message) == (
        INVALID_REQUEST,
        "items[1] is not a valid response item: missing field `type`",
    )
    assert (no_role.code, no_role.message) == (
        INVALID_REQUEST,
        "items[0] is not a valid response item: missing field `role`",
    )
    assert (missing.code, missing.message) == (INVALID_REQUEST, f"thread not found: {unknown}")
    requests = await model_server.wait_for_requests(2)
    texts = input_texts(requests[1].body)
    assert texts[texts.index("first") :] == ["first", "one", "second"]


async def test_inject_items_of_unknown_kinds_are_dropped_as_codex_drops_them(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("one"), Reply.text("two"))
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    await turn(client, thread_id, "first")

    result = await client.call(
        "thread/inject_items",
        {"threadId": thread_id, "items": [{"type": "bogus"}, user_message("KEPT")]},
    )
    await turn(client, thread_id, "second")

    assert result == {}
    requests = await model_server.wait_for_requests(2)
    assert all(i.get("type") != "bogus" for i in requests[1].body["input"])
    texts = input_texts(requests[1].body)
    assert texts[texts.index("first") :] == ["first", "one", "KEPT", "second"]
