"""MCP tools end to end: the real server, the real test MCP server (stdio), the HTTP model fixture.

The shapes asserted here are what codex 0.169 was seen sending with the same MCP server: one
`namespace` tool per server, `function_call` outputs with a `Wall time` header, `mcpToolCall`
items, and the refusal and timeout texts.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

from tests.conftest import Servers
from tests.support.mcp_env import mcp_call, stdio_server, wait_ready
from tests.support.mcp_server import PIXEL_PNG
from tests.support.model_replies import Reply
from tests.support.model_server import ModelServer
from tests.support.tool_env import (
    completed_items,
    start_thread,
    started_items,
    tool_client,
    tool_output,
    turn,
)

WALL = r"Wall time: \d+\.\d{4} seconds\nOutput:"


async def test_each_server_is_offered_as_one_namespace_of_its_sorted_tools(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("hi"))
    client = await tool_client(servers, model_server, extra_config="\n" + stdio_server("my-srv.x"))
    thread_id = await start_thread(client, tmp_path)
    await turn(client, thread_id)
    (request,) = await model_server.wait_for_requests(1)
    (namespace,) = [t for t in request.body["tools"] if t.get("name") == "mcp__my_srv_x"]
    assert namespace["description"] == "Tools in the mcp__my_srv_x namespace."
    names = [tool["name"] for tool in namespace["tools"]]
    assert names == ["boom", "confirm", "count", "echo", "pixel", "slow", "weather"]
    echo = next(tool for tool in namespace["tools"] if tool["name"] == "echo")
    assert echo == {
        "type": "function",
        "name": "echo",
        "description": "Echo the text back.",
        "strict": False,
        "parameters": {
            "type": "object",
            "properties": {"text": {"type": "string"}},
            "required": ["text"],
        },
    }
    tools = [t.get("name") for t in request.body["tools"]]
    assert {"list_mcp_resources", "list_mcp_resource_templates", "read_mcp_resource"} <= set(tools)


async def test_a_structured_result_goes_back_as_one_string_after_the_wall_time(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(mcp_call("weather", {"city": "Paris"}, "c1"), Reply.text("done"))
    client = await tool_client(servers, model_server, extra_config="\n" + stdio_server("srv"))
    thread_id = await start_thread(client, tmp_path)
    await turn(client, thread_id)
    requests = await model_server.wait_for_requests(2)
    output = tool_output(requests[1], "c1")
    assert re.fullmatch(WALL + r'\n\{"city":"Paris","temperature":21\.5\}', output)


async def test_a_call_shows_an_mcp_tool_call_item_started_then_completed(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(mcp_call("echo", {"text": "hi"}, "c1"), Reply.text("done"))
    client = await tool_client(servers, model_server, extra_config="\n" + stdio_server("srv"))
    thread_id = await start_thread(client, tmp_path)
    await turn(client, thread_id)
    (started,) = started_items(client, "mcpToolCall")
    (done,) = completed_items(client, "mcpToolCall")
    assert (started["status"], started["server"], started["tool"]) == ("inProgress", "srv", "echo")
    assert started["arguments"] == {"text": "hi"}
    assert started["readOnlyHint"] is True
    assert done["status"] == "completed"
    assert done["result"]["content"] == [{"type": "text", "text": "echo: hi"}]
    assert done["result"]["structuredContent"] == {"result": "echo: hi"}
    assert done["error"] is None
    assert isinstance(done["durationMs"], int)


async def test_an_mcp_tool_call_item_leaves_out_the_legacy_app_resource_uri(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    """codex 0.169 sends no `mcpAppResourceUri` key (not even null) for a tool without an app
    resource; its other optional fields are null."""
    model_server.enqueue(mcp_call("echo", {"text": "hi"}, "c1"), Reply.text("done"))
    client = await tool_client(servers, model_server, extra_config="\n" + stdio_server("srv"))
    thread_id = await start_thread(client, tmp_path)
    await turn(client, thread_id)
    (started,) = started_items(client, "mcpToolCall")
    (done,) = completed_items(client, "mcpToolCall")
    read = await client.call("thread/read", {"threadId": thread_id, "includeTurns": True})
    (stored,) = [i for i in read["thread"]["turns"][0]["items"] if i["type"] == "mcpToolCall"]
    for item in (started, done, stored):
        assert "mcpAppResourceUri" not in item
        assert item["mcpAppUi"] is None


async def test_an_image_result_reaches_the_model_as_an_input_image(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(mcp_call("pixel", {}, "c1"), Reply.text("done"))
    client = await tool_client(servers, model_server, extra_config="\n" + stdio_server("srv"))
    thread_id = await start_thread(client, tmp_path)
    await turn(client, thread_id)
    requests = await model_server.wait_for_requests(2)
    header, image = tool_output(requests[1], "c1")
    assert re.fullmatch(WALL, header["text"])
    assert header["type"] == "input_text"
    url = "data:image/png;base64," + base64.b64encode(PIXEL_PNG).decode()
    assert image == {"type": "input_image", "image_url": url, "detail": "high"}


async def test_a_tool_error_fails_the_item_with_the_servers_text(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(mcp_call("boom", {}, "c1"), Reply.text("done"))
    client = await tool_client(servers, model_server, extra_config="\n" + stdio_server("srv"))
    thread_id = await start_thread(client, tmp_path)
    await turn(client, thread_id)
    (done,) = completed_items(client, "mcpToolCall")
    assert done["status"] == "failed"
    assert done["result"]["content"] == [{"type": "text", "text": "Error executing tool boom"}]
    requests = await model_server.wait_for_requests(2)
    assert tool_output(requests[1], "c1")[1] == {
        "type": "input_text",
        "text": "Error executing tool boom",
    }


async def test_a_call_past_tool_timeout_sec_fails_and_the_turn_goes_on(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(mcp_call("slow", {"seconds": 5}, "c1"), Reply.text("moved on"))
    config = stdio_server("srv", tool_timeout_sec=0.5)
    client = await tool_client(servers, model_server, extra_config="\n" + config)
    thread_id = await start_thread(client, tmp_path)
    finished = await turn(client, thread_id)
    assert finished["status"] == "completed"
    (done,) = completed_items(client, "mcpToolCall")
    assert done["status"] == "failed"
    assert "timed out awaiting tools/call after 500ms" in done["error"]["message"]


async def test_disabled_and_enabled_tools_limit_what_is_offered(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("hi"))
    config = stdio_server("a", enabled_tools=["echo", "pixel"]) + stdio_server(
        "b", disabled_tools=["boom", "slow"]
    )
    client = await tool_client(servers, model_server, extra_config="\n" + config)
    thread_id = await start_thread(client, tmp_path)
    await turn(client, thread_id)
    (request,) = await model_server.wait_for_requests(1)
    spaces = {t["name"]: t for t in request.body["tools"] if t.get("type") == "namespace"}
    assert [t["name"] for t in spaces["mcp__a"]["tools"]] == ["echo", "pixel"]
    offered_b = [t["name"] for t in spaces["mcp__b"]["tools"]]
    assert offered_b == ["confirm", "count", "echo", "pixel", "weather"]


async def test_a_call_that_needs_approval_asks_and_a_decline_fails_it(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(mcp_call("weather", {"city": "Paris"}, "c1"), Reply.text("done"))
    client = await tool_client(servers, model_server, extra_config="\n" + stdio_server("srv"))
    thread_id = await start_thread(
        client, tmp_path, approval="on-request", sandbox="workspace-write"
    )
    await wait_ready(client)
    await client.call(
        "turn/start",
        {"threadId": thread_id, "input": [{"type": "text", "text": "go", "text_elements": []}]},
    )
    request = await client.server_requests.get()
    assert request["method"] == "mcpServer/elicitation/request"
    params = request["params"]
    assert params["message"] == 'Allow the srv MCP server to run tool "weather"?'
    assert params["mode"] == "form"
    assert params["serverName"] == "srv"
    assert params["_meta"]["codex_approval_kind"] == "mcp_tool_call"
    assert params["_meta"]["persist"] == ["session", "always"]
    assert params["_meta"]["tool_params"] == {"city": "Paris"}
    await client.respond(request["id"], {"action": "decline", "content": None, "_meta": None})
    await client.wait_notification("turn/completed")
    (done,) = completed_items(client, "mcpToolCall")
    assert done["status"] == "failed"
    assert done["error"] == {"message": "user rejected MCP tool call"}


async def test_a_read_only_tool_runs_without_asking(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(mcp_call("echo", {"text": "x"}, "c1"), Reply.text("done"))
    client = await tool_client(servers, model_server, extra_config="\n" + stdio_server("srv"))
    thread_id = await start_thread(
        client, tmp_path, approval="on-request", sandbox="workspace-write"
    )
    await turn(client, thread_id)
    assert client.server_requests.empty()
    (done,) = completed_items(client, "mcpToolCall")
    assert done["status"] == "completed"


async def test_never_with_a_restricted_sandbox_fails_a_call_that_needs_approval(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(mcp_call("weather", {"city": "Paris"}, "c1"), Reply.text("done"))
    client = await tool_client(servers, model_server, extra_config="\n" + stdio_server("srv"))
    thread_id = await start_thread(client, tmp_path, approval="never", sandbox="workspace-write")
    await turn(client, thread_id)
    (done,) = completed_items(client, "mcpToolCall")
    message = "MCP tool call requires approval, but approval policy is never"
    assert done["error"] == {"message": message}
    requests = await model_server.wait_for_requests(2)
    assert tool_output(requests[1], "c1")[1] == {"type": "input_text", "text": message}


async def test_a_servers_elicitation_is_answered_by_the_client(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(mcp_call("confirm", {"question": "sure?"}, "c1"), Reply.text("done"))
    client = await tool_client(servers, model_server, extra_config="\n" + stdio_server("srv"))
    thread_id = await start_thread(client, tmp_path)
    await wait_ready(client)
    await client.call(
        "turn/start",
        {"threadId": thread_id, "input": [{"type": "text", "text": "go", "text_elements": []}]},
    )
    request = await client.server_requests.get()
    assert request["method"] == "mcpServer/elicitation/request"
    assert request["params"]["message"] == "sure?"
    assert "confirmed" in request["params"]["requestedSchema"]["properties"]
    await client.respond(request["id"], {"action": "accept", "content": {"confirmed": True}})
    await client.wait_notification("turn/completed")
    (done,) = completed_items(client, "mcpToolCall")
    assert done["result"]["content"] == [{"type": "text", "text": "confirmed=True"}]


async def test_an_interrupted_call_completes_its_item_failed(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(mcp_call("slow", {"seconds": 30}, "c1"))
    client = await tool_client(servers, model_server, extra_config="\n" + stdio_server("srv"))
    thread_id = await start_thread(client, tmp_path)
    await wait_ready(client)
    started = await client.call(
        "turn/start",
        {"threadId": thread_id, "input": [{"type": "text", "text": "go", "text_elements": []}]},
    )
    await client.wait_notification(
        "item/started", where=lambda m: m["params"]["item"]["type"] == "mcpToolCall"
    )
    turn_id = started["turn"]["id"]
    await client.call("turn/interrupt", {"threadId": thread_id, "turnId": turn_id})
    done = await client.wait_notification("turn/completed")
    assert done["params"]["turn"]["status"] == "interrupted"
    (item,) = completed_items(client, "mcpToolCall")
    assert item["status"] == "failed"
    assert item["error"] == {"message": "aborted by user"}
