"""`thread/shellCommand`: the user's `!cmd`, run in the thread's cwd as a turn of its own (or
inside the turn already running), recorded as codex 0.169 records it and read by the model at
the next turn (or the running turn's next sampling step)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.conftest import Servers
from tests.support.client import RpcClient
from tests.support.model_replies import Reply
from tests.support.model_server import ModelServer
from tests.support.tool_env import (
    completed_items,
    method_order,
    read_after_restart,
    start_thread,
    tool_client,
    turn,
    wait_until_gone,
)

INVALID_REQUEST = -32600
INVALID_PARAMS = -32602


async def shell(client: RpcClient, thread_id: str, command: str, **params: Any) -> dict[str, Any]:
    """Run a shell command; returns its turn's `turn/completed` turn."""
    since = len(client.received)
    result = await client.call(
        "thread/shellCommand", {"threadId": thread_id, "command": command, **params}
    )
    assert result == {}
    completed = await client.wait_notification(
        "turn/completed",
        where=lambda m: m in client.received[since:],
        timeout=30,
    )
    finished: dict[str, Any] = completed["params"]["turn"]
    return finished


async def test_shell_command_runs_in_the_thread_cwd_as_a_user_shell_item(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)

    finished = await shell(client, thread_id, "echo hi; pwd")

    (item,) = completed_items(client, "commandExecution")
    assert item["source"] == "userShell"
    assert item["command"].endswith(" -lc 'echo hi; pwd'")
    assert (item["cwd"], item["status"], item["exitCode"]) == (str(tmp_path), "completed", 0)
    assert item["aggregatedOutput"] == f"hi\n{tmp_path}\n"
    assert item["commandActions"] == [{"type": "unknown", "command": "echo hi; pwd"}]
    assert (finished["status"], finished["items"], finished["itemsView"]) == (
        "completed",
        [],
        "notLoaded",
    )


async def test_shell_command_notifications_come_in_codex_order(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    since = len(client.received)

    await shell(client, thread_id, "echo streamed")

    methods = {
        "thread/status/changed",
        "turn/started",
        "item/started",
        "item/commandExecution/outputDelta",
        "item/completed",
        "turn/completed",
    }
    assert method_order(client, methods, since=since) == [
        "thread/status/changed",
        "turn/started",
        "item/started",
        "item/commandExecution/outputDelta",
        "item/completed",
        "thread/status/changed",
        "turn/completed",
    ]


async def test_shell_command_output_reaches_the_model_at_the_next_turn(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("seen"))
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    await shell(client, thread_id, "echo from-the-shell")

    await turn(client, thread_id, "what did it print?")

    (request,) = await model_server.wait_for_requests(1)
    texts = [
        part["text"]
        for item in request.body["input"]
        if item.get("type") == "message" and item.get("role") == "user"
        for part in item["content"]
    ]
    (record,) = [t for t in texts if t.startswith("<user_shell_command>")]
    assert re.fullmatch(
        r"<user_shell_command>\n<command>\necho from-the-shell\n</command>\n<result>\n"
        r"Exit code: 0\nDuration: \d+\.\d{4} seconds\nOutput:\nfrom-the-shell\n\n</result>\n"
        r"</user_shell_command>",
        record,
    )
    assert texts.index(record) < texts.index("what did it print?")


async def test_shell_command_that_fails_is_a_failed_item_with_its_exit_code(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)

    await shell(client, thread_id, "echo err >&2; exit 3")

    (item,) = completed_items(client, "commandExecution")
    assert (item["status"], item["exitCode"], item["aggregatedOutput"]) == ("failed", 3, "err\n")


async def test_shell_command_past_its_timeout_is_killed_and_reported_as_codex_does(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    marker = "shell-command-timeout-marker"
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)

    await shell(client, thread_id, f"sleep 30 # {marker}", timeoutMs=300)

    (item,) = completed_items(client, "commandExecution")
    assert (item["status"], item["exitCode"], item["durationMs"]) == ("failed", -1, 0)
    assert item["aggregatedOutput"].startswith("execution error: Sandbox(Timeout { output: ")
    assert await wait_until_gone(marker, timeout=10) == []


async def test_shell_command_is_recorded_in_the_rollout_as_codex_records_it(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    client = await tool_client(servers, model_server)
    started = await client.call("thread/start", {"cwd": str(tmp_path), "approvalPolicy": "never"})
    thread = started["thread"]

    await shell(client, thread["id"], "echo recorded")
    await client.call("thread/unsubscribe", {"threadId": thread["id"]})

    lines = [json.loads(line) for line in Path(thread["path"]).read_text().splitlines()]
    kinds = [(line["type"], line["payload"].get("type")) for line in lines[1:]]
    assert kinds == [
        ("event_msg", "task_started"),
        ("event_msg", "item_completed"),
        ("response_item", "message"),
        ("event_msg", "task_complete"),
    ]
    core = lines[2]["payload"]["item"]
    assert (core["type"], core["source"], core["command"][1:]) == (
        "CommandExecution",
        "user_shell",
        ["-lc", "echo recorded"],
    )
    assert lines[3]["payload"]["content"][0]["text"].startswith(
        "<user_shell_command>\n<command>\necho recorded\n</command>"
    )


async def test_shell_command_item_reads_back_after_a_restart(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    await shell(client, thread_id, "echo persisted")
    (live,) = completed_items(client, "commandExecution")

    turns = await read_after_restart(servers, client, thread_id)

    assert [t["items"] for t in turns] == [[live]]


async def test_shell_command_bad_input_is_refused_and_runs_nothing(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    touched = tmp_path / "touched"
    unknown = "01a244e8-a28f-7381-967c-c38e975b61b0"

    empty = await client.request("thread/shellCommand", {"threadId": thread_id, "command": " "})
    negative = await client.request(
        "thread/shellCommand",
        {"threadId": thread_id, "command": f"touch {touched}", "timeoutMs": -1},
    )
    missing = await client.request(
        "thread/shellCommand", {"threadId": unknown, "command": f"touch {touched}"}
    )
    malformed = await client.request(
        "thread/shellCommand", {"threadId": "nope", "command": f"touch {touched}"}
    )

    assert (empty.code, empty.message) == (INVALID_REQUEST, "command must not be empty")
    assert (negative.code, negative.message) == (
        INVALID_PARAMS,
        "thread/shellCommand timeoutMs must be non-negative, got -1",
    )
    assert (missing.code, missing.message) == (INVALID_REQUEST, f"thread not found: {unknown}")
    assert malformed.code == INVALID_REQUEST
    assert malformed.message.startswith("invalid thread id: ")
    assert not touched.exists()
    assert client.notifications_named("turn/started") == []


def shell_items_of(client: RpcClient) -> list[dict[str, Any]]:
    """The `item/completed` params of every user shell command item."""
    return [
        n["params"]
        for n in client.notifications_named("item/completed")
        if n["params"]["item"]["type"] == "commandExecution"
        and n["params"]["item"]["source"] == "userShell"
    ]


def last_input_text(body: dict[str, Any]) -> str:
    return str(body["input"][-1]["content"][0]["text"])


async def test_shell_command_during_a_turn_runs_inside_it(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("slow").delayed(first_byte=1.5), Reply.text("seen it"))
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    touched = tmp_path / "touched"
    started = await client.call(
        "turn/start", {"threadId": thread_id, "input": [{"type": "text", "text": "go"}]}
    )

    result = await client.call(
        "thread/shellCommand", {"threadId": thread_id, "command": f"touch {touched}"}
    )
    done = await client.wait_notification("turn/completed", timeout=30)

    assert result == {}
    assert touched.exists()
    (item,) = shell_items_of(client)
    assert item["turnId"] == started["turn"]["id"]
    assert item["item"]["status"] == "completed"
    assert done["params"]["turn"]["status"] == "completed"
    assert len(client.notifications_named("turn/started")) == 1


async def test_the_model_reads_a_command_run_during_its_turn_at_the_next_step(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("slow").delayed(first_byte=1.5), Reply.text("seen it"))
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    await client.call(
        "turn/start", {"threadId": thread_id, "input": [{"type": "text", "text": "go"}]}
    )

    await client.call("thread/shellCommand", {"threadId": thread_id, "command": "echo inside"})
    done = await client.wait_notification("turn/completed", timeout=30)

    first, second = await model_server.wait_for_requests(2)
    assert "<user_shell_command>" not in json.dumps(first.body["input"])
    assert last_input_text(second.body).startswith(
        "<user_shell_command>\n<command>\necho inside\n</command>"
    )
    assert done["params"]["turn"]["items"][0]["text"] == "seen it"


async def test_a_command_run_during_a_turn_is_recorded_as_codex_records_it(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("slow").delayed(first_byte=1.5), Reply.text("seen it"))
    client = await tool_client(servers, model_server)
    started = await client.call("thread/start", {"cwd": str(tmp_path), "approvalPolicy": "never"})
    thread = started["thread"]
    await client.call(
        "turn/start", {"threadId": thread["id"], "input": [{"type": "text", "text": "go"}]}
    )
    await client.call("thread/shellCommand", {"threadId": thread["id"], "command": "echo x"})
    await client.wait_notification("turn/completed", timeout=30)
    await client.call("thread/unsubscribe", {"threadId": thread["id"]})

    lines = [json.loads(line) for line in Path(thread["path"]).read_text().splitlines()]
    kinds = [
        (line["type"], line["payload"].get("type"), line["payload"].get("item", {}).get("type"))
        for line in lines
    ]
    shell_item = kinds.index(("event_msg", "item_completed", "CommandExecution"))
    answer = kinds.index(("event_msg", "item_completed", "AgentMessage"))
    usage = kinds.index(("event_msg", "token_count", None))
    record = next(
        i
        for i, line in enumerate(lines)
        if line["type"] == "response_item" and "<user_shell_command>" in json.dumps(line["payload"])
    )
    assert shell_item < answer < usage < record
    assert kinds.count(("event_msg", "task_started", None)) == 1


async def test_a_second_shell_command_runs_inside_the_first_ones_turn(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    await client.call("thread/shellCommand", {"threadId": thread_id, "command": "sleep 1"})
    started = await client.wait_notification("item/started", timeout=10)

    await client.call("thread/shellCommand", {"threadId": thread_id, "command": "echo second"})
    await client.wait_notification("turn/completed", timeout=30)

    items = shell_items_of(client)
    assert [i["item"]["command"].split("'")[1] for i in items] == ["echo second", "sleep 1"]
    assert {i["turnId"] for i in items} == {started["params"]["turnId"]}
    assert len(client.notifications_named("turn/started")) == 1


async def test_interrupting_a_turn_stops_the_users_command_running_inside_it(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    marker = "shell-inside-turn-interrupt-marker"
    model_server.enqueue(Reply.text("slow").delayed(first_byte=3))
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    started = await client.call(
        "turn/start", {"threadId": thread_id, "input": [{"type": "text", "text": "go"}]}
    )
    await client.call(
        "thread/shellCommand", {"threadId": thread_id, "command": f"sleep 30 # {marker}"}
    )
    await client.wait_notification(
        "item/started",
        where=lambda m: m["params"]["item"]["type"] == "commandExecution",
        timeout=10,
    )

    turn_id = started["turn"]["id"]
    await client.call("turn/interrupt", {"threadId": thread_id, "turnId": turn_id})
    completed = await client.wait_notification("turn/completed", timeout=10)

    assert completed["params"]["turn"]["status"] == "interrupted"
    (item,) = shell_items_of(client)
    assert item["item"]["status"] == "failed"
    assert await wait_until_gone(marker, timeout=10) == []


async def test_interrupting_a_shell_command_kills_it_and_closes_its_item(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    marker = "shell-command-interrupt-marker"
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    await client.call(
        "thread/shellCommand", {"threadId": thread_id, "command": f"sleep 30 # {marker}"}
    )
    started = await client.wait_notification("turn/started", timeout=10)
    await client.wait_notification("item/started", timeout=10)

    turn_id = started["params"]["turn"]["id"]
    await client.call("turn/interrupt", {"threadId": thread_id, "turnId": turn_id})
    completed = await client.wait_notification("turn/completed", timeout=10)

    assert completed["params"]["turn"]["status"] == "interrupted"
    (item,) = completed_items(client, "commandExecution")
    assert item["status"] == "failed"
    assert await wait_until_gone(marker, timeout=10) == []
