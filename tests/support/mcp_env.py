"""Config for tests that give the app-server MCP servers (the real test MCP server)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.support.client import RpcClient
from tests.support.model_replies import Reply
from tests.support.server_process import PROJECT_ROOT

MCP_MODULE = "tests.support.mcp_server"


def toml_value(value: Any) -> str:
    if isinstance(value, Mapping):
        return (
            "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
        )
    return json.dumps(value)


def stdio_server(name: str, *extra_args: str, **keys: Any) -> str:
    """A `[mcp_servers.NAME]` table running the test MCP server over stdio."""
    table: dict[str, Any] = {
        "command": sys.executable,
        "args": ["-m", MCP_MODULE, *extra_args],
        "cwd": str(PROJECT_ROOT),
        **keys,
    }
    return server_table(name, table)


def server_table(name: str, table: Mapping[str, Any]) -> str:
    lines = [f'[mcp_servers."{name}"]'] + [f"{k} = {toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def mcp_call(tool: str, arguments: dict[str, Any], call_id: str, server: str = "srv") -> Reply:
    """The model calls `tool` of `server` (namespace `mcp__<server>`)."""
    return Reply.function_call(tool, arguments, call_id=call_id, namespace=f"mcp__{server}")


async def wait_ready(client: RpcClient, name: str = "srv", timeout: float = 30) -> dict[str, Any]:
    """The `mcpServer/startupStatus/updated` that ended the server's startup."""
    return await client.wait_notification(
        "mcpServer/startupStatus/updated",
        where=lambda m: m["params"]["name"] == name and m["params"]["status"] != "starting",
        timeout=timeout,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def start_http_server(port: int) -> asyncio.subprocess.Process:
    """The test MCP server over streamable HTTP on 127.0.0.1:`port` (endpoint `/mcp`)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        MCP_MODULE,
        "--http",
        str(port),
        cwd=PROJECT_ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    for _ in range(200):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return process
        except OSError:
            await asyncio.sleep(0.05)
    process.kill()
    raise AssertionError("the HTTP MCP server did not start")


def pids_in(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "\nState:\tZ" in status.read_text())
