#!/usr/bin/env python3
"""Several server processes on one PostgreSQL store: cross-process latency and a streaming check.

Starts real server processes (`--store-url`) against the fake model (loopback) and measures:

- cross-process notification latency: a thread is loaded on A and watched by a client of A and
  by a client of B (B's `thread/resume` is forwarded to A); A runs turns whose model replies
  stream deltas 20 ms apart; for every delta, the time between its arrival at A's client and
  at B's client (both clients live in this script, so one clock). Also the time from `turn/start`
  sent on B (forwarded to A) to the first delta at B's client, beside the same from A to A's.
- streaming check: P processes, T threads spread over them; each thread is watched by a client
  of its owner and a client of the next process; every thread runs one turn at the same moment
  (half started from the owner's client, half from the other process's, forwarded). Each client
  must see, per turn, `turn/started` first and `turn/completed` last, every item started once,
  and deltas that join to the model's text; every turn stored completed.

Targets (issue 18): latency <= 10 ms p50; 4 processes x 50 turns: no lost or duplicated delta,
no turn lost.

Usage: scripts/pg_cluster.sh run .venv/bin/python scripts/bench_postgres_processes.py
       [--processes 4] [--threads 50] [--latency-turns 20]
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

import asyncpg
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.client import StdioClient  # noqa: E402
from tests.support.model_replies import Reply  # noqa: E402
from tests.support.model_server import ModelServer  # noqa: E402
from tests.support.server_process import ServerProcess  # noqa: E402
from tests.support.turn_env import MODEL_ENV, text_input, write_model_config  # noqa: E402

DELTA_GAP_SECONDS = 0.02
"""Time between the deltas of a latency turn: each delta crosses alone, not in a batch."""
LATENCY_DELTAS = 10
"""Deltas per latency turn."""
CHECK_DELTAS = 20
"""Deltas per turn of the streaming check."""


class TimedClient:
    """A stdio client of one server process that stamps every message it receives."""

    def __init__(self, client: StdioClient) -> None:
        self.client = client
        self.arrivals: list[tuple[float, dict[str, Any]]] = []
        receive = client._on_text

        async def stamped(text: str | bytes) -> None:
            self.arrivals.append((time.perf_counter(), orjson.loads(text)))
            await receive(text)

        client._on_text = stamped  # type: ignore[method-assign]


async def start_processes(
    count: int, url: str, model: ModelServer, work: Path
) -> tuple[list[ServerProcess], list[TimedClient]]:
    processes, clients = [], []
    home = work / "home"
    home.mkdir()
    for index in range(count):
        data_dir = work / f"p{index}"
        data_dir.mkdir()
        write_model_config(data_dir, model.base_url)
        process = await ServerProcess.start(data_dir, home, "--store-url", url, env=MODEL_ENV)
        processes.append(process)
        client = process.stdio_client()
        await client.initialize(experimental=True)
        clients.append(TimedClient(client))
    return processes, clients


def deltas_of(client: TimedClient, turn_id: str) -> list[tuple[float, str, str]]:
    return [
        (at, m["params"]["itemId"], m["params"]["delta"])
        for at, m in client.arrivals
        if m.get("method") == "item/agentMessage/delta" and m["params"].get("turnId") == turn_id
    ]


async def wait_completed(client: StdioClient, turn_id: str) -> None:
    await client.wait_notification(
        "turn/completed", where=lambda m: m["params"]["turn"]["id"] == turn_id, timeout=120
    )


async def latency(url: str, turns: int) -> None:
    async with ModelServer() as model:
        model.enqueue(Reply.text("first"))
        for number in range(turns):
            text = f"turn {number} " + "word " * LATENCY_DELTAS
            model.enqueue(
                Reply.text(text, deltas=LATENCY_DELTAS).delayed(between_frames=DELTA_GAP_SECONDS)
            )
        with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as temp:
            processes, (a, b) = await start_processes(2, url, model, Path(temp))
            try:
                thread_id = (await a.client.call("thread/start", {}))["thread"]["id"]
                first = await a.client.call(
                    "turn/start", {"threadId": thread_id, "input": text_input("first")}
                )
                await wait_completed(a.client, first["turn"]["id"])
                await b.client.call("thread/resume", {"threadId": thread_id})
                gaps: list[float] = []
                to_first: list[float] = []
                to_first_local: list[float] = []
                for number in range(turns):
                    starter = b if number % 2 else a
                    sent = time.perf_counter()
                    started = await starter.client.call(
                        "turn/start", {"threadId": thread_id, "input": text_input("go")}
                    )
                    turn_id = started["turn"]["id"]
                    await wait_completed(a.client, turn_id)
                    await wait_completed(b.client, turn_id)
                    on_a, on_b = deltas_of(a, turn_id), deltas_of(b, turn_id)
                    assert [d[1:] for d in on_a] == [d[1:] for d in on_b]
                    gaps.extend(tb - ta for (ta, _, _), (tb, _, _) in zip(on_a, on_b, strict=True))
                    if starter is b:
                        to_first.append(on_b[0][0] - sent)
                    else:
                        to_first_local.append(on_a[0][0] - sent)
            finally:
                for process in processes:
                    await process.kill()
    print(
        f"cross-process delta latency (A's client -> B's client), {len(gaps)} deltas:"
        f" p50 {statistics.median(gaps) * 1000:.2f} ms,"
        f" p90 {statistics.quantiles(gaps, n=10)[-1] * 1000:.2f} ms"
    )
    print(
        f"turn/start on B (forwarded to A) -> first delta at B's client:"
        f" p50 {statistics.median(to_first) * 1000:.1f} ms ({len(to_first)} turns);"
        f" on A, to A's client: {statistics.median(to_first_local) * 1000:.1f} ms"
    )


def check_turn(client: TimedClient, turn_id: str, texts: set[str]) -> str:
    """The turn's joined delta text, after checking its notifications' order on `client`."""
    events = [
        m
        for _, m in client.arrivals
        if "method" in m
        and (
            m["params"].get("turnId") == turn_id or m["params"].get("turn", {}).get("id") == turn_id
        )
    ]
    methods = [m["method"] for m in events]
    assert methods[0] == "turn/started", methods[:3]
    assert methods[-1] == "turn/completed", methods[-3:]
    assert methods.count("turn/started") == methods.count("turn/completed") == 1
    started = [m["params"]["item"]["id"] for m in events if m["method"] == "item/started"]
    assert len(started) == len(set(started)), "an item started twice"
    text = "".join(m["params"]["delta"] for m in events if m["method"] == "item/agentMessage/delta")
    assert text in texts, f"deltas do not join to a model text: {text[:80]!r}"
    return text


async def streaming_check(url: str, process_count: int, thread_count: int) -> None:
    texts = {f"thread reply {n} " + "token " * CHECK_DELTAS for n in range(thread_count)}
    async with ModelServer() as model:
        for _ in range(thread_count):
            model.enqueue(Reply.text("first"))
        for text in sorted(texts):
            model.enqueue(Reply.text(text, deltas=CHECK_DELTAS))
        with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as temp:
            processes, clients = await start_processes(process_count, url, model, Path(temp))
            try:
                owners = [clients[n % process_count] for n in range(thread_count)]
                watchers = [clients[(n + 1) % process_count] for n in range(thread_count)]
                thread_ids = [
                    (await owner.client.call("thread/start", {}))["thread"]["id"]
                    for owner in owners
                ]

                async def first_turn(owner: TimedClient, thread_id: str) -> None:
                    started = await owner.client.call(
                        "turn/start", {"threadId": thread_id, "input": text_input("first")}
                    )
                    await wait_completed(owner.client, started["turn"]["id"])

                await asyncio.gather(*map(first_turn, owners, thread_ids))
                for watcher, thread_id in zip(watchers, thread_ids, strict=True):
                    await watcher.client.call("thread/resume", {"threadId": thread_id})

                async def raced_turn(number: int) -> str:
                    starter = owners[number] if number % 2 else watchers[number]
                    started = await starter.client.call(
                        "turn/start",
                        {"threadId": thread_ids[number], "input": text_input("go")},
                    )
                    turn_id: str = started["turn"]["id"]
                    await wait_completed(owners[number].client, turn_id)
                    await wait_completed(watchers[number].client, turn_id)
                    return turn_id

                began = time.perf_counter()
                turn_ids = await asyncio.gather(*map(raced_turn, range(thread_count)))
                took = time.perf_counter() - began
                seen: list[str] = []
                for number, turn_id in enumerate(turn_ids):
                    on_owner = check_turn(owners[number], turn_id, texts)
                    on_watcher = check_turn(watchers[number], turn_id, texts)
                    assert on_owner == on_watcher
                    seen.append(on_owner)
                    read = await watchers[number].client.call(
                        "thread/read", {"threadId": thread_ids[number], "includeTurns": True}
                    )
                    statuses = [t["status"] for t in read["thread"]["turns"]]
                    assert statuses == ["completed", "completed"], statuses
                assert sorted(seen) == sorted(texts), "a model text was lost or streamed twice"
            finally:
                for process in processes:
                    await process.kill()
    print(
        f"{process_count} processes x {thread_count} concurrent turns ({CHECK_DELTAS} deltas"
        f" each, every turn watched on two processes): all turns completed, every client saw"
        f" each turn's deltas once and in order; {took:.1f} s"
    )


async def fresh_url(dsn: str) -> str:
    schema = f"bench_{os.getpid()}_{int(time.time())}"
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(f'CREATE SCHEMA "{schema}"')
    finally:
        await connection.close()
    separator = "&" if "?" in dsn else "?"
    return f"{dsn}{separator}search_path={schema}"


async def main_async(dsn: str, processes: int, threads: int, latency_turns: int) -> None:
    await latency(await fresh_url(dsn), latency_turns)
    await streaming_check(await fresh_url(dsn), processes, threads)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", default=os.environ.get("APP_SERVER_TEST_PG_DSN"))
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--threads", type=int, default=50)
    parser.add_argument("--latency-turns", type=int, default=20)
    args = parser.parse_args()
    if not args.dsn:
        print("no --dsn and no APP_SERVER_TEST_PG_DSN", file=sys.stderr)
        return 2
    asyncio.run(main_async(args.dsn, args.processes, args.threads, args.latency_turns))
    return 0


if __name__ == "__main__":
    sys.exit(main())
