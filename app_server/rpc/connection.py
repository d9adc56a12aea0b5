"""One client connection: handshake state, outbound queue and writer, pending server requests.

Every transport connection (the stdio pipe, each WebSocket) gets one `Connection`. It never blocks
the code that sends to it: messages go into a bounded in-memory queue drained by one writer task,
so a slow client delays only itself. When a client stops reading long enough for the queue to
fill up, the connection is closed with a clear reason instead of holding up turns or other
clients (README, "Limits").
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import orjson

from app_server.client_connection import ClientGone, PendingServerRequest
from app_server.notification import Notification, render_model
from protocol.types import RequestId
from protocol.wire_model import WireModel

if TYPE_CHECKING:
    from protocol.types import InitializeParams

log = logging.getLogger(__name__)

MAX_QUEUED_MESSAGES = 50_000
"""Messages a client may leave unread before it is disconnected. A streamed delta is ~200 bytes,
so the queue can pin roughly 10 MB per slow client; at 50,000 deltas/s it is a one-second lag."""

MAX_CONCURRENT_REQUESTS = 256
"""Requests one connection may have in flight; more are refused with -32001 (retry later).
Each in-flight request holds a task and its params in memory."""


class ServerRequestFailed(Exception):
    """The client answered a server→client request with a JSON-RPC error."""

    def __init__(self, error: object) -> None:
        super().__init__(f"client answered with an error: {error!r}")
        self.error = error


class MessageSink(Protocol):
    """Where a connection's outbound messages go: the transport's side of the connection."""

    async def send(self, messages: list[bytes]) -> None:
        """Write the messages in order (each is one JSON text, without a newline)."""
        ...

    async def close(self, reason: str) -> None:
        """Close the transport, telling the client why when the transport can."""
        ...


@runtime_checkable
class PartsSink(Protocol):
    """A sink that can also write one message given in pieces (`Connection.send_parts`)."""

    async def send_parts(self, parts: list[bytes]) -> None:
        """Write the pieces of one message in order, then its end (the newline of a line
        transport). Each piece is released (replaced by `b""`) once written, so a message of
        tens of MB is never held whole nor twice."""
        ...


class _Parts:
    """A message queued in pieces (see `Connection.send_parts`)."""

    __slots__ = ("parts",)

    def __init__(self, parts: list[bytes]) -> None:
        self.parts = parts

    def joined(self) -> bytes:
        return b"".join(self.parts)


class Connection:
    """A client connection over one transport (implements `ClientConnection`)."""

    _numbers = itertools.count(1)

    def __init__(
        self, sink: MessageSink, *, label: str, server_request_prefix: str | None = None
    ) -> None:
        """`server_request_prefix`: the ids of server requests are this prefix and a number
        (a peer connection's, `rpc.forwarding`, so that they never collide with the ids the
        client's own process gives its server requests); numbers from 0 otherwise."""
        self._sink = sink
        self.label = label
        self._connection_id = next(self._numbers)
        self.initialized = False
        self._client_name = ""
        self._experimental_api = False
        self._opt_out: frozenset[str] = frozenset()
        self.initialize_params: InitializeParams | None = None
        """What the client sent in `initialize` (a forwarded request carries it to the
        process serving it, `rpc.forwarding`)."""
        self._queue: deque[bytes | _Parts] = deque()
        self._wakeup = asyncio.Event()
        self._open = True
        self._finishing = False
        self._pending: dict[RequestId, asyncio.Future[object]] = {}
        self._next_request_id = 0
        self._request_prefix = server_request_prefix
        self._tasks: set[asyncio.Task[None]] = set()
        self._writer: asyncio.Task[None] | None = None

    # -- ClientConnection -----------------------------------------------------------------------
    @property
    def connection_id(self) -> int:
        return self._connection_id

    @property
    def client_name(self) -> str:
        return self._client_name

    @property
    def experimental_api(self) -> bool:
        return self._experimental_api

    @property
    def is_open(self) -> bool:
        return self._open

    def notify(self, notification: Notification) -> None:
        if not self.initialized or notification.method in self._opt_out:
            return
        self.send_bytes(notification.render(experimental=self._experimental_api))

    def send_request(self, method: str, params: WireModel) -> PendingServerRequest:
        if not self._open:
            raise ClientGone(f"connection {self.label} is closed")
        number = self._next_request_id
        self._next_request_id += 1
        request_id: RequestId = (
            number if self._request_prefix is None else f"{self._request_prefix}{number}"
        )
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        future.add_done_callback(lambda _: self._pending.pop(request_id, None))
        self.send_bytes(
            b"".join(
                (
                    b'{"id":',
                    orjson.dumps(request_id),
                    b',"method":',
                    orjson.dumps(method),
                    b',"params":',
                    render_model(params, experimental=self._experimental_api),
                    b"}",
                )
            )
        )
        return PendingServerRequest(request_id, future)

    # -- handshake ------------------------------------------------------------------------------
    def accept_initialize(self, params: InitializeParams) -> None:
        """Record the client's identity and capabilities; requests are served from now on."""
        self.initialized = True
        self.initialize_params = params
        self._client_name = params.client_info.name
        capabilities = params.capabilities
        if capabilities is not None:
            self._experimental_api = bool(capabilities.experimental_api)
            self._opt_out = frozenset(capabilities.opt_out_notification_methods or ())

    # -- answers to server requests -------------------------------------------------------------
    def resolve(self, request_id: RequestId, result: object) -> None:
        """The client answered a server request; unknown ids are ignored (PROTOCOL.md §1.3)."""
        future = self._pending.get(request_id)
        if future is not None and not future.done():
            future.set_result(result)

    def reject(self, request_id: RequestId, error: object) -> None:
        """The client answered a server request with an error."""
        future = self._pending.get(request_id)
        if future is not None and not future.done():
            future.set_exception(ServerRequestFailed(error))

    # -- outbound -------------------------------------------------------------------------------
    def send_bytes(self, data: bytes) -> None:
        """Queue one message; never blocks. Overflow closes the connection (module docstring)."""
        self._enqueue(data)

    def send_parts(self, parts: list[bytes]) -> None:
        """Queue one message given as consecutive pieces of its JSON text (a `thread/read`
        answer with a huge history, `notification.response_parts_with_turns`); never blocks. A
        transport that can write pieces (`PartsSink`) writes them without joining them; to
        another, they are joined when the message is written."""
        self._enqueue(_Parts(parts))

    def _enqueue(self, message: bytes | _Parts) -> None:
        if not self._open:
            return
        if len(self._queue) >= MAX_QUEUED_MESSAGES:
            log.warning("%s: client is not reading; closing the connection", self.label)
            self._shut(f"send queue overflow: more than {MAX_QUEUED_MESSAGES} unread messages")
            return
        self._queue.append(message)
        self._wakeup.set()

    def start(self) -> None:
        """Start the writer task (once the event loop runs)."""
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_loop(), name=f"{self.label} writer")

    async def _write_loop(self) -> None:
        try:
            while True:
                await self._wakeup.wait()
                self._wakeup.clear()
                while self._queue:
                    queued = list(self._queue)
                    self._queue.clear()
                    await self._send(queued)
                    del queued
                if self._finishing or not self._open:
                    return
        except (ConnectionError, OSError) as exc:
            log.info("%s: transport failed while writing: %s", self.label, exc)
            self._shut(None)
        except Exception:
            log.exception("%s: writer failed", self.label)
            self._shut(None)

    async def _send(self, queued: list[bytes | _Parts]) -> None:
        """Hand the queued messages to the sink in order, a message in pieces on its own."""
        sink = self._sink
        batch: list[bytes] = []
        for message in queued:
            if isinstance(message, bytes):
                batch.append(message)
                continue
            if batch:
                await sink.send(batch)
                batch = []
            if isinstance(sink, PartsSink):
                await sink.send_parts(message.parts)
            else:
                await sink.send([message.joined()])
        if batch:
            await sink.send(batch)

    # -- requests in flight ---------------------------------------------------------------------
    @property
    def requests_in_flight(self) -> int:
        return len(self._tasks)

    def spawn(self, coroutine: Coroutine[Any, Any, None], name: str) -> None:
        """Run a request handler concurrently with the connection's other requests."""
        task = asyncio.create_task(coroutine, name=f"{self.label} {name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- shutdown -------------------------------------------------------------------------------
    def _shut(self, reason: str | None) -> None:
        """Stop accepting work and fail pending server requests; close the transport if asked."""
        if not self._open:
            return
        self._open = False
        self._wakeup.set()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ClientGone(f"connection {self.label} closed"))
        for task in self._tasks:
            task.cancel()
        if reason is not None:
            asyncio.get_running_loop().create_task(self._sink.close(reason))

    async def finish(self, grace_seconds: float) -> None:
        """The client is done sending (EOF): let requests in flight answer, flush, then close."""
        if self._tasks:
            _, still_running = await asyncio.wait(set(self._tasks), timeout=grace_seconds)
            for task in still_running:
                task.cancel()
        self._finishing = True
        self._wakeup.set()
        if self._writer is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._writer), grace_seconds)
            except TimeoutError:
                log.warning("%s: could not flush pending messages in time", self.label)
        self._shut(None)

    def lost(self) -> None:
        """The transport is gone (peer closed): drop queued output and cancel everything."""
        self._queue.clear()
        self._shut(None)
        if self._writer is not None:
            self._writer.cancel()
