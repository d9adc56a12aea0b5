"""`thread/queue/*`: user messages queued while a turn runs start, in order, when it ends; the
queue can be edited, reordered, started by hand, and survives a restart."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.conftest import Servers
from tests.support.client import RpcClient
from tests.support.model_replies import Reply
from tests.support.model_server import ModelServer
from tests.support.tool_env import start_thread, start_turn, tool_client, turn, wait_turn
from tests.support.turn_env import MODEL_ENV, text_input

INVALID_REQUEST = -32600


async def add(client: RpcClient, thread_id: str, text: str) -> dict[str, Any]:
    result = await client.call(
        "thread/queue/add",
        {"threadId": thread_id, "clientUserMessageId": f"c-{text}", "input": text_input(text)},
    )
    submission: dict[str, Any] = result["queuedSubmission"]
    return submission


def user_texts(client: RpcClient) -> list[str]:
    return [
        n["params"]["item"]["content"][0]["text"]
        for n in client.notifications_named("item/completed")
        if n["params"]["item"]["type"] == "userMessage"
    ]


async def wait_turns(client: RpcClient, count: int) -> None:
    for _ in range(200):
        if len(client.notifications_named("turn/completed")) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"fewer than {count} turns completed")


async def test_messages_queued_during_a_turn_start_in_order_when_it_ends(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(
        Reply.text("slow").delayed(first_byte=1.5), Reply.text("a1"), Reply.text("a2")
    )
    client = await tool_client(servers, model_server, experimental=True)
    thread_id = await start_thread(client, tmp_path)
    await start_turn(client, thread_id, "go")

    first = await add(client, thread_id, "Q1")
    second = await add(client, thread_id, "Q2")
    listed = await client.call("thread/queue/list", {"threadId": thread_id})
    await wait_turns(client, 3)

    assert [s["id"] for s in listed["data"]] == [first["id"], second["id"]]
    assert user_texts(client) == ["go", "Q1", "Q2"]
    assert (await client.call("thread/queue/list", {"threadId": thread_id}))["data"] == []
    assert len(client.notifications_named("thread/queue/changed")) == 4


async def test_queued_messages_can_be_updated_and_reordered_before_they_start(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(
        Reply.text("slow").delayed(first_byte=1.5), Reply.text("a1"), Reply.text("a2")
    )
    client = await tool_client(servers, model_server, experimental=True)
    thread_id = await start_thread(client, tmp_path)
    await start_turn(client, thread_id, "go")
    first = await add(client, thread_id, "Q1")
    second = await add(client, thread_id, "Q2")

    updated = await client.call(
        "thread/queue/update",
        {"threadId": thread_id, "queuedSubmissionId": first["id"], "input": text_input("Q1b")},
    )
    await client.call(
        "thread/queue/reorder",
        {"threadId": thread_id, "queuedSubmissionIds": [second["id"], first["id"]]},
    )
    await wait_turns(client, 3)

    assert updated["queuedSubmission"]["input"] == text_input("Q1b")
    assert user_texts(client) == ["go", "Q2", "Q1b"]


async def test_a_message_added_to_an_idle_thread_starts_at_once(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("a0"), Reply.text("a1"))
    client = await tool_client(servers, model_server, experimental=True)
    thread_id = await start_thread(client, tmp_path)
    await turn(client, thread_id, "go")

    await add(client, thread_id, "NOW")
    await wait_turns(client, 2)

    assert user_texts(client) == ["go", "NOW"]


async def test_queue_start_runs_a_chosen_message_and_refuses_while_a_turn_runs(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("slow").delayed(first_byte=1.0), Reply.text("a1"))
    client = await tool_client(servers, model_server, experimental=True)
    thread_id = await start_thread(client, tmp_path)
    turn_id = await start_turn(client, thread_id, "go")
    queued = await add(client, thread_id, "Q1")

    busy = await client.request("thread/queue/start", {"threadId": thread_id})
    await client.call("turn/interrupt", {"threadId": thread_id, "turnId": turn_id})
    await wait_turn(client, turn_id)
    waiting = await client.call("thread/queue/list", {"threadId": thread_id})
    started = await client.call(
        "thread/queue/start", {"threadId": thread_id, "queuedSubmissionId": queued["id"]}
    )
    await wait_turn(client, started["turn"]["id"])
    empty = await client.request("thread/queue/start", {"threadId": thread_id})

    assert (busy.code, busy.message) == (
        INVALID_REQUEST,
        "thread already has an active or pending turn",
    )
    assert [s["id"] for s in waiting["data"]] == [queued["id"]]
    assert user_texts(client) == ["go", "Q1"]
    assert (empty.code, empty.message) == (INVALID_REQUEST, "queue is empty")


async def test_queue_bad_input_is_refused_and_changes_nothing(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("slow").delayed(first_byte=1.5), Reply.text("a1"))
    client = await tool_client(servers, model_server, experimental=True)
    thread_id = await start_thread(client, tmp_path)
    await start_turn(client, thread_id, "go")
    queued = await add(client, thread_id, "Q1")
    unknown = "01a244e8-a28f-7381-967c-c38e975b61b0"

    no_input = await client.request(
        "thread/queue/add", {"threadId": thread_id, "clientUserMessageId": "c", "input": []}
    )
    bad_update = await client.request(
        "thread/queue/update",
        {"threadId": thread_id, "queuedSubmissionId": "zz", "input": text_input("x")},
    )
    bad_reorder = await client.request(
        "thread/queue/reorder", {"threadId": thread_id, "queuedSubmissionIds": []}
    )
    deleted = await client.call(
        "thread/queue/delete", {"threadId": thread_id, "queuedSubmissionId": "zz"}
    )
    missing = await client.request("thread/queue/list", {"threadId": unknown})
    listed = await client.call("thread/queue/list", {"threadId": thread_id})

    assert (no_input.code, no_input.message) == (
        INVALID_REQUEST,
        "only user input can be added to the user-message queue",
    )
    assert (bad_update.code, bad_update.message) == (
        INVALID_REQUEST,
        "queued submission not found: zz",
    )
    assert (bad_reorder.code, bad_reorder.message) == (
        INVALID_REQUEST,
        "queue reorder must include every queued submission exactly once",
    )
    assert deleted == {"deleted": False}
    assert (missing.code, missing.message) == (INVALID_REQUEST, f"thread not found: {unknown}")
    assert listed["data"] == [queued]


async def test_queue_survives_a_restart(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("slow").delayed(first_byte=3.0))
    client = await tool_client(servers, model_server, experimental=True)
    thread_id = await start_thread(client, tmp_path)
    await start_turn(client, thread_id, "go")
    queued = await add(client, thread_id, "KEPT")
    await client.close()
    await servers.processes[-1].wait()

    again = await servers.stdio(env=MODEL_ENV)
    await again.initialize(experimental=True)
    listed = await again.call("thread/queue/list", {"threadId": thread_id})

    assert listed["data"] == [queued]


async def test_an_image_or_audio_input_without_url_or_file_id_is_refused_and_not_queued(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    """The schema's image and audio inputs need a `url` or a `fileId`; queued input is echoed
    in answers and lists, so one without either is refused (-32602) rather than stored."""
    client = await tool_client(servers, model_server, experimental=True)
    thread_id = await start_thread(client, tmp_path)
    for kind in ("image", "audio"):
        reply = await client.request(
            "thread/queue/add",
            {"threadId": thread_id, "clientUserMessageId": "c1", "input": [{"type": kind}]},
        )
        assert reply.code == -32602
        assert f"an {kind} input needs a `url` or a `fileId`" in reply.message
    listed = await client.call("thread/queue/list", {"threadId": thread_id})
    assert listed["data"] == []
