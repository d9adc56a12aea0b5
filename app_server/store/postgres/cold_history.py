"""Cold history of the PostgreSQL store: zstd-compressed batches of a quiet thread's lines.

A thread not written for `min_age_days` (config `[rollout_compression]`, the local store's
setting, `compression_config.py`) has its plain lines (`rollout_lines`) replaced by batches of
consecutive lines (`rollout_batches`: about `BATCH_BYTES` of text each, with their newlines, as
one zstd frame), in one transaction per thread: a reader's statement sees either the lines or
their batches (`lines.py` reads both tables in one statement), so reads, resumes and exports are
unchanged, byte for byte. Rollout text compresses several-fold with zstd, where PostgreSQL's
own compression of long values (pglz, only values over 2 KiB) saves far less on short lines.

Safe beside writers and other processes:
- a writer is never blocked: a pass never locks a thread's row, and only moves lines below the
  thread's `line_count` as it read it, which no writer touches again (appends go above it);
- a thread whose writer lease is held is left alone (`live`), as the local worker leaves a
  thread with an open writer; one written since the candidates were listed is left (`recent`);
- one pass at a time across processes: a pass holds a database-wide advisory lock
  (`COLD_RUN_LOCK_KEY`) on a connection of its own, and another process finding it taken skips
  its pass (`maintenance_busy`); each thread is moved under its own transaction-level lock too,
  so a pass whose lock connection was lost cannot collide with the next one;
- each batch is decompressed and compared with the lines before the transaction commits.

`ColdHistory` runs a pass in the background `START_DELAY_SECONDS` after the store starts and
every `RUN_INTERVAL_SECONDS` after that, and on request (`rollout/compress`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import Final

import asyncpg
import zstandard
from msgspec import Struct

from app_server.store.compression_report import CompressionReport
from app_server.store.local.compression_worker import MAX_RUNTIME_SECONDS, CompressionSettings
from app_server.store.local.rollout_compressor import ZSTD_LEVEL
from app_server.store.postgres.connect import CONNECTION_ERRORS, Connection
from app_server.store.postgres.thread_ops import LEASE_FREE

log = logging.getLogger(__name__)

BATCH_BYTES: Final = 256 * 1024
"""Text bytes per batch. A larger batch compresses a little better but a page of
`thread/turns/list` that needs one of its lines expands it all (256 KiB: ~0.3 ms of zstd)."""
START_DELAY_SECONDS: Final = 60.0
"""The first background pass waits this long after start, so it never competes with the
start-up of the process (or of a fleet of processes) for the database."""
RUN_INTERVAL_SECONDS: Final = 6 * 3600.0
"""Background passes repeat this often: each lists the quiet threads still holding plain lines
(one index scan of `threads`), cheap but pointless more often, as threads turn cold by days."""
COLD_RUN_LOCK_KEY: Final = 0x61707073_636F6C64
"""The advisory-lock key of a compression pass (`apps` `cold` in ASCII)."""
_THREAD_LOCK_SQL: Final = "hashtextextended('app-server-cold:' || $1, 0)"

_CANDIDATES: Final = (
    "SELECT t.id FROM threads AS t WHERE t.line_count > 0 AND t.updated_at_ms <= $1"
    " AND EXISTS (SELECT 1 FROM rollout_lines AS r WHERE r.thread_id = t.id)"
    " ORDER BY t.updated_at_ms, t.id"
)


class Batch(Struct, frozen=True):
    """A compressed run of consecutive lines, as stored in `rollout_batches`."""

    first_seq: int
    line_count: int
    first_offset: int
    byte_count: int
    data: bytes


def make_batches(rows: Sequence[tuple[int, int, str]]) -> list[Batch]:
    """Compress `(seq, byte_offset, text)` lines (in seq order) into batches of consecutive
    lines of about `BATCH_BYTES` each, each checked by decompressing it (blocking)."""
    compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
    batches: list[Batch] = []
    run: list[bytes] = []
    first_seq = first_offset = next_seq = next_offset = 0
    size = 0

    def close_run() -> None:
        if not run:
            return
        raw = b"".join(run)
        data = compressor.compress(raw)
        if zstandard.ZstdDecompressor().decompress(data) != raw:
            raise ValueError("a compressed batch does not decompress to its lines")
        batches.append(Batch(first_seq, len(run), first_offset, len(raw), data))
        run.clear()

    for seq, offset, text in rows:
        if run and (seq != next_seq or offset != next_offset or size >= BATCH_BYTES):
            close_run()
        if not run:
            first_seq, first_offset, size = seq, offset, 0
        encoded = text.encode() + b"\n"
        run.append(encoded)
        size += len(encoded)
        next_seq, next_offset = seq + 1, offset + len(encoded)
    close_run()
    return batches


async def compress_lines(connection: Connection, thread_id: str, below_seq: int) -> tuple[int, int]:
    """Replace the thread's plain lines below `below_seq` by batches; call in a transaction.
    Returns `(text bytes, compressed bytes)` moved (`(0, 0)`: nothing to move)."""
    rows = await connection.fetch(
        "SELECT seq, byte_offset, line FROM rollout_lines WHERE thread_id = $1 AND seq < $2"
        " ORDER BY seq",
        thread_id,
        below_seq,
    )
    if not rows:
        return 0, 0
    lines = [(row["seq"], row["byte_offset"], row["line"]) for row in rows]
    batches = await asyncio.to_thread(make_batches, lines)
    await connection.execute(
        "INSERT INTO rollout_batches (thread_id, first_seq, line_count, first_offset,"
        " byte_count, data) SELECT $1, s, n, o, b, d FROM unnest($2::bigint[], $3::integer[],"
        " $4::bigint[], $5::bigint[], $6::bytea[]) AS u(s, n, o, b, d)",
        thread_id,
        [batch.first_seq for batch in batches],
        [batch.line_count for batch in batches],
        [batch.first_offset for batch in batches],
        [batch.byte_count for batch in batches],
        [batch.data for batch in batches],
    )
    deleted = await connection.execute(
        "DELETE FROM rollout_lines WHERE thread_id = $1 AND seq = ANY($2::bigint[])",
        thread_id,
        [seq for seq, _, _ in lines],
    )
    if deleted != f"DELETE {len(lines)}":
        raise ValueError(f"thread {thread_id}: its lines changed while being compressed")
    return sum(batch.byte_count for batch in batches), sum(len(batch.data) for batch in batches)


async def compress_cold_threads(
    pool: asyncpg.Pool, min_age_seconds: float, *, max_runtime: float = MAX_RUNTIME_SECONDS
) -> CompressionReport:
    """One pass over the threads quiet for `min_age_seconds` (module docstring)."""
    started = time.monotonic()
    report = CompressionReport()
    lock_connection = await pool.acquire()
    try:
        if not await lock_connection.fetchval("SELECT pg_try_advisory_lock($1)", COLD_RUN_LOCK_KEY):
            return CompressionReport(skipped_run="maintenance_busy")
        try:
            cutoff = int((time.time() - min_age_seconds) * 1000)
            candidates = [row["id"] for row in await pool.fetch(_CANDIDATES, cutoff)]
            report.files_seen = len(candidates)
            for thread_id in candidates:
                if time.monotonic() - started > max_runtime:
                    report.timed_out = True
                    break
                await _compress_one(pool, thread_id, cutoff, report)
        finally:
            with contextlib.suppress(*CONNECTION_ERRORS, asyncpg.PostgresError):
                await lock_connection.execute("SELECT pg_advisory_unlock($1)", COLD_RUN_LOCK_KEY)
    finally:
        with contextlib.suppress(asyncpg.InterfaceError):
            await pool.release(lock_connection)
    report.seconds = time.monotonic() - started
    return report


async def _compress_one(
    pool: asyncpg.Pool, thread_id: str, cutoff_ms: int, report: CompressionReport
) -> None:
    try:
        async with pool.acquire() as connection, connection.transaction():
            locked = await connection.fetchval(
                f"SELECT pg_try_advisory_xact_lock({_THREAD_LOCK_SQL})", thread_id
            )
            row = await connection.fetchrow(
                f"SELECT line_count, updated_at_ms, {LEASE_FREE} AS free FROM threads"
                " WHERE id = $1",
                thread_id,
            )
            if row is None:
                report.skip("missing")
                return
            if not locked or not row["free"]:
                report.skip("live")
                return
            if row["updated_at_ms"] > cutoff_ms:
                report.skip("recent")
                return
            before, after = await compress_lines(connection, thread_id, row["line_count"])
    except ValueError as error:
        log.warning("cold history: %s", error)
        report.skip("changed")
        return
    except asyncpg.PostgresError as error:
        log.warning("cold history: compressing thread %s failed: %s", thread_id, error)
        report.failed += 1
        return
    if before:
        report.compressed += 1
        report.bytes_before += before
        report.bytes_after += after


class ColdHistory:
    """The background and requested compression passes of one store (module docstring)."""

    def __init__(self, pool: asyncpg.Pool, settings: CompressionSettings) -> None:
        self.settings = settings
        self._pool = pool
        self._one_at_a_time = asyncio.Lock()
        self._background: asyncio.Task[None] | None = None

    def start(self, *, delay: float = START_DELAY_SECONDS) -> None:
        """Schedule the background passes (when enabled); returns at once."""
        if self.settings.enabled:
            self._background = asyncio.create_task(self._loop(delay), name="cold history")

    async def run(self) -> CompressionReport:
        """A pass now, after one in progress in this process (`disabled` when switched off)."""
        if not self.settings.enabled:
            return CompressionReport(skipped_run="disabled")
        async with self._one_at_a_time:
            return await compress_cold_threads(self._pool, self.settings.min_age_seconds)

    async def close(self) -> None:
        """Stop the background passes (a thread being moved rolls back: nothing is lost)."""
        if self._background is not None:
            self._background.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._background
            self._background = None

    async def _loop(self, delay: float) -> None:
        await asyncio.sleep(delay)
        while True:
            try:
                report = await self.run()
                log.info("cold history pass: %s", report)
            except (*CONNECTION_ERRORS, asyncpg.PostgresError) as error:
                log.warning("cold history pass failed: %s", error)
            await asyncio.sleep(RUN_INTERVAL_SECONDS)
