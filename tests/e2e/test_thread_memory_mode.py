"""`thread/memoryMode/set`: accepted for a thread that exists, as codex 0.169 answers it (this
server has no memories feature for the mode to steer)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Servers
from tests.support.model_replies import Reply
from tests.support.model_server import ModelServer
from tests.support.tool_env import start_thread, tool_client, turn

INVALID_REQUEST = -32600
INVALID_PARAMS = -32602


async def test_memory_mode_set_answers_empty_for_a_thread_and_leaves_it_as_it_was(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("ok"))
    client = await tool_client(servers, model_server, experimental=True)
    thread_id = await start_thread(client, tmp_path)
    await turn(client, thread_id, "go")
    before = await client.call("thread/read", {"threadId": thread_id, "includeTurns": True})

    result = await client.call("thread/memoryMode/set", {"threadId": thread_id, "mode": "disabled"})

    after = await client.call("thread/read", {"threadId": thread_id, "includeTurns": True})
    assert result == {}
    assert after == before


async def test_memory_mode_set_refuses_an_unknown_thread_and_an_unknown_mode(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    client = await tool_client(servers, model_server, experimental=True)
    thread_id = await start_thread(client, tmp_path)
    unknown = "01a244e8-a28f-7381-967c-c38e975b61b0"

    missing = await client.request(
        "thread/memoryMode/set", {"threadId": unknown, "mode": "disabled"}
    )
    bad_mode = await client.request("thread/memoryMode/set", {"threadId": thread_id, "mode": "zzz"})

    assert (missing.code, missing.message) == (
        INVALID_REQUEST,
        f"no rollout found for thread id {unknown}",
    )
    assert (bad_mode.code, bad_mode.message) == (
        INVALID_PARAMS,
        "Invalid params: `mode`: Input should be 'enabled' or 'disabled' (got \"zzz\")",
    )
