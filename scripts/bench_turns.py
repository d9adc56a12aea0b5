#!/usr/bin/env python3
"""Turn benchmark: the server's own overhead per turn, and streaming throughput (figures).

Runs the real server process against the fake model (`tests/support/model_server.py`, loopback)
and prints:

- overhead per turn: wall time from sending `turn/start` to receiving `turn/completed`, minus the
  time the fake model took to serve the request (measured on the fixture's side);
- throughput: one reply of 20,000 text deltas, delivered as `item/agentMessage/delta`
  notifications to a stdio client and to a WebSocket client (deltas per second between the first
  and the last delta received).

Targets (issue 4): overhead < 5 ms per turn; >= 50,000 deltas/s on stdio.

Usage: scripts/bench_turns.py [--turns 200] [--deltas 20000]
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
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.model_replies import Reply  # noqa: E402
from tests.support.model_server import ModelServer  # noqa: E402
from tests.support.turn_env import MODEL_ENV, write_model_config  # noqa: E402


class Client:
    """A minimal JSON-RPC client over the server's stdio or a WebSocket."""

    def __init__(self, send: Any, receive: Any) -> None:
        self._send, self._receive = send, receive
        self._next = 0

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        self._next += 1
        await self._send(orjson.dumps({"id": self._next, "method": method, "params": params}))
        while True:
            message = orjson.loads(await self._receive())
            if message.get("id") == self._next and "method" not in message:
                return message.get("result")

    async def until(self, method: str) -> tuple[int, float | None, float]:
        """Read notifications until `method`; returns (deltas seen, first delta time, end)."""
        deltas, first = 0, None
        while True:
            raw = await self._receive()
            if b'"item/agentMessage/delta"' in raw[:40]:
                deltas += 1
                if first is None:
                    first = time.perf_counter()
                continue
            message = orjson.loads(raw)
            if message.get("method") == method:
                return deltas, first, time.perf_counter()


async def start_server(data_dir: Path, *args: str) -> asyncio.subprocess.Process:
    env = {"PATH": os.environ["PATH"], "HOME": str(data_dir.parent), "PYTHONPATH": str(ROOT)}
    env.update(MODEL_ENV)
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app_server",
        "--data-dir",
        str(data_dir),
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        limit=1 << 28,
    )


async def stdio_client(process: asyncio.subprocess.Process) -> Client:
    assert process.stdin is not None
    assert process.stdout is not None
    stdin, stdout = process.stdin, process.stdout

    async def send(data: bytes) -> None:
        stdin.write(data + b"\n")
        await stdin.drain()

    client = Client(send, stdout.readline)
    await client.call("initialize", {"clientInfo": {"name": "bench", "version": "1"}})
    return client


async def ws_client(url: str) -> tuple[Client, Any]:
    import websockets

    ws = await websockets.connect(url, max_size=None)

    async def receive() -> bytes:
        frame = await ws.recv()
        return frame.encode() if isinstance(frame, str) else frame

    client = Client(lambda data: ws.send(data.decode()), receive)
    await client.call("initialize", {"clientInfo": {"name": "bench", "version": "1"}})
    return client, ws


def text(value: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": value, "text_elements": []}]


async def overhead(model: ModelServer, client: Client, turns: int) -> list[float]:
    thread = (await client.call("thread/start", {}))["thread"]["id"]
    samples = []
    for i in range(turns + 5):
        model.enqueue(Reply.text("ok"))
        before = len(model.requests)
        started = time.perf_counter()
        await client.call("turn/start", {"threadId": thread, "input": text(f"turn {i}")})
        _, _, ended = await client.until("turn/completed")
        served = model.requests[before].served_seconds or 0.0
        if i >= 5:  # warm-up: imports, connection pool, first file creation
            samples.append((ended - started - served) * 1000)
    return samples


async def throughput(model: ModelServer, client: Client, deltas: int) -> float:
    thread = (await client.call("thread/start", {}))["thread"]["id"]
    model.enqueue(Reply.text("x" * deltas, deltas=deltas))
    await client.call("turn/start", {"threadId": thread, "input": text("stream")})
    seen, first, end = await client.until("turn/completed")
    assert seen == deltas, f"{seen} deltas received, expected {deltas}"
    assert first is not None
    return seen / (end - first)


async def bench(turns: int, deltas: int) -> None:
    async with ModelServer() as model:
        with tempfile.TemporaryDirectory(prefix="bench-turns-") as tmp:
            data_dir = Path(tmp) / "data"
            data_dir.mkdir()
            write_model_config(data_dir, model.base_url)
            process = await start_server(data_dir)
            client = await stdio_client(process)
            samples = await overhead(model, client, turns)
            print(
                f"overhead per turn over stdio ({turns} turns): median "
                f"{statistics.median(samples):.2f} ms, p90 "
                f"{statistics.quantiles(samples, n=10)[-1]:.2f} ms"
            )
            rate = await throughput(model, client, deltas)
            print(f"stdio: {deltas} deltas at {rate:,.0f} deltas/s")
            assert process.stdin is not None
            process.stdin.close()
            await process.wait()

            process = await start_server(data_dir, "--listen", "ws://127.0.0.1:0")
            assert process.stderr is not None
            url = ""
            while not url:
                line = (await process.stderr.readline()).decode()
                if "listening on" in line:
                    url = line.split("listening on ")[1].strip()
            ws_rpc, ws = await ws_client(url)
            rate = await throughput(model, ws_rpc, deltas)
            print(f"websocket: {deltas} deltas at {rate:,.0f} deltas/s")
            await ws.close()
            process.terminate()
            await process.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--deltas", type=int, default=20_000)
    args = parser.parse_args()
    asyncio.run(bench(args.turns, args.deltas))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
