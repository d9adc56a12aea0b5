"""A rollout written by the real codex 0.169.0 with MCP tool calls reads back as codex shows it.

`data/codex_mcp_home` was recorded by `codex app-server` (0.169.0) with the test MCP server
(`tests/support/mcp_server.py`) as `srv` and the model calling its `echo` tool (text and
structured content) and its `pixel` tool (an image); `data/codex_mcp_thread_read.json` is
codex's own `thread/read` answer for that thread. Our server, given that home, must show the
same turn items, field for field.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from tests.conftest import Servers

DATA = Path(__file__).parent / "data"
CODEX_READ: dict[str, Any] = json.loads((DATA / "codex_mcp_thread_read.json").read_text())
THREAD_ID: str = CODEX_READ["thread"]["id"]


async def test_a_codex_rollout_with_mcp_calls_reads_back_as_codex_shows_it(
    servers: Servers,
) -> None:
    shutil.copytree(DATA / "codex_mcp_home", servers.dirs.data_dir, dirs_exist_ok=True)
    client = await servers.stdio("-c", "rollout_compression.enabled=false")
    await client.initialize(experimental=True)
    read = await client.call("thread/read", {"threadId": THREAD_ID, "includeTurns": True})
    (turn,) = read["thread"]["turns"]
    (expected,) = CODEX_READ["thread"]["turns"]
    kinds = [item["type"] for item in turn["items"]]
    assert kinds == ["userMessage", "mcpToolCall", "mcpToolCall", "agentMessage"]
    assert turn["items"] == expected["items"]
    assert turn["status"] == expected["status"]
