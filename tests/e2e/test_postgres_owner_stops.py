"""When the process that has a thread loaded stops, clients of the other processes watching the
thread hear that it is loaded nowhere (`thread/status/changed` `notLoaded`, then
`thread/closed`), whether it stopped gracefully or was killed (`rpc.relay`,
`store.postgres.departures`), and can resume it where they are."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

from tests.conftest import Servers
from tests.support.client import StdioClient
from tests.support.model_replies import Reply
from tests.support.model_server import ModelServer
from tests.support.postgres_servers import two_clients
from tests.support.turn_env import run_turn, text_input


async def watched_turn_on_a(
    servers: Servers, model_server: ModelServer, store_url: str, tmp_path: Path
) -> tuple[StdioClient, str, str, asyncio.Event]:
    """A thread loaded on A, a turn of it running there, watched by a client of B: (that
    client, the thread id, the turn id, what lets the model's reply finish)."""
    release, reached = asyncio.Event(), asyncio.Event()
    model_server.enqueue(Reply.text("first"))
    model_server.enqueue(Reply.text("never finished", deltas=4).hang_after(2, release, reached))
    a, b = await two_clients(servers, model_server, store_url, tmp_path)
    thread_id = (await a.call("thread/start", {}))["thread"]["id"]
    await run_turn(a, thread_id, "one")
    await b.call("thread/resume", {"threadId": thread_id})
    turn = await a.call("turn/start", {"threadId": thread_id, "input": text_input("two")})
    await asyncio.wait_for(reached.wait(), 10)
    return b, thread_id, turn["turn"]["id"], release


async def unloaded_notices(client: StdioClient, thread_id: str, timeout: float) -> list[str]:
    """Waits for the client's `thread/closed` of the thread; what it heard about the thread's
    status and closing from the first `notLoaded` on."""
    await client.wait_notification(
        "thread/closed", where=lambda m: m["params"]["threadId"] == thread_id, timeout=timeout
    )
    heard: list[str] = []
    for message in client.notifications:
        params: dict[str, Any] = message["params"]
        if params.get("threadId") != thread_id:
            continue
        if message["method"] == "thread/status/changed":
            heard.append(params["status"]["type"])
        elif message["method"] == "thread/closed":
            heard.append("closed")
    return heard[heard.index("notLoaded") :]


async def test_watchers_on_another_process_hear_that_a_gracefully_stopped_owners_thread_unloaded(
    servers: Servers, model_server: ModelServer, store_url: str, tmp_path: Path
) -> None:
    b, thread_id, turn_id, release = await watched_turn_on_a(
        servers, model_server, store_url, tmp_path
    )

    servers.processes[0].signal(signal.SIGTERM)
    heard = await unloaded_notices(b, thread_id, timeout=15)
    release.set()
    completed = b.notifications_named("turn/completed")[-1]["params"]["turn"]
    resumed = await b.call("thread/resume", {"threadId": thread_id})

    assert heard == ["notLoaded", "closed"]
    assert (completed["id"], completed["status"]) == (turn_id, "interrupted")
    assert resumed["thread"]["turns"][-1]["status"] == "interrupted"


async def test_watchers_on_another_process_hear_that_a_killed_owners_thread_unloaded(
    servers: Servers, model_server: ModelServer, store_url: str, tmp_path: Path
) -> None:
    b, thread_id, turn_id, release = await watched_turn_on_a(
        servers, model_server, store_url, tmp_path
    )

    servers.processes[0].signal(signal.SIGKILL)
    heard = await unloaded_notices(b, thread_id, timeout=20)
    release.set()
    model_server.enqueue(Reply.text("served on B"))
    resumed = await b.call("thread/resume", {"threadId": thread_id})
    second = await run_turn(b, thread_id, "three")

    assert heard == ["notLoaded", "closed"]
    assert resumed["thread"]["turns"][-1]["id"] == turn_id
    assert resumed["thread"]["turns"][-1]["status"] == "interrupted"
    assert second["status"] == "completed"
