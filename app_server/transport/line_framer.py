"""Split a byte stream into newline-delimited messages, skipping oversized ones (sans I/O).

Why not `StreamReader.readline`: past its limit it raises and leaves the stream in an awkward
state; we want to answer an oversized line with an error and keep reading the next one, while
never holding more than the limit in memory.
"""

from __future__ import annotations

from msgspec import Struct


class Oversized(Struct, frozen=True):
    """A line longer than the limit was skipped; `size` is its length in bytes."""

    size: int


class LineFramer:
    """Feed chunks in, get complete lines (without the newline) or `Oversized` markers out."""

    def __init__(self, max_line_bytes: int) -> None:
        self._max = max_line_bytes
        self._buffer = bytearray()
        self._skipping = False
        self._skipped = 0

    def feed(self, chunk: bytes) -> list[bytes | Oversized]:
        """Consume a chunk; returns the events it completed, in order."""
        out: list[bytes | Oversized] = []
        start = 0
        while True:
            newline = chunk.find(b"\n", start)
            if newline < 0:
                self._take(chunk[start:])
                return out
            self._take(chunk[start:newline])
            out.append(self._end_line())
            start = newline + 1

    def finish(self) -> list[bytes | Oversized]:
        """End of stream: an unterminated last line still counts as a message."""
        if self._skipping or self._buffer:
            return [self._end_line()]
        return []

    def _take(self, part: bytes) -> None:
        if self._skipping:
            self._skipped += len(part)
            return
        if len(self._buffer) + len(part) > self._max:
            self._skipping = True
            self._skipped = len(self._buffer) + len(part)
            self._buffer.clear()
            return
        self._buffer += part

    def _end_line(self) -> bytes | Oversized:
        if self._skipping:
            self._skipping = False
            size, self._skipped = self._skipped, 0
            return Oversized(size)
        line = bytes(self._buffer)
        self._buffer.clear()
        return line
