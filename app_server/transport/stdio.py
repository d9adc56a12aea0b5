"""stdio transport: one JSON message per line on stdin/stdout; one process = one client.

stdout carries protocol lines only. At start the real stdout is duplicated for the protocol and
file descriptor 1 is pointed at stderr, so a stray `print` (ours or a library's) can never corrupt
the stream. EOF on stdin ends the session: requests in flight get a short grace period to answer,
queued output is flushed, and the server exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
from typing import Protocol

from app_server.errors import InvalidRequest
from app_server.rpc.connection import Connection
from app_server.rpc.dispatcher import Dispatcher
from app_server.rpc.errors import render_error
from app_server.transport.limits import MAX_MESSAGE_BYTES, STDIO_READ_CHUNK_BYTES, too_large_message
from app_server.transport.line_framer import LineFramer, Oversized
from app_server.transport.stdio_start import StdioStart, claim_stdout, write_all

__all__ = ["SHUTDOWN_GRACE_SECONDS", "StdoutSink", "claim_stdout", "serve_stdio"]

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_SECONDS = 5.0
"""How long requests in flight may still answer after stdin closed or a signal arrived."""

PIPE_WRITE_CHUNK_BYTES = 1 << 20
"""A pipe write hands the transport at most this much at a time and waits for it to drain:
asyncio copies whatever the pipe does not take at once into its own buffer, so a 40 MB answer
written whole would be held twice. Each chunk costs one drain wait."""

BATCH_JOIN_MAX_BYTES = 1 << 20
"""Queued messages up to this size are joined into one write (20,000 streamed deltas must not
cost 20,000 writes); a bigger one is written on its own, never copied into a joined batch."""


class _ByteWriter(Protocol):
    async def write(self, data: bytes) -> None: ...


class _PipeWriter:
    """Non-blocking writes through an asyncio pipe transport (pipes, sockets, terminals)."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer

    async def write(self, data: bytes) -> None:
        if len(data) <= PIPE_WRITE_CHUNK_BYTES:
            self._writer.write(data)
            await self._writer.drain()
            return
        view = memoryview(data)
        for start in range(0, len(view), PIPE_WRITE_CHUNK_BYTES):
            self._writer.write(view[start : start + PIPE_WRITE_CHUNK_BYTES])
            await self._writer.drain()


class _ThreadWriter:
    """Writes in a worker thread, for an stdout that is a regular file."""

    def __init__(self, file: io.FileIO) -> None:
        self._file = file  # owns the descriptor: keep it referenced

    async def write(self, data: bytes) -> None:
        await asyncio.to_thread(write_all, self._file.fileno(), data)


class StdoutSink:
    """The connection's outbound side: a batch of messages becomes one write of JSON lines."""

    def __init__(self, writer: _ByteWriter) -> None:
        self._writer = writer

    async def send(self, messages: list[bytes]) -> None:
        """Small messages are joined into one write; a big one (a response may be tens of MB)
        is written as is, never copied (`BATCH_JOIN_MAX_BYTES`)."""
        batch: list[bytes] = []
        for message in messages:
            if len(message) <= BATCH_JOIN_MAX_BYTES:
                batch.append(message)
                batch.append(b"\n")
                continue
            if batch:
                await self._writer.write(b"".join(batch))
                batch = []
            await self._writer.write(message)
            await self._writer.write(b"\n")
        if batch:
            await self._writer.write(b"".join(batch))

    async def send_parts(self, parts: list[bytes]) -> None:
        """One message in pieces (`rpc.connection.PartsSink`): written in writes of about
        `PIPE_WRITE_CHUNK_BYTES`, each piece released once it is on its way, then the newline."""
        group: list[bytes] = []
        size = 0
        for index, part in enumerate(parts):
            parts[index] = b""
            if len(part) >= PIPE_WRITE_CHUNK_BYTES:  # a big piece goes as is, never copied
                if group:
                    await self._writer.write(b"".join(group))
                    group, size = [], 0
                await self._writer.write(part)
                continue
            group.append(part)
            size += len(part)
            if size >= PIPE_WRITE_CHUNK_BYTES:
                await self._writer.write(b"".join(group))
                group, size = [], 0
        group.append(b"\n")
        await self._writer.write(b"".join(group))

    async def close(self, reason: str) -> None:
        log.warning("closing the stdio session: %s", reason)


async def _open_writer(fd: int) -> _ByteWriter:
    loop = asyncio.get_running_loop()
    pipe = io.FileIO(fd, "wb")
    try:
        transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, pipe)
    except ValueError:  # a regular file
        return _ThreadWriter(pipe)
    return _PipeWriter(asyncio.StreamWriter(transport, protocol, None, loop))


async def _chunks(fd: int) -> asyncio.StreamReader | None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=STDIO_READ_CHUNK_BYTES)
    pipe = os.fdopen(os.dup(fd), "rb", buffering=0)
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), pipe)
    except ValueError:  # a regular file or /dev/null: read it in a worker thread instead
        pipe.close()
        return None
    return reader


async def serve_stdio(
    dispatcher: Dispatcher,
    stop: asyncio.Event,
    *,
    stdin_fd: int = 0,
    stdout_fd: int,
    start: StdioStart | None = None,
) -> None:
    """Serve one client on stdin/stdout until EOF or until `stop` is set; `start` is what
    happened before (an `initialize` already answered, bytes read but not served)."""
    writer = await _open_writer(stdout_fd)
    conn = Connection(StdoutSink(writer), label="stdio")
    conn.start()
    reader = await _chunks(stdin_fd)
    framer = LineFramer(MAX_MESSAGE_BYTES)
    start = start or StdioStart()
    if start.initialize_params is not None:
        dispatcher.adopt_initialize(conn, start.initialize_params)
    unread = [start.unread] if start.unread else []

    async def read_chunk() -> bytes:
        if unread:
            return unread.pop()
        if reader is not None:
            return await reader.read(STDIO_READ_CHUNK_BYTES)
        return await asyncio.to_thread(os.read, stdin_fd, STDIO_READ_CHUNK_BYTES)

    async def pump() -> None:
        while True:
            chunk = await read_chunk()
            events = framer.feed(chunk) if chunk else framer.finish()
            for event in events:
                if isinstance(event, Oversized):
                    error = InvalidRequest(too_large_message(event.size))
                    conn.send_bytes(render_error(None, error))
                elif event.strip():
                    await dispatcher.dispatch(conn, event)
            if not chunk:
                return

    pump_task = asyncio.create_task(pump(), name="stdio reader")
    stop_task = asyncio.create_task(stop.wait(), name="stdio stop")
    await asyncio.wait({pump_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
    for task in (pump_task, stop_task):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await conn.finish(SHUTDOWN_GRACE_SECONDS)
    dispatcher.closed(conn)
