#!/usr/bin/env python3
"""Store benchmark: startup, listing and reading over large homes (figures, not a test).

Builds (in a temp dir, loopback only) a data dir of N codex-format rollouts plus one very large
rollout, starts the real server over stdio, and prints:

- time from process start to the `initialize` response, on a fresh index (the background scan
  has just begun) and on a warm one (restart);
- how long the background scan takes to index the home;
- `thread/list` latency: the first page, and a page deep in the cursor chain;
- `thread/read` with turns of the large rollout, and the server's peak RSS (VmHWM).

Targets (issue 3): list page < 20 ms at 10,000 threads; initialize < 300 ms however large the
home; read of a 100 MB rollout < 2 s with peak RSS < 4x the returned page + 100 MB.

Usage: scripts/bench_store.py [--threads 10000] [--big-mb 100] [--keep DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.homes import BASE_MS, ThreadSpec, stamp, uuid7_at, write_thread  # noqa: E402


def build_home(data_dir: Path, threads: int) -> None:
    for i in range(threads):
        spec = ThreadSpec(
            BASE_MS + i * 1000, salt=i, text=f"question number {i} " + "x" * 200, turns=2
        )
        write_thread(data_dir, spec)


def build_big_rollout(data_dir: Path, megabytes: int) -> str:
    """One thread whose rollout is about `megabytes` MB: many turns with tool output."""
    created = BASE_MS - 10**7
    thread_id = uuid7_at(created, 424242)
    day = time.strftime("%Y/%m/%d", time.localtime(created / 1000))
    stamp_name = time.strftime("%Y-%m-%dT%H-%M-%S", time.localtime(created / 1000))
    directory = data_dir / "sessions" / day
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"rollout-{stamp_name}-{thread_id}.jsonl"
    output = "line of command output\n" * 120
    encrypted = "e" * 2000
    ordinal = 0

    def write(file: Any, kind: str, payload: dict[str, Any]) -> None:
        nonlocal ordinal
        record = {"timestamp": stamp(created), "ordinal": ordinal, "type": kind, "payload": payload}
        file.write(json.dumps(record) + "\n")
        ordinal += 1

    with path.open("w") as file:
        write(
            file,
            "session_meta",
            {
                "id": thread_id,
                "session_id": thread_id,
                "timestamp": stamp(created),
                "cwd": "/work",
                "originator": "bench",
                "cli_version": "0.169.0",
                "source": "vscode",
                "model_provider": "fake",
                "history_mode": "paginated",
            },
        )
        turn = 0
        while file.tell() < megabytes * 1024 * 1024:
            turn_id = uuid7_at(created + turn + 1, turn)
            write(file, "event_msg", {"type": "task_started", "turn_id": turn_id, "started_at": 1})
            user = {
                "type": "UserMessage",
                "id": f"u{turn}",
                "content": [{"type": "text", "text": f"run step {turn}"}],
            }
            write(
                file,
                "response_item",
                {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": f"run step {turn}"}],
                },
            )
            write(
                file,
                "event_msg",
                {
                    "type": "item_completed",
                    "thread_id": thread_id,
                    "turn_id": turn_id,
                    "item": user,
                    "started_at_ms": 1,
                    "completed_at_ms": 2,
                },
            )
            write(
                file,
                "response_item",
                {
                    "type": "reasoning",
                    "id": f"rs{turn}",
                    "summary": [],
                    "encrypted_content": encrypted,
                },
            )
            write(
                file,
                "response_item",
                {
                    "type": "function_call",
                    "name": "exec_command",
                    "call_id": f"c{turn}",
                    "arguments": '{"cmd":"make"}',
                },
            )
            command = {
                "type": "CommandExecution",
                "id": f"c{turn}",
                "command": ["bash", "-lc", "make"],
                "cwd": "/work",
                "parsed_cmd": [],
                "source": "agent",
                "status": "completed",
                "aggregated_output": output,
                "exit_code": 0,
                "duration": {"secs": 1, "nanos": 0},
            }
            write(
                file,
                "event_msg",
                {
                    "type": "item_completed",
                    "thread_id": thread_id,
                    "turn_id": turn_id,
                    "item": command,
                    "started_at_ms": 3,
                    "completed_at_ms": 4,
                },
            )
            write(
                file,
                "response_item",
                {"type": "function_call_output", "call_id": f"c{turn}", "output": output},
            )
            agent = {
                "type": "AgentMessage",
                "id": f"m{turn}",
                "content": [{"type": "Text", "text": f"done with step {turn}"}],
            }
            write(
                file,
                "event_msg",
                {
                    "type": "item_completed",
                    "thread_id": thread_id,
                    "turn_id": turn_id,
                    "item": agent,
                    "started_at_ms": 5,
                    "completed_at_ms": 6,
                },
            )
            write(
                file,
                "event_msg",
                {"type": "task_complete", "turn_id": turn_id, "completed_at": 2, "duration_ms": 5},
            )
            turn += 1
    return thread_id


class Server:
    """The server process on stdio, with a minimal client."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self._next = 0

    @classmethod
    async def start(cls, data_dir: Path, home: Path) -> tuple[Server, float]:
        started = time.perf_counter()
        env = {"PATH": os.environ["PATH"], "HOME": str(home), "PYTHONPATH": str(ROOT)}
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "app_server",
            "--data-dir",
            str(data_dir),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env=env,
            limit=1 << 30,
        )
        server = cls(process)
        await server.call("initialize", {"clientInfo": {"name": "bench", "version": "1"}})
        return server, time.perf_counter() - started

    async def call(self, method: str, params: dict[str, Any]) -> tuple[Any, int]:
        """The result and the size of the response line in bytes."""
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self._next += 1
        message = {"id": self._next, "method": method, "params": params}
        self.process.stdin.write(json.dumps(message).encode() + b"\n")
        await self.process.stdin.drain()
        while True:
            raw = await self.process.stdout.readline()
            reply = json.loads(raw)
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise RuntimeError(reply["error"])
                return reply["result"], len(raw)

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    async def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        await self.process.wait()


async def timed(server: Server, method: str, params: dict[str, Any]) -> tuple[float, Any, int]:
    start = time.perf_counter()
    result, size = await server.call(method, params)
    return (time.perf_counter() - start) * 1000, result, size


def report(label: str, value: str) -> None:
    print(f"{label:<58} {value}", flush=True)


def spread(samples: list[float]) -> str:
    return f"median {statistics.median(samples):7.2f} ms, max {max(samples):7.2f} ms"


async def wait_for_listing(server: Server, newest_id: str) -> None:
    """Until the newest thread is listed first: the background scan indexed everything."""
    while True:
        first, _ = await server.call("thread/list", {"limit": 1})
        if first["data"] and first["data"][0]["id"] == newest_id:
            return
        await asyncio.sleep(0.05)


async def bench(threads: int, big_mb: int, workdir: Path) -> None:
    data_dir, home = workdir / "data", workdir / "home"
    home.mkdir(parents=True, exist_ok=True)
    print(f"building a home of {threads} threads and a {big_mb} MB rollout …", flush=True)
    build_home(data_dir, threads)
    big_id = build_big_rollout(data_dir, big_mb)
    total = sum(p.stat().st_size for p in data_dir.rglob("*.jsonl")) / 1e6
    report("home", f"{threads + 1} rollouts, {total:.0f} MB")
    newest = ThreadSpec(BASE_MS + (threads - 1) * 1000, salt=threads - 1).thread_id

    server, cold = await Server.start(data_dir, home)
    report("initialize, fresh index (scan starting)", f"{cold * 1000:7.1f} ms")
    scan_start = time.perf_counter()
    await wait_for_listing(server, newest)
    report(
        "background scan until the listing is complete",
        f"{time.perf_counter() - scan_start:7.2f} s",
    )
    await server.stop()

    server, warm = await Server.start(data_dir, home)
    report("initialize, restart with a warm index", f"{warm * 1000:7.1f} ms")
    during_scan = [(await timed(server, "thread/list", {"limit": 25}))[0] for _ in range(5)]
    report("thread/list first page while the restart rescan runs", spread(during_scan))
    await asyncio.sleep(3)  # let the rescan (one stat per rollout) finish
    first_pages = [(await timed(server, "thread/list", {"limit": 25}))[0] for _ in range(20)]
    report(f"thread/list first page (25 of {threads})", spread(first_pages))
    cursor = None
    deep: list[float] = []
    pages = 0
    while True:
        elapsed, page, _ = await timed(server, "thread/list", {"limit": 25, "cursor": cursor})
        pages += 1
        if pages > threads // 25 - 20:
            deep.append(elapsed)
        cursor = page["nextCursor"]
        if cursor is None:
            break
    report(f"thread/list deep pages ({pages - len(deep) + 1}…{pages} of {pages})", spread(deep))

    rss_before = server.peak_rss_mb()
    params = {"threadId": big_id, "includeTurns": True}
    elapsed, result, size = await timed(server, "thread/read", params)
    turns = len(result["thread"]["turns"])
    del result
    peak = server.peak_rss_mb()
    report(
        f"thread/read includeTurns, {big_mb} MB rollout",
        f"{elapsed / 1000:7.2f} s ({turns} turns, response {size / 1e6:.1f} MB)",
    )
    report(
        "server peak RSS before / after the read",
        f"{rss_before:.0f} / {peak:.0f} MB (target < {4 * size / 1e6 + 100:.0f} MB)",
    )
    await server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=10_000)
    parser.add_argument("--big-mb", type=int, default=100)
    parser.add_argument("--keep", type=Path, help="build the home here and keep it")
    args = parser.parse_args()
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="bench-store-"))
    try:
        asyncio.run(bench(args.threads, args.big_mb, workdir))
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
