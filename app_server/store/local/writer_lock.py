"""Codex's cross-process single-writer lock for one thread (STORAGE.md §10).

Layout under the data dir (`CODEX_HOME`):

    thread-writer-locks/.coordination.lock   serializes every acquire and release (flock, blocking)
    thread-writer-locks/<thread uuid>.lock   held with an exclusive non-blocking flock by the writer

Protocol, as codex 0.169 does it:
- acquire: take the coordination lock; open (create) `<uuid>.lock`; `flock(LOCK_EX | LOCK_NB)`;
  drop the coordination lock. If the flock is refused, the thread "already has an active writer".
- release: take the coordination lock; remove `<uuid>.lock`; unlock and close it; drop the
  coordination lock.

Why the coordination lock: removing the lock file on release would otherwise race with an
acquirer that opened the old file just before it was unlinked (it would then "hold" a lock on a
file nobody else can see, while a third party creates a fresh one). With both sides serialized,
an acquirer always locks the file that is in the directory. As a belt-and-braces check, acquire
also verifies that the locked descriptor is still the file at the path (a process that does not
follow the protocol may have removed it) and retries if not.

flock locks belong to an open file description, so a second acquisition in the *same* process
(a second `open`) conflicts exactly like one from another process. The kernel drops the lock when
the holder dies (even by SIGKILL); the lock file then stays behind, empty and harmless: the next
acquirer simply locks it.

The blocking calls (the coordination flock may wait for another acquirer/releaser) run in a
worker thread (`asyncio.to_thread`), never on the event loop; `acquire_blocking`/
`release_blocking` are the same operations for synchronous callers and worker threads.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import re
import threading
from collections.abc import Callable, Generator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from app_server.store.errors import WriterBusy

WRITER_LOCKS_DIR = "thread-writer-locks"
"""Directory of the per-thread writer locks, under the data dir."""

COORDINATION_LOCK_NAME = ".coordination.lock"
"""The lock file that serializes acquisitions and releases of every thread's writer lock."""

_LOCK_RETRIES = 8
"""How often acquire retries when the locked file was replaced under it (protocol violators)."""

# A thread id becomes a path segment: refuse anything but a UUID so no separator or traversal
# component (and no `.coordination`) can ever be joined into a path.
_THREAD_ID_RE = re.compile(r"\A[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\Z")

_T = TypeVar("_T")


class ThreadWriterBusy(WriterBusy):
    """Another writer (this process or another one) holds the thread's writer lock."""

    def __init__(self, thread_id: str) -> None:
        super().__init__(f"thread {thread_id} already has an active writer")
        self.thread_id = thread_id


def writer_locks_dir(data_dir: Path) -> Path:
    """`<data dir>/thread-writer-locks`."""
    return data_dir / WRITER_LOCKS_DIR


def writer_lock_path(data_dir: Path, thread_id: str) -> Path:
    """`<data dir>/thread-writer-locks/<thread uuid>.lock` (ValueError for a non-UUID id)."""
    if _THREAD_ID_RE.match(thread_id) is None:
        raise ValueError(f"invalid thread id for a writer lock: {thread_id!r}")
    return writer_locks_dir(data_dir) / f"{thread_id.lower()}.lock"


class ThreadWriterLock:
    """The writer lock of one thread; at most one holder across all processes.

    ```
    async with ThreadWriterLock(data_dir, thread_id):
        ...  # the only writer of the thread's rollout
    ```

    or `await lock.acquire()` … `await lock.release()`. `acquire` raises `ThreadWriterBusy` when
    the thread already has an active writer. `release` is idempotent. A lock object is not
    reusable after release (create a new one).
    """

    def __init__(self, data_dir: Path, thread_id: str) -> None:
        self.thread_id = thread_id.lower()
        self.path = writer_lock_path(data_dir, thread_id)
        self._fd: int | None = None
        self._released = False
        self._mutex = threading.Lock()  # guards _fd/_released between worker threads

    @property
    def held(self) -> bool:
        """Whether this object currently holds the lock."""
        return self._fd is not None

    async def acquire(self) -> None:
        """Take the lock (worker thread); `ThreadWriterBusy` if someone else holds it.

        If the awaiting task is cancelled while the worker thread is acquiring, the lock is
        released again once the worker finishes, so a cancelled acquire never leaks a lock.
        """
        await to_thread_undo_on_cancel(self.acquire_blocking, lambda _: self.release_blocking())

    async def release(self) -> None:
        """Remove the lock file and unlock (worker thread). Does nothing if not held."""
        # Shielded: once started, a release completes even if the caller is cancelled.
        await asyncio.shield(asyncio.to_thread(self.release_blocking))

    def acquire_blocking(self) -> None:
        """`acquire` for synchronous callers (blocks while another process coordinates)."""
        with self._mutex:
            if self._released:
                raise RuntimeError("a released ThreadWriterLock cannot be acquired again")
            if self._fd is not None:
                raise ThreadWriterBusy(self.thread_id)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with _coordination(self.path.parent):
                self._fd = _lock_file(self.path, self.thread_id)

    def release_blocking(self) -> None:
        """`release` for synchronous callers."""
        with self._mutex:
            fd = self._fd
            self._released = True
            if fd is None:
                return
            self._fd = None
            try:
                with _coordination(self.path.parent):
                    # Remove the file only if it is still the one we hold (it always is when
                    # everybody follows the protocol); then unlock by closing.
                    if _same_file(fd, self.path):
                        self.path.unlink(missing_ok=True)
            finally:
                os.close(fd)  # closing the last descriptor drops the flock

    async def __aenter__(self) -> ThreadWriterLock:
        await self.acquire()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.release()

    def __repr__(self) -> str:
        return f"ThreadWriterLock({self.thread_id!r}, held={self.held})"


@contextmanager
def _coordination(locks_dir: Path) -> Generator[None, None, None]:
    """Hold `thread-writer-locks/.coordination.lock` (blocking exclusive flock)."""
    fd = os.open(locks_dir / COORDINATION_LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # also unlocks


def _lock_file(path: Path, thread_id: str) -> int:
    """Open and non-blockingly lock `path`; the locked descriptor. Caller coordinates."""
    for _ in range(_LOCK_RETRIES):
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ThreadWriterBusy(thread_id) from None
        except BaseException:
            os.close(fd)
            raise
        if _same_file(fd, path):
            return fd
        os.close(fd)  # replaced or removed under us: lock the file that is there now
    raise ThreadWriterBusy(thread_id)


def _same_file(fd: int, path: Path) -> bool:
    try:
        on_disk = path.stat()
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (mine.st_dev, mine.st_ino) == (on_disk.st_dev, on_disk.st_ino)


_pending_undo: set[asyncio.Task[Any]] = set()
"""Release tasks started for cancelled acquisitions (kept referenced until they finish)."""


async def to_thread_undo_on_cancel(do: Callable[[], _T], undo: Callable[[_T], None]) -> _T:
    """Run `do` in a worker thread; if the caller is cancelled meanwhile, run `undo` after it.

    A worker thread cannot be interrupted, so a cancellation only stops the *waiting*; whatever
    `do` acquired (its result is passed to `undo`) must then be given back, in a worker thread
    as well.
    """
    task = asyncio.ensure_future(asyncio.to_thread(do))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:

        def on_done(finished: asyncio.Future[_T]) -> None:
            if finished.cancelled() or finished.exception() is not None:
                return
            cleanup = asyncio.ensure_future(asyncio.to_thread(undo, finished.result()))
            _pending_undo.add(cleanup)
            cleanup.add_done_callback(_pending_undo.discard)

        task.add_done_callback(on_done)
        raise
