"""The smaller tools end to end: `view_image`, `clock.sleep`, `clock.curr_time`, and how
unknown tools and experimental approval fields reach clients and the model."""

from __future__ import annotations

import asyncio
import base64
import time
from pathlib import Path

from tests.conftest import Servers
from tests.support.model_replies import Reply
from tests.support.model_server import ModelServer
from tests.support.tool_env import (
    completed_items,
    start_thread,
    start_turn,
    started_items,
    tool_client,
    tool_output,
    turn,
    wait_turn,
)
from tests.support.turn_env import text_input

PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


async def test_view_image_shows_an_image_item_and_sends_the_image_to_the_model(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    (tmp_path / "dot.png").write_bytes(PNG_1X1)
    model_server.enqueue(
        Reply.function_call("view_image", {"path": "dot.png"}, call_id="call_1"),
        Reply.text("a dot"),
    )
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    await turn(client, thread_id)
    (item,) = completed_items(client, "imageView")
    assert (item["id"], item["path"]) == ("call_1", str(tmp_path / "dot.png"))
    requests = await model_server.wait_for_requests(2)
    (image,) = tool_output(requests[1], "call_1")
    assert image["type"] == "input_image"
    assert image["image_url"] == "data:image/png;base64," + base64.b64encode(PNG_1X1).decode()


async def test_view_image_of_a_missing_file_tells_the_model(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(
        Reply.function_call("view_image", {"path": "nope.png"}, call_id="call_1"),
        Reply.text("ok"),
    )
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    await turn(client, thread_id)
    assert completed_items(client, "imageView") == []
    requests = await model_server.wait_for_requests(2)
    assert tool_output(requests[1], "call_1") == (
        f"unable to locate image at `{tmp_path / 'nope.png'}`: "
        "No such file or directory (os error 2)"
    )


def sleep_call(duration_ms: int, call_id: str = "call_1") -> Reply:
    return Reply.function_call(
        "sleep", {"duration_ms": duration_ms}, call_id=call_id, namespace="clock"
    )


async def test_sleep_shows_a_sleep_item_for_the_requested_time(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(sleep_call(300), Reply.text("rested"))
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    await turn(client, thread_id)
    (started,) = started_items(client, "sleep")
    (item,) = completed_items(client, "sleep")
    assert (item["id"], item["durationMs"]) == ("call_1", 300)
    assert started["durationMs"] == 300
    assert item["completedAtMs"] - item["startedAtMs"] >= 290
    requests = await model_server.wait_for_requests(2)
    output = tool_output(requests[1], "call_1")
    assert output.startswith("Wall time: 0.3")
    assert output.endswith(" seconds\nSleep completed.")


async def test_sleep_ends_early_when_new_input_arrives(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(sleep_call(60_000), Reply.text("woken"))
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    turn_id = await start_turn(client, thread_id)
    await client.wait_notification(
        "item/started", where=lambda m: m["params"]["item"]["type"] == "sleep"
    )
    clock = time.monotonic()
    await client.call(
        "turn/steer",
        {"threadId": thread_id, "expectedTurnId": turn_id, "input": text_input("wake up")},
    )
    finished = await wait_turn(client, turn_id)
    assert time.monotonic() - clock < 5
    assert finished["status"] == "completed"
    requests = await model_server.wait_for_requests(2)
    assert tool_output(requests[1], "call_1").endswith("Sleep interrupted by new input.")
    assert "wake up" in str(requests[1].body["input"][-1])


async def test_token_usage_of_a_tool_step_is_reported_after_the_tool_item_completes(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    """codex 0.169 reports a response's usage once its tool calls have their outputs."""
    model_server.enqueue(sleep_call(50), Reply.text("rested"))
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    await turn(client, thread_id)
    methods = [
        "sleep done"
        if note["method"] == "item/completed" and note["params"]["item"]["type"] == "sleep"
        else note["method"]
        for note in client.notifications
    ]
    first_usage = methods.index("thread/tokenUsage/updated")
    assert methods.index("sleep done") < first_usage
    assert methods.count("thread/tokenUsage/updated") == 2


async def test_curr_time_returns_the_utc_time(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(
        Reply.function_call("curr_time", {}, call_id="call_1", namespace="clock"),
        Reply.text("ok"),
    )
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    await turn(client, thread_id)
    requests = await model_server.wait_for_requests(2)
    assert tool_output(requests[1], "call_1").endswith("+00:00")


async def test_unknown_tools_are_answered_like_codex(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(
        Reply.function_call("nope", {}, call_id="call_1", namespace="space"),
        Reply.custom_tool_call("freeform_nope", "x", call_id="call_2"),
        Reply.text("ok"),
    )
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path)
    await turn(client, thread_id)
    requests = await model_server.wait_for_requests(3)
    assert tool_output(requests[1], "call_1") == "unsupported call: spacenope"
    assert tool_output(requests[2], "call_2") == "unsupported custom tool call: freeform_nope"


async def test_experimental_clients_get_the_available_decisions(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(
        Reply.function_call("exec_command", {"cmd": "touch x.txt"}, call_id="call_1"),
        Reply.text("ok"),
    )
    client = await tool_client(servers, model_server, experimental=True)
    thread_id = await start_thread(
        client, tmp_path, approval="untrusted", sandbox="workspace-write"
    )
    turn_id = await start_turn(client, thread_id)
    request = await asyncio.wait_for(client.server_requests.get(), 10)
    assert request["params"]["availableDecisions"] == [
        "accept",
        {"acceptWithExecpolicyAmendment": {"execpolicy_amendment": ["touch", "x.txt"]}},
        "cancel",
    ]
    await client.respond(request["id"], {"decision": "accept"})
    await wait_turn(client, turn_id)
