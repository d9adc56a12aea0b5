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


async def test_background_terminals_terminate_kills_one_and_a_second_time_finds_none(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    marker = "bg-terminal-terminate-marker"
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
    process_id = listed["data"][0]["processId"]

    params = {"threadId": thread_id, "processId": process_id}
    first = await client.call("thread/backgroundTerminals/terminate", params)
    second = await client.call("thread/backgroundTerminals/terminate", params)

    assert first == {"terminated": True}
    assert second == {"terminated": False}
    assert await wait_until_gone(marker, timeout=10) == []
    listed = await client.call("thread/backgroundTerminals/list", {"threadId": thread_id})
    assert listed["data"] == []


async def test_background_terminals_clean_kills_them_all(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    marker = "bg-terminal-clean-marker"
    model_server.enqueue(
        Reply.function_call(
            "exec_command", {"cmd": f"sleep 30 # {marker} 1", "yield_time_ms": 250}, call_id="a"
        ),
        Reply.function_call(
            "exec_command", {"cmd": f"sleep 30 # {marker} 2", "yield_time_ms": 250}, call_id="b"
        ),
        Reply.text("left them running"),
    )
    client = await tool_client(servers, model_server, experimental=True)
    thread_id = await start_thread(client, tmp_path)
    await turn(client, thread_id)

    cleaned = await client.call("thread/backgroundTerminals/clean", {"threadId": thread_id})

    assert cleaned == {}
    assert await wait_until_gone(marker, timeout=10) == []
    listed = await client.call("thread/backgroundTerminals/list", {"threadId": thread_id})
    assert listed["data"] == []


async def test_background_terminals_terminate_of_an_unknown_thread_is_refused(
    servers: Servers, model_server: ModelServer
) -> None:
    client = await tool_client(servers, model_server, experimental=True)
    missing = "00000000-0000-0000-0000-000000000000"
    reply = await client.request(
        "thread/backgroundTerminals/terminate", {"threadId": missing, "processId": "1"}
    )
    assert reply.code == -32600
    assert reply.message == f"thread not found: {missing}"
