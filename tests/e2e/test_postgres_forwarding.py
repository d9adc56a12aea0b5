"""Several server processes on one PostgreSQL store: requests for a thread another process has
loaded are served there, and its notifications reach clients of every process (`rpc.forwarding`).
"""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

from tests.conftest import Servers
from tests.support.model_replies import Reply
from tests.support.model_server import ModelServer
from tests.support.postgres_servers import client_on, turn_events, two_clients
from tests.support.turn_env import run_turn, text_input, write_model_config


async def test_a_turn_started_on_b_for_a_thread_watched_on_a_streams_to_clients_on_both(
    servers: Servers, model_server: ModelServer, store_url: str, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("answer on A"))
    model_server.enqueue(Reply.text("streamed to both processes", deltas=5))
    a, b = await two_clients(servers, model_server, store_url, tmp_path)
    thread_id = (await a.call("thread/start", {}))["thread"]["id"]
    first = await run_turn(a, thread_id, "one")

    resumed = await b.call("thread/resume", {"threadId": thread_id})
    second = await run_turn(b, thread_id, "two")
    await a.wait_notification(
        "turn/completed", where=lambda m: m["params"]["turn"]["id"] == second["id"], timeout=10
    )
    read = await b.call("thread/read", {"threadId": thread_id, "includeTurns": True})

    assert [t["id"] for t in resumed["thread"]["turns"]] == [first["id"]]
    assert [t["id"] for t in read["thread"]["turns"]] == [first["id"], second["id"]]
    assert not a.notifications_named("thread/closed")
    statuses_on_b = [
        m["params"]["status"]["type"]
        for m in b.notifications_named("thread/status/changed")
        if m["params"]["threadId"] == thread_id
    ]
    assert statuses_on_b[-2:] == ["active", "idle"]
    for client in (a, b):
        events = turn_events(client, second["id"])
        methods = [m["method"] for m in events]
        assert methods[0] == "turn/started"
        assert methods[-1] == "turn/completed"
        assert methods.count("turn/started") == methods.count("turn/completed") == 1
        started = [m["params"]["item"]["id"] for m in events if m["method"] == "item/started"]
        completed = [m["params"]["item"]["id"] for m in events if m["method"] == "item/completed"]
        assert len(started) == len(set(started))
        assert sorted(started) == sorted(completed)
        deltas = [m["params"]["delta"] for m in events if m["method"] == "item/agentMessage/delta"]
        assert "".join(deltas) == "streamed to both processes"


async def test_an_approval_asked_by_the_owner_is_answered_by_a_client_of_another_process(
    servers: Servers, model_server: ModelServer, store_url: str, tmp_path: Path
) -> None:
    workspace = tmp_path / "work"
    workspace.mkdir()
    model_server.enqueue(
        Reply.text("first done"),
        Reply.function_call("exec_command", {"cmd": "touch x.txt"}, call_id="call_1"),
        Reply.text("ok"),
    )
    a, b = await two_clients(servers, model_server, store_url, tmp_path)
    started = await a.call(
        "thread/start",
        {"cwd": str(workspace), "approvalPolicy": "untrusted", "sandbox": "workspace-write"},
    )
    thread_id = started["thread"]["id"]
    await run_turn(a, thread_id, "first")
    await b.call("thread/resume", {"threadId": thread_id})

    turn_id = (await b.call("turn/start", {"threadId": thread_id, "input": text_input("go")}))[
        "turn"
    ]["id"]
    asked_b = await asyncio.wait_for(b.server_requests.get(), 10)
    asked_a = await asyncio.wait_for(a.server_requests.get(), 10)
    await b.respond(asked_b["id"], {"decision": "accept"})
    done = await b.wait_notification(
        "turn/completed", where=lambda m: m["params"]["turn"]["id"] == turn_id, timeout=30
    )

    assert asked_b["method"] == asked_a["method"] == "item/commandExecution/requestApproval"
    assert asked_b["params"]["turnId"] == turn_id
    assert done["params"]["turn"]["status"] == "completed"
    assert (workspace / "x.txt").exists()


async def test_a_client_of_another_process_interrupts_a_turn_running_on_the_owner(
    servers: Servers, model_server: ModelServer, store_url: str, tmp_path: Path
) -> None:
    release, reached = asyncio.Event(), asyncio.Event()
    model_server.enqueue(Reply.text("first"))
    model_server.enqueue(Reply.text("long answer", deltas=4).hang_after(2, release, reached))
    a, b = await two_clients(servers, model_server, store_url, tmp_path)
    thread_id = (await a.call("thread/start", {}))["thread"]["id"]
    await run_turn(a, thread_id, "one")
    turn_id = (await a.call("turn/start", {"threadId": thread_id, "input": text_input("two")}))[
        "turn"
    ]["id"]
    await asyncio.wait_for(reached.wait(), 10)

    resumed = await b.request("thread/resume", {"threadId": thread_id})
    interrupted = await b.request("turn/interrupt", {"threadId": thread_id, "turnId": turn_id})
    done_on_b = await b.wait_notification(
        "turn/completed", where=lambda m: m["params"]["turn"]["id"] == turn_id, timeout=10
    )
    release.set()
    done_on_a = await a.wait_notification(
        "turn/completed", where=lambda m: m["params"]["turn"]["id"] == turn_id, timeout=10
    )

    assert resumed.error is None
    assert interrupted.error is None
    assert done_on_b["params"]["turn"]["status"] == "interrupted"
    assert done_on_a["params"]["turn"]["status"] == "interrupted"


async def test_subscriptions_of_a_process_that_died_end_on_the_owner(
    servers: Servers, model_server: ModelServer, store_url: str, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("first"))
    dirs = [tmp_path / "a", tmp_path / "b"]
    for data_dir in dirs:
        data_dir.mkdir()
        write_model_config(data_dir, model_server.base_url, extra="idle_thread_unload_seconds = 1")
    a = await client_on(servers, dirs[0], store_url)
    b = await client_on(servers, dirs[1], store_url)
    thread_id = (await a.call("thread/start", {}))["thread"]["id"]
    await run_turn(a, thread_id, "one")
    await b.call("thread/resume", {"threadId": thread_id})
    servers.processes[1].signal(signal.SIGKILL)
    await servers.processes[1].wait()
    servers.clients.remove(b)

    await a.call("thread/unsubscribe", {"threadId": thread_id})
    closed = await a.wait_notification(
        "thread/closed", where=lambda m: m["params"]["threadId"] == thread_id, timeout=20
    )

    assert closed["params"]["threadId"] == thread_id


async def test_a_client_of_another_process_steers_a_turn_running_on_the_owner(
    servers: Servers, model_server: ModelServer, store_url: str, tmp_path: Path
) -> None:
    release, reached = asyncio.Event(), asyncio.Event()
    model_server.enqueue(Reply.text("first"))
    model_server.enqueue(Reply.text("long answer", deltas=4).hang_after(2, release, reached))
    model_server.enqueue(Reply.text("after the steer"))
    a, b = await two_clients(servers, model_server, store_url, tmp_path)
    thread_id = (await a.call("thread/start", {}))["thread"]["id"]
    await run_turn(a, thread_id, "one")
    turn_id = (await a.call("turn/start", {"threadId": thread_id, "input": text_input("two")}))[
        "turn"
    ]["id"]
    await asyncio.wait_for(reached.wait(), 10)
    await b.call("thread/resume", {"threadId": thread_id})

    steered = await b.call(
        "turn/steer",
        {"threadId": thread_id, "expectedTurnId": turn_id, "input": text_input("also this")},
    )
    done = await a.wait_notification(
        "turn/completed", where=lambda m: m["params"]["turn"]["id"] == turn_id, timeout=30
    )
    release.set()

    assert steered == {"turnId": turn_id}
    assert done["params"]["turn"]["status"] == "completed"
    last_input = json.dumps(model_server.requests[-1].body["input"])
    assert "also this" in last_input
