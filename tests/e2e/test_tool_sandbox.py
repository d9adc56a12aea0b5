"""The sandbox end to end: commands the model runs are confined by bubblewrap — the kernel, not
the server, refuses writes outside the writable roots and network connections."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import Servers
from tests.support.model_replies import Reply
from tests.support.model_server import ModelServer
from tests.support.sandbox_env import requires_bwrap
from tests.support.tool_env import (
    READ_ONLY,
    completed_items,
    start_thread,
    tool_client,
    tool_output,
    turn,
    workspace_write,
)


@pytest.fixture
async def listener() -> AsyncIterator[int]:
    """A TCP server on 127.0.0.1 that accepts and closes connections; yields its port."""

    async def accept(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await server.wait_closed()


def commands(*scripts: str) -> list[Reply]:
    calls = [
        Reply.function_call("exec_command", {"cmd": script}, call_id=f"call_{n}")
        for n, script in enumerate(scripts, 1)
    ]
    return [*calls, Reply.text("done")]


@requires_bwrap
async def test_workspace_write_allows_the_workspace_and_denies_writes_outside(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    workspace, outside = tmp_path / "work", tmp_path / "outside"
    workspace.mkdir()
    outside.mkdir()
    model_server.enqueue(*commands("echo in > inside.txt", f"echo out > {outside}/escaped.txt"))
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, workspace, approval="on-request")
    await turn(client, thread_id, sandboxPolicy=workspace_write())
    assert (workspace / "inside.txt").read_text() == "in\n"
    assert not (outside / "escaped.txt").exists()
    inside, escaped = completed_items(client, "commandExecution")
    assert (inside["status"], inside["exitCode"]) == ("completed", 0)
    assert escaped["status"] == "failed"
    assert "Read-only file system" in escaped["aggregatedOutput"]
    assert client.server_requests.empty()  # on-request runs sandboxed commands without asking


@requires_bwrap
async def test_workspace_write_keeps_git_metadata_read_only(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    (tmp_path / ".git").mkdir()
    model_server.enqueue(*commands("echo x > .git/config"))
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path, approval="on-request")
    await turn(client, thread_id, sandboxPolicy=workspace_write())
    assert not (tmp_path / ".git/config").exists()
    assert completed_items(client, "commandExecution")[0]["status"] == "failed"


@requires_bwrap
async def test_workspace_write_denies_network_unless_allowed(
    servers: Servers, model_server: ModelServer, tmp_path: Path, listener: int
) -> None:
    connect = f"exec 3<>/dev/tcp/127.0.0.1/{listener} && echo connected"
    model_server.enqueue(*commands(connect), *commands(connect))
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path, approval="on-request")
    await turn(client, thread_id, sandboxPolicy=workspace_write())
    await turn(client, thread_id, sandboxPolicy=workspace_write(network=True))
    denied, allowed = completed_items(client, "commandExecution")
    assert denied["status"] == "failed"
    assert "connected" not in (denied["aggregatedOutput"] or "")
    assert (allowed["status"], allowed["aggregatedOutput"]) == ("completed", "connected\n")


@requires_bwrap
async def test_read_only_sandbox_fails_every_write(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    model_server.enqueue(
        *commands(
            "echo x > here.txt",
            f"touch {scratch}/there.txt",
            "mkdir newdir",
            "echo tmp > /tmp/read-only-probe-$$",
            "cat /etc/hostname > /dev/null && echo reading works",
        )
    )
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path, approval="on-request", sandbox="read-only")
    await turn(client, thread_id, sandboxPolicy=READ_ONLY)
    items = completed_items(client, "commandExecution")
    assert [i["status"] for i in items] == ["failed"] * 4 + ["completed"]
    assert not (tmp_path / "here.txt").exists()
    assert not (scratch / "there.txt").exists()
    assert not (tmp_path / "newdir").exists()
    assert items[4]["aggregatedOutput"] == "reading works\n"


async def test_full_access_runs_commands_unconfined(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "work").mkdir()
    model_server.enqueue(*commands(f"echo free > {outside}/file.txt"))
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path / "work", approval="never")
    await turn(client, thread_id)
    assert (outside / "file.txt").read_text() == "free\n"


@requires_bwrap
async def test_sandboxed_command_is_told_network_is_disabled(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(*commands("echo ${CODEX_SANDBOX_NETWORK_DISABLED:-unset}"))
    client = await tool_client(servers, model_server)
    thread_id = await start_thread(client, tmp_path, approval="on-request")
    await turn(client, thread_id, sandboxPolicy=workspace_write())
    requests = await model_server.wait_for_requests(2)
    assert tool_output(requests[1], "call_1").endswith("Output:\n1\n")


async def test_without_bubblewrap_the_server_warns_and_asks_before_every_command(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(*commands("echo asked"))
    client = await tool_client(servers, model_server, "-c", 'bwrap_path="/nonexistent/bwrap"')
    warnings = client.notifications_named("configWarning")
    assert any("bubblewrap" in w["params"]["summary"] for w in warnings)
    thread_id = await start_thread(client, tmp_path, approval="on-request")
    turn_task = asyncio.create_task(turn(client, thread_id, sandboxPolicy=workspace_write()))
    request = await asyncio.wait_for(client.server_requests.get(), 10)
    assert request["method"] == "item/commandExecution/requestApproval"
    await client.respond(request["id"], {"decision": "accept"})
    await turn_task
    assert completed_items(client, "commandExecution")[0]["aggregatedOutput"] == "asked\n"


async def test_without_bubblewrap_never_refuses_sandboxed_commands(
    servers: Servers, model_server: ModelServer, tmp_path: Path
) -> None:
    model_server.enqueue(*commands("touch refused.txt"))
    client = await tool_client(servers, model_server, "-c", 'bwrap_path="/nonexistent/bwrap"')
    thread_id = await start_thread(client, tmp_path, approval="never")
    await turn(client, thread_id, sandboxPolicy=workspace_write())
    assert not (tmp_path / "refused.txt").exists()
    requests = await model_server.wait_for_requests(2)
    assert "Rejected" in tool_output(requests[1], "call_1")
