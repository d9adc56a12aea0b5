"""WebSocket transport: one text frame = one JSON-RPC message; every connection is its own session.

The same listener answers plain HTTP (PROTOCOL.md §1.2): `GET /readyz` and `GET /healthz` → 200,
any request with an `Origin` header → 403 (browsers must not drive a local agent), unknown paths →
400. With a capability token configured, upgrades without `Authorization: Bearer <token>` → 401.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from http import HTTPStatus

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from app_server.errors import InvalidRequest
from app_server.rpc.connection import Connection
from app_server.rpc.dispatcher import Dispatcher
from app_server.rpc.errors import render_error
from app_server.transport.auth import CapabilityToken
from app_server.transport.limits import (
    MAX_MESSAGE_BYTES,
    WEBSOCKET_HARD_MAX_BYTES,
    too_large_message,
)

log = logging.getLogger(__name__)

CLOSE_TIMEOUT_SECONDS = 5.0
"""How long a closing handshake may take before the TCP connection is dropped."""

CLOSE_FRAME_TIMEOUT_SECONDS = 5.0
"""How long the server's close frame may wait behind unread output before the TCP connection
is aborted instead. A client that stopped reading never takes the frame (it sits behind every
message the client left unread), so without this bound its socket and buffers would be held
until the next keepalive ping timed out; a client that is merely slow still gets the frame."""


class WebSocketSink:
    """The connection's outbound side: each message is one text frame."""

    def __init__(self, ws: ServerConnection) -> None:
        self._ws = ws

    async def send(self, messages: list[bytes]) -> None:
        try:
            for message in messages:
                await self._ws.send(message, text=True)
        except ConnectionClosed as exc:  # the writer treats this as the transport going away
            raise ConnectionError(f"websocket closed: {exc}") from None

    async def close(self, reason: str) -> None:
        # 1008 (policy violation) is the closest standard code for "you fell too far behind".
        try:
            async with asyncio.timeout(CLOSE_FRAME_TIMEOUT_SECONDS):
                await self._ws.close(1008, reason[:120])
        except ConnectionClosed:
            pass
        except TimeoutError:
            log.info("close frame could not be sent in time; aborting the connection")
            self._ws.transport.abort()


class WebSocketListener:
    """Accepts WebSocket clients and serves each with its own `Connection`."""

    def __init__(self, dispatcher: Dispatcher, token: CapabilityToken | None) -> None:
        self._dispatcher = dispatcher
        self._token = token
        self._ready = False

    def process_request(self, ws: ServerConnection, request: Request) -> Response | None:
        """Answer plain HTTP and refuse bad upgrades before any JSON-RPC happens."""
        if "Origin" in request.headers:
            return ws.respond(HTTPStatus.FORBIDDEN, "Forbidden: requests with an Origin header\n")
        path = request.path.split("?", 1)[0]
        is_upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
        if not is_upgrade:
            if path == "/readyz":
                status = HTTPStatus.OK if self._ready else HTTPStatus.SERVICE_UNAVAILABLE
                return ws.respond(status, "")
            if path == "/healthz":
                return ws.respond(HTTPStatus.OK, "")
            return ws.respond(HTTPStatus.BAD_REQUEST, "Bad Request: expected a WebSocket upgrade\n")
        if self._token is not None and not self._token.accepts(
            request.headers.get("Authorization")
        ):
            return ws.respond(
                HTTPStatus.UNAUTHORIZED, "Unauthorized: missing or wrong bearer token\n"
            )
        return None

    async def handle(self, ws: ServerConnection) -> None:
        """Serve one client until it disconnects."""
        conn = Connection(WebSocketSink(ws), label=f"ws#{id(ws):x}")
        conn.start()
        try:
            async for frame in ws:
                if isinstance(frame, bytes):
                    log.info("dropping unsupported binary websocket message")
                    continue
                # A character is at most 4 UTF-8 bytes: only long frames need measuring.
                size = len(frame.encode()) if len(frame) * 4 > MAX_MESSAGE_BYTES else 0
                if size > MAX_MESSAGE_BYTES:
                    error = InvalidRequest(too_large_message(size))
                    conn.send_bytes(render_error(None, error))
                    continue
                await self._dispatcher.dispatch(conn, frame)
        except ConnectionClosed:
            pass
        finally:
            conn.lost()
            self._dispatcher.closed(conn)

    async def serve(self, host: str, port: int, stop: asyncio.Event) -> None:
        """Listen until `stop` is set, then close every connection (1001 going away)."""
        async with serve(
            self.handle,
            host,
            port,
            process_request=self.process_request,
            max_size=WEBSOCKET_HARD_MAX_BYTES,
            close_timeout=CLOSE_TIMEOUT_SECONDS,
            server_header=None,
        ) as server:
            self._ready = True
            for sock in server.sockets:
                address = sock.getsockname()
                shown = f"[{address[0]}]" if ":" in address[0] else address[0]
                # Written directly so that scripts and tests can find the port whatever the
                # log level.
                print(
                    f"app-server listening on ws://{shown}:{address[1]}",
                    file=sys.stderr,
                    flush=True,
                )
            await stop.wait()
            self._ready = False
            server.close()
            await server.wait_closed()
