"""A server killed with SIGKILL at random moments while appending loses no completed turn."""

from __future__ import annotations

import asyncio
import random
import signal
from collections.abc import Callable
from typing import Any

from tests.conftest import Servers
from tests.support.model_replies import Reply
from tests.support.model_server import ModelServer
from tests.support.turn_env import MODEL_ENV, text_input, write_model_config

ROUNDS = 12


def is_turn(turn_id: str) -> Callable[[dict[str, Any]], bool]:
    return lambda message: bool(message["params"]["turn"]["id"] == turn_id)


async def run_turns_until_killed(
    servers: Servers, thread_id: str | None, kill_after: float, completed: set[str]
) -> str:
    """Start a server, run turns back to back, SIGKILL it after `kill_after` seconds."""
    client = await servers.stdio(env=MODEL_ENV)
    await client.initialize()
    if thread_id is None:
        thread_id = (await client.call("thread/start", {}))["thread"]["id"]
    else:
        await client.call("thread/resume", {"threadId": thread_id, "excludeTurns": True})

    async def turns() -> None:
        while True:
            result = await client.call(
                "turn/start", {"threadId": thread_id, "input": text_input("work")}
            )
            turn_id: str = result["turn"]["id"]
            note = await client.wait_notification("turn/completed", where=is_turn(turn_id))
            if note["params"]["turn"]["status"] == "completed":
                completed.add(turn_id)

    worker = asyncio.create_task(turns())
    await asyncio.sleep(kill_after)
    servers.processes[-1].signal(signal.SIGKILL)
    await servers.processes[-1].wait()
    worker.cancel()
    await asyncio.gather(worker, return_exceptions=True)
    servers.clients.remove(client)  # its stream ended mid-message: that is the point
    return thread_id


async def test_sigkill_at_random_points_never_loses_a_completed_turn(
    servers: Servers, model_server: ModelServer
) -> None:
    write_model_config(servers.dirs.data_dir, model_server.base_url)
    rng = random.Random(20261124)
    for _ in range(ROUNDS * 8):
        model_server.enqueue(
            Reply.text("y" * 40, deltas=20, reasoning_summary=["thinking"]).delayed(
                between_frames=0.002
            )
        )
    completed: set[str] = set()
    thread_id = None
    for _ in range(ROUNDS):
        thread_id = await run_turns_until_killed(
            servers, thread_id, rng.uniform(0.05, 0.5), completed
        )

    assert completed, "some turns must have completed before the kills"
    assert thread_id is not None
    client = await servers.stdio(env=MODEL_ENV)
    await client.initialize()
    listed = await client.call("thread/list", {})
    assert [t["id"] for t in listed["data"]] == [thread_id]
    read = await client.call("thread/read", {"threadId": thread_id, "includeTurns": True})
    statuses = {t["id"]: t["status"] for t in read["thread"]["turns"]}
    assert completed <= {turn for turn, status in statuses.items() if status == "completed"}
    resumed = await client.call("thread/resume", {"threadId": thread_id})
    assert len(resumed["thread"]["turns"]) == len(statuses)


async def test_turn_cut_short_by_a_crash_reads_as_interrupted_after_resume(
    servers: Servers, model_server: ModelServer
) -> None:
    write_model_config(servers.dirs.data_dir, model_server.base_url)
    release, reached = asyncio.Event(), asyncio.Event()
    model_server.enqueue(Reply.text("never", deltas=3).hang_after(3, release, reached))
    client = await servers.stdio(env=MODEL_ENV)
    await client.initialize()
    thread_id = (await client.call("thread/start", {}))["thread"]["id"]
    await client.call("turn/start", {"threadId": thread_id, "input": text_input("go")})
    await asyncio.wait_for(reached.wait(), 10)
    servers.processes[-1].signal(signal.SIGKILL)
    await servers.processes[-1].wait()
    servers.clients.remove(client)
    release.set()

    again = await servers.stdio(env=MODEL_ENV)
    await again.initialize()
    resumed = await again.call("thread/resume", {"threadId": thread_id})
    assert [t["status"] for t in resumed["thread"]["turns"]] == ["interrupted"]
