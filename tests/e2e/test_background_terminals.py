"""`thread/backgroundTerminals/list`: the commands a thread keeps running, as the TUI lists them
after a resume."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Servers
from tests.support.model_replies import Reply
from tests.support.model_server import ModelServer
from tests.support.tool_env import start_thread, tool_client, turn, wait_until_gone


async def test_background_terminals_list_shows_a_command_still_running(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    marker = "bg-terminal-list-marker"
    model_server.enqueue(
        Reply.function_call(
            "exec_command",
            {"cmd": f"sleep 30 # {marker}", "yield_time_ms": 250},
            call_id="call_bg",
        ),
        Reply.text("left it running"),
    )
    client = await tool_client(servers, model_server, experimental=True)
    thread_id = await start_thread(client, tmp_path)
    await turn(client, thread_id)

    listed = await client.call("thread/backgroundTerminals/list", {"threadId": thread_id})

    (terminal,) = listed["data"]
    assert terminal["itemId"] == "call_bg"
    assert terminal["command"] == f"/bin/bash -lc 'sleep 30 # {marker}'"
    assert terminal["cwd"] == str(tmp_path)
    assert isinstance(terminal["osPid"], int)
    assert listed["nextCursor"] is None
    await client.call("thread/unsubscribe", {"threadId": thread_id})
    await wait_until_gone(marker, timeout=15)


async def test_background_terminals_list_of_a_thread_without_commands_is_empty(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    client = await tool_client(servers, model_server, experimental=True)
    thread_id = await start_thread(client, tmp_path)

    listed = await client.call("thread/backgroundTerminals/list", {"threadId": thread_id})

    assert listed == {"data": [], "nextCursor": None}
