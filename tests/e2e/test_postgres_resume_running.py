"""A client that resumes a thread whose turn is running, on the owner or on another process
(`threads.join_hold`, `rpc.forwarding`): as codex 0.169 answers, the answer holds the turns so
far (the running one as stored so far), and the live events continue right after it: nothing
missed, nothing the answer shows sent again; a client subscribed from the start sees the turn
whole."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.conftest import Servers
from tests.support.client import StdioClient
from tests.support.model_replies import Reply
from tests.support.model_server import ModelServer
from tests.support.postgres_servers import turn_events, two_clients
from tests.support.turn_env import run_turn, text_input

STREAMED = "one two three four five six seven eight"


def check_joined_turn(client: StdioClient, answered: dict[str, Any]) -> None:
    """Asserts the client that joined the running turn (`answered`: that turn in its resume
    answer) got the rest of it: each item once between the answer and the events, the turn's
    completion last and once, and the streamed text whole in the agent message."""
    events: list[dict[str, Any]] = turn_events(client, answered["id"])
    methods = [m["method"] for m in events]
    assert answered["status"] == "inProgress"
    assert "turn/started" not in methods
    assert methods[-1] == "turn/completed"
    assert methods.count("turn/completed") == 1
    shown = [item["id"] for item in answered["items"]]
    completed = [m["params"]["item"] for m in events if m["method"] == "item/completed"]
    ids = shown + [item["id"] for item in completed]
    assert len(ids) == len(set(ids))
    assert [i["text"] for i in completed if i["type"] == "agentMessage"] == [STREAMED]
    deltas = [m["params"]["delta"] for m in events if m["method"] == "item/agentMessage/delta"]
    assert STREAMED.endswith("".join(deltas))


def check_whole_turn(client: StdioClient, turn_id: str) -> list[str]:
    """Asserts the client saw the turn whole and once; returns its event methods."""
    events: list[dict[str, Any]] = turn_events(client, turn_id)
    methods = [m["method"] for m in events]
    assert methods[0] == "turn/started"
    assert methods[-1] == "turn/completed"
    assert methods.count("turn/started") == methods.count("turn/completed") == 1
    started = [m["params"]["item"]["id"] for m in events if m["method"] == "item/started"]
    completed = [m["params"]["item"]["id"] for m in events if m["method"] == "item/completed"]
    assert len(started) == len(set(started))
    assert len(completed) == len(set(completed))
    assert sorted(started) == sorted(completed)
    deltas = [m["params"]["delta"] for m in events if m["method"] == "item/agentMessage/delta"]
    assert "".join(deltas) == STREAMED
    return methods


async def test_a_client_resuming_on_another_process_mid_turn_gets_the_rest_of_it_once(
    servers: Servers, model_server: ModelServer, store_url: str, tmp_path: Path
) -> None:
    release, reached = asyncio.Event(), asyncio.Event()
    model_server.enqueue(Reply.text("first"))
    model_server.enqueue(Reply.text(STREAMED, deltas=8).hang_after(7, release, reached))
    a, b = await two_clients(servers, model_server, store_url, tmp_path)
    thread_id = (await a.call("thread/start", {}))["thread"]["id"]
    first = await run_turn(a, thread_id, "one")
    running = await a.call("turn/start", {"threadId": thread_id, "input": text_input("two")})
    turn_id = running["turn"]["id"]
    await asyncio.wait_for(reached.wait(), 10)  # three deltas streamed already

    resumed = await b.call("thread/resume", {"threadId": thread_id})
    release.set()
    done = await b.wait_notification(
        "turn/completed", where=lambda m: m["params"]["turn"]["id"] == turn_id, timeout=20
    )
    await a.wait_notification(
        "turn/completed", where=lambda m: m["params"]["turn"]["id"] == turn_id, timeout=20
    )
    await asyncio.sleep(0.3)  # anything sent twice would have arrived

    assert [t["id"] for t in resumed["thread"]["turns"]] == [first["id"], turn_id]
    assert done["params"]["turn"]["status"] == "completed"
    check_joined_turn(b, resumed["thread"]["turns"][-1])
    check_whole_turn(a, turn_id)


async def test_a_client_resuming_on_the_owner_mid_turn_gets_the_rest_of_it_once(
    servers: Servers, model_server: ModelServer, store_url: str, tmp_path: Path
) -> None:
    release, reached = asyncio.Event(), asyncio.Event()
    model_server.enqueue(Reply.text("first"))
    model_server.enqueue(Reply.text(STREAMED, deltas=8).hang_after(7, release, reached))
    _, b = await two_clients(servers, model_server, store_url, tmp_path)
    thread_id = (await b.call("thread/start", {}))["thread"]["id"]
    first = await run_turn(b, thread_id, "one")
    await b.call("thread/unsubscribe", {"threadId": thread_id})
    running = await b.call("turn/start", {"threadId": thread_id, "input": text_input("two")})
    turn_id = running["turn"]["id"]
    await asyncio.wait_for(reached.wait(), 10)

    resumed = await b.call("thread/resume", {"threadId": thread_id})
    release.set()
    await b.wait_notification(
        "turn/completed", where=lambda m: m["params"]["turn"]["id"] == turn_id, timeout=20
    )
    await asyncio.sleep(0.3)

    assert [t["id"] for t in resumed["thread"]["turns"]] == [first["id"], turn_id]
    check_joined_turn(b, resumed["thread"]["turns"][-1])
