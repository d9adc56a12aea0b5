"""Input sent while a manual compaction (`thread/compact/start`) runs is refused as codex 0.169
refuses it (observed on the binary): `turn/steer` with -32600 "cannot steer a compact turn" and
`data.codexErrorInfo.activeTurnNotSteerable {turnKind: "compact"}`, `turn/start` with -32603 and
codex's text. The compaction itself completes."""

from __future__ import annotations

import asyncio

from tests.conftest import Servers
from tests.e2e.test_compaction import new_thread, start_client
from tests.support.client import RpcClient
from tests.support.model_replies import Reply
from tests.support.model_server import ModelServer
from tests.support.turn_env import run_turn, text_input


async def compacting(
    client: RpcClient, model_server: ModelServer, release: asyncio.Event
) -> tuple[str, str]:
    """A thread whose manual compaction is held in the middle of its summary; (thread, turn)."""
    reached = asyncio.Event()
    model_server.enqueue(
        Reply.text("hi"), Reply.text("SUMMARY", deltas=2).hang_after(1, release, reached)
    )
    thread_id, _ = await new_thread(client)
    first = await run_turn(client, thread_id, "one")
    await client.call("thread/compact/start", {"threadId": thread_id})
    started = await client.wait_notification(
        "turn/started", where=lambda m: m["params"]["turn"]["id"] != first["id"]
    )
    await asyncio.wait_for(reached.wait(), 10)
    turn_id: str = started["params"]["turn"]["id"]
    return thread_id, turn_id


async def test_steering_a_compaction_is_refused_with_codex_error_info(
    servers: Servers, model_server: ModelServer
) -> None:
    release = asyncio.Event()
    client = await start_client(servers, model_server)
    thread_id, turn_id = await compacting(client, model_server, release)

    reply = await client.request(
        "turn/steer",
        {"threadId": thread_id, "expectedTurnId": turn_id, "input": text_input("more")},
    )

    release.set()
    assert (reply.code, reply.message) == (-32600, "cannot steer a compact turn")
    assert reply.error is not None
    assert reply.error["data"] == {
        "message": "cannot steer a compact turn",
        "codexErrorInfo": {"activeTurnNotSteerable": {"turnKind": "compact"}},
        "additionalDetails": None,
        "misalignment": None,
    }
    await client.wait_notification(
        "turn/completed", where=lambda m: m["params"]["turn"]["id"] == turn_id
    )


async def test_a_turn_started_during_a_compaction_is_refused_with_codex_code(
    servers: Servers, model_server: ModelServer
) -> None:
    release = asyncio.Event()
    client = await start_client(servers, model_server)
    thread_id, turn_id = await compacting(client, model_server, release)

    reply = await client.request("turn/start", {"threadId": thread_id, "input": text_input("x")})

    release.set()
    assert (reply.code, reply.message) == (
        -32603,
        "failed to submit turn input: ActiveTurnNotSteerable { turn_kind: Compact }",
    )
    completed = await client.wait_notification(
        "turn/completed", where=lambda m: m["params"]["turn"]["id"] == turn_id
    )
    assert completed["params"]["turn"]["status"] == "completed"
