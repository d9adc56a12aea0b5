"""The MCP connection manager against real server processes (the test MCP server)."""

from __future__ import annotations

import os
import sys

from app_server.agent.mcp.manager import McpManager
from app_server.agent.mcp.spec import server_spec
from app_server.config.keys import McpServerToml
from tests.support.server_process import PROJECT_ROOT


def mcp_table() -> McpServerToml:
    return McpServerToml(
        command=sys.executable, args=["-m", "tests.support.mcp_server"], cwd=str(PROJECT_ROOT)
    )


async def test_a_server_that_failed_to_start_is_not_started_again() -> None:
    manager = McpManager(os.environ)
    spec = server_spec("gone", McpServerToml(command="/nonexistent/cmd"), os.environ)
    try:
        first = await manager.connection(spec)
        again = await manager.connection(spec)
    finally:
        await manager.close()
    assert first.status == "failed"
    assert again is first


async def test_specs_that_launch_the_same_server_share_one_connection() -> None:
    manager = McpManager(os.environ)
    try:
        first = await manager.connection(server_spec("a", mcp_table(), os.environ))
        limits = mcp_table().model_copy(update={"tool_timeout_sec": 5.0})
        second = await manager.connection(server_spec("a", limits, os.environ))
    finally:
        await manager.close()
    assert first.status == "ready"
    assert second is first


async def test_reload_keeps_an_unchanged_server_and_stops_a_removed_one() -> None:
    manager = McpManager(os.environ)
    try:
        kept = await manager.connection(server_spec("kept", mcp_table(), os.environ))
        gone = await manager.connection(server_spec("gone", mcp_table(), os.environ))
        await manager.reload({"kept": mcp_table()})
        running = manager.running()
    finally:
        await manager.close()
    assert kept in running
    assert gone not in running
