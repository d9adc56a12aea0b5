"""Route incoming messages: handshake gate, method lookup, params validation, concurrent handlers.

Sans I/O: the dispatcher receives one message's text and a `Connection`, and answers by queueing
bytes on that connection. Transports only move text in and out, so the same code serves stdio,
WebSocket and the in-process tests.

Order of checks for a request (each failure answers with its error and stops):
handshake (`Not initialized` / `Already initialized`) → method known → experimental method gate →
params present and valid (-32602 naming the field) → experimental fields gate → handler exists →
too many requests in flight (-32001) → handler runs as its own task.

No message can end a connection: `dispatch` never raises. A failure that is not a typed
`RpcError` is a bug of ours; it is answered -32603 (when there is a request to answer) and logged
with the request's method and id (`rpc/errors.py`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
from pydantic import ValidationError

from app_server.api.reply import Reply
from app_server.client_connection import CURRENT_REQUEST_ID, ClientConnection
from app_server.errors import (
    InvalidParams,
    InvalidRequest,
    MethodNotFound,
    ParseError,
    ServerOverloaded,
)
from app_server.notification import render_response, response_parts_with_turns
from app_server.rpc.connection import MAX_CONCURRENT_REQUESTS, Connection
from app_server.rpc.errors import as_rpc_error, invalid_params, render_error
from app_server.rpc.experimental import check_experimental_params
from app_server.rpc.incoming import (
    ClientNotification,
    ErrorResponse,
    Incoming,
    MalformedMessage,
    NullIdAnswer,
    Request,
    Response,
    parse_message,
)
from protocol.method_spec import ClientRequestSpec
from protocol.methods import CLIENT_REQUESTS, UPSTREAM_CLIENT_METHODS
from protocol.types import InitializeParams, RequestId
from protocol.wire_model import WireModel

log = logging.getLogger(__name__)

Handler = Callable[[ClientConnection, Any], Awaitable[WireModel | Reply]]
"""Serves one method: receives the calling connection and the validated params model (None for
methods without params) and returns the result model (or a `Reply` when something must follow
the response)."""

Forward = Callable[[Connection, str, RequestId, Any], Awaitable[bytes | None]]
"""Serves a request elsewhere when it belongs there (`rpc.forwarding`): the whole response to
send, or None to serve it here."""

ForwardAnswer = Callable[[Connection, RequestId, bytes], bool]
"""Passes a client's answer to a server request on to the process that asked it (`rpc.
forwarding`): the connection, the request's id, the answer's JSON text; whether it did."""

ConnectionHook = Callable[[ClientConnection], None]
"""Runs right after a connection's `initialize` response is queued (e.g. to register it for
broadcasts and push `configWarning`), or when an initialized connection closes."""


class Dispatcher:
    """Serves the client requests of `handlers` on any number of connections."""

    def __init__(
        self,
        handlers: Mapping[str, Handler],
        *,
        on_initialized: ConnectionHook | None = None,
        on_closed: ConnectionHook | None = None,
        specs: Mapping[str, ClientRequestSpec] = CLIENT_REQUESTS,
        forward: Forward | None = None,
        forward_answer: ForwardAnswer | None = None,
    ) -> None:
        unknown = set(handlers) - set(specs)
        if unknown:
            raise ValueError(f"handlers for methods without a registry entry: {sorted(unknown)}")
        if "initialize" not in handlers:
            raise ValueError("an initialize handler is required")
        self._handlers = dict(handlers)
        self._specs = specs
        self._on_initialized = on_initialized
        self._on_closed = on_closed
        self._forward = forward
        self._forward_answer = forward_answer
        self._serving = 0
        self._started = 0
        self._idle_waiters: list[asyncio.Future[None]] = []

    async def until_idle(self) -> None:
        """Return once no request is being served, on any connection: background work that
        only saves later requests time (`app_server.warm_up`) waits for this, so it never
        delays a request that is being served. (Futures, not one `asyncio.Event`: a dispatcher
        may outlive its event loop, as in tests that run several loops.)"""
        while self._serving:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._idle_waiters.append(waiter)
            await waiter

    async def until_quiet(self, seconds: float) -> None:
        """Return once no request has been served for `seconds`: a client sending requests
        one after another leaves gaps of a round trip, too short to fill without delaying the
        next request."""
        while True:
            await self.until_idle()
            started = self._started
            await asyncio.sleep(seconds)
            if self._started == started and not self._serving:
                return

    @property
    def served_methods(self) -> frozenset[str]:
        """The methods this dispatcher has handlers for."""
        return frozenset(self._handlers)

    async def dispatch(self, conn: Connection, data: bytes | str) -> None:
        """Handle one incoming message (one stdio line or one WebSocket text frame).

        Never raises: whatever arrives, the connection goes on (module docstring)."""
        try:
            message = parse_message(data)
        except MalformedMessage as exc:
            conn.send_bytes(render_error(exc.request_id, exc))
            return
        except ParseError as exc:
            conn.send_bytes(render_error(None, exc))
            return
        except Exception as exc:  # a bug of ours while parsing
            conn.send_bytes(render_error(None, as_rpc_error(exc)))
            return
        try:
            await self._route(conn, message)
        except Exception as exc:  # after the answer (hooks, `Reply.then`): log it, carry on
            method = message.method if isinstance(message, Request | ClientNotification) else None
            request_id = message.id if isinstance(message, Request) else None
            as_rpc_error(exc, method=method, request_id=request_id)

    async def _route(self, conn: Connection, message: Incoming) -> None:
        if isinstance(message, Request):
            await self._request(conn, message)
        elif isinstance(message, ClientNotification):
            self._notification(conn, message)
        elif isinstance(message, Response):
            if not self._answer_elsewhere(conn, message.id, {"result": message.result}):
                conn.resolve(message.id, message.result)
        elif isinstance(message, ErrorResponse):
            if not self._answer_elsewhere(conn, message.id, {"error": message.error}):
                conn.reject(message.id, message.error)
        elif isinstance(message, NullIdAnswer):
            # The client could not read a request of ours; which one is unknown, so its
            # approval (if it was one) ends by timeout or disconnect.
            log.info("%s: client answered a request it could not read (id null)", conn.label)

    def _answer_elsewhere(
        self, conn: Connection, request_id: RequestId, answer: dict[str, object]
    ) -> bool:
        """Whether the answer was for a request another process asked (and went there)."""
        if self._forward_answer is None or not isinstance(request_id, str):
            return False
        text = orjson.dumps({"id": request_id, **answer})
        return self._forward_answer(conn, request_id, text)

    def adopt_initialize(self, conn: Connection, params: object) -> None:
        """Record an `initialize` that was answered before this dispatcher existed (the stdio
        fast path, `rpc.fast_initialize`), as if it had been served here: the handshake state,
        then the `on_initialized` hook. `params` must be valid (ValueError otherwise)."""
        spec = self._specs["initialize"]
        try:
            validated = self._validate(spec, params)
        except InvalidParams as exc:
            raise ValueError(f"an adopted initialize must be valid: {exc}") from None
        if not isinstance(validated, InitializeParams):
            raise ValueError("an adopted initialize must have params")
        conn.accept_initialize(validated)
        if self._on_initialized is not None:
            self._on_initialized(conn)

    def closed(self, conn: Connection) -> None:
        """The transport calls this once when a connection has ended."""
        if conn.initialized and self._on_closed is not None:
            self._on_closed(conn)

    def _notification(self, conn: Connection, message: ClientNotification) -> None:
        # `initialized` is accepted but not required (0.169 serves requests without it); other
        # client notifications do not exist in the protocol and are ignored.
        if message.method != "initialized":
            log.debug("%s: ignoring client notification %s", conn.label, message.method)

    async def _request(self, conn: Connection, request: Request) -> None:
        log.debug("%s: request %s", conn.label, request.method)
        try:
            spec, params = self._prepare(conn, request)
        except Exception as exc:  # typed refusals, or a bug of ours while validating
            error = as_rpc_error(exc, method=request.method, request_id=request.id)
            conn.send_bytes(render_error(request.id, error))
            return
        if request.method == "initialize":
            # Served inline, so requests pipelined right behind it already see the handshake.
            await self._serve(conn, request.id, spec, params)
            if self._on_initialized is not None and conn.initialized:
                self._on_initialized(conn)
            return
        if conn.requests_in_flight >= MAX_CONCURRENT_REQUESTS:
            conn.send_bytes(render_error(request.id, ServerOverloaded()))
            return
        conn.spawn(self._serve(conn, request.id, spec, params), request.method)

    def _prepare(self, conn: Connection, request: Request) -> tuple[ClientRequestSpec, Any]:
        """Check the handshake and the method, and validate the params (raises `RpcError`)."""
        method = request.method
        if method == "initialize":
            if conn.initialized:
                raise InvalidRequest("Already initialized")
        elif not conn.initialized:
            raise InvalidRequest("Not initialized")
        spec = self._specs.get(method)
        if spec is None:
            if method in UPSTREAM_CLIENT_METHODS:
                raise MethodNotFound(f"Method not supported by this server: {method}")
            raise MethodNotFound(f"Method not found: {method}")
        if spec.experimental and not conn.experimental_api:
            raise InvalidRequest(f"{method} requires experimentalApi capability")
        params = self._validate(spec, request.params)
        if params is not None and not conn.experimental_api:
            check_experimental_params(method, params)
        if method not in self._handlers:
            raise MethodNotFound(f"Method not supported by this server: {method}")
        return spec, params

    @staticmethod
    def _validate(spec: ClientRequestSpec, raw: object) -> WireModel | None:
        if spec.params is None:
            if raw not in (None, {}):
                raise InvalidParams(f"Invalid params: {spec.method} takes no params")
            return None
        if raw is None:
            if not spec.params_optional:
                raise InvalidParams(
                    f"Invalid params: missing field `params` ({spec.method} has required fields)"
                )
            raw = {}
        try:
            return spec.params.model_validate(raw)
        except ValidationError as exc:
            raise invalid_params(exc) from None

    async def _serve(
        self, conn: Connection, request_id: RequestId, spec: ClientRequestSpec, params: Any
    ) -> None:
        self._serving += 1
        self._started += 1
        try:
            await self._answer(conn, request_id, spec, params)
        finally:
            self._serving -= 1
            if not self._serving:
                waiters, self._idle_waiters = self._idle_waiters, []
                for waiter in waiters:
                    if not waiter.done() and not waiter.get_loop().is_closed():
                        waiter.set_result(None)

    async def _answer(
        self, conn: Connection, request_id: RequestId, spec: ClientRequestSpec, params: Any
    ) -> None:
        if spec.method == "initialize":
            conn.accept_initialize(params)
        token = CURRENT_REQUEST_ID.set(request_id)
        try:
            if self._forward is not None:
                forwarded = await self._forward(conn, spec.method, request_id, params)
                if forwarded is not None:  # served by another process
                    if forwarded:  # (empty: its answer was sent as it arrived)
                        conn.send_bytes(forwarded)
                    return
            result = await self._handlers[spec.method](conn, params)
            then = result.then if isinstance(result, Reply) else None
            response = _render(request_id, result, experimental=conn.experimental_api)
            del result  # a reply's rendered turns may be tens of MB: gone before the write
        except Exception as exc:  # every failure is answered; see rpc/errors.py
            error = as_rpc_error(exc, method=spec.method, request_id=request_id)
            conn.send_bytes(render_error(request_id, error))
            return
        finally:
            CURRENT_REQUEST_ID.reset(token)
        if isinstance(response, list):
            conn.send_parts(response)
        else:
            conn.send_bytes(response)
        del response
        if then is not None:
            try:
                then()
            except Exception as exc:  # answered already: only the log can tell
                as_rpc_error(exc, method=spec.method, request_id=request_id)


def _render(
    request_id: RequestId, result: WireModel | Reply, *, experimental: bool
) -> bytes | list[bytes]:
    """The response's JSON text; a reply's pre-rendered turns go into its `thread.turns`, and
    that text is left in pieces (`response_parts_with_turns`) for the transport to write one
    after another."""
    if not isinstance(result, Reply):
        return render_response(request_id, result, experimental=experimental)
    if result.turns_json is None:
        return render_response(request_id, result.result, experimental=experimental)
    return response_parts_with_turns(
        request_id, result.result, result.turns_json, experimental=experimental
    )
