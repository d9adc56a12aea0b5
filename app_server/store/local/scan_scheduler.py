"""When the local store's reconciliation scans run, and how long a request waits for them.

`start()` hands the index to a `Reconciler` (`backfill`), which settles names and locations
from the files and indexes what other programs wrote. A cold index is scanned at once; a warm
one that every earlier process closed cleanly is rescanned only once requests pause, and a
background rescan pauses between its slices while requests come, so the first requests of a
session do not compete with it for the GIL. A listing waits for the settling (not after a clean
shutdown, when it reads the index only), gives the scan a moment more to finish, and triggers a
rescan now and then; a delete waits for the whole first scan.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path

from app_server.store.local.backfill import MetadataLocks, Reconciler
from app_server.store.local.clean_runs import forget_dead_runs
from app_server.store.local.index_db import ThreadIndex

log = logging.getLogger(__name__)

INITIAL_SCAN_WAIT_SECONDS = 2.0
"""How long a listing waits for the startup scan before answering from what is indexed so far:
small homes get complete answers from the first request, huge ones a fast partial page."""

RESCAN_INTERVAL_SECONDS = 5.0
"""A listing triggers a background rescan (for rollouts other programs wrote) at most this
often; each rescan costs one `stat` per rollout."""

STARTUP_RESCAN_QUIET_SECONDS = 0.3
"""The startup rescan of a complete index that every earlier process closed cleanly (nothing
to settle before listing) waits until no request has read the store for this long. Over
10,000 threads that rescan is ~0.5 s of walking and `stat`s in a worker thread, competing for
the GIL with the loop: the first requests of a session (a CLI lists right after spawning it)
took 10-40 ms instead of 1-2 ms while it ran. The cost: rollouts another program wrote while no
server ran show up this much later (a listing that is not index-only still waits for the
settling, and starts the rescan at once)."""

STARTUP_RESCAN_MAX_DELAY_SECONDS = 5.0
"""The deferred startup rescan (`STARTUP_RESCAN_QUIET_SECONDS`) starts at the latest this long
after the store did, even while requests keep coming."""

SCAN_SLICE_QUIET_SECONDS = 0.05
"""A rescan of a complete index that no request waits for pauses between its slices
(`backfill.SCAN_SLICE_FILES` files) until no request has read the store for this long: a slice
competes for the GIL with the requests it overlaps, so a burst of requests meets at most one."""

SCAN_SLICE_PAUSE_MAX_SECONDS = 1.0
"""The longest such a pause lasts, so that requests coming without a break cannot hold the
rescan up for ever (10,000 rollouts are ten slices)."""


class ScanScheduler:
    """Runs the store's scans and makes requests wait for them (see the module docstring)."""

    def __init__(
        self,
        data_dir: Path,
        index: Callable[[], ThreadIndex | None],
        writers: set[str],
        locks: MetadataLocks,
        run_key: str,
    ) -> None:
        """`index`: the store's index, None once it is closed; `writers`: the threads being
        written, which a scan leaves alone; `run_key`: this process's run (`clean_runs`)."""
        self._data_dir = data_dir
        self._index = index
        self._writers = writers
        self._locks = locks
        self._run_key = run_key
        self.reconciler: Reconciler | None = None
        self.task: asyncio.Task[object] | None = None
        """The scan running or last run."""
        self._clean_start = False
        """Whether every earlier process using the index shut down cleanly (`clean_runs`): an
        index-only listing then needs no wait for the startup scan's settling."""
        self._last_scan_started = 0.0
        self._last_read = 0.0
        """`loop.time()` of the last request that read the store (for the deferred rescan)."""
        self._scan_now = asyncio.Event()
        """Set when a deferred startup rescan must start at once (a listing waits for it)."""

    async def start(self, index: ThreadIndex, *, clean_start: bool) -> None:
        """Start the first scan of the index the store opened; `clean_start`: every earlier
        process closed it cleanly (`clean_runs.begin_run`)."""
        self._clean_start = clean_start
        self.reconciler = Reconciler(
            self._data_dir, index, self._writers.__contains__, self._locks, self._pace
        )
        deferred = False
        if (await index.backfill_state()).status == "complete":
            # A warm index already lists everything it last saw: serve it at once while the
            # scan looks for what changed since (once requests pause, after clean runs).
            self.reconciler.completed.set()
            deferred = clean_start
        self._schedule_scan(deferred=deferred)

    async def close(self) -> None:
        """Stop the scan that runs (its failures were logged)."""
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):  # failures were logged
                await self.task

    async def wait_until_scanned(self) -> None:
        """Wait for the first reconciliation scan (listings are complete after it)."""
        assert self.reconciler is not None
        await self.reconciler.completed.wait()

    def _schedule_scan(self, *, deferred: bool = False) -> None:
        """Start a scan unless one runs; `deferred`: once the store is quiet
        (`STARTUP_RESCAN_QUIET_SECONDS`)."""
        if self.reconciler is None or (self.task and not self.task.done()):
            return
        now = asyncio.get_running_loop().time()
        self._last_scan_started = self._last_read = now
        reconciler = self.reconciler
        scan = (
            self._when_quiet(reconciler, deadline=now + STARTUP_RESCAN_MAX_DELAY_SECONDS)
            if deferred
            else self._run_scan(reconciler)
        )
        self.task = asyncio.create_task(scan, name="rollout scan")

    async def _when_quiet(self, reconciler: Reconciler, *, deadline: float) -> object:
        """Scan once no request has read the store for `STARTUP_RESCAN_QUIET_SECONDS`,
        at `deadline`, or when `_scan_now` is set, whichever comes first."""
        await self._until_quiet(STARTUP_RESCAN_QUIET_SECONDS, deadline)
        self._last_scan_started = asyncio.get_running_loop().time()
        return await self._run_scan(reconciler)

    async def _pace(self) -> None:
        """Between two slices of a scan (`Reconciler`): a scan of a complete index that no
        listing waits for waits until requests pause (`SCAN_SLICE_QUIET_SECONDS`)."""
        reconciler = self.reconciler
        if reconciler is None or not reconciler.completed.is_set():
            return  # a first backfill: listings are incomplete until it ends
        deadline = asyncio.get_running_loop().time() + SCAN_SLICE_PAUSE_MAX_SECONDS
        await self._until_quiet(SCAN_SLICE_QUIET_SECONDS, deadline)

    async def _until_quiet(self, quiet: float, deadline: float) -> None:
        """Until no request has read the store for `quiet` seconds, `deadline` (loop time)
        passed, or a listing waits for the scan (`_scan_now`)."""
        loop = asyncio.get_running_loop()
        while not self._scan_now.is_set():
            wait = min(self._last_read + quiet, deadline) - loop.time()
            if wait <= 0:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._scan_now.wait(), wait)

    def touch(self) -> None:
        """A request reads the store now (defers the startup rescan, `_when_quiet`)."""
        self._last_read = asyncio.get_running_loop().time()

    async def _run_scan(self, reconciler: Reconciler) -> object:
        try:
            report = await reconciler.scan()
        except Exception:
            log.exception("rollout scan failed")
            reconciler.completed.set()
            return None
        index = self._index()
        if index is not None:  # what dead runs may have left stale is settled now
            try:
                await forget_dead_runs(index, self._run_key)
            except Exception:
                log.warning("could not forget the runs of dead processes", exc_info=True)
        return report

    async def wait_for_initial_scan(self, *, state_db_only: bool = False) -> None:
        """Wait until the startup scan has settled names and locations (a listing never shows
        a row a crash left stale), give it a moment more to finish (listings are complete
        after it), and rescan now and then for rollouts other programs wrote. An index-only
        listing after a clean shutdown skips the settling: no crash left anything to settle."""
        self.touch()
        reconciler = self.reconciler
        if reconciler is not None and not (state_db_only and self._clean_start):
            if not reconciler.located.is_set():
                self._scan_now.set()
            await reconciler.located.wait()
        if reconciler is not None and not reconciler.completed.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(reconciler.completed.wait(), INITIAL_SCAN_WAIT_SECONDS)
        loop = asyncio.get_running_loop()
        if loop.time() - self._last_scan_started > RESCAN_INTERVAL_SECONDS:
            self._schedule_scan()

    async def wait_for_complete_index(self) -> None:
        """Wait for the first scan to finish (started now if it was deferred): a tree's
        descendants are found through the index's parent links, and a child the scan has not
        indexed yet would be left behind, orphaned, by a delete sent right after start. A
        listing may answer from a partial index (`INITIAL_SCAN_WAIT_SECONDS`); a delete may not."""
        self.touch()
        reconciler = self.reconciler
        if reconciler is not None and not reconciler.completed.is_set():
            self._scan_now.set()
            await reconciler.completed.wait()
