"""Streaming reader of one rollout file: `(byte_offset, line_dict)` in file order.

Why streaming: rollouts grow to megabytes (full base instructions in `session_meta`, tool
output), and compressed ones must be searched/read without materializing (STORAGE.md §6, §9).
Plain files are read in chunks; `.jsonl.zst` files go through `zstandard`'s streaming
decompressor, so neither is ever loaded whole. Byte offsets are offsets in the *decompressed*
content, which is what codex's `history_base.end_byte_offset` and projection checkpoints use.

Tolerance rules (STORAGE.md §2.3):
- a torn final line (no terminating newline, typically a crash mid-append or a write still in
  progress) is ignored, whether or not it happens to parse;
- an unparsable (or non-object) line in the middle is skipped and logged;
- empty lines are skipped silently.

Blocking I/O: call this from a worker thread (e.g. `asyncio.to_thread`), never directly
on the event loop.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import orjson
import zstandard

from app_server.rollout.lines import StoredLine
from app_server.store.local.rollout_files import ZST_SUFFIX, plain_rollout_path, zst_rollout_path

logger = logging.getLogger(__name__)

CHUNK_SIZE = 1 << 16
OPEN_RETRIES = 3
"""How often to retry opening when the file vanishes mid-transition (plain ⇄ `.zst`), as 0.169."""
OPEN_RETRY_DELAY_S = 0.05


class RolloutLineReader:
    """Iterates `(byte_offset, record)` over a rollout, from `start_offset` up to `end_offset`.

    - `start_offset` must be the start of a line (e.g. a previous `next_offset`).
    - Only lines that end (newline included) at or before `end_offset` are yielded; that is how a
      paginated fork reads its base thread's history up to `history_base.end_byte_offset`.
    - After (or during) iteration, `next_offset` is the offset just past the last *complete*
      line consumed: where a later, resumed read must start. A torn tail is not consumed.

    `path` may name the plain `.jsonl` or the `.jsonl.zst`; whichever exists is read, the plain
    file first.
    """

    def __init__(self, path: Path, *, start_offset: int = 0, end_offset: int | None = None) -> None:
        if start_offset < 0:
            raise ValueError(f"start_offset must be >= 0, got {start_offset}")
        self.path = path
        self.start_offset = start_offset
        self.end_offset = end_offset
        self.next_offset = start_offset
        self.skipped_lines = 0
        """Middle lines that could not be parsed (each one is logged)."""

    def __iter__(self) -> Iterator[tuple[int, StoredLine]]:
        with open_rollout(self.path) as stream:
            stream.skip(self.start_offset)
            for offset, raw, terminated in _split_lines(
                stream.read, self.start_offset, self.end_offset
            ):
                if not terminated:
                    # A torn tail: ignore it and leave `next_offset` before it.
                    return
                self.next_offset = offset + len(raw)
                if raw.isspace():  # empty or blank (the newline is whitespace too)
                    continue
                record = _parse(raw)  # JSON allows the trailing newline: no stripped copy
                if record is None:
                    self.skipped_lines += 1
                    logger.warning(
                        "skipping unparsable rollout line at byte %d of %s", offset, stream.path
                    )
                    continue
                yield offset, record


def iter_rollout_lines(
    path: Path, *, start_offset: int = 0, end_offset: int | None = None
) -> Iterator[tuple[int, StoredLine]]:
    """`(byte_offset, record)` for each complete, parsable line (see `RolloutLineReader`)."""
    return iter(RolloutLineReader(path, start_offset=start_offset, end_offset=end_offset))


class RolloutStream:
    """An open rollout: `read(n)` returns decompressed bytes; `skip(n)` moves forward."""

    def __init__(self, path: Path, raw: IO[bytes]) -> None:
        self.path = path
        """The file actually opened (plain or `.zst`)."""
        self._raw = raw
        self._reader: zstandard.ZstdDecompressionReader | None = None
        if path.name.endswith(ZST_SUFFIX):
            self._reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)

    @property
    def compressed(self) -> bool:
        """Whether the content is being decompressed from a `.jsonl.zst`."""
        return self._reader is not None

    def read(self, size: int) -> bytes:
        """Up to `size` bytes of (decompressed) content; `b""` at the end."""
        if self._reader is not None:
            return self._reader.read(size)
        return self._raw.read(size)

    def skip(self, count: int) -> None:
        """Move `count` bytes forward: a seek for plain files, read-and-discard for `.zst`."""
        if count <= 0:
            return
        if self._reader is None:
            self._raw.seek(count, 1)
            return
        remaining = count
        while remaining > 0:
            chunk = self._reader.read(min(remaining, CHUNK_SIZE))
            if not chunk:
                return
            remaining -= len(chunk)

    def close(self) -> None:
        """Close the decompressor (if any) and the file."""
        if self._reader is not None:
            self._reader.close()  # type: ignore[no-untyped-call]
        self._raw.close()


@contextmanager
def open_rollout(path: Path) -> Iterator[RolloutStream]:
    """Open a rollout for streaming, plain `.jsonl` first, then `.jsonl.zst`.

    If neither can be opened because the file is being moved between the two forms, retries
    `OPEN_RETRIES` times `OPEN_RETRY_DELAY_S` apart, then raises `FileNotFoundError`.
    """
    candidates = (plain_rollout_path(path), zst_rollout_path(path))
    last_error: FileNotFoundError | None = None
    stream: RolloutStream | None = None
    for attempt in range(OPEN_RETRIES + 1):
        for candidate in candidates:
            try:
                raw = candidate.open("rb")
            except FileNotFoundError as error:
                last_error = error
                continue
            stream = RolloutStream(candidate, raw)
            break
        if stream is not None:
            break
        if attempt < OPEN_RETRIES:
            time.sleep(OPEN_RETRY_DELAY_S)
    if stream is None:
        assert last_error is not None
        raise last_error
    try:
        yield stream
    finally:
        stream.close()


def _split_lines(
    read: Callable[[int], bytes], start_offset: int, end_offset: int | None
) -> Iterator[tuple[int, bytes, bool]]:
    """`(offset, line bytes incl. newline, terminated)` chunk by chunk, from `start_offset`.

    Lines ending past `end_offset` are not yielded (and reading stops there). The last item may
    be unterminated (a torn tail). Partial lines are kept as a list of pieces so a multi-megabyte
    line costs one join, not one copy per chunk.
    """
    offset = start_offset
    parts: list[bytes] = []
    while end_offset is None or offset < end_offset:
        chunk = read(CHUNK_SIZE)
        if not chunk:
            break
        start = 0
        while True:
            newline = chunk.find(b"\n", start)
            if newline < 0:
                break
            piece = chunk[start : newline + 1]
            line = b"".join((*parts, piece)) if parts else piece
            parts = []
            start = newline + 1
            if end_offset is not None and offset + len(line) > end_offset:
                return
            yield offset, line, True
            offset += len(line)
        if start < len(chunk):
            parts.append(chunk[start:])
    if parts and (end_offset is None or offset < end_offset):
        tail = b"".join(parts)
        if end_offset is None or offset + len(tail) <= end_offset:
            yield offset, tail, False


def _parse(body: bytes) -> StoredLine | None:
    try:
        value: StoredLine = orjson.loads(body)  # typed, not wrapped: this is the hot path
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None
