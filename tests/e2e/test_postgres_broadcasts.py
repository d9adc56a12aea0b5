"""Several server processes on one PostgreSQL store behave as one server for the notifications
every client hears (`rpc.relay`): `thread/started`, `thread/status/changed`, `thread/archived`,
`thread/unarchived`, `thread/deleted` and `thread/closed` reach the clients of every process,
each once; `thread/name/updated` reaches the thread's subscribers wherever they are."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.conftest import Servers
from tests.support.client import StdioClient
from tests.support.model_replies import Reply
from tests.support.model_server import ModelServer
from tests.support.postgres_servers import two_clients
from tests.support.turn_env import run_turn


def about(client: StdioClient, method: str, thread_id: str) -> list[dict[str, Any]]:
    """The client's notifications of `method` about the thread."""
    return [
        m
        for m in client.notifications_named(method)
        if m["params"].get("threadId", m["params"].get("thread", {}).get("id")) == thread_id
    ]


async def test_a_thread_started_on_one_process_is_announced_to_clients_of_another(
    servers: Servers, model_server: ModelServer, store_url: str, tmp_path: Path
) -> None:
    a, b = await two_clients(servers, model_server, store_url, tmp_path)
    await b.call("thread/list", {})  # B has joined the store (it starts after `initialize`)

    thread_id = (await a.call("thread/start", {}))["thread"]["id"]
    started = await b.wait_notification(
        "thread/started", where=lambda m: m["params"]["thread"]["id"] == thread_id, timeout=10
    )

    assert started["params"]["thread"]["id"] == thread_id
    assert len(about(a, "thread/started", thread_id)) == 1


async def test_clients_of_another_process_hear_a_turns_status_changes_once(
    servers: Servers, model_server: ModelServer, store_url: str, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("first"), Reply.text("second"))
    a, b = await two_clients(servers, model_server, store_url, tmp_path)
    thread_id = (await a.call("thread/start", {}))["thread"]["id"]
    await run_turn(a, thread_id, "one")
    await b.call("thread/resume", {"threadId": thread_id})  # subscribed through A
    before = len(about(b, "thread/status/changed", thread_id))

    turn = await run_turn(a, thread_id, "two")
    await b.wait_notification(
        "turn/completed", where=lambda m: m["params"]["turn"]["id"] == turn["id"], timeout=10
    )
    await asyncio.sleep(0.3)  # a second copy would arrive by now

    statuses = [m["params"]["status"]["type"] for m in about(b, "thread/status/changed", thread_id)]
    assert statuses[before:] == ["active", "idle"]


async def test_archiving_on_one_process_is_announced_once_to_clients_of_both(
    servers: Servers, model_server: ModelServer, store_url: str, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("first"))
    a, b = await two_clients(servers, model_server, store_url, tmp_path)
    thread_id = (await a.call("thread/start", {}))["thread"]["id"]
    await run_turn(a, thread_id, "one")

    await b.call("thread/archive", {"threadId": thread_id})
    await a.wait_notification(
        "thread/archived", where=lambda m: m["params"]["threadId"] == thread_id, timeout=10
    )
    await b.call("thread/unarchive", {"threadId": thread_id})
    await a.wait_notification(
        "thread/unarchived", where=lambda m: m["params"]["threadId"] == thread_id, timeout=10
    )
    await asyncio.sleep(0.3)

    for client in (a, b):
        assert len(about(client, "thread/archived", thread_id)) == 1
        assert len(about(client, "thread/unarchived", thread_id)) == 1


async def test_deleting_on_one_process_is_announced_to_clients_of_the_other(
    servers: Servers, model_server: ModelServer, store_url: str, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("first"))
    a, b = await two_clients(servers, model_server, store_url, tmp_path)
    thread_id = (await a.call("thread/start", {}))["thread"]["id"]
    await run_turn(a, thread_id, "one")
    await a.call("thread/unsubscribe", {"threadId": thread_id})

    await b.call("thread/delete", {"threadId": thread_id})
    deleted = await a.wait_notification(
        "thread/deleted", where=lambda m: m["params"]["threadId"] == thread_id, timeout=10
    )

    assert deleted["params"]["threadId"] == thread_id


async def test_a_rename_on_one_process_reaches_subscribers_on_another(
    servers: Servers, model_server: ModelServer, store_url: str, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("first"))
    a, b = await two_clients(servers, model_server, store_url, tmp_path)
    thread_id = (await a.call("thread/start", {}))["thread"]["id"]
    await run_turn(a, thread_id, "one")
    await b.call("thread/resume", {"threadId": thread_id})

    await a.call("thread/name/set", {"threadId": thread_id, "name": "renamed on A"})
    renamed = await b.wait_notification(
        "thread/name/updated", where=lambda m: m["params"]["threadId"] == thread_id, timeout=10
    )
    await asyncio.sleep(0.3)

    assert renamed["params"]["threadName"] == "renamed on A"
    assert len(about(b, "thread/name/updated", thread_id)) == 1
