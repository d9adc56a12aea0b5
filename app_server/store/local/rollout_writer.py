"""The single appender of one thread's rollout JSONL file (STORAGE.md §2.3, §3.1, §10).

Contract (the writer's half; the other half, how lines then reach the file — group commit, what
is atomic, what survives a crash, errors and backpressure — is documented in
`rollout_group_commit`, whose `GroupCommitAppender` does the writing and whose
`RolloutWriteError`/`RolloutWriterClosed` the writer raises)
- **Who appends.** Exactly one `RolloutWriter` per loaded thread, across all processes: it holds
  the thread's writer lock (`writer_lock.ThreadWriterLock`, codex's `thread-writer-locks/`) from
  `open` to `close`, so neither another writer of ours nor codex 0.169 appends meanwhile.
  Callers `append` lines in order (built by `app_server.rollout`, or copied verbatim); the writer
  adds the envelope (`rollout.envelope`: `timestamp`, and `ordinal` in paginated threads) and
  owns the ordinals: 0-based, +1 per line, gap-free, continuing from `start_ordinal` for a new
  file (0, or a paginated fork's base `end_ordinal_exclusive`) and from the last line's ordinal
  + 1 for an existing file. Serialized lines go to its `GroupCommitAppender`.
- **A crash's torn last line.** Readers ignore a torn (unterminated) last line. When a writer
  opens an existing file whose last line is torn, it first writes a `"\\n"`, so the new lines
  start clean: the torn fragment becomes a line of its own that readers skip as unparsable (or,
  if only the newline had been lost, a complete valid line — the next ordinal is derived from
  the file *after* this repair, so ordinals stay gap-free and unique either way). Open the
  writer before reading the history of a thread you resume, so that the history you read is the
  repaired one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

import orjson
from msgspec import Struct

from app_server.rollout.envelope import envelope, format_timestamp
from app_server.rollout.lines import HistoryMode, RolloutLine, StoredLine
from app_server.store.local.rollout_file_ops import close_prepared, prepare_file
from app_server.store.local.rollout_files import live_rollout_path, plain_rollout_path
from app_server.store.local.rollout_group_commit import GroupCommitAppender
from app_server.store.local.writer_lock import ThreadWriterLock, to_thread_undo_on_cancel


class RolloutPosition(Struct, frozen=True):
    """A consistent point of the written file: a line boundary and the ordinal that follows it.

    This is what a paginated fork records as `history_base.end_byte_offset` and
    `end_ordinal_exclusive` (legacy files: `end_ordinal_exclusive` is None).
    """

    end_byte_offset: int
    end_ordinal_exclusive: int | None


def new_rollout_path(data_dir: Path, thread_id: str, created_at_ms: int) -> Path:
    """`sessions/YYYY/MM/DD/rollout-<YYYY-MM-DDThh-mm-ss>-<uuid>.jsonl` for a new thread.

    Codex uses the *local* wall-clock creation time for the folders and the name (STORAGE.md
    §2.1); this converts the unix-ms creation time accordingly.
    """
    created_at = datetime.fromtimestamp(created_at_ms // 1000)
    return live_rollout_path(data_dir, thread_id, created_at)


class RolloutWriter:
    """Appends lines to one thread's rollout; the only writer of that file (module contract).

    ```
    writer = await RolloutWriter.open(path, data_dir=home, thread_id=tid, history_mode="paginated")
    writer.append([turn_lifecycle.task_started(turn_id, root_turn_id, started_at, window)])
    await writer.flush()   # in the kernel: survives a process crash
    await writer.sync()    # on disk: survives power loss
    await writer.close()   # sync, release the writer lock
    ```

    Also an async context manager (closes on exit). Use it from one event loop.
    """

    def __init__(
        self,
        *,
        path: Path,
        thread_id: str,
        history_mode: HistoryMode,
        lock: ThreadWriterLock,
        fd: int | None,
        size: int,
        next_ordinal: int | None,
    ) -> None:
        """Internal: use `RolloutWriter.open`."""
        self.path = path
        """The plain `.jsonl` path (it may not exist before the first append)."""
        self._thread_id = thread_id
        self.history_mode: HistoryMode = history_mode
        self._lock = lock
        self._next_ordinal = next_ordinal
        # The ordinal of the first line this writer appends: the written position's ordinal is
        # this plus the lines written (None in legacy mode).
        self._first_ordinal = next_ordinal
        self._close_task: asyncio.Task[None] | None = None
        self._appender = GroupCommitAppender(
            path=path, fd=fd, size=size, task_name=f"rollout-writer-{thread_id}"
        )

    # ---------------------------------------------------------------- opening

    @classmethod
    async def open(
        cls,
        path: Path,
        *,
        data_dir: Path,
        thread_id: str,
        history_mode: HistoryMode,
        start_ordinal: int = 0,
        lock: ThreadWriterLock | None = None,
        must_exist: bool = False,
    ) -> RolloutWriter:
        """Take the thread's writer lock and prepare to append to `path`.

        `path` is the plain `.jsonl` (a `.zst` path is accepted too). If only the `.jsonl.zst`
        exists it is materialized first. If the file exists its torn last line (if any) is
        terminated, and in paginated mode the next ordinal is its last ordinal + 1; otherwise
        (no file yet, or no line with an ordinal) the next ordinal is `start_ordinal`. A
        missing file is created by the first append.

        `lock`: an already held writer lock for this thread to take over (released by `close`;
        left to the caller if `open` fails); by default one is acquired here. Raises
        `ThreadWriterBusy` if the thread already has an active writer. `must_exist`: raise
        `FileNotFoundError` (lock released) when the file is missing, as it is when it moved
        between being located and being locked: an existing thread is never appended to at a
        place its file left.
        """
        if start_ordinal < 0:
            raise ValueError(f"start_ordinal must be >= 0, got {start_ordinal}")
        plain = plain_rollout_path(path)
        owns_lock = lock is None
        if lock is None:
            lock = ThreadWriterLock(data_dir, thread_id)
            await lock.acquire()
        elif not lock.held or lock.thread_id != thread_id.lower():
            raise ValueError(f"the given writer lock is not held for thread {thread_id}")
        try:
            fd, size, last_ordinal = await to_thread_undo_on_cancel(
                lambda: prepare_file(
                    plain, data_dir, paginated=history_mode == "paginated", must_exist=must_exist
                ),
                close_prepared,
            )
        except BaseException:
            if owns_lock:
                await lock.release()
            raise
        next_ordinal: int | None = None
        if history_mode == "paginated":
            next_ordinal = start_ordinal if last_ordinal is None else last_ordinal + 1
        return cls(
            path=plain,
            thread_id=lock.thread_id,
            history_mode=history_mode,
            lock=lock,
            fd=fd,
            size=size,
            next_ordinal=next_ordinal,
        )

    # ---------------------------------------------------------------- state

    @property
    def thread_id(self) -> str:
        """The thread whose rollout this is."""
        return self._thread_id

    @property
    def next_ordinal(self) -> int | None:
        """The ordinal the next appended line gets (paginated), None in legacy mode."""
        return self._next_ordinal

    @property
    def byte_size(self) -> int:
        """Bytes of the file written so far, at a line boundary (excludes queued lines)."""
        return self._appender.written_size

    @property
    def position(self) -> RolloutPosition:
        """The written position: `byte_size` and the ordinal of the first line not written."""
        appender = self._appender
        if self._first_ordinal is None:
            return RolloutPosition(appender.written_size, None)
        return RolloutPosition(appender.written_size, self._first_ordinal + appender.written_lines)

    @property
    def pending_lines(self) -> int:
        """Lines appended but not yet written."""
        return self._appender.pending_lines

    @property
    def closed(self) -> bool:
        """Whether `close` was called."""
        return self._appender.closing

    @property
    def failed(self) -> bool:
        """Whether a write or fsync failed (the writer is unusable)."""
        return self._appender.failed

    # ---------------------------------------------------------------- appending

    def append(self, lines: Sequence[RolloutLine]) -> None:
        """Queue `lines` (in order) for writing; never blocks, never waits for the disk.

        All lines are serialized before any is queued, so a line that cannot be serialized
        (`TypeError`/`ValueError`) leaves nothing queued and consumes no ordinal. Raises
        `RolloutWriteError` if the writer is broken or closed.
        """
        self.append_records(lines)

    def append_records(self, lines: Sequence[RolloutLine]) -> list[StoredLine]:
        """`append`, returning the records exactly as they will be written (with envelope).

        For callers that fold what they append (index upkeep) without re-deriving timestamps
        and ordinals. The records share the payload objects of `lines`.
        """
        return [record for record, _size in self.append_sized(lines)]

    def append_sized(self, lines: Sequence[RolloutLine]) -> list[tuple[StoredLine, int]]:
        """`append_records`, with each line's encoded size in bytes (newline included): the
        lines land back to back after everything appended before, so a caller that knows where
        the file ended can tell each line's byte offset."""
        self._appender.raise_if_unusable()
        if not lines:
            return []
        stamp = format_timestamp(datetime.now(UTC))
        ordinal = self._next_ordinal
        sized: list[tuple[StoredLine, int]] = []
        encoded: list[bytes] = []
        for line in lines:
            record = envelope(line, stamp, ordinal)
            data = orjson.dumps(record, option=_DUMPS)
            encoded.append(data)
            sized.append((record, len(data)))
            if ordinal is not None:
                ordinal += 1
        self._appender.enqueue(encoded)
        self._next_ordinal = ordinal
        return sized

    async def flush(self) -> None:
        """Wait until every line appended so far is written to the OS (survives a crash).

        Raises `RolloutWriteError` if a write failed.
        """
        await self._appender.flush()

    async def sync(self) -> None:
        """`flush`, then fsync the file (and directories it created): survives power loss."""
        await self._appender.sync()

    async def flushed_position(self) -> RolloutPosition:
        """`flush`, then the written position (a line boundary and its next ordinal)."""
        await self.flush()
        return self.position

    async def close(self) -> None:
        """Flush, fsync, stop the writer task, close the file and release the writer lock.

        Idempotent and safe to cancel (the close completes in the background). Resources are
        released even if writing failed; the failure is then raised.
        """
        if self._close_task is None:
            self._appender.begin_close()
            self._close_task = asyncio.create_task(self._close())
        await asyncio.shield(self._close_task)

    async def __aenter__(self) -> RolloutWriter:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return (
            f"RolloutWriter({self.path.name!r}, next_ordinal={self._next_ordinal}, "
            f"byte_size={self.byte_size}, pending={self.pending_lines})"
        )

    # ---------------------------------------------------------------- internals

    async def _close(self) -> None:
        error: BaseException | None = None
        try:
            await self._appender.write_out()
        except Exception as failure:
            error = failure
        finally:
            await self._appender.stop()
            await self._lock.release()
        if error is not None:
            raise error


_DUMPS = orjson.OPT_APPEND_NEWLINE
