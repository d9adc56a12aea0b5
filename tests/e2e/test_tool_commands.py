"""Shell commands end to end: the model calls `exec_command`, the real server runs it, the
fake model receives its output in the next request, clients see `commandExecution` items."""

from __future__ import annotations

import random
from pathlib import Path

import orjson

from tests.conftest import Servers
from tests.support.model_replies import Reply
from tests.support.model_server import ModelServer
from tests.support.sandbox_env import requires_bwrap
from tests.support.tool_env import (
    completed_items,
    processes_with,
    read_after_restart,
    start_thread,
    start_turn,
    tool_client,
    tool_output,
    turn,
    wait_turn,
    wait_until_gone,
    wait_until_running,
)


def exec_call(cmd: str, call_id: str, **arguments: object) -> Reply:
    return Reply.function_call("exec_command", {"cmd": cmd, **arguments}, call_id=call_id)


async def test_command_output_goes_back_to_the_model_in_the_next_request(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(exec_call("echo hello-from-shell", "call_1"), Reply.text("done"))
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    finished = await turn(client, thread_id)
    assert finished["status"] == "completed"
    requests = await model_server.wait_for_requests(2)
    output = tool_output(requests[1], "call_1")
    assert output.startswith("Chunk ID: ")
    assert "\nProcess exited with code 0\nOriginal token count: 5\nOutput:\nhello-from-shell\n" in (
        output
    )


async def test_command_item_carries_status_exit_code_duration_and_output(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(exec_call("echo out; echo err 1>&2; exit 3", "call_1"), Reply.text("ok"))
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    await turn(client, thread_id)
    (item,) = completed_items(client, "commandExecution")
    assert item["id"] == "call_1"
    assert item["command"] == "/bin/bash -lc 'echo out; echo err 1>&2; exit 3'"
    assert item["cwd"] == str(tmp_path)
    assert item["status"] == "failed"
    assert item["exitCode"] == 3
    assert item["aggregatedOutput"] == "out\nerr\n"
    assert isinstance(item["durationMs"], int)
    assert item["source"] == "unifiedExecStartup"
    assert item["processId"] is not None
    requests = await model_server.wait_for_requests(2)
    assert "Process exited with code 3" in tool_output(requests[1], "call_1")


async def test_command_output_streams_as_deltas_while_it_runs(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(
        exec_call("printf one; sleep 0.3; printf two; sleep 0.3; printf three", "call_1"),
        Reply.text("ok"),
    )
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    await turn(client, thread_id)
    deltas = [
        n["params"]
        for n in client.notifications_named("item/commandExecution/outputDelta")
        if n["params"]["itemId"] == "call_1"
    ]
    assert len(deltas) >= 3
    assert "".join(d["delta"] for d in deltas) == "onetwothree"
    methods = [m["method"] for m in client.notifications]
    first_delta = methods.index("item/commandExecution/outputDelta")
    assert methods.index("item/started") < first_delta
    completed_at = [
        i for i, m in enumerate(client.notifications)
        if m["method"] == "item/completed" and m["params"]["item"]["type"] == "commandExecution"
    ]  # fmt: skip
    assert completed_at[0] > first_delta


async def test_command_runs_in_the_thread_cwd_or_its_workdir(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    (tmp_path / "sub").mkdir()
    model_server.enqueue(
        exec_call("pwd", "call_1"), exec_call("pwd", "call_2", workdir="sub"), Reply.text("ok")
    )
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    await turn(client, thread_id)
    outputs = [i["aggregatedOutput"] for i in completed_items(client, "commandExecution")]
    assert outputs == [f"{tmp_path}\n", f"{tmp_path / 'sub'}\n"]


async def test_long_running_command_becomes_a_session_polled_with_write_stdin(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(
        exec_call("sleep 1; echo finished", "call_1", yield_time_ms=250),
        Reply.function_call("write_stdin", {"session_id": 1000, "chars": ""}, call_id="call_2"),
        Reply.text("ok"),
    )
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    await turn(client, thread_id)
    requests = await model_server.wait_for_requests(3)
    first = tool_output(requests[1], "call_1")
    assert "\nProcess running with session ID 1000\n" in first
    polled = tool_output(requests[2], "call_2")
    assert "\nProcess exited with code 0\n" in polled
    assert polled.endswith("Output:\nfinished\n")
    (item,) = completed_items(client, "commandExecution")
    assert (item["id"], item["status"], item["aggregatedOutput"], item["processId"]) == (
        "call_1",
        "completed",
        "finished\n",
        "1000",
    )


async def test_unknown_session_is_reported_to_the_model(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(
        Reply.function_call("write_stdin", {"session_id": 424242}, call_id="call_1"),
        Reply.text("ok"),
    )
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    await turn(client, thread_id)
    requests = await model_server.wait_for_requests(2)
    assert tool_output(requests[1], "call_1") == "write_stdin failed: Unknown process id 424242"


async def test_interrupt_kills_the_command_and_its_grandchildren(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    marker = f"100.{random.randrange(10**6):06d}"
    script = f"sleep {marker} & (sleep {marker} &) ; sleep {marker}; wait"
    model_server.enqueue(exec_call(script, "call_1", yield_time_ms=30000))
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    turn_id = await start_turn(client, thread_id)
    assert len(await wait_until_running(marker, 3)) >= 3
    await client.call("turn/interrupt", {"threadId": thread_id, "turnId": turn_id})
    finished = await wait_turn(client, turn_id)
    assert finished["status"] == "interrupted"
    assert await wait_until_gone(marker) == []
    (item,) = completed_items(client, "commandExecution")
    assert item["status"] == "failed"


@requires_bwrap
async def test_sandboxed_command_is_killed_on_interrupt_too(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    marker = f"100.{random.randrange(10**6):06d}"
    model_server.enqueue(exec_call(f"sleep {marker} & sleep {marker}", "call_1"))
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path, sandbox="workspace-write")
    turn_id = await start_turn(client, thread_id)
    assert len(await wait_until_running(marker, 2)) >= 2
    await client.call("turn/interrupt", {"threadId": thread_id, "turnId": turn_id})
    await wait_turn(client, turn_id)
    assert await wait_until_gone(marker) == []


async def test_interrupted_command_is_answered_as_aborted_in_history(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    marker = f"100.{random.randrange(10**6):06d}"
    model_server.enqueue(exec_call(f"sleep {marker}", "call_1"), Reply.text("next"))
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    turn_id = await start_turn(client, thread_id)
    await wait_until_running(marker, 1)
    await client.call("turn/interrupt", {"threadId": thread_id, "turnId": turn_id})
    await wait_turn(client, turn_id)
    await turn(client, thread_id, "again")
    requests = await model_server.wait_for_requests(2)
    output = tool_output(requests[1], "call_1")
    assert output.startswith("Wall time: ")
    assert output.endswith(" seconds\naborted by user")
    assert processes_with(marker) == []


async def test_command_items_read_back_after_a_restart(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(exec_call("echo persisted", "call_1"), Reply.text("ok"))
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    await turn(client, thread_id)
    (live,) = completed_items(client, "commandExecution")
    turns = await read_after_restart(servers, client, thread_id)
    items = [i for i in turns[0]["items"] if i["type"] == "commandExecution"]
    assert items == [live]


async def test_legacy_thread_records_commands_too(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(exec_call("echo legacy", "call_1"), Reply.text("ok"))
    client = await tool_client(servers, model_server, experimental=True)
    thread_id = await start_thread(client, tmp_path, historyMode="legacy")
    await turn(client, thread_id)
    turns = await read_after_restart(servers, client, thread_id)
    (item,) = [i for i in turns[0]["items"] if i["type"] == "commandExecution"]
    assert (item["id"], item["status"], item["aggregatedOutput"]) == (
        "call_1",
        "completed",
        "legacy\n",
    )


async def test_background_command_completes_its_item_after_the_turn_and_is_recorded(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(
        exec_call("sleep 0.7; echo late", "call_1", yield_time_ms=250), Reply.text("moving on")
    )
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    finished = await turn(client, thread_id)
    assert completed_items(client, "commandExecution") == []  # still running
    done = await client.wait_notification(
        "item/completed", where=lambda m: m["params"]["item"]["type"] == "commandExecution"
    )
    assert done["params"]["turnId"] == finished["id"]
    live = done["params"]["item"]
    assert (live["status"], live["aggregatedOutput"]) == ("completed", "late\n")
    turns = await read_after_restart(servers, client, thread_id)
    (stored_turn,) = turns
    assert stored_turn["status"] == "completed"
    assert [i for i in stored_turn["items"] if i["type"] == "commandExecution"] == [live]


async def test_write_stdin_types_into_a_tty_session(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(
        exec_call("read answer; echo got $answer", "call_1", tty=True, yield_time_ms=250),
        Reply.function_call(
            "write_stdin",
            {"session_id": 1000, "chars": "yes\n", "yield_time_ms": 2000},
            call_id="call_2",
        ),
        Reply.text("ok"),
    )
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    await turn(client, thread_id)
    requests = await model_server.wait_for_requests(3)
    assert "got yes" in tool_output(requests[2], "call_2")
    (typed,) = client.notifications_named("item/commandExecution/terminalInteraction")
    assert typed["params"]["itemId"] == "call_1"
    assert (typed["params"]["processId"], typed["params"]["stdin"]) == ("1000", "yes\n")


async def test_older_shell_tools_are_run_when_the_model_calls_them(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(
        Reply.function_call("shell", {"command": ["echo", "argv"]}, call_id="call_1"),
        Reply.function_call("shell_command", {"command": "echo script; exit 2"}, call_id="call_2"),
        Reply.text("ok"),
    )
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    await turn(client, thread_id)
    requests = await model_server.wait_for_requests(3)
    shell = orjson.loads(tool_output(requests[1], "call_1"))
    assert shell["output"] == "argv\n"
    assert shell["metadata"]["exit_code"] == 0
    assert tool_output(requests[2], "call_2").startswith("Exit code: 2\nWall time: ")
    assert tool_output(requests[2], "call_2").endswith("Output:\nscript\n")
    statuses = [(i["id"], i["status"]) for i in completed_items(client, "commandExecution")]
    assert statuses == [("call_1", "completed"), ("call_2", "failed")]
