"""A scriptable fake model: a real HTTP/1.1 server on 127.0.0.1 speaking the OpenAI wire.

Tests point the app-server (or an SDK) at `server.base_url` (`http://127.0.0.1:PORT/v1`), queue
`Reply` objects (`tests.support.model_replies`) and then inspect `server.requests`. Each request
to `POST /v1/responses` or `POST /v1/chat/completions` takes the next queued reply; when the queue
is empty a plain "ok" answer is sent (and `unscripted_requests` counts it) so an unexpected extra
request is visible without hanging the test. Streams use `Transfer-Encoding: chunked`, so a
dropped connection is a protocol error for the client, exactly like a real mid-stream failure.

    async with ModelServer() as server:
        server.enqueue(Reply.text("Hello there, friend!", deltas=4))
        ...
        (request,) = await server.wait_for_requests(1)

As a pytest fixture:

    @pytest.fixture
    async def model_server() -> AsyncIterator[ModelServer]:
        async with ModelServer() as server:
            yield server
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import zstandard

from tests.support.model_replies import Reply, render_chat, render_responses

CHUNK_BYTES = 64 * 1024  # frames are coalesced into chunks of about this size when not paced


@dataclass
class RecordedRequest:
    """One request as received: header names lower-cased, `body` parsed JSON (None if not JSON)."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    raw_body: bytes
    body: Any
    scripted: bool = True  # False when the default reply answered it (queue was empty)
    connection_id: int = 0  # requests on one kept-alive connection share this number
    served_seconds: float | None = None
    """Time from the request fully read to the response fully written (the fixture's own
    share of a turn, which benchmarks subtract)."""

    @property
    def params(self) -> dict[str, list[str]]:
        """The query string parsed (`?a=1&a=2` → `{"a": ["1", "2"]}`)."""
        return parse_qs(self.query)


class _ClientGone(Exception):
    """The client closed the connection while we were still answering."""


@dataclass(eq=False)
class _Connection:
    """One client connection (hashed by identity so the server can track open ones)."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    task: asyncio.Task[None] | None = field(default=None)
    id: int = 0

    def gone(self) -> bool:
        return self.reader.at_eof() or self.reader.exception() is not None

    async def send(self, data: bytes) -> None:
        if self.gone() or self.writer.is_closing():
            raise _ClientGone
        self.writer.write(data)
        try:
            await self.writer.drain()
        except (ConnectionError, OSError) as error:
            raise _ClientGone from error


class ModelServer:
    """The fake model server; an async context manager (`start()`/`stop()` also work)."""

    def __init__(self, *, prefix: str = "/v1", default_reply: Reply | None = None) -> None:
        self.prefix = prefix
        self.default_reply = default_reply or Reply.text("ok")
        self.requests: list[RecordedRequest] = []
        self.unscripted_requests = 0
        self.aborted_streams = 0  # streams the client closed before the server finished them
        self._queue: deque[Reply] = deque()
        self.router: Callable[[Any], str | None] | None = None
        """Picks a route for a request body (e.g. which agent sent it); a route with replies
        enqueued by `enqueue_for` answers before the main queue."""
        self._routes: dict[str, deque[Reply]] = {}
        self._changed = asyncio.Condition()
        self._server: asyncio.Server | None = None
        self._connections: set[_Connection] = set()
        self._port = 0
        self._connection_count = 0

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> ModelServer:
        """Listen on an ephemeral 127.0.0.1 port."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self._port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        """Stop listening and close every open connection (hung streams included)."""
        if self._server is None:
            return
        self._server.close()
        for connection in list(self._connections):
            connection.writer.close()
            if connection.task is not None:
                connection.task.cancel()
        tasks = [c.task for c in self._connections if c.task is not None]
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    async def __aenter__(self) -> ModelServer:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("ModelServer is not running")
        return self._port

    @property
    def base_url(self) -> str:
        """What a provider's `base_url` should be, e.g. `http://127.0.0.1:41234/v1`."""
        return f"http://127.0.0.1:{self.port}{self.prefix}"

    # -- scripting and inspection ---------------------------------------------------------------

    def enqueue(self, *replies: Reply) -> None:
        """Queue replies; each model request consumes the oldest one."""
        self._queue.extend(replies)

    def enqueue_for(self, route: str, *replies: Reply) -> None:
        """Replies for requests the `router` sends to `route`, in order."""
        self._routes.setdefault(route, deque()).extend(replies)

    @property
    def pending_replies(self) -> int:
        """Scripted replies not consumed yet."""
        return len(self._queue)

    async def wait_for_requests(self, count: int, timeout: float = 10.0) -> list[RecordedRequest]:
        """Wait until at least `count` requests arrived; return all of them."""
        await self._wait(lambda: len(self.requests) >= count, timeout, f"{count} request(s)")
        return list(self.requests)

    async def wait_until(
        self, done: Callable[[], bool], timeout: float = 10.0, what: str = "a condition"
    ) -> None:
        """Wait until `done()` holds, checked whenever a request arrives."""
        await self._wait(done, timeout, what)

    async def wait_for_aborted_streams(self, count: int, timeout: float = 10.0) -> None:
        """Wait until the client has abandoned `count` streams (e.g. after an interrupt)."""
        await self._wait(
            lambda: self.aborted_streams >= count, timeout, f"{count} aborted stream(s)"
        )

    async def _wait(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(done), timeout)
            except TimeoutError:
                seen = f"{len(self.requests)} request(s), {self.aborted_streams} aborted stream(s)"
                raise TimeoutError(f"waited {timeout}s for {what}; saw {seen}") from None

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # -- HTTP -----------------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connection_count += 1
        connection = _Connection(reader, writer, asyncio.current_task(), self._connection_count)
        self._connections.add(connection)
        try:
            while await self._handle_one(connection):
                pass
        except (_ClientGone, ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        except asyncio.CancelledError:
            pass  # only stop() cancels us; ending normally keeps asyncio's stream callback quiet
        finally:
            self._connections.discard(connection)
            writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await writer.wait_closed()

    async def _handle_one(self, connection: _Connection) -> bool:
        """Answer one request; return whether the connection stays open for another."""
        try:
            head = await connection.reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return False
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, target, _version = request_line.split(" ", 2)
        headers: dict[str, str] = {}
        for line in header_lines:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        raw = _decode_body(await _read_body(connection.reader, headers), headers)
        received = time.perf_counter()
        url = urlsplit(target)
        endpoint = url.path.removeprefix(self.prefix)
        known = endpoint in ("/responses", "/chat/completions") and method == "POST"
        reply: Reply | None = None
        body = _parse_json(raw)
        if known:
            route = self.router(body) if self.router is not None else None
            routed = self._routes.get(route) if route is not None else None
            queue = routed if routed else self._queue
            reply = queue.popleft() if queue else None
            if reply is None:
                self.unscripted_requests += 1
        scripted = reply is not None or not known
        recorded = RecordedRequest(
            method, url.path, url.query, headers, raw, body, scripted, connection.id
        )
        self.requests.append(recorded)
        await self._notify()
        keep_alive = headers.get("connection", "").lower() != "close"
        if not known:
            error = {
                "message": f"no route for {method} {url.path}",
                "type": "invalid_request_error",
            }
            await _send_json(connection, 404, {"error": error}, (), keep_alive)
            return keep_alive
        reply = reply or self.default_reply
        if reply.first_byte_delay:
            await asyncio.sleep(reply.first_byte_delay)
        if reply.status != 200 or reply.error_body is not None:
            await _send_json(
                connection, reply.status, reply.error_body or {}, reply.headers, keep_alive
            )
            return keep_alive
        render = render_chat if endpoint == "/chat/completions" else render_responses
        try:
            kept = await self._stream(connection, reply, render(reply)) and keep_alive
            recorded.served_seconds = time.perf_counter() - received
            return kept
        except _ClientGone:
            self.aborted_streams += 1
            await self._notify()
            return False

    async def _stream(self, connection: _Connection, reply: Reply, frames: list[bytes]) -> bool:
        """Send the SSE frames with the reply's pacing; return False if the connection was cut."""
        head = [
            "HTTP/1.1 200 OK",
            "content-type: text/event-stream",
            "cache-control: no-cache",
            "transfer-encoding: chunked",
            f"x-request-id: req_{len(self.requests)}",
            *(f"{name}: {value}" for name, value in reply.headers),
        ]
        await connection.send(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        total = len(frames)
        hang_at = None if reply.hang is None else min(reply.hang.after, total)
        cut_at = reply.disconnect_after_frames
        position = 0
        while True:
            if reply.hang is not None and position == hang_at:
                hang_at = None
                reply.hang.reached.set()
                await _wait_for_release(connection, reply.hang.release)
            if cut_at is not None and position >= min(cut_at, total):
                connection.writer.close()
                return False
            if position >= total:
                break
            if reply.frame_delay:
                if position:
                    await asyncio.sleep(reply.frame_delay)
                end = position + 1
            else:
                stops = [stop for stop in (hang_at, cut_at, total) if stop is not None]
                end = min(stop for stop in stops if stop > position)
            await _send_chunks(connection, frames[position:end])
            position = end
        await connection.send(b"0\r\n\r\n")
        return True


async def _wait_for_release(connection: _Connection, release: asyncio.Event) -> None:
    """Stall until `release` is set; notice a client that hangs up meanwhile."""
    while not release.is_set():
        if connection.gone():
            raise _ClientGone
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(release.wait(), 0.02)


async def _send_chunks(connection: _Connection, frames: list[bytes]) -> None:
    """Write frames as HTTP chunks of up to ~CHUNK_BYTES (one write per chunk)."""
    batch: list[bytes] = []
    size = 0
    for frame in frames:
        batch.append(frame)
        size += len(frame)
        if size >= CHUNK_BYTES:
            await connection.send(_chunk(b"".join(batch)))
            batch, size = [], 0
    if batch:
        await connection.send(_chunk(b"".join(batch)))


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


async def _send_json(
    connection: _Connection,
    status: int,
    body: Any,
    headers: tuple[tuple[str, str], ...],
    keep_alive: bool,
) -> None:
    payload = json.dumps(body).encode()
    head = [
        f"HTTP/1.1 {status} {_reason(status)}",
        "content-type: application/json",
        f"content-length: {len(payload)}",
        f"connection: {'keep-alive' if keep_alive else 'close'}",
        *(f"{name}: {value}" for name, value in headers),
    ]
    await connection.send(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + payload)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    """The request body, framed by `content-length` or `transfer-encoding: chunked`."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        parts: list[bytes] = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
            if size == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                    pass
                return b"".join(parts)
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
    length = int(headers.get("content-length", "0") or 0)
    return await reader.readexactly(length) if length else b""


def _decode_body(raw: bytes, headers: dict[str, str]) -> bytes:
    """Undo `content-encoding` (gzip, zstd) so recorded bodies are always plain JSON text."""
    encoding = headers.get("content-encoding", "").lower()
    if encoding == "gzip":
        return gzip.decompress(raw)
    if encoding == "zstd":
        return zstandard.ZstdDecompressor().decompressobj().decompress(raw)
    return raw


def _parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None
