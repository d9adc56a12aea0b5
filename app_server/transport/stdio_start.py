"""The stdio session's first moments, before the event loop and the dispatcher exist.

`app_server.startup` answers the client's first line (`initialize`) with blocking reads and
writes on the raw descriptors, then hands the session to `transport.stdio`: what it read and did
not serve (`StdioStart.unread`) is served first, so no byte is lost or reordered.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from msgspec import Struct, field

from app_server.transport.limits import MAX_MESSAGE_BYTES, STDIO_READ_CHUNK_BYTES


class StdioStart(Struct, frozen=True):
    """What happened on stdio before the server proper took over."""

    unread: bytes = b""
    """Bytes read from stdin that the server proper must still serve, in order."""
    initialize_params: dict[str, Any] | None = None
    """The raw params of an `initialize` already answered (the session is initialized)."""
    told: frozenset[str] = field(default_factory=frozenset)
    """`configWarning` summaries already sent to the client after that answer."""
    protocol_fd: int | None = None
    """The real stdout, once claimed (`claim_stdout`)."""
    stop_requested: Callable[[], bool] = lambda: False
    """True once SIGTERM/SIGINT arrived before the server proper could handle them: it then
    stops at once, as if the signal had arrived while it served."""


def claim_stdout() -> int:
    """Reserve the real stdout for protocol lines and send everything else on fd 1 to stderr."""
    protocol_fd = os.dup(1)
    os.dup2(2, 1)
    return protocol_fd


def read_first_line(fd: int) -> tuple[bytes, bytes]:
    """Block until stdin holds a whole first line: (that line, the bytes read after it).

    On EOF or an oversized line, the line is empty and everything read is returned as the rest:
    the server proper answers those cases."""
    buffered = bytearray()
    while True:
        chunk = os.read(fd, STDIO_READ_CHUNK_BYTES)
        if not chunk:
            return b"", bytes(buffered)
        end = chunk.find(b"\n")
        if end >= 0:
            end += len(buffered)
            buffered += chunk
            return bytes(buffered[: end + 1]), bytes(buffered[end + 1 :])
        buffered += chunk
        if len(buffered) > MAX_MESSAGE_BYTES:
            return b"", bytes(buffered)


def write_all(fd: int, data: bytes) -> None:
    """Write all of `data` to a blocking descriptor."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
