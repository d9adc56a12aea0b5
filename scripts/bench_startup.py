#!/usr/bin/env python3
"""Startup benchmark: what a CLI user waits for when the frontend spawns the server (figures).

Spawns the real server over stdio (`python -m app_server`) and prints, for runs of `--runs`
(default 10), the median and the spread (min to max):

- spawn → `initialize` answer on a fresh, empty data dir;
- spawn → `initialize` answer on a data dir of `--threads` (default 10,000) threads (its index
  built by a warm-up start that is not counted);
- on that home: spawn → the first `thread/list` answer (index only, `useStateDbOnly`), then
  that first page's latency once the server is warm (median of 5 calls per run); and, in
  another process, the latency of the first such call right after the server proper is up
  ("cold": `initialize`, then `thread/loaded/list` to wait for the server proper, then the
  timed `thread/list`);
- spawn → first `turn/completed` against the fake model (`tests/support/model_server.py`,
  loopback): `initialize`, `thread/start`, `turn/start` sent as fast as answers come; also the
  `thread/start` latency once warm (median of 5 per run) and the peak RSS after the turn; and,
  in another process, the first `thread/start` right after the server proper is up (cold, as
  above);
- import time of `app_server.server` (the server proper) and of `app_server.startup` (what
  answers `initialize`), each in a fresh interpreter.

`--compare DIR` adds another checkout (its `.venv/bin/python`, e.g. /work/main): every figure is
measured for each checkout in interleaved runs, so a noisy machine affects both alike.

Targets (issue 17): spawn → `initialize` <= 200 ms median on both homes; spawn → first
`turn/completed` <= 300 ms; `thread/start` <= 15 ms; index-only first page of 10k threads <= 5 ms.

`--turn-only` measures only spawn → first `turn/completed` (and the peak RSS after it): the
quick loop while working on the first turn's cost. It also prints the timeline of that run:
when each answer came (ms since spawn) and the server's CPU time by then (user + system, from
/proc), so that waiting shows as wall time that CPU time does not account for. `--repo` makes
the thread's cwd a git repository (the first turn then runs git for `gitInfo`, as in most real
sessions; without it the cwd is a plain temporary directory).

`--mcp-only` measures instead spawn → `initialize` on an empty data dir with and without a
configured MCP server that takes 3 s to start, and `thread/start` while it starts (issue 19:
MCP startup never delays `initialize`).

Usage: scripts/bench_startup.py [--runs 10] [--threads 10000] [--compare DIR ...]
                                [--mcp-only | --turn-only [--repo]]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.bench_store import build_home  # noqa: E402
from tests.support.model_replies import Reply  # noqa: E402
from tests.support.model_server import ModelServer  # noqa: E402
from tests.support.turn_env import MODEL_ENV, text_input, write_model_config  # noqa: E402

WARM_SECONDS = 1.5
"""Pause before timing steady-state requests: background warm-up (the provider import) is over."""

INIT = {"clientInfo": {"name": "bench", "version": "1"}, "capabilities": {"experimentalApi": True}}


@dataclass
class Checkout:
    """One server under test: its source tree and its interpreter."""

    root: Path
    figures: dict[str, list[float]] = field(default_factory=dict)

    @property
    def python(self) -> str:
        venv = self.root / ".venv" / "bin" / "python"
        return str(venv) if venv.exists() else sys.executable

    def add(self, name: str, value: float) -> None:
        self.figures.setdefault(name, []).append(value)


class Server:
    """A spawned server process with a minimal stdio client."""

    def __init__(self, process: asyncio.subprocess.Process, spawned: float) -> None:
        self.process = process
        self.spawned = spawned
        self._next = 0

    @classmethod
    async def spawn(cls, checkout: Checkout, data_dir: Path, home: Path) -> Server:
        env = {"PATH": os.environ["PATH"], "HOME": str(home), "PYTHONPATH": str(checkout.root)}
        env.update(MODEL_ENV)
        spawned = time.perf_counter()
        process = await asyncio.create_subprocess_exec(
            checkout.python,
            "-m",
            "app_server",
            "--data-dir",
            str(data_dir),
            "-c",
            "rollout_compression.enabled=false",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env=env,
            cwd=checkout.root,
            limit=1 << 30,
        )
        return cls(process, spawned)

    def since_spawn_ms(self) -> float:
        return (time.perf_counter() - self.spawned) * 1000

    async def send(self, method: str, params: dict[str, Any]) -> int:
        assert self.process.stdin is not None
        self._next += 1
        message = {"id": self._next, "method": method, "params": params}
        self.process.stdin.write(orjson.dumps(message) + b"\n")
        await self.process.stdin.drain()
        return self._next

    async def until(self, predicate: Any) -> dict[str, Any]:
        assert self.process.stdout is not None
        while True:
            message: dict[str, Any] = orjson.loads(await self.process.stdout.readline())
            if predicate(message):
                return message

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        request_id = await self.send(method, params)
        reply = await self.until(lambda m: m.get("id") == request_id and "method" not in m)
        if "error" in reply:
            raise RuntimeError(reply["error"])
        return reply["result"]

    async def timed(self, method: str, params: dict[str, Any]) -> float:
        started = time.perf_counter()
        await self.call(method, params)
        return (time.perf_counter() - started) * 1000

    def cpu_ms(self) -> float:
        """The server's CPU time so far (user + system, all its threads), from /proc."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    async def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        await self.process.wait()


async def run_empty(checkout: Checkout, work: Path, *, mcp_pair: bool = False) -> None:
    data_dir = Path(tempfile.mkdtemp(dir=work, prefix="empty-"))
    server = await Server.spawn(checkout, data_dir, work / "home")
    await server.call("initialize", INIT)
    checkout.add("spawn → initialize, empty data dir", server.since_spawn_ms())
    if mcp_pair:
        started = await server.timed("thread/start", {"cwd": str(work)})
        checkout.add("first thread/start, no MCP server", started)
    await server.stop()
    shutil.rmtree(data_dir)


MCP_STARTUP_DELAY = 3.0
"""How long the MCP server of `run_mcp` takes to start: `initialize` must not wait for it."""


async def run_mcp(checkout: Checkout, work: Path) -> None:
    """An empty data dir whose `config.toml` has a slow-starting MCP server (issue 19)."""
    data_dir = Path(tempfile.mkdtemp(dir=work, prefix="mcp-"))
    args = ["-m", "tests.support.mcp_server", "--startup-delay", str(MCP_STARTUP_DELAY)]
    (data_dir / "config.toml").write_text(
        "[mcp_servers.slow]\n"
        f"command = {orjson.dumps(sys.executable).decode()}\n"
        f"args = {orjson.dumps(args).decode()}\n"
        f"cwd = {orjson.dumps(str(ROOT)).decode()}\n"
    )
    server = await Server.spawn(checkout, data_dir, work / "home")
    await server.call("initialize", INIT)
    checkout.add("spawn → initialize, an MCP server starting", server.since_spawn_ms())
    started = await server.timed("thread/start", {"cwd": str(work)})
    checkout.add("first thread/start, an MCP server starting", started)
    await server.stop()
    shutil.rmtree(data_dir)


async def run_big(checkout: Checkout, home_dir: Path, work: Path) -> None:
    server = await Server.spawn(checkout, home_dir, work / "home")
    await server.call("initialize", INIT)
    checkout.add("spawn → initialize, 10k-thread data dir", server.since_spawn_ms())
    page = {"limit": 25, "useStateDbOnly": True}
    await server.call("thread/list", page)
    checkout.add("spawn → first index-only page answered, 10k", server.since_spawn_ms())
    await asyncio.sleep(WARM_SECONDS)
    samples = [await server.timed("thread/list", page) for _ in range(5)]
    checkout.add("thread/list index-only first page, 10k threads", statistics.median(samples))
    await server.stop()


async def server_ready(server: Server) -> None:
    """`initialize`, then wait until the server proper serves requests (a stdio `initialize`
    is answered before it is even imported)."""
    await server.call("initialize", INIT)
    await server.call("thread/loaded/list", {})


async def run_cold_list(checkout: Checkout, home_dir: Path, work: Path) -> None:
    server = await Server.spawn(checkout, home_dir, work / "home")
    await server_ready(server)
    page = {"limit": 25, "useStateDbOnly": True}
    checkout.add(
        "thread/list index-only first page, 10k, cold", await server.timed("thread/list", page)
    )
    await server.stop()


async def run_cold_start(checkout: Checkout, work: Path) -> None:
    data_dir = Path(tempfile.mkdtemp(dir=work, prefix="cold-"))
    server = await Server.spawn(checkout, data_dir, work / "home")
    await server_ready(server)
    checkout.add("thread/start (cold)", await server.timed("thread/start", {"cwd": str(work)}))
    await server.stop()
    shutil.rmtree(data_dir)


async def run_turn(
    checkout: Checkout,
    model: ModelServer,
    work: Path,
    *,
    warm_samples: bool = True,
    timeline: bool = False,
    cwd: Path | None = None,
) -> None:
    """Spawn → first `turn/completed`; with `timeline`, also when each answer came (ms since
    spawn) and the server's CPU time by then, which tells waiting from computing."""
    data_dir = Path(tempfile.mkdtemp(dir=work, prefix="turn-"))
    write_model_config(data_dir, model.base_url)
    model.enqueue(Reply.text("ok"))
    server = await Server.spawn(checkout, data_dir, work / "home")

    def mark(event: str) -> None:
        if timeline:
            checkout.add(f"  {event} (since spawn)", server.since_spawn_ms())
            checkout.add(f"  {event} (server CPU)", server.cpu_ms())

    await server.call("initialize", INIT)
    mark("initialize answered")
    params = {"cwd": str(cwd or work)}
    thread = (await server.call("thread/start", params))["thread"]["id"]
    mark("thread/start answered")
    await server.call("turn/start", {"threadId": thread, "input": text_input("hi")})
    mark("turn/start answered")
    await server.until(lambda m: m.get("method") == "turn/completed")
    checkout.add("spawn → first turn/completed", server.since_spawn_ms())
    mark("turn/completed")
    checkout.add("peak RSS after the first turn (MB)", server.peak_rss_mb())
    if warm_samples:
        await asyncio.sleep(WARM_SECONDS)
        samples = [await server.timed("thread/start", {"cwd": str(work)}) for _ in range(5)]
        checkout.add("thread/start (warm)", statistics.median(samples))
    await server.stop()
    shutil.rmtree(data_dir)


def import_ms(checkout: Checkout, module: str) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(checkout.root)}
    out = subprocess.run(
        [checkout.python, "-c", code], env=env, cwd=checkout.root, capture_output=True, text=True
    )
    return float(out.stdout) * 1000 if out.returncode == 0 else float("nan")


async def warm_index(checkout: Checkout, home_dir: Path, work: Path, newest: int) -> None:
    """Start once and wait until the background scan indexed every thread."""
    server = await Server.spawn(checkout, home_dir, work / "home")
    await server.call("initialize", INIT)
    while True:
        page = await server.call("thread/list", {"limit": 1, "useStateDbOnly": True})
        if page["data"] and page["data"][0]["preview"].startswith(f"question number {newest} "):
            break
        await asyncio.sleep(0.2)
    await server.stop()


async def bench_mcp(runs: int, checkouts: list[Checkout], work: Path) -> None:
    """`--mcp-only`: `initialize` on an empty data dir with and without an MCP server."""
    (work / "home").mkdir()
    for run in range(runs):
        for checkout in checkouts:
            await run_empty(checkout, work, mcp_pair=True)
            await run_mcp(checkout, work)
        print(f"run {run + 1}/{runs} done", flush=True)
    report(checkouts)


def git_repository(path: Path) -> Path:
    """A fresh git repository with one commit at `path`: a thread's first turn there runs the
    git commands of its `gitInfo`, as in most real sessions."""
    path.mkdir()
    identity = ["-c", "user.email=bench@example.com", "-c", "user.name=bench"]
    for command in (
        ["init", "-q", str(path)],
        ["-C", str(path), *identity, "commit", "-q", "--allow-empty", "-m", "bench"],
    ):
        subprocess.run(["git", *command], check=True, capture_output=True)
    return path


async def bench_turn(runs: int, checkouts: list[Checkout], work: Path, *, repo: bool) -> None:
    """`--turn-only`: spawn → first `turn/completed` with its timeline, interleaved between
    checkouts (their order alternating run by run); `repo`: the thread's cwd is a git
    repository."""
    (work / "home").mkdir()
    cwd = git_repository(work / "repo") if repo else None
    async with ModelServer() as model:
        for run in range(runs):
            for checkout in checkouts if run % 2 == 0 else checkouts[::-1]:
                await run_turn(checkout, model, work, warm_samples=False, timeline=True, cwd=cwd)
            print(f"run {run + 1}/{runs} done", flush=True)
    report(checkouts)


async def bench(runs: int, threads: int, checkouts: list[Checkout], work: Path) -> None:
    (work / "home").mkdir()
    template = work / "template"
    template.mkdir()
    started = time.perf_counter()
    build_home(template, threads)
    print(f"built {threads} threads in {time.perf_counter() - started:.1f} s", flush=True)
    homes = {}
    for index, checkout in enumerate(checkouts):
        homes[index] = work / f"big-{index}"
        shutil.copytree(template, homes[index])
        await warm_index(checkout, homes[index], work, threads - 1)
    async with ModelServer() as model:
        for run in range(runs):
            for index, checkout in enumerate(checkouts):
                await run_empty(checkout, work)
                await run_big(checkout, homes[index], work)
                await run_turn(checkout, model, work)
                await run_cold_list(checkout, homes[index], work)
                await run_cold_start(checkout, work)
                checkout.add(
                    "import app_server.server (ms)", import_ms(checkout, "app_server.server")
                )
                checkout.add(
                    "import app_server.startup (ms)", import_ms(checkout, "app_server.startup")
                )
            print(f"run {run + 1}/{runs} done", flush=True)
    report(checkouts)


def report(checkouts: list[Checkout]) -> None:
    for checkout in checkouts:
        print(f"\n{checkout.root}")
        for name, samples in checkout.figures.items():
            samples = [s for s in samples if s == s]  # drop NaN (module missing there)
            if not samples:
                print(f"  {name:<50} n/a")
                continue
            print(
                f"  {name:<50} median {statistics.median(samples):8.1f}  "
                f"spread {min(samples):8.1f} to {max(samples):8.1f}"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=10_000)
    parser.add_argument("--compare", type=Path, action="append", default=[], metavar="DIR")
    parser.add_argument("--keep", type=Path, help="work in DIR and keep it")
    parser.add_argument(
        "--mcp-only", action="store_true", help="only `initialize` with and without MCP servers"
    )
    parser.add_argument(
        "--turn-only", action="store_true", help="only spawn → first turn/completed"
    )
    parser.add_argument(
        "--repo", action="store_true", help="with --turn-only: the thread's cwd is a git repository"
    )
    args = parser.parse_args()
    checkouts = [Checkout(ROOT), *(Checkout(path.resolve()) for path in args.compare)]
    if args.mcp_only:
        with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
            asyncio.run(bench_mcp(args.runs, checkouts, Path(tmp)))
        return 0
    if args.turn_only:
        with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
            asyncio.run(bench_turn(args.runs, checkouts, Path(tmp), repo=args.repo))
        return 0
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        asyncio.run(bench(args.runs, args.threads, checkouts, args.keep))
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        asyncio.run(bench(args.runs, args.threads, checkouts, Path(tmp)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
