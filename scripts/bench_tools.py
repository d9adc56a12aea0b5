#!/usr/bin/env python3
"""Tool benchmark: what running a command through the tool path costs over spawning it directly.

The tool path is everything `exec_command` does for a call — argument parsing, the approval
verdict, building and publishing the `commandExecution` items (wire mapping included), the
unified-exec session machinery, the output streaming and the model's output text — around the
same process spawn. Both sides run `/bin/bash -lc true` (what the tool runs for `cmd: "true"`),
and the sandboxed side runs it under bubblewrap both ways, so the difference is the server's own
overhead. Prints medians over `--runs` alternating runs, and the overhead.

Target (issue 5): overhead < 10 ms.

Usage: scripts/bench_tools.py [--runs 200]
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app_server.agent.tools.command_tools import ExecCommandTool  # noqa: E402
from app_server.agent.tools.exec.process import shell_argv  # noqa: E402
from app_server.agent.tools.exec.sandbox import SandboxSpec, find_bwrap, sandbox_argv  # noqa: E402
from app_server.agent.tools.patch import TurnDiffTracker  # noqa: E402
from app_server.agent.tools.registry import ToolCall, ToolContext, ToolItem  # noqa: E402
from app_server.agent.tools.workspace import ThreadWorkspace  # noqa: E402
from app_server.client_connection import UNANSWERED, ServerRequestOutcome  # noqa: E402
from app_server.notification import notification  # noqa: E402
from app_server.settings import ResolvedSettings  # noqa: E402
from protocol.types import (  # noqa: E402
    DangerFullAccessSandboxPolicy,
    SandboxPolicy,
    ThreadStatus,
    WorkspaceWriteSandboxPolicy,
)
from protocol.wire_model import WireModel  # noqa: E402


class Host:
    """A thread host that renders every notification like the server does for one client."""

    def __init__(self) -> None:
        self.sent = 0

    def publish(self, params: WireModel, *, method: str | None = None) -> None:
        notification(params, method=method).render(experimental=False)
        self.sent += 1

    def set_status(self, status: ThreadStatus) -> None:
        self.sent += 1

    async def ask(self, method: str, params: WireModel) -> ServerRequestOutcome:
        return UNANSWERED

    def record_item(self, turn_id: str, item: ToolItem) -> None:
        pass


async def spawn_direct(argv: list[str], cwd: str) -> float:
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    await process.communicate()
    return time.perf_counter() - started


async def through_tool(context: ToolContext, n: int) -> float:
    call = ToolCall(f"call_{n}", "exec_command", None, "function", '{"cmd": "true"}')
    started = time.perf_counter()
    output = await ExecCommandTool().run(call, context)
    elapsed = time.perf_counter() - started
    assert isinstance(output.output, str)
    assert "Process exited with code 0" in output.output
    return elapsed


def context_for(cwd: str, sandbox: SandboxPolicy, bwrap: str | None) -> ToolContext:
    settings = ResolvedSettings(
        model="bench",
        model_provider="bench",
        cwd=cwd,
        approval_policy="never",
        approvals_reviewer="user",
        sandbox=sandbox,
    )
    return ToolContext(
        thread_id="bench-thread",
        turn_id="bench-turn",
        settings=settings,
        host=Host(),
        workspace=ThreadWorkspace(bwrap),
        turn_diff=TurnDiffTracker(Path(cwd)),
    )


async def measure(label: str, runs: int, direct_argv: list[str], context: ToolContext) -> None:
    cwd = context.cwd
    bare, direct, tool = [], [], []
    for n in range(runs):  # alternate, so machine noise hits every side alike
        bare.append(await spawn_direct(["true"], cwd))
        direct.append(await spawn_direct(direct_argv, cwd))
        tool.append(await through_tool(context, n))
    bare_ms = statistics.median(bare) * 1000
    direct_ms = statistics.median(direct) * 1000
    tool_ms = statistics.median(tool) * 1000
    print(
        f"{label}: exec_command `true` median {tool_ms:.2f} ms (p90 {_p90(tool) * 1000:.2f});"
        f" the same argv spawned directly {direct_ms:.2f} ms -> server overhead"
        f" {tool_ms - direct_ms:.2f} ms; bare `true` {bare_ms:.2f} ms -> whole tool path"
        f" (shell, sandbox, server) {tool_ms - bare_ms:.2f} ms"
    )


def _p90(values: list[float]) -> float:
    return sorted(values)[int(len(values) * 0.9)]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-tools-") as cwd:
        # A login shell reads the dotfiles of $HOME: give both sides an empty one, as tests do.
        os.environ["HOME"] = cwd
        argv = shell_argv("true")
        await measure(
            "danger-full-access",
            args.runs,
            argv,
            context_for(cwd, DangerFullAccessSandboxPolicy(), None),
        )
        bwrap = await asyncio.to_thread(find_bwrap)
        if bwrap is None:
            print("workspace-write: skipped (no working bubblewrap)")
            return
        policy = WorkspaceWriteSandboxPolicy(writable_roots=[], network_access=False)
        spec = SandboxSpec.from_policy(policy, Path(cwd))
        await measure(
            "workspace-write (bwrap)",
            args.runs,
            sandbox_argv(spec, argv, bwrap),
            context_for(cwd, policy, bwrap),
        )


if __name__ == "__main__":
    asyncio.run(main())
