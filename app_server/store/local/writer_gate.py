"""`WriterGate`: keeps the compression worker and the writers of one thread apart in-process.

Both sides take the thread's writer lock (a non-blocking flock), which is what excludes them —
also across processes. But a refused flock is an error for a writer (`thread/resume` would
answer "already has an active writer" because a cold file was being compressed at that
moment), so inside this process the two meet here first, on the event loop, where a check and
a reservation cannot interleave:

- the worker `try_claim`s a thread before locking it, and is refused while a writer of ours is
  open (`writers`, the store's set) or being opened or moved;
- `exclusive` (around opening a writer, archiving, deleting) waits until a compression of that
  thread finishes, then holds the thread off for the worker until the block ends.

Another process (codex) is still only kept apart by the flock: its open fails as it would for
any other active writer.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class WriterGate:
    """See the module docstring. `writers`: ids with an open writer (owned by the store)."""

    def __init__(self, writers: set[str]) -> None:
        self._writers = writers
        self._busy: Counter[str] = Counter()
        self._compressing: dict[str, asyncio.Event] = {}

    def try_claim(self, thread_id: str) -> bool:
        """Reserve `thread_id` for compression; False if a writer is open, opening or moving."""
        if thread_id in self._writers or self._busy[thread_id] or thread_id in self._compressing:
            return False
        self._compressing[thread_id] = asyncio.Event()
        return True

    def release(self, thread_id: str) -> None:
        """End a compression reservation and wake whoever waits for it."""
        done = self._compressing.pop(thread_id, None)
        if done is not None:
            done.set()

    @asynccontextmanager
    async def exclusive(self, thread_id: str) -> AsyncIterator[None]:
        """Wait for a compression of `thread_id` to end, then keep the worker away meanwhile."""
        while (compressing := self._compressing.get(thread_id)) is not None:
            await compressing.wait()
        self._busy[thread_id] += 1
        try:
            yield
        finally:
            self._busy[thread_id] -= 1
            if not self._busy[thread_id]:
                del self._busy[thread_id]
