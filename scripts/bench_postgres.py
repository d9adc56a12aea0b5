#!/usr/bin/env python3
"""PostgreSQL store benchmark: listing and search at 100,000 threads, and the cost of a flush.

Figures, not a test. Needs a database (`--dsn`, else `$APP_SERVER_TEST_PG_DSN`; start one with
`scripts/pg_cluster.sh start`); works in a schema of its own, dropped at the end. Prints p50 and
p95 of:

- `thread/list` first page (default sort: created desc, 25 rows) over `--threads` threads, and a
  page deep in the cursor chain;
- `thread/search` for a rare term (one thread in all) and a common one (every thread), over two
  searchable messages per thread;
- a turn's flush: 10 lines appended and flushed by a writer, on the PostgreSQL store and on the
  local store (files + SQLite in a temp dir), and their difference;
- `thread/turns/list` of a thread of `--turns` turns (each with a user and an agent message of
  ~1 KiB): the newest page (25 turns) and a page 20 cursors deep, read through the turn-start
  index, against the whole-history fold the index replaces (what every page cost before);
  then the same thread's lines compressed as cold history (bytes before and after, time) and
  the same pages read from the compressed batches.

Targets (issue 18): list first page <= 5 ms p50 at 100,000 threads; rare-term search <= 20 ms
p50; a flush adds <= 3 ms p50 over the local store. The cluster of `pg_cluster.sh` runs with
fsync off; a production server with fsync on adds its commit flush to the flush figure.

Usage: scripts/bench_postgres.py [--dsn URL] [--threads 100000] [--runs 200] [--turns 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
from msgspec.structs import replace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app_server.store.interface import ThreadStore
from app_server.store.local.compression_worker import CompressionSettings
from app_server.store.local.store import LocalThreadStore
from app_server.store.postgres.cold_history import compress_lines
from app_server.store.postgres.schema import RECORD_FIELDS, record_values
from app_server.store.postgres.store import PostgresThreadStore
from app_server.store.records import ThreadRecord
from app_server.store.thread_query import ThreadQuery
from app_server.store.turn_pages import TurnPageRequest, page_for_request

BASE_MS = 1_790_000_000_000
RARE_TERM = "quokka"
COMMON_TERM = "usual things"
LINES_PER_FLUSH = 10
_STEMS = "file test error build thread index store turn line model query page cursor writer lease"
VOCABULARY = [stem + suffix for stem in _STEMS.split() for suffix in ("", "s", "ed", "_id", "42")]
"""Words of the bench's messages (75): picked at random, so the text compresses about as
much as prose does, not as a repeated phrase would."""


def thread_id(number: int) -> str:
    return f"01a20000-0000-7000-8000-{number:012x}"


def template() -> ThreadRecord:
    return ThreadRecord(
        id="",
        session_id="",
        rollout_path="",
        created_at_ms=0,
        updated_at_ms=0,
        recency_at_ms=0,
        source="vscode",
        thread_source=None,
        parent_thread_id=None,
        forked_from_id=None,
        attached_to_thread_id=None,
        model_provider="openai",
        model="gpt-5",
        reasoning_effort=None,
        cwd="/work",
        title="",
        preview="",
        first_user_message="",
        name=None,
        approval_mode="on-request",
        sandbox_policy="",
        tokens_used=0,
        has_user_event=True,
        archived=False,
        archived_at_ms=None,
        git_sha=None,
        git_branch=None,
        git_origin_url=None,
        cli_version="0.1.0",
        agent_nickname=None,
        agent_role=None,
        agent_path=None,
        history_mode="paginated",
        originator="bench",
        memory_mode="enabled",
        last_turn_started_at_ms=None,
    )


async def populate(pool: asyncpg.Pool, count: int) -> None:
    """`count` listed threads with two searchable messages each (one holds the rare term)."""
    base = template()
    rows: list[tuple[Any, ...]] = []
    messages: list[tuple[str, int, str]] = []
    for number in range(count):
        tid = thread_id(number)
        moment = BASE_MS + number * 1000
        text = f"thread {number}: let us talk about the {COMMON_TERM}"
        record = replace(
            base,
            id=tid,
            session_id=tid,
            rollout_path=f"sessions/2026/01/01/rollout-{tid}.jsonl",
            created_at_ms=moment,
            updated_at_ms=moment,
            recency_at_ms=moment,
            title=text,
            preview=text,
            first_user_message=text,
        )
        rows.append((*record_values(record), 4, 1000))
        rare = f" and a {RARE_TERM}" if number == count // 2 else ""
        messages.append((tid, 0, text))
        messages.append((tid, 1, f"answer {number} about the {COMMON_TERM}{rare}"))
    columns = [*RECORD_FIELDS, "source_kind", "line_count", "byte_size"]
    async with pool.acquire() as connection:
        await connection.copy_records_to_table("threads", records=rows, columns=columns)
        await connection.copy_records_to_table(
            "thread_messages", records=messages, columns=["thread_id", "seq", "text"]
        )
        await connection.execute("ANALYZE threads; ANALYZE thread_messages")


async def timed(runs: int, operation: Callable[[], Awaitable[object]]) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await operation()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"p50 {statistics.median(samples):7.2f} ms, p95 {p95:7.2f} ms"


def session_meta(thread_id: str) -> dict[str, Any]:
    """The first line of a benchmark thread (paginated)."""
    return {
        "type": "session_meta",
        "payload": {
            "id": thread_id,
            "timestamp": "2026-01-01T00:00:00.000Z",
            "cwd": "/work",
            "source": "vscode",
            "model_provider": "openai",
            "history_mode": "paginated",
        },
    }


async def flush_samples(store: ThreadStore, runs: int) -> list[float]:
    """Time of appending `LINES_PER_FLUSH` lines and flushing them, `runs` times."""
    tid = str(uuid.uuid4())
    writer = await store.create_writer(tid, created_at_ms=BASE_MS, history_mode="paginated")
    writer.append([session_meta(tid)])  # type: ignore[list-item]
    await writer.flush()
    line = {"type": "event_msg", "payload": {"type": "agent_message", "message": "x" * 200}}
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        writer.append([line] * LINES_PER_FLUSH)  # type: ignore[list-item]
        await writer.flush()
        samples.append((time.perf_counter() - started) * 1000)
    await writer.close()
    return samples


def turn_lines(thread: str, number: int) -> list[dict[str, Any]]:
    """One paginated turn as a writer is given it: started, user and agent items, complete."""
    turn = f"01a30000-0000-7000-8000-{number:012x}"
    words = random.Random(number).choices(VOCABULARY, k=150)
    text = f"turn {number}: " + " ".join(words)

    def item(kind: str, item_id: str, content: str) -> dict[str, Any]:
        return {"type": kind, "id": item_id, "content": [{"type": content, "text": text}]}

    def completed(value: dict[str, Any]) -> dict[str, Any]:
        event = {"type": "item_completed", "thread_id": thread, "turn_id": turn, "item": value}
        return {"type": "event_msg", "payload": event}

    return [
        {"type": "event_msg", "payload": {"type": "task_started", "turn_id": turn}},
        completed(item("UserMessage", f"u-{number}", "text")),
        completed(item("AgentMessage", f"a-{number}", "Text")),
        {"type": "event_msg", "payload": {"type": "task_complete", "turn_id": turn}},
    ]


async def turns_list_samples(store: PostgresThreadStore, turns: int, runs: int) -> None:
    """`thread/turns/list` pages of a `turns`-turn thread: indexed vs the whole fold."""
    tid = str(uuid.uuid4())
    writer = await store.create_writer(tid, created_at_ms=BASE_MS, history_mode="paginated")
    writer.append([session_meta(tid)])  # type: ignore[list-item]
    for number in range(turns):
        writer.append(turn_lines(tid, number))  # type: ignore[arg-type]
        if number % 50 == 49:
            await writer.flush()
    await writer.close()
    newest = TurnPageRequest(limit=25)
    deep = newest
    for _ in range(20):
        page = await store.turn_page(tid, deep)
        deep = TurnPageRequest(limit=25, cursor=page.next_cursor)

    async def whole_fold() -> object:
        history = await store.read_history(tid)
        return page_for_request(tid, history.turns, history_mode="paginated", request=newest)

    first = await timed(runs, lambda: store.turn_page(tid, newest))
    print(f"thread/turns/list newest page ({turns:,} turns), indexed: {summary(first)}")
    later = await timed(runs, lambda: store.turn_page(tid, deep))
    print(f"thread/turns/list page 21 ({turns:,} turns), indexed:     {summary(later)}")
    folded = await timed(max(1, runs // 10), whole_fold)
    print(f"thread/turns/list page by whole-history fold:         {summary(folded)}")
    line_count = await store.pool.fetchval("SELECT line_count FROM threads WHERE id = $1", tid)
    started = time.perf_counter()
    async with store.pool.acquire() as connection, connection.transaction():
        before, after = await compress_lines(connection, tid, line_count)
    seconds = time.perf_counter() - started
    print(
        f"cold history: {before:,} bytes of lines -> {after:,} compressed"
        f" ({before / after:.1f}x) in {seconds * 1000:.0f} ms"
    )
    cold = await timed(runs, lambda: store.turn_page(tid, newest))
    print(f"thread/turns/list newest page, compressed thread:     {summary(cold)}")
    cold_deep = await timed(runs, lambda: store.turn_page(tid, deep))
    print(f"thread/turns/list page 21, compressed thread:         {summary(cold_deep)}")


async def main_async(dsn: str, count: int, runs: int, turns: int) -> None:
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    store = PostgresThreadStore(dsn, schema=schema, compression=CompressionSettings(enabled=False))
    await store.start()
    try:
        started = time.perf_counter()
        await populate(store.pool, count)
        print(f"populated {count:,} threads in {time.perf_counter() - started:.1f} s")
        first = await store.list_threads(ThreadQuery())
        listing = await timed(runs, lambda: store.list_threads(ThreadQuery()))
        print(f"thread/list first page:    {summary(listing)}")
        deep = ThreadQuery(cursor=first.next_cursor)
        for _ in range(100):
            page = await store.list_threads(deep)
            deep = ThreadQuery(cursor=page.next_cursor)
        deep_times = await timed(runs, lambda: store.list_threads(deep))
        print(f"thread/list page 101:      {summary(deep_times)}")
        rare = await store.search_threads(ThreadQuery(), RARE_TERM)
        assert len(rare.page.records) == 1, rare
        rare_times = await timed(runs, lambda: store.search_threads(ThreadQuery(), RARE_TERM))
        print(f"thread/search rare term:   {summary(rare_times)}")
        common = await timed(runs, lambda: store.search_threads(ThreadQuery(), COMMON_TERM))
        print(f"thread/search common term: {summary(common)}")
        postgres = await flush_samples(store, runs)
        await turns_list_samples(store, turns, runs)
    finally:
        await store.close()
        connection = await asyncpg.connect(dsn)
        await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await connection.close()
    with tempfile.TemporaryDirectory() as temp:
        local_store = LocalThreadStore(Path(temp) / "data")
        await local_store.start()
        try:
            local = await flush_samples(local_store, runs)
        finally:
            await local_store.close()
    print(f"flush of {LINES_PER_FLUSH} lines, PostgreSQL: {summary(postgres)}")
    print(f"flush of {LINES_PER_FLUSH} lines, local:      {summary(local)}")
    added = statistics.median(postgres) - statistics.median(local)
    print(f"flush added by PostgreSQL: {added:+.2f} ms p50")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", default=os.environ.get("APP_SERVER_TEST_PG_DSN"))
    parser.add_argument("--threads", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--turns", type=int, default=1000)
    args = parser.parse_args()
    if not args.dsn:
        parser.error("no database: pass --dsn or set APP_SERVER_TEST_PG_DSN")
    asyncio.run(main_async(args.dsn, args.threads, args.runs, args.turns))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
