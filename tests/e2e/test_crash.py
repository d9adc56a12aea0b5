"""A server killed with SIGKILL at random moments while appending loses no completed turn."""

from __future__ import annotations

import asyncio
import random
import signal
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.conftest import Servers
from tests.support.model_replies import Reply
from tests.support.model_server import ModelServer
from tests.support.turn_env import MODEL_ENV, text_input, write_model_config

ROUNDS = 12
DELTAS_PER_TURN = 20
OTHER_NOTIFICATIONS_PER_TURN = 13
"""Besides its deltas, a turn of this test sends 13 notifications (status, turn, 3 items…)."""
DELTA = "item/agentMessage/delta"
TURN_COMPLETED = "turn/completed"
KILL_TIMEOUT = 30.0
"""How long a round may take to reach its kill point (a healthy server needs well under 1 s)."""


def is_turn(turn_id: str) -> Callable[[dict[str, Any]], bool]:
    return lambda message: bool(message["params"]["turn"]["id"] == turn_id)


@dataclass(frozen=True)
class KillPoint:
    """Where a round's server is killed: right after the client received the `count`-th
    notification named `method` (of any name when None) since the round's turns began. The kill
    waits for the protocol, never for the clock, so a slow machine kills at the same points."""

    method: str | None
    count: int

    def reached(self, notifications: list[dict[str, Any]]) -> bool:
        if self.method is None:
            return len(notifications) >= self.count
        return sum(1 for n in notifications if n["method"] == self.method) >= self.count


def kill_points(rng: random.Random) -> list[KillPoint]:
    """One kill point per round. The first round ends right after a completed turn (so some turn
    surely completed); the others are shuffled between mid-stream (after the n-th text delta of
    the round's first turn), right after the first or second `turn/completed` (as the next turn
    starts), and right after any notification of the first turn or the start of the second."""
    kinds: list[str | None] = [DELTA, TURN_COMPLETED, None]
    methods = [kinds[number % len(kinds)] for number in range(ROUNDS - 1)]
    rng.shuffle(methods)
    points = [KillPoint(TURN_COMPLETED, 1)]
    for method in methods:
        if method == DELTA:
            points.append(KillPoint(DELTA, rng.randint(1, DELTAS_PER_TURN)))
        elif method == TURN_COMPLETED:
            points.append(KillPoint(TURN_COMPLETED, rng.randint(1, 2)))
        else:
            per_turn = DELTAS_PER_TURN + OTHER_NOTIFICATIONS_PER_TURN
            points.append(KillPoint(None, rng.randint(1, per_turn + 5)))
    return points


async def run_turns_until_killed(
    servers: Servers, thread_id: str | None, kill_at: KillPoint, completed: set[str]
) -> str:
    """Start a server, run turns back to back, SIGKILL it at `kill_at`; add the turns the client
    saw complete to `completed`."""
    client = await servers.stdio(env=MODEL_ENV)
    await client.initialize()
    if thread_id is None:
        thread_id = (await client.call("thread/start", {}))["thread"]["id"]
    else:
        await client.call("thread/resume", {"threadId": thread_id, "excludeTurns": True})
    first = len(client.notifications)

    async def turns() -> None:
        while True:
            result = await client.call(
                "turn/start", {"threadId": thread_id, "input": text_input("work")}
            )
            turn_id: str = result["turn"]["id"]
            await client.wait_notification(TURN_COMPLETED, where=is_turn(turn_id))

    worker = asyncio.create_task(turns())
    await client.wait_for(lambda: kill_at.reached(client.notifications[first:]), KILL_TIMEOUT)
    servers.processes[-1].signal(signal.SIGKILL)
    await servers.processes[-1].wait()
    worker.cancel()
    await asyncio.gather(worker, return_exceptions=True)
    servers.clients.remove(client)  # its stream ended mid-message: that is the point
    completed.update(
        note["params"]["turn"]["id"]
        for note in client.notifications_named(TURN_COMPLETED)
        if note["params"]["turn"]["status"] == "completed"
    )
    return thread_id


async def test_sigkill_at_random_points_never_loses_a_completed_turn(
    servers: Servers, model_server: ModelServer
) -> None:
    write_model_config(servers.dirs.data_dir, model_server.base_url)
    rng = random.Random(20261124)
    for _ in range(ROUNDS * 8):
        model_server.enqueue(
            Reply.text("y" * 40, deltas=DELTAS_PER_TURN, reasoning_summary=["thinking"]).delayed(
                between_frames=0.002
            )
        )
    completed: set[str] = set()
    thread_id = None
    for kill_at in kill_points(rng):
        thread_id = await run_turns_until_killed(servers, thread_id, kill_at, completed)

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
