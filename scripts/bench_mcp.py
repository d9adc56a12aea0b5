#!/usr/bin/env python3
"""MCP benchmark: what an MCP tool call costs through the tool path over a direct SDK call.

The tool path is everything a model's call to an MCP tool does — argument parsing, the approval
verdict, building and publishing the `mcpToolCall` items (wire mapping and rendering included),
the manager's connection lookup, the timeout, and the model's output text — around the same
`tools/call` request. The direct side is the official SDK's `ClientSession.call_tool` over its
own stdio connection to another process of the same test MCP server. Calls alternate, so machine
noise hits both alike; prints the medians and the overhead.

Target (issue 19): overhead <= 2 ms median.

Usage: scripts/bench_mcp.py [--runs 300]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import TextIO

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mcp.client.session import ClientSession  # noqa: E402
from mcp.client.stdio import StdioServerParameters, stdio_client  # noqa: E402

from app_server.agent.mcp.approval import McpApprovalMemory  # noqa: E402
from app_server.agent.mcp.manager import McpManager  # noqa: E402
from app_server.agent.mcp.spec import server_spec  # noqa: E402
from app_server.agent.mcp.tools import McpTool  # noqa: E402
from app_server.agent.tools.patch import TurnDiffTracker  # noqa: E402
from app_server.agent.tools.registry import ToolCall, ToolContext, ToolItem  # noqa: E402
from app_server.agent.tools.workspace import ThreadWorkspace  # noqa: E402
from app_server.client_connection import UNANSWERED, ServerRequestOutcome  # noqa: E402
from app_server.config.keys import McpServerToml  # noqa: E402
from app_server.notification import notification  # noqa: E402
from app_server.settings import ResolvedSettings  # noqa: E402
from protocol.types import DangerFullAccessSandboxPolicy, ThreadStatus  # noqa: E402
from protocol.wire_model import WireModel  # noqa: E402

ARGS = ["-m", "tests.support.mcp_server"]


class Host:
    """A thread host that renders every notification like the server does for one client."""

    def publish(self, params: WireModel, *, method: str | None = None) -> None:
        notification(params, method=method).render(experimental=False)

    def set_status(self, status: ThreadStatus) -> None:
        pass

    async def ask(self, method: str, params: WireModel) -> ServerRequestOutcome:
        return UNANSWERED

    def record_item(self, turn_id: str, item: ToolItem) -> None:
        pass


def context_for(cwd: str) -> ToolContext:
    settings = ResolvedSettings(
        model="bench",
        model_provider="bench",
        cwd=cwd,
        approval_policy="never",
        approvals_reviewer="user",
        sandbox=DangerFullAccessSandboxPolicy(),
    )
    return ToolContext(
        thread_id="bench-thread",
        turn_id="bench-turn",
        settings=settings,
        host=Host(),
        workspace=ThreadWorkspace(None),
        turn_diff=TurnDiffTracker(Path(cwd)),
    )


async def main(runs: int, sink: TextIO) -> None:
    table = McpServerToml(command=sys.executable, args=ARGS, cwd=str(ROOT))
    spec = server_spec("bench", table, os.environ)
    manager = McpManager(os.environ)
    conn = await manager.connection(spec)
    (echo,) = [tool for tool in conn.inventory.tools if tool["name"] == "echo"]
    tool = McpTool(manager, spec, echo, McpApprovalMemory())
    params = StdioServerParameters(command=sys.executable, args=ARGS, cwd=str(ROOT))
    direct, through = [], []
    with tempfile.TemporaryDirectory(prefix="bench-mcp-") as cwd:
        context = context_for(cwd)
        async with (
            stdio_client(params, errlog=sink) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            await session.list_tools()
            for n in range(runs + 20):  # the first 20 of each side warm up
                started = time.perf_counter()
                await session.call_tool("echo", {"text": "x"})
                direct_s = time.perf_counter() - started
                call = ToolCall(f"c{n}", "echo", spec.namespace, "function", '{"text": "x"}')
                started = time.perf_counter()
                output = await tool.run(call, context)
                through_s = time.perf_counter() - started
                assert output.success, output.output
                if n >= 20:
                    direct.append(direct_s)
                    through.append(through_s)
    await manager.close()
    direct_ms = statistics.median(direct) * 1000
    through_ms = statistics.median(through) * 1000
    print(
        f"MCP `echo`: tool path median {through_ms:.2f} ms, direct SDK call {direct_ms:.2f} ms"
        f" -> server overhead {through_ms - direct_ms:.2f} ms (runs {runs})"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    with open(os.devnull, "w") as devnull:  # the servers' stderr
        asyncio.run(main(parser.parse_args().runs, devnull))
