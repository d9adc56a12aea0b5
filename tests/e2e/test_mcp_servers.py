"""MCP servers end to end: startup status, failures, the MCP methods, reload, HTTP servers,
crashes, history (resume and fork) and shutdown — real server, real test MCP server."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

from tests.conftest import Servers
from tests.support.mcp_env import (
    MCP_MODULE,
    alive,
    free_port,
    mcp_call,
    pids_in,
    server_table,
    start_http_server,
    stdio_server,
    wait_ready,
)
from tests.support.model_replies import Reply
from tests.support.model_server import ModelServer
from tests.support.server_process import PROJECT_ROOT
from tests.support.tool_env import completed_items, start_thread, tool_client, tool_output, turn
from tests.support.turn_env import write_model_config


async def test_startup_status_goes_from_starting_to_ready_for_each_thread(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    client = await tool_client(servers, model_server, extra_config="\n" + stdio_server("srv"))
    thread_id = await start_thread(client, tmp_path)
    ready = await wait_ready(client)
    statuses = [
        (m["params"]["threadId"], m["params"]["name"], m["params"]["status"])
        for m in client.notifications_named("mcpServer/startupStatus/updated")
    ]
    assert statuses == [(thread_id, "srv", "starting"), (thread_id, "srv", "ready")]
    assert ready["params"]["error"] is None


async def test_a_server_that_cannot_start_is_reported_and_the_others_work(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(mcp_call("echo", {"text": "x"}, "c1"), Reply.text("done"))
    config = server_table("broken", {"command": "/nonexistent/cmd"}) + stdio_server("srv")
    client = await tool_client(servers, model_server, extra_config="\n" + config)
    thread_id = await start_thread(client, tmp_path)
    failed = await wait_ready(client, "broken")
    assert failed["params"]["status"] == "failed"
    assert failed["params"]["error"] == (
        "MCP client for `broken` failed to start: No such file or directory (os error 2)"
    )
    await turn(client, thread_id)
    (done,) = completed_items(client, "mcpToolCall")
    assert done["status"] == "completed"


async def test_a_server_that_never_answers_times_out_with_codexs_advice(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    config = server_table("sleepy", {"command": "/bin/sleep", "args": ["60"]})
    config += "startup_timeout_sec = 1\n"
    client = await tool_client(servers, model_server, extra_config="\n" + config)
    await start_thread(client, tmp_path)
    failed = await wait_ready(client, "sleepy")
    assert failed["params"]["status"] == "failed"
    assert failed["params"]["error"].startswith(
        "MCP client for `sleepy` timed out after 1 seconds. Add or adjust `startup_timeout_sec`"
    )


async def test_a_required_server_that_fails_is_a_config_warning(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    config = server_table("needed", {"command": "/nonexistent/cmd", "required": True})
    client = await tool_client(servers, model_server, extra_config="\n" + config)
    warning = await client.wait_notification(
        "configWarning", where=lambda m: "needed" in m["params"]["summary"], timeout=20
    )
    assert "failed to start" in warning["params"]["details"]


async def test_a_bad_value_is_a_config_warning_and_its_default_applies(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    config = stdio_server("srv", tool_timeout_sec="soon")
    client = await tool_client(servers, model_server, extra_config="\n" + config)
    warning = await client.wait_notification(
        "configWarning", where=lambda m: "tool_timeout_sec" in str(m["params"]), timeout=20
    )
    assert warning["params"]["summary"]
    await start_thread(client, tmp_path)
    assert (await wait_ready(client))["params"]["status"] == "ready"


async def test_status_list_shows_tools_resources_and_templates(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    client = await tool_client(servers, model_server, extra_config="\n" + stdio_server("srv"))
    result = await client.call("mcpServerStatus/list", {})
    (entry,) = result["data"]
    assert entry["name"] == "srv"
    assert entry["authStatus"] == "unsupported"
    assert entry["serverInfo"]["name"] == "test-mcp"
    assert sorted(entry["tools"]) == [
        "boom",
        "confirm",
        "count",
        "echo",
        "pixel",
        "slow",
        "weather",
    ]
    assert [r["uri"] for r in entry["resources"]] == ["test://greeting"]
    assert [t["uriTemplate"] for t in entry["resourceTemplates"]] == ["test://items/{item}"]


async def test_tool_call_method_calls_a_tool_directly(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    client = await tool_client(servers, model_server, extra_config="\n" + stdio_server("srv"))
    thread_id = await start_thread(client, tmp_path)
    result = await client.call(
        "mcpServer/tool/call",
        {"threadId": thread_id, "server": "srv", "tool": "echo", "arguments": {"text": "direct"}},
    )
    assert result["content"] == [{"type": "text", "text": "echo: direct"}]
    assert result["structuredContent"] == {"result": "echo: direct"}
    assert result["isError"] is False


async def test_resource_read_method_reads_a_resource(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    client = await tool_client(servers, model_server, extra_config="\n" + stdio_server("srv"))
    thread_id = await start_thread(client, tmp_path)
    result = await client.call(
        "mcpServer/resource/read",
        {"threadId": thread_id, "server": "srv", "uri": "test://greeting"},
    )
    (content,) = result["contents"]
    assert (content["uri"], content["text"]) == ("test://greeting", "hello from the resource")


async def test_reload_starts_a_server_added_to_config_toml(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    client = await tool_client(servers, model_server, extra_config="\n" + stdio_server("one"))
    before = await client.call("mcpServerStatus/list", {})
    assert [e["name"] for e in before["data"]] == ["one"]
    config = "\n" + stdio_server("one") + stdio_server("two")
    write_model_config(servers.dirs.data_dir, model_server.base_url, extra=config)
    assert await client.call("config/mcpServer/reload") == {}
    after = await client.call("mcpServerStatus/list", {})
    assert [e["name"] for e in after["data"]] == ["one", "two"]
    assert all(e["serverInfo"] is not None for e in after["data"])


async def test_a_streamable_http_server_offers_its_tools(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    port = free_port()
    http = await start_http_server(port)
    try:
        model_server.enqueue(mcp_call("echo", {"text": "web"}, "c1", "web"), Reply.text("done"))
        config = server_table("web", {"url": f"http://127.0.0.1:{port}/mcp"})
        client = await tool_client(servers, model_server, extra_config="\n" + config)
        thread_id = await start_thread(client, tmp_path)
        await turn(client, thread_id)
        (done,) = completed_items(client, "mcpToolCall")
        assert done["result"]["content"] == [{"type": "text", "text": "echo: web"}]
    finally:
        http.kill()
        await http.wait()


async def test_a_server_that_crashes_fails_that_call_and_restarts_on_next_use(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(
        mcp_call("echo", {"text": "1"}, "c1"),
        mcp_call("echo", {"text": "2"}, "c2"),
        mcp_call("echo", {"text": "3"}, "c3"),
        Reply.text("done"),
    )
    config = stdio_server("srv", "--exit-after-calls", "1")
    client = await tool_client(servers, model_server, extra_config="\n" + config)
    thread_id = await start_thread(client, tmp_path)
    await turn(client, thread_id)
    first, second, third = completed_items(client, "mcpToolCall")
    assert first["status"] == "completed", first
    assert second["status"] == "failed"
    assert "tool call failed" in second["error"]["message"]
    assert third["status"] == "completed"


async def test_resume_and_fork_keep_mcp_calls_in_history(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(mcp_call("echo", {"text": "kept"}, "c1"), Reply.text("done"))
    client = await tool_client(servers, model_server, extra_config="\n" + stdio_server("srv"))
    thread_id = await start_thread(client, tmp_path)
    await turn(client, thread_id)
    live = completed_items(client, "mcpToolCall")
    await servers.processes[0].kill()
    client = await servers.stdio(env={"MOCK_API_KEY": "test-key"})
    await client.initialize()
    resumed = await client.call("thread/resume", {"threadId": thread_id})
    items = [i for t in resumed["thread"]["turns"] for i in t["items"]]
    (stored,) = [i for i in items if i["type"] == "mcpToolCall"]
    assert {k: stored[k] for k in ("id", "status", "result", "readOnlyHint")} == {
        k: live[0][k] for k in ("id", "status", "result", "readOnlyHint")
    }
    forked = await client.call("thread/fork", {"threadId": thread_id})
    fork_items = [i for t in forked["thread"]["turns"] for i in t["items"]]
    assert [i["id"] for i in fork_items if i["type"] == "mcpToolCall"] == ["c1"]
    model_server.enqueue(Reply.text("again"))
    await turn(client, thread_id)
    requests = await model_server.wait_for_requests(3)
    assert tool_output(requests[2], "c1").endswith('Output:\n{"result":"echo: kept"}')


async def test_no_server_process_is_left_after_shutdown(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    pid_file = tmp_path / "mcp.pids"
    config = stdio_server("a", env={"MCP_TEST_PID_FILE": str(pid_file)}) + stdio_server(
        "b", env={"MCP_TEST_PID_FILE": str(pid_file)}
    )
    client = await tool_client(servers, model_server, extra_config="\n" + config)
    await start_thread(client, tmp_path)
    await wait_ready(client, "a")
    await wait_ready(client, "b")
    pids = pids_in(pid_file)
    assert len(pids) == 2
    assert all(alive(pid) for pid in pids)
    process = servers.processes[0]
    process.signal(signal.SIGTERM)
    assert await process.wait() == 0
    for _ in range(100):
        if not any(alive(pid) for pid in pids):
            break
        await asyncio.sleep(0.05)
    leftovers = [pid for pid in pids if alive(pid)]
    for pid in leftovers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    assert leftovers == []


async def test_a_thread_config_can_add_a_server(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(mcp_call("echo", {"text": "mine"}, "c1", "own"), Reply.text("done"))
    client = await tool_client(servers, model_server)
    table = {"command": sys.executable, "args": ["-m", MCP_MODULE], "cwd": str(PROJECT_ROOT)}
    thread_id = await start_thread(client, tmp_path, config={"mcp_servers": {"own": table}})
    assert (await wait_ready(client, "own"))["params"]["threadId"] == thread_id
    await turn(client, thread_id)
    (done,) = completed_items(client, "mcpToolCall")
    assert done["result"]["content"] == [{"type": "text", "text": "echo: mine"}]


async def test_a_thread_resumed_after_a_restart_reports_its_servers_startup(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(Reply.text("hi"))
    client = await tool_client(servers, model_server, extra_config="\n" + stdio_server("srv"))
    thread_id = await start_thread(client, tmp_path)
    await turn(client, thread_id)
    await servers.processes[0].kill()
    client = await servers.stdio(env={"MOCK_API_KEY": "test-key"})
    await client.initialize()
    await client.call("thread/resume", {"threadId": thread_id})
    ready = await wait_ready(client)
    assert (ready["params"]["threadId"], ready["params"]["status"]) == (thread_id, "ready")
