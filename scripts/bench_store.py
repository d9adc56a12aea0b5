#!/usr/bin/env python3
"""Store benchmark: startup, listing, search, paging and compression over large homes.

Figures, not a test. Builds (in a temp dir, loopback only) a data dir of N codex-format rollouts
plus one huge rollout (`--huge-mb`, default 1 GB) and one large one (`--big-mb`), starts the real
server over stdio, and prints:

- time from process start to the `initialize` response, on a fresh index (the background scan
  has just begun) and on a warm one (restart); how long the background scan takes;
- `thread/list` latency: the first page, and pages deep in the cursor chain;
- `thread/search` latency over the N threads, for a rare, a common, a short and an absent term;
- on the huge rollout, after a restart with a warm index: `thread/read` (metadata) and
  `thread/turns/list` (the last page, and a page from the middle), and the server's peak RSS;
- `thread/read` with every turn of the large rollout, and the peak RSS after it;
- per operation, each in a fresh server on the warm index (VmHWM is a high-water mark over the
  process's life, so only a fresh process measures one operation): `thread/read` includeTurns
  and cold `thread/resume` of the large rollout: time, the server's peak RSS after
  `initialize` and after the operation, and their difference (what the operation cost);
- cold compression (`rollout/compress`) of a separate home of N threads with realistic content
  (a base-instructions `session_meta`, several turns with command output): time, files, and
  compressed size as a share of the plain size.

Targets: list page < 20 ms and initialize < 300 ms at 10,000 threads (issue 3); read of a 100 MB
rollout < 2 s with peak RSS < 4x the returned page + 100 MB (issue 3); search < 100 ms at 10,000
threads, last page of a 1 GB thread < 200 ms and < 150 MB peak RSS, compressed size <= 20 % of
plain (issue 7); `thread/read` includeTurns of the 100 MB rollout <= 0.8 s and <= 160 MB peak RSS,
its cold `thread/resume` <= 1 s and <= 200 MB (issue 17). Those two are measured twice: as the
first request of a fresh server (which also waits for the server proper's import, since
`initialize` is answered before it) and with the server loaded first (the operation alone); the
time ends when the whole answer has arrived (the client's own parsing of it is left out), and the
server's CPU time for the operation is printed beside it, as a figure a loaded machine disturbs
less.

`--root DIR` measures the server of another checkout (its `.venv`), so an old commit can be run
side by side with the same homes (`--keep DIR` builds them once); `--only big-reads` runs just
the per-operation read and resume figures.

Usage: scripts/bench_store.py [--threads 10000] [--huge-mb 1024] [--big-mb 100] [--keep DIR]
                              [--root CHECKOUT] [--only big-reads] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
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


def build_big_rollout(data_dir: Path, megabytes: int, salt: int = 424242) -> str:
    """One thread whose rollout is about `megabytes` MB: many turns with tool output."""
    created = BASE_MS - 10**7 - salt
    thread_id = uuid7_at(created, salt)
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


@dataclass(frozen=True)
class ServerCommand:
    """Which checkout's server is measured: its interpreter and its source root."""

    python: str
    root: Path

    @classmethod
    def for_checkout(cls, root: Path) -> ServerCommand:
        venv = root / ".venv" / "bin" / "python"
        return cls(str(venv) if venv.exists() else sys.executable, root)


SERVER = ServerCommand(sys.executable, ROOT)
"""The server the benchmark starts (`--root` points it at another checkout)."""


class Server:
    """The server process on stdio, with a minimal client."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self._next = 0
        self.answered_at = 0.0
        """`perf_counter()` when the last response line had arrived whole (before the client
        parsed it: a 38 MB answer takes the client's `json` 0.2 s or more to parse, which is
        not the server's time)."""

    @classmethod
    async def start(
        cls, data_dir: Path, home: Path, *, experimental: bool = False, compression: bool = False
    ) -> tuple[Server, float]:
        """Start and initialize; background compression stays off unless asked for, so it
        never competes with what is being measured."""
        started = time.perf_counter()
        env = {"PATH": os.environ["PATH"], "HOME": str(home), "PYTHONPATH": str(SERVER.root)}
        process = await asyncio.create_subprocess_exec(
            SERVER.python,
            "-m",
            "app_server",
            "--data-dir",
            str(data_dir),
            "-c",
            f"rollout_compression.enabled={'true' if compression else 'false'}",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env=env,
            cwd=SERVER.root,  # `-m` imports from the working directory first
            limit=1 << 30,
        )
        server = cls(process)
        capabilities = {"experimentalApi": experimental}
        await server.call(
            "initialize",
            {"clientInfo": {"name": "bench", "version": "1"}, "capabilities": capabilities},
        )
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
            self.answered_at = time.perf_counter()
            reply = json.loads(raw)
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise RuntimeError(reply["error"])
                return reply["result"], len(raw)

    def cpu_seconds(self) -> float:
        """CPU time the server process has used so far (user + system)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

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


BASE_INSTRUCTIONS = (
    "You are a coding agent running in a terminal. Read the repository before editing it, keep "
    "changes small, run the tests, and explain what you changed and why. "
) * 40
"""A `session_meta.base_instructions` of realistic size (~7 KB of prose) for the compression
home: codex records the system prompt in every rollout."""


def build_compression_home(data_dir: Path, threads: int) -> tuple[int, int]:
    """`threads` cold rollouts of realistic content; returns (files, plain bytes)."""
    cold = time.time() - 30 * 86400
    total = 0
    for i in range(threads):
        spec = ThreadSpec(
            BASE_MS + i * 1000,
            salt=i,
            text=f"please fix failing test number {i} in module {i % 97}",
            turns=6,
            extra_meta={"base_instructions": {"text": BASE_INSTRUCTIONS}},
        )
        path = write_thread(data_dir, spec)
        os.utime(path, (cold, cold))
        total += path.stat().st_size
    return threads, total


async def bench_listing(server: Server, threads: int) -> None:
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


async def bench_search(server: Server, threads: int) -> None:
    terms = {
        "rare term (1 thread)": f"number {threads // 2} x",
        f"common term (all {threads} threads)": "QUESTION number",
        "answer text (all threads)": "answer 2",
        "short term (2 chars)": "42",
        "absent term": "zebra crossing",
    }
    for label, term in terms.items():
        samples = []
        hits = 0
        for _ in range(10):
            elapsed, result, _ = await timed(server, "thread/search", {"searchTerm": term})
            samples.append(elapsed)
            hits = len(result["data"])
        report(f"thread/search {label}, {hits} on page 1", spread(samples))


async def bench_huge(server: Server, huge_id: str, huge_mb: int) -> None:
    reads = [(await timed(server, "thread/read", {"threadId": huge_id}))[0] for _ in range(5)]
    report(f"thread/read (metadata), {huge_mb} MB rollout", spread(reads))
    params: dict[str, Any] = {"threadId": huge_id, "limit": 25}
    last_pages = []
    page: Any = None
    size = 0
    for _ in range(5):
        elapsed, page, size = await timed(server, "thread/turns/list", params)
        last_pages.append(elapsed)
    report(
        f"thread/turns/list last page (25 turns, {size / 1e3:.0f} KB), {huge_mb} MB",
        spread(last_pages),
    )
    cursor = page["nextCursor"]
    middle = []
    for _ in range(5):
        elapsed, page, _ = await timed(server, "thread/turns/list", {**params, "cursor": cursor})
        middle.append(elapsed)
        cursor = page["nextCursor"]
    report("thread/turns/list the pages after it (older turns)", spread(middle))
    report(
        "server peak RSS so far (warm start, listing, search, paging)",
        f"{server.peak_rss_mb():.0f} MB (target < 150 MB)",
    )


async def bench_full_read(server: Server, big_id: str, big_mb: int) -> None:
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


@dataclass(frozen=True)
class FreshSample:
    """One operation in a fresh server (see `measure_fresh`)."""

    seconds: float
    """From sending the request to the whole answer having arrived."""
    cpu_seconds: float
    """The server's CPU time meanwhile: less at the mercy of a loaded machine than `seconds`."""
    baseline_mb: float
    """Peak RSS after `initialize` (and the warm-up request, if any)."""
    peak_mb: float
    """Peak RSS after the operation."""
    size: int
    """Bytes of the answer."""


async def measure_fresh(
    data_dir: Path, home: Path, method: str, params: dict[str, Any], *, loaded: bool = False
) -> FreshSample:
    """One call in a fresh server on the warm index. `loaded`: a cheap request
    (`thread/loaded/list`) goes first, so the time is the operation's alone, not also the
    server proper's import that the first request after the early `initialize` answer waits for
    (`app_server/startup.py`)."""
    server, _ = await Server.start(data_dir, home, experimental=True)
    try:
        if loaded:
            await server.call("thread/loaded/list", {})
        baseline = server.peak_rss_mb()
        cpu = server.cpu_seconds()
        start = time.perf_counter()
        _, size = await server.call(method, params)
        elapsed = server.answered_at - start
        return FreshSample(
            elapsed, server.cpu_seconds() - cpu, baseline, server.peak_rss_mb(), size
        )
    finally:
        await server.stop()


async def bench_big_reads(data_dir: Path, home: Path, big_id: str, big_mb: int, runs: int) -> None:
    """`thread/read` includeTurns and cold `thread/resume` of the large rollout, each in its
    own fresh server (see the module docstring), `runs` times each, the kinds of run
    interleaved so that a change in the machine's load touches them alike."""
    operations: dict[str, tuple[str, dict[str, Any]]] = {
        "thread/read includeTurns": ("thread/read", {"threadId": big_id, "includeTurns": True}),
        "cold thread/resume": ("thread/resume", {"threadId": big_id}),
    }
    targets = {"thread/read includeTurns": (0.8, 160), "cold thread/resume": (1.0, 200)}
    kinds = list(itertools.product(operations.items(), (False, True)))
    measured: dict[tuple[str, bool], list[FreshSample]] = {}
    for _ in range(runs):
        for (label, (method, params)), loaded in kinds:
            sample = await measure_fresh(data_dir, home, method, params, loaded=loaded)
            measured.setdefault((label, loaded), []).append(sample)
    for (label, _), loaded in kinds:
        samples = measured[(label, loaded)]
        if loaded:
            label += " (server loaded first)"
        times = [sample.seconds for sample in samples]
        cpu = [sample.cpu_seconds for sample in samples]
        peaks = [sample.peak_mb for sample in samples]
        deltas = [sample.peak_mb - sample.baseline_mb for sample in samples]
        seconds, megabytes = targets[label.removesuffix(" (server loaded first)")]
        report(
            f"{label}, {big_mb} MB rollout, {runs} fresh servers",
            f"{statistics.median(times):5.2f} s (max {max(times):.2f}; target <= {seconds} s), "
            f"server CPU {statistics.median(cpu):.2f} s, response {samples[0].size / 1e6:.1f} MB",
        )
        report(
            "  peak RSS after it / its increase over `initialize`",
            f"{statistics.median(peaks):4.0f} MB (max {max(peaks):.0f}; target <= {megabytes}) "
            f"/ +{statistics.median(deltas):.0f} MB (baseline {samples[0].baseline_mb:.0f} MB)",
        )


async def bench_compression(workdir: Path, threads: int) -> None:
    data_dir, home = workdir / "cold", workdir / "home"
    print(f"building a cold home of {threads} threads …", flush=True)
    files, plain = build_compression_home(data_dir, threads)
    server, _ = await Server.start(data_dir, home, experimental=True, compression=True)
    start = time.perf_counter()
    await server.call("rollout/compress", {})
    elapsed = time.perf_counter() - start
    await server.stop()
    compressed = list(data_dir.rglob("*.jsonl.zst"))
    packed = sum(path.stat().st_size for path in compressed)
    report(
        f"rollout/compress of {files} cold rollouts ({plain / 1e6:.0f} MB)",
        f"{elapsed:7.2f} s ({len(compressed)} compressed, {files / elapsed:.0f} files/s)",
    )
    report(
        "compressed size / plain size",
        f"{packed / 1e6:.1f} / {plain / 1e6:.1f} MB = {100 * packed / plain:.1f} %"
        " (target <= 20 %)",
    )


async def wait_for_index(server: Server, thread_id: str) -> None:
    """Until `thread_id` can be read (the scan folded its rollout)."""
    while True:
        try:
            await server.call("thread/read", {"threadId": thread_id})
            return
        except RuntimeError:
            await asyncio.sleep(0.2)


async def bench_only_big_reads(big_mb: int, workdir: Path, runs: int) -> None:
    """Just the per-operation figures of the large rollout (its home is kept between runs
    with `--keep`, so two checkouts measure the same file)."""
    data_dir, home = workdir / "big", workdir / "home"
    home.mkdir(parents=True, exist_ok=True)
    report("server measured", f"{SERVER.root} ({SERVER.python})")
    marker = workdir / "big-id"
    if marker.exists():
        big_id = marker.read_text()
    else:
        print(f"building a {big_mb} MB rollout …", flush=True)
        big_id = build_big_rollout(data_dir, big_mb)
        marker.write_text(big_id)
    server, _ = await Server.start(data_dir, home)
    await wait_for_index(server, big_id)
    await server.stop()
    await bench_big_reads(data_dir, home, big_id, big_mb, runs)


async def bench(threads: int, huge_mb: int, big_mb: int, workdir: Path, runs: int) -> None:
    data_dir, home = workdir / "data", workdir / "home"
    home.mkdir(parents=True, exist_ok=True)
    print(
        f"building a home of {threads} threads, a {huge_mb} MB and a {big_mb} MB rollout …",
        flush=True,
    )
    build_home(data_dir, threads)
    huge_id = build_big_rollout(data_dir, huge_mb, salt=434343)
    big_id = build_big_rollout(data_dir, big_mb)
    total = sum(p.stat().st_size for p in data_dir.rglob("*.jsonl")) / 1e6
    report("home", f"{threads + 2} rollouts, {total:.0f} MB")
    newest = ThreadSpec(BASE_MS + (threads - 1) * 1000, salt=threads - 1).thread_id

    server, cold = await Server.start(data_dir, home)
    report("initialize, fresh index (scan starting)", f"{cold * 1000:7.1f} ms")
    scan_start = time.perf_counter()
    await wait_for_listing(server, newest)
    await wait_for_index(server, huge_id)
    report(
        "background scan until everything is indexed",
        f"{time.perf_counter() - scan_start:7.2f} s",
    )
    await server.stop()

    server, warm = await Server.start(data_dir, home, experimental=True)
    report("initialize, restart with a warm index", f"{warm * 1000:7.1f} ms")
    await bench_listing(server, threads)
    await bench_search(server, threads)
    await bench_huge(server, huge_id, huge_mb)
    await bench_full_read(server, big_id, big_mb)
    await server.stop()
    await bench_big_reads(data_dir, home, big_id, big_mb, runs)
    await bench_compression(workdir, threads)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=10_000)
    parser.add_argument("--huge-mb", type=int, default=1024)
    parser.add_argument("--big-mb", type=int, default=100)
    parser.add_argument("--keep", type=Path, help="build the homes here and keep them")
    parser.add_argument("--root", type=Path, help="measure this checkout's server instead")
    parser.add_argument("--only", choices=["big-reads"], help="run only these figures")
    parser.add_argument("--runs", type=int, default=3, help="fresh servers per big read")
    args = parser.parse_args()
    global SERVER
    if args.root is not None:
        SERVER = ServerCommand.for_checkout(args.root.resolve())
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="bench-store-"))
    try:
        if args.only == "big-reads":
            asyncio.run(bench_only_big_reads(args.big_mb, workdir, args.runs))
        else:
            asyncio.run(bench(args.threads, args.huge_mb, args.big_mb, workdir, args.runs))
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
