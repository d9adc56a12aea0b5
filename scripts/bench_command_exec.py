#!/usr/bin/env python3
"""`command/exec` benchmark: what running a command through the server costs over spawning it.

Starts the real server (stdio, temp data dir and HOME), then alternates `--runs` times between
`command/exec` of `true` (request sent → answer read, unsandboxed, and under the read-only
bubblewrap sandbox when bwrap works) and spawning `true` directly (and `bwrap … true`) from
this process, and prints the medians and the difference: the server's overhead per command.

Usage: scripts/bench_command_exec.py [--runs 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app_server.agent.tools.exec.sandbox import SandboxSpec, find_bwrap, sandbox_argv  # noqa: E402

TRUE = "/bin/true" if os.path.exists("/bin/true") else "/usr/bin/true"


async def spawn(argv: list[str], *, new_session: bool = False) -> None:
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=new_session,
    )
    await proc.communicate()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, CODEX_HOME=f"{tmp}/data", HOME=tmp)
        server = await asyncio.create_subprocess_exec(
            str(ROOT / ".venv" / "bin" / "app-server"),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env=env,
        )
        assert server.stdin is not None
        assert server.stdout is not None
        ids = iter(range(1, 10**9))

        async def call(method: str, params: object) -> object:
            request_id = next(ids)
            line = json.dumps({"id": request_id, "method": method, "params": params})
            server.stdin.write(line.encode() + b"\n")  # type: ignore[union-attr]
            while True:
                message = json.loads(await server.stdout.readline())  # type: ignore[union-attr]
                if message.get("id") == request_id:
                    return message

        await call("initialize", {"clientInfo": {"name": "bench", "version": "1"}})
        bwrap = find_bwrap()
        sides: dict[str, list[float]] = {}

        async def timed(name: str, work: object) -> None:
            start = time.perf_counter()
            await work  # type: ignore[misc]
            sides.setdefault(name, []).append((time.perf_counter() - start) * 1000)

        read_only = SandboxSpec.from_policy({"type": "readOnly"}, Path(tmp))
        for _ in range(args.runs):
            await timed("direct", spawn([TRUE]))
            await timed(
                "command/exec",
                call(
                    "command/exec",
                    {"command": [TRUE], "sandboxPolicy": {"type": "dangerFullAccess"}},
                ),
            )
            if bwrap is not None:
                await timed("direct bwrap", spawn(sandbox_argv(read_only, [TRUE], bwrap)))
                await timed(
                    "direct bwrap setsid",
                    spawn(sandbox_argv(read_only, [TRUE], bwrap), new_session=True),
                )
                await timed(
                    "command/exec bwrap",
                    call(
                        "command/exec", {"command": [TRUE], "sandboxPolicy": {"type": "readOnly"}}
                    ),
                )
        server.stdin.close()
        await server.wait()
    medians = {name: statistics.median(times) for name, times in sides.items()}
    for name, value in medians.items():
        print(f"{name:20} median {value:6.2f} ms")
    print(f"overhead (no sandbox): {medians['command/exec'] - medians['direct']:.2f} ms")
    if bwrap is not None:
        overhead = medians["command/exec bwrap"] - medians["direct bwrap"]
        print(f"overhead (bwrap):      {overhead:.2f} ms")


if __name__ == "__main__":
    asyncio.run(main())
