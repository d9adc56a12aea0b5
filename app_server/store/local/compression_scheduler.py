"""`CompressionScheduler`: when the local store runs the compression worker, and what follows.

- One background run when the store starts (if enabled): fire-and-forget, so neither startup
  nor any request waits for it (all its file work happens in worker threads). It begins once
  the store's first reconciliation scan is over: both walk the trees, and a file compressed
  under a scan that is folding it would only be refolded by the next one.
- Forced runs on request (`rollout/compress`): they ignore the run marker's age but still take
  the maintenance lock, and wait for a run already in progress instead of colliding with it.
- After each compressed file, the thread's rollout stamp in the index is swapped from the plain
  file's to the `.zst`'s (same content, same mtime), so the next background rescan does not
  refold a file whose content did not change.
- `close` cancels every run; the worker then stops at the next chunk and removes its marker.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from app_server.store.compression_report import CompressionReport
from app_server.store.local.compression_worker import (
    CompressionSettings,
    ThreadClaims,
    run_compression,
)
from app_server.store.local.index_db import RolloutStamp, ThreadIndex, replace_stamp
from app_server.store.local.rollout_compressor import CompressResult

log = logging.getLogger(__name__)


class CompressionScheduler:
    """Compression runs of one store's data dir (see the module docstring)."""

    def __init__(
        self,
        data_dir: Path,
        settings: CompressionSettings,
        claims: ThreadClaims,
        index: Callable[[], ThreadIndex],
    ) -> None:
        self.settings = settings
        self._data_dir = data_dir
        self._claims = claims
        self._index = index
        self._one_at_a_time = asyncio.Lock()
        self._tasks: set[asyncio.Task[CompressionReport]] = set()

    def start(self, *, after: asyncio.Future[object] | None = None) -> None:
        """Schedule the startup run (if enabled) to begin when `after` is done; returns at once."""
        if self.settings.enabled:
            self._spawn(force=False, after=after)

    async def run(self, *, force: bool = False) -> CompressionReport:
        """Run now (after a run in progress) and return its report.

        The run continues if the caller is cancelled (only `close` stops it). Raises what the
        run raised; the startup run logs its failures instead.
        """
        if not self.settings.enabled:
            return CompressionReport(skipped_run="disabled")
        return await asyncio.shield(self._spawn(force=force))

    async def close(self) -> None:
        """Cancel every run and wait until they have let go of files and locks."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _spawn(
        self, *, force: bool, after: asyncio.Future[object] | None = None
    ) -> asyncio.Task[CompressionReport]:
        task = asyncio.create_task(self._run(force=force, after=after), name="rollout compression")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(_log_failure)
        return task

    async def _run(self, *, force: bool, after: asyncio.Future[object] | None) -> CompressionReport:
        if after is not None:
            await asyncio.wait([after])  # its outcome is its owner's business
        async with self._one_at_a_time:
            return await run_compression(
                self._data_dir,
                min_age_seconds=self.settings.min_age_seconds,
                force=force,
                claims=self._claims,
                on_compressed=self._compressed,
            )

    async def _compressed(self, thread_id: str, result: CompressResult) -> None:
        old = RolloutStamp(thread_id, result.plain_bytes, result.mtime_ns)
        new = RolloutStamp(thread_id, result.compressed_bytes, result.mtime_ns)
        await replace_stamp(self._index(), old, new)


def _log_failure(task: asyncio.Task[CompressionReport]) -> None:
    """Nobody awaits the startup run (nor a forced run whose caller went away): log here."""
    if not task.cancelled() and (error := task.exception()) is not None:
        log.error("rollout compression failed", exc_info=error)
