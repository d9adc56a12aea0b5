"""One run of the cold-rollout compression worker over a data dir (STORAGE.md §6).

A run, as codex 0.169 does it when `features.local_thread_store_compression` is on:

1. take the run marker `.tmp/rollout-compression.lock` (`O_CREAT|O_EXCL`, content
   `pid=<pid> started_at=<time>`): if it exists and is younger than `MARKER_MAX_AGE_SECONDS`
   the run is skipped (`force` ignores its age); an older one is replaced. It is left in place
   when the run succeeds, so a data dir is walked at most once per 6 h however often servers
   start, and removed when the run fails or is cancelled, so the next start tries again;
2. take `.tmp/rollout-maintenance.lock` (exclusive non-blocking flock; busy ⇒ skip the run);
3. remove stale `*.tmp` files (crashed compressions/materializations) under both roots;
4. walk `archived_sessions/` then `sessions/` for plain `rollout-*.jsonl` files whose mtime is
   at least `min_age_seconds` old and compress them (`rollout_compressor`), at most
   `MAX_CONCURRENT_FILES` at once, stopping after `MAX_RUNTIME_SECONDS`.

Live threads are never touched. How 0.169 ensures that is unverified (§6: "[UNSURE: via writer
lock]"); here it is the writer lock. Each file is compressed while holding its thread's lock
(`writer_lock.ThreadWriterLock`) for the whole compress-publish-delete sequence; a held lock
(`ThreadWriterBusy`) skips the file as "live". `RolloutWriter.open` takes the same lock before
it materializes the file, so a compressor and a writer of one thread exclude each other, in this
process and across processes (flock belongs to an open file description). The age is checked
again once the lock is held: a writer that appended and closed since the walk made it warm.
Inside one process, `ThreadClaims` (the store's `WriterGate`) additionally keeps the worker
away from threads whose writer is open or opening, and makes such an opener wait for the file
being compressed instead of failing with "already has an active writer".

A file that fails with an I/O error is logged, counted in `failed` and left plain; the run goes
on (and counts as successful). Every file operation runs in worker threads; the coroutines here
only schedule them.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, Protocol

from msgspec import Struct

from app_server.config.defaults import DEFAULT_ROLLOUT_MIN_AGE_DAYS
from app_server.durable_files import write_all
from app_server.store.compression_report import (
    CompressionReport,
    FileSkipReason,
    RunSkipReason,
)
from app_server.store.local.materialize import MAINTENANCE_LOCK
from app_server.store.local.rollout_compressor import (
    CompressOutcome,
    CompressResult,
    compress_rollout,
)
from app_server.store.local.rollout_files import (
    ARCHIVED_SESSIONS_DIR,
    SESSIONS_DIR,
    RolloutFile,
    iter_rollout_files,
)
from app_server.store.local.writer_lock import ThreadWriterBusy, ThreadWriterLock

log = logging.getLogger(__name__)

RUN_MARKER = Path(".tmp", "rollout-compression.lock")
"""The run marker, relative to the data dir."""

MARKER_MAX_AGE_SECONDS = 6 * 3600
"""A run marker younger than this skips a (non-forced) run: each run walks both trees (one
`stat` per rollout), so this bounds that cost to one walk per 6 h per data dir."""

STALE_TEMP_SECONDS = 6 * 3600
"""`*.tmp` files unchanged for at least this long are leftovers of crashed compressions or
materializations and are removed; younger ones may belong to an operation in flight. "Unchanged"
is judged by the ctime, not the mtime: both operations copy the rollout's (old) mtime onto their
temp before publishing it, and the sweep does not hold the thread's writer lock."""

MAX_RUNTIME_SECONDS = 5 * 3600
"""A run starts no new file after this long (the file in progress finishes), so a huge backlog
is spread over several runs instead of keeping the maintenance lock for ever."""

MAX_CONCURRENT_FILES = 2
"""Files compressed at once: each costs one core for zstd and a few MiB of buffers; more would
compete with turns for CPU and disk."""

SECONDS_PER_DAY = 86_400

DEFAULT_MIN_AGE_SECONDS = DEFAULT_ROLLOUT_MIN_AGE_DAYS * SECONDS_PER_DAY
"""A rollout whose mtime is at least this old is cold (config `rollout_compression.min_age_days`,
whose default says why)."""


class CompressionSettings(Struct, frozen=True):
    """Whether a store compresses cold rollouts, and from which age."""

    enabled: bool = True
    min_age_seconds: float = DEFAULT_MIN_AGE_SECONDS


class ThreadClaims(Protocol):
    """In-process coordination with the thread's writers (the store's `WriterGate`)."""

    def try_claim(self, thread_id: str) -> bool:
        """Reserve the thread for compression; False if a writer is open or opening."""
        ...

    def release(self, thread_id: str) -> None:
        """End a reservation made by `try_claim`."""
        ...


OnCompressed = Callable[[str, CompressResult], Awaitable[None]]
"""Called (on the event loop) after a thread's rollout was compressed, e.g. to update the
index's rollout stamp. An exception fails the run."""


class _Candidate(Struct, frozen=True):
    thread_id: str
    path: Path


async def run_compression(
    data_dir: Path,
    *,
    min_age_seconds: float = DEFAULT_MIN_AGE_SECONDS,
    force: bool = False,
    claims: ThreadClaims | None = None,
    on_compressed: OnCompressed | None = None,
    max_runtime_seconds: float = MAX_RUNTIME_SECONDS,
    clock: Callable[[], float] = time.time,
) -> CompressionReport:
    """One run (see the module docstring). `clock` is the wall clock ages are measured with."""
    started = time.monotonic()
    report = CompressionReport()
    guard = await asyncio.to_thread(RunGuard.take, data_dir, force=force, now=clock())
    if isinstance(guard, str):
        report.skipped_run = guard
        log.info("rollout compression skipped: %s", guard)
        return report
    succeeded = False
    try:
        report.stale_temps_removed = await asyncio.to_thread(
            remove_stale_temps, data_dir, now=clock()
        )
        candidates = await asyncio.to_thread(
            _list_cold, data_dir, clock() - min_age_seconds, report
        )
        run = _Run(data_dir, min_age_seconds, claims, on_compressed, clock, report)
        await run.compress_all(candidates, deadline=started + max_runtime_seconds)
        succeeded = True
    finally:
        report.seconds = time.monotonic() - started
        await asyncio.shield(asyncio.to_thread(guard.finish, succeeded=succeeded))
    log.info("rollout compression: %s", report)
    return report


class RunGuard:
    """The run marker and the maintenance lock of one run (blocking; worker threads)."""

    def __init__(self, marker: Path, lock_fd: int) -> None:
        self.marker = marker
        self._lock_fd: int | None = lock_fd

    @classmethod
    def take(cls, data_dir: Path, *, force: bool, now: float) -> RunGuard | RunSkipReason:
        """Create the marker (replacing a stale one) and lock maintenance, or say why not."""
        marker = data_dir / RUN_MARKER
        marker.parent.mkdir(parents=True, exist_ok=True)
        if not _create_marker(marker, now):
            if not force and _is_fresh(marker, now):
                return "marker"
            marker.unlink(missing_ok=True)
            if not _create_marker(marker, now):
                return "marker"  # another process replaced it first
        try:
            lock_fd = os.open(
                data_dir / MAINTENANCE_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644
            )
        except BaseException:
            marker.unlink(missing_ok=True)
            raise
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lock_fd)
            marker.unlink(missing_ok=True)
            return "maintenance_busy"
        return cls(marker, lock_fd)

    def finish(self, *, succeeded: bool) -> None:
        """Release the maintenance lock; keep the marker only after a successful run."""
        if not succeeded:
            self.marker.unlink(missing_ok=True)
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # drops the flock
            self._lock_fd = None


def _create_marker(marker: Path, now: float) -> bool:
    try:
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    except FileExistsError:
        return False
    try:
        started_at = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        write_all(fd, f"pid={os.getpid()} started_at={started_at}\n".encode())
    finally:
        os.close(fd)
    return True


def _is_fresh(marker: Path, now: float) -> bool:
    """Younger than `MARKER_MAX_AGE_SECONDS`. A marker from the future (the clock went back)
    counts as stale, so a wrong clock cannot block compression for long."""
    try:
        age = now - marker.stat().st_mtime
    except FileNotFoundError:
        return False
    return 0 <= age < MARKER_MAX_AGE_SECONDS


def remove_stale_temps(data_dir: Path, *, now: float) -> int:
    """Remove `*.tmp` files unchanged (ctime) for `STALE_TEMP_SECONDS` under both roots; how
    many."""
    removed = 0
    for root in (data_dir / ARCHIVED_SESSIONS_DIR, data_dir / SESSIONS_DIR):
        for directory, _, names in os.walk(root):
            for name in names:
                if not name.endswith(".tmp"):
                    continue
                path = Path(directory, name)
                with contextlib.suppress(FileNotFoundError):
                    if now - path.lstat().st_ctime >= STALE_TEMP_SECONDS:
                        path.unlink()
                        removed += 1
                        log.info("removed stale temp file %s", path)
    return removed


def _list_cold(data_dir: Path, cold_before: float, report: CompressionReport) -> list[_Candidate]:
    """Plain rollouts with mtime <= `cold_before`, `archived_sessions/` first (worker thread).

    Counts every plain rollout in `report.files_seen` and the warm ones as skipped "recent".
    """
    cold: list[_Candidate] = []
    for rollout in _archived_first(data_dir):
        if rollout.compressed:
            continue
        report.files_seen += 1
        try:
            mtime = rollout.path.stat().st_mtime
        except FileNotFoundError:
            report.skip("missing")
            continue
        if mtime <= cold_before:
            cold.append(_Candidate(rollout.thread_id, rollout.path))
        else:
            report.skip("recent")
    return cold


def _archived_first(data_dir: Path) -> Iterator[RolloutFile]:
    rollouts = list(iter_rollout_files(data_dir))
    yield from (r for r in rollouts if r.archived)
    yield from (r for r in rollouts if not r.archived)


_SKIP_REASONS: dict[CompressOutcome, FileSkipReason] = {
    CompressOutcome.EXISTS: "exists",
    CompressOutcome.CHANGED: "changed",
    CompressOutcome.MISSING: "missing",
    CompressOutcome.VERIFY_FAILED: "verify_failed",
    CompressOutcome.STOPPED: "stopped",
}

_FileOutcome = CompressResult | Literal["live", "recent"]


def compress_if_cold(
    data_dir: Path, candidate: _Candidate, cold_before: float, stop: threading.Event
) -> _FileOutcome:
    """Under the thread's writer lock: re-check the age, then compress (worker thread)."""
    lock = ThreadWriterLock(data_dir, candidate.thread_id)
    try:
        lock.acquire_blocking()
    except ThreadWriterBusy:
        return "live"
    try:
        try:
            mtime = candidate.path.stat().st_mtime
        except FileNotFoundError:
            return CompressResult(CompressOutcome.MISSING)
        if mtime > cold_before:
            return "recent"  # appended to since the walk
        return compress_rollout(candidate.path, stop=stop)
    finally:
        lock.release_blocking()


class _Run:
    """The per-file part of one run: bounded concurrency, claims, report, callbacks."""

    def __init__(
        self,
        data_dir: Path,
        min_age_seconds: float,
        claims: ThreadClaims | None,
        on_compressed: OnCompressed | None,
        clock: Callable[[], float],
        report: CompressionReport,
    ) -> None:
        self._data_dir = data_dir
        self._min_age_seconds = min_age_seconds
        self._claims = claims
        self._on_compressed = on_compressed
        self._clock = clock
        self._report = report
        self._stop = threading.Event()

    async def compress_all(self, candidates: list[_Candidate], *, deadline: float) -> None:
        """Compress the candidates in order, `MAX_CONCURRENT_FILES` at a time."""
        pending = iter(candidates)

        async def lane() -> None:
            for candidate in pending:  # shared: each candidate goes to one lane
                if time.monotonic() >= deadline:
                    self._report.timed_out = True
                    return
                await self._one(candidate)

        lanes = [asyncio.create_task(lane()) for _ in range(MAX_CONCURRENT_FILES)]
        try:
            await asyncio.gather(*lanes)
        finally:
            self._stop.set()  # only matters when we leave early (failure, cancellation)
            for task in lanes:
                task.cancel()
            await asyncio.gather(*lanes, return_exceptions=True)

    async def _one(self, candidate: _Candidate) -> None:
        thread_id = candidate.thread_id
        if self._claims is not None and not self._claims.try_claim(thread_id):
            self._report.skip("live")
            return
        try:
            outcome = await self._compress(candidate)
        finally:
            if self._claims is not None:
                self._claims.release(thread_id)
        if outcome is None:
            return
        if isinstance(outcome, str):
            self._report.skip(outcome)
            return
        if outcome.outcome is not CompressOutcome.COMPRESSED:
            self._report.skip(_SKIP_REASONS[outcome.outcome])
            return
        self._report.compressed += 1
        self._report.bytes_before += outcome.plain_bytes
        self._report.bytes_after += outcome.compressed_bytes
        if self._on_compressed is not None:
            await self._on_compressed(thread_id, outcome)

    async def _compress(self, candidate: _Candidate) -> _FileOutcome | None:
        """The file's blocking work in a worker thread; None if it failed (logged, counted).

        When cancelled, the worker thread is told to stop and awaited (it stops at the next
        chunk, or finishes a publish already under way), so the thread's writer lock and our
        claim are released only once no file operation is left in flight.
        """
        cold_before = self._clock() - self._min_age_seconds
        work = asyncio.ensure_future(
            asyncio.to_thread(compress_if_cold, self._data_dir, candidate, cold_before, self._stop)
        )
        try:
            return await asyncio.shield(work)
        except asyncio.CancelledError:
            self._stop.set()
            await asyncio.wait([work])
            raise
        except OSError as error:
            log.warning("could not compress %s: %s", candidate.path, error)
            self._report.failed += 1
            return None
