"""Server processes whose `LISTEN` sessions are ended by the database mid-turn
(`pg_terminate_backend`): they listen again and catch up from the outbox, so a client of another
process watching the turn still gets every notification once, in order."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg

from app_server.store.postgres.listener import LISTENER_APPLICATION_NAME
from app_server.store.postgres.messages import MESSAGE_CHANNEL
from tests.conftest import Servers
from tests.support.model_replies import Reply
from tests.support.model_server import ModelServer
from tests.support.postgres import postgres_dsn
from tests.support.postgres_servers import turn_events, two_clients
from tests.support.turn_env import run_turn, text_input

STREAMED = "one two three four five six seven eight"


async def terminate_message_listeners() -> int:
    """End every server process's listening session on the message channel."""
    connection = await asyncpg.connect(postgres_dsn())
    try:
        ended = await connection.fetchval(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name LIKE $1 AND query = $2) AS t",
            f"{LISTENER_APPLICATION_NAME} %",
            f'LISTEN "{MESSAGE_CHANNEL}"',
        )
    finally:
        await connection.close()
    return int(ended)


async def test_a_turn_watched_from_another_process_streams_whole_across_lost_listeners(
    servers: Servers, model_server: ModelServer, store_url: str, tmp_path: Path
) -> None:
    release, reached = asyncio.Event(), asyncio.Event()
    model_server.enqueue(Reply.text("first"))
    model_server.enqueue(Reply.text(STREAMED, deltas=8).hang_after(7, release, reached))
    a, b = await two_clients(servers, model_server, store_url, tmp_path)
    thread_id = (await a.call("thread/start", {}))["thread"]["id"]
    await run_turn(a, thread_id, "one")
    await b.call("thread/resume", {"threadId": thread_id})
    turn = await b.call("turn/start", {"threadId": thread_id, "input": text_input("two")})
    turn_id = turn["turn"]["id"]
    await asyncio.wait_for(reached.wait(), 10)

    ended = await terminate_message_listeners()
    release.set()
    await b.wait_notification(
        "turn/completed", where=lambda m: m["params"]["turn"]["id"] == turn_id, timeout=20
    )
    await asyncio.sleep(0.3)
    renamed = await b.request("thread/name/set", {"threadId": thread_id, "name": "after"})

    assert ended >= 2
    events = turn_events(b, turn_id)
    methods = [m["method"] for m in events]
    assert methods[0] == "turn/started"
    assert methods[-1] == "turn/completed"
    assert methods.count("turn/completed") == 1
    deltas = [m["params"]["delta"] for m in events if m["method"] == "item/agentMessage/delta"]
    assert "".join(deltas) == STREAMED
    assert renamed.error is None
