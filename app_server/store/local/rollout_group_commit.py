"""How a rollout writer's lines reach the file: a writer task, one `write(2)` per batch.

`RolloutWriter` (`rollout_writer`) decides *what* is appended (the envelope, the ordinals) and
holds the writer lock; `GroupCommitAppender` here takes the encoded lines and gets them to the
disk, and says what a caller may rely on once they are there. It knows bytes and a descriptor,
nothing of the rollout format. Its half of the writer's contract (STORAGE.md §2.3, §10):

- **How lines reach the file.** The writer's `append` serializes each line (orjson, one object +
  `"\\n"`) and `enqueue`s it; it never blocks. One writer task takes everything queued and writes
  it with ONE `write(2)` call on an `O_WRONLY | O_APPEND | O_CREAT` descriptor (group commit), in
  a worker thread. The file (and its date folders) is created lazily by the first write: codex
  creates it with the first turn.
- **What is atomic, and what POSIX actually promises.** `O_APPEND` guarantees that each `write`
  positions at the current end of file and appends there, with no other modification in
  between: bytes of one call are contiguous and never overwrite anything. POSIX does *not*
  promise that a write to a regular file is all-or-nothing (`PIPE_BUF` atomicity is for pipes
  only): it may be short (disk full, file-size limit, or — on Linux — a fatal signal arriving
  while a multi-page write is copied). The writer then loops to write the rest, so a batch is
  written completely unless the process dies or an error occurs in between; in that case the
  file ends with a *prefix* of the batch, which may stop in the middle of a line. Because we
  are the only writer, such a cut is always at the very end of the file: a torn last line,
  never a hole or an interleaving. Concurrent readers may likewise observe a write in progress
  as a torn last line (how the next writer repairs it: `rollout_writer`).
- **What survives a crash.** Everything `flush` reported written is in the kernel and survives
  the process dying (SIGKILL included). Everything `sync`ed (fsync of the file and, after
  creation, of its directories) survives power loss or a kernel crash; unsynced data may be
  lost then, and some file systems may leave garbage at the end.
- **Errors.** A failed write or fsync is never lost: the `flush`/`sync` that waits for it raises
  `RolloutWriteError`, and so does every later `append`/`flush`/`sync` (the writer is then
  broken; after a failed fsync the kernel's page cache state is unknown, so it is not retried).
  `close` still releases the descriptor and the lock, then raises.
- **Backpressure.** `append` queues without bound; the agent flushes at turn boundaries and
  before answering approval requests (STORAGE.md §10), which bounds the queue to one turn's
  output.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections import deque
from pathlib import Path

from app_server.store.local.rollout_file_ops import create_file, fsync_all

logger = logging.getLogger(__name__)


class RolloutWriteError(Exception):
    """Writing or syncing the rollout failed; the writer is broken (see the module docstring)."""


class RolloutWriterClosed(RolloutWriteError):
    """The writer was closed (or is closing): nothing can be appended any more."""


class GroupCommitAppender:
    """Writes encoded lines to one file from a writer task, one `write(2)` a batch (module doc).

    Its owner (`RolloutWriter`) `enqueue`s lines and waits for them with `flush`/`sync`; to close
    it calls `begin_close` (appends refused from then on), `write_out` (everything queued written
    and fsynced) and then, whether or not that failed, `stop`. Use it from one event loop.
    """

    def __init__(self, *, path: Path, fd: int | None, size: int, task_name: str) -> None:
        """`fd`: the append descriptor of the existing file (None: created by the first write);
        `size`: the file's size, at a line boundary."""
        self.path = path
        """The plain `.jsonl` path (it may not exist before the first write)."""
        self._fd = fd
        self._dirs_to_sync: set[Path] = set()
        # Queue: encoded lines not yet handed to the writer task, in order.
        self._pending: list[bytes] = []
        self._enqueued = 0  # lines ever enqueued
        self._written = 0  # lines ever written (a prefix of the enqueued ones)
        # Written position, always at a line boundary (updated after each complete batch).
        self._written_size = size
        self._waiters: deque[tuple[int, asyncio.Future[None]]] = deque()
        self._wakeup = asyncio.Event()
        self._sync_lock = asyncio.Lock()
        self._error: BaseException | None = None
        self._closing = False
        self._task = asyncio.create_task(self._run(), name=task_name)

    # ---------------------------------------------------------------- state

    @property
    def written_lines(self) -> int:
        """Lines written so far (a prefix of the enqueued ones)."""
        return self._written

    @property
    def written_size(self) -> int:
        """Bytes of the file written so far, at a line boundary (excludes queued lines)."""
        return self._written_size

    @property
    def pending_lines(self) -> int:
        """Lines enqueued but not yet written."""
        return self._enqueued - self._written

    @property
    def closing(self) -> bool:
        """Whether `begin_close` was called."""
        return self._closing

    @property
    def failed(self) -> bool:
        """Whether a write or fsync failed (the appender is unusable)."""
        return self._error is not None

    # ---------------------------------------------------------------- writing

    def raise_if_unusable(self) -> None:
        """Raise `RolloutWriteError` if a write failed, `RolloutWriterClosed` once closing."""
        self._raise_if_broken()
        if self._closing:
            raise RolloutWriterClosed(f"rollout writer for {self.path} is closed")

    def enqueue(self, encoded: list[bytes]) -> None:
        """Queue encoded lines (in order) for the writer task; never blocks.

        The caller checks `raise_if_unusable` first (before it spends ordinals on the lines).
        """
        self._pending.extend(encoded)
        self._enqueued += len(encoded)
        self._wakeup.set()

    async def flush(self) -> None:
        """Wait until every line enqueued so far is written to the OS (survives a crash).

        Raises `RolloutWriteError` if a write failed.
        """
        self.raise_if_unusable()
        await self._wait_written(self._enqueued)

    async def sync(self) -> None:
        """`flush`, then fsync the file (and directories it created): survives power loss."""
        await self.flush()
        await self._fsync()

    # ---------------------------------------------------------------- closing

    def begin_close(self) -> None:
        """Refuse appends from now on (`RolloutWriterClosed`); what is queued is still written."""
        self._closing = True

    async def write_out(self) -> None:
        """After `begin_close`: wait until everything enqueued is written, then fsync.

        Raises `RolloutWriteError` if a write or the fsync failed.
        """
        await self._wait_written(self._enqueued)
        await self._fsync()

    async def stop(self) -> None:
        """After `write_out` (failed or not): end the writer task and close the descriptor."""
        self._wakeup.set()  # let the writer task see `_closing` and return
        with contextlib.suppress(BaseException):
            await self._task
        async with self._sync_lock:
            fd, self._fd = self._fd, None
            if fd is not None:
                await asyncio.to_thread(os.close, fd)

    # ---------------------------------------------------------------- internals

    async def _wait_written(self, target: int) -> None:
        if self._written >= target:
            return
        self._raise_if_broken()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((target, future))
        await future

    async def _run(self) -> None:
        """The writer task: drain the queue, one `write` per batch, until closed or broken."""
        try:
            while True:
                await self._wakeup.wait()
                self._wakeup.clear()
                while self._pending:
                    batch = self._pending
                    self._pending = []
                    data = b"".join(batch)
                    await asyncio.to_thread(self._write_blocking, data)
                    self._written += len(batch)
                    self._written_size += len(data)
                    self._wake_waiters()
                if self._closing:
                    return
        except BaseException as error:
            self._fail(error)
            if isinstance(error, asyncio.CancelledError):
                raise

    def _wake_waiters(self) -> None:
        while self._waiters and self._waiters[0][0] <= self._written:
            _, future = self._waiters.popleft()
            if not future.done():
                future.set_result(None)

    def _fail(self, error: BaseException) -> None:
        if self._error is None:
            self._error = error
            logger.error("rollout writer for %s failed: %r", self.path, error)
        self._pending = []
        while self._waiters:
            _, future = self._waiters.popleft()
            if not future.done():
                wrapped = RolloutWriteError(f"rollout writer for {self.path} failed")
                wrapped.__cause__ = self._error
                future.set_exception(wrapped)

    def _write_blocking(self, data: bytes) -> None:
        """Worker thread: one `write` of the whole batch, looping only on a short write."""
        if self._fd is None:
            self._fd, self._dirs_to_sync = create_file(self.path)
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]

    async def _fsync(self) -> None:
        async with self._sync_lock:
            self._raise_if_broken()
            fd = self._fd
            if fd is None:
                return  # nothing was ever written: there is no file to sync
            dirs = self._dirs_to_sync
            try:
                await asyncio.to_thread(fsync_all, fd, dirs)
            except BaseException as error:
                if not isinstance(error, asyncio.CancelledError):
                    self._fail(error)
                    self._raise_if_broken()
                raise
            self._dirs_to_sync = set()

    def _raise_if_broken(self) -> None:
        if self._error is not None:
            raise RolloutWriteError(f"rollout writer for {self.path} failed") from self._error
