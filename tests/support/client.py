"""Test clients that speak to a real server process over a real pipe or socket.

Every message a client receives is checked: it must be JSON-RPC (no `jsonrpc` member, as 0.169)
and must validate against the upstream schema (`upstream_schema`). Problems are collected in
`violations`; the fixtures fail the test when any were seen.
"""

from __future__ import annotations

import asyncio
import itertools
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import websockets
from websockets.asyncio.client import ClientConnection

from tests.support import upstream_schema

DEFAULT_TIMEOUT = 15.0


@dataclass
class Reply:
    """A response: exactly one of `result` and `error` is set."""

    id: Any
    result: Any = None
    error: dict[str, Any] | None = None

    @property
    def code(self) -> int | None:
        return None if self.error is None else int(self.error["code"])

    @property
    def message(self) -> str:
        return "" if self.error is None else str(self.error["message"])


class RpcError(AssertionError):
    """A call expected to succeed came back with an error."""


class RpcClient(ABC):
    """A JSON-RPC client with request/response matching and notification capture."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._pending: dict[Any, asyncio.Future[Reply]] = {}
        self._methods: dict[Any, str] = {}
        self.experimental = False
        self.received: list[dict[str, Any]] = []
        self.notifications: list[dict[str, Any]] = []
        self.server_requests: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.unmatched: list[dict[str, Any]] = []
        self.violations: list[str] = []
        self._arrived = asyncio.Condition()
        self.closed = asyncio.Event()

    # -- transport hooks ------------------------------------------------------------------------
    @abstractmethod
    async def send_raw(self, data: str | bytes) -> None:
        """Send one message exactly as given (a line or a text frame)."""

    @abstractmethod
    async def close(self) -> None:
        """Close the client's side of the connection."""

    async def _on_text(self, text: str | bytes) -> None:
        try:
            message = orjson.loads(text)
        except orjson.JSONDecodeError:
            self.violations.append(f"not JSON from server: {text[:200]!r}")
            return
        if not isinstance(message, dict):
            self.violations.append(f"not a JSON object from server: {text[:200]!r}")
            return
        if "jsonrpc" in message:
            self.violations.append("server emitted a `jsonrpc` member (0.169 never does)")
        self.received.append(message)
        if "method" in message and "id" in message:
            self.violations += upstream_schema.check_server_request(message, self.experimental)
            await self.server_requests.put(message)
        elif "method" in message:
            self.violations += upstream_schema.check_notification(message, self.experimental)
            self.notifications.append(message)
        elif "result" in message or "error" in message:
            request_id = message.get("id")
            method = self._methods.get(request_id)
            if method is not None:
                self.violations += upstream_schema.check_response(
                    method, message, self.experimental
                )
            future = self._pending.pop(request_id, None) if request_id is not None else None
            reply = Reply(request_id, message.get("result"), message.get("error"))
            if future is not None and not future.done():
                future.set_result(reply)
            else:
                if method is None and "error" in message:
                    self.violations += upstream_schema.check_response("", message, False)
                self.unmatched.append(message)
        else:
            self.violations.append(f"unrecognized message from server: {message!r}")
        async with self._arrived:
            self._arrived.notify_all()

    # -- requests -------------------------------------------------------------------------------
    def next_id(self) -> int:
        return next(self._ids)

    async def request(
        self,
        method: str,
        params: Any = None,
        *,
        request_id: Any = None,
        omit_params: bool = False,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> Reply:
        """Send a request and wait for its response."""
        request_id = self.next_id() if request_id is None else request_id
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        self._methods[request_id] = method
        message: dict[str, Any] = {"id": request_id, "method": method}
        if not omit_params:
            message["params"] = {} if params is None else params
        await self.send_raw(orjson.dumps(message))
        return await asyncio.wait_for(future, timeout)

    async def requests_in_one_write(
        self, calls: list[tuple[str, Any]], *, timeout: float = DEFAULT_TIMEOUT
    ) -> list[Reply]:
        """Send several requests in one write (on stdio: one chunk of lines the server reads
        together), then wait for all their responses; ids are the client's next ones, in order."""
        futures: list[asyncio.Future[Reply]] = []
        lines = []
        for method, params in calls:
            request_id = self.next_id()
            future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
            self._pending[request_id] = future
            self._methods[request_id] = method
            futures.append(future)
            lines.append(orjson.dumps({"id": request_id, "method": method, "params": params}))
        await self.send_raw(b"\n".join(lines))
        return list(await asyncio.wait_for(asyncio.gather(*futures), timeout))

    async def call(self, method: str, params: Any = None, **kwargs: Any) -> Any:
        """A request that must succeed; returns its result."""
        reply = await self.request(method, params, **kwargs)
        if reply.error is not None:
            raise RpcError(f"{method} failed: {reply.error}")
        return reply.result

    async def notify(self, method: str, params: Any = None) -> None:
        message: dict[str, Any] = {"method": method}
        if params is not None:
            message["params"] = params
        await self.send_raw(orjson.dumps(message))

    async def respond(self, request_id: Any, result: Any) -> None:
        """Answer a server→client request."""
        await self.send_raw(orjson.dumps({"id": request_id, "result": result}))

    async def initialize(
        self,
        *,
        name: str = "test-client",
        experimental: bool = False,
        opt_out: list[str] | None = None,
    ) -> dict[str, Any]:
        capabilities: dict[str, Any] = {"experimentalApi": experimental}
        if opt_out is not None:
            capabilities["optOutNotificationMethods"] = opt_out
        self.experimental = experimental
        params = {"clientInfo": {"name": name, "version": "1.0"}, "capabilities": capabilities}
        result: dict[str, Any] = await self.call("initialize", params)
        await self.notify("initialized")
        return result

    # -- waiting --------------------------------------------------------------------------------
    async def wait_for(
        self, predicate: Callable[[], bool], timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        async def wait() -> None:
            async with self._arrived:
                await self._arrived.wait_for(predicate)

        await asyncio.wait_for(wait(), timeout)

    async def wait_notification(
        self,
        method: str,
        *,
        where: Callable[[dict[str, Any]], bool] = lambda _: True,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> dict[str, Any]:
        """The first notification (already received or arriving) matching `method` and `where`."""

        def find() -> dict[str, Any] | None:
            for message in self.notifications:
                if message["method"] == method and where(message):
                    return message
            return None

        await self.wait_for(lambda: find() is not None, timeout)
        found = find()
        assert found is not None
        return found

    def notifications_named(self, method: str) -> list[dict[str, Any]]:
        return [m for m in self.notifications if m["method"] == method]


class StdioClient(RpcClient):
    """Speaks to a server process over its stdin/stdout pipes."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        super().__init__()
        self.process = process
        assert process.stdin is not None
        assert process.stdout is not None
        self._stdin = process.stdin
        self._stdout = process.stdout
        self._reader = asyncio.create_task(self._read_loop())

    async def _read_loop(self) -> None:
        try:
            while True:
                line = await self._stdout.readline()
                if not line:
                    return
                if not line.endswith(b"\n"):
                    self.violations.append(f"unterminated line on stdout: {line[:200]!r}")
                await self._on_text(line)
        finally:
            self.closed.set()

    async def send_raw(self, data: str | bytes) -> None:
        raw = data.encode() if isinstance(data, str) else data
        self._stdin.write(raw if raw.endswith(b"\n") else raw + b"\n")
        await self._stdin.drain()

    async def close(self) -> None:
        if not self._stdin.is_closing():
            self._stdin.close()


class WebSocketClient(RpcClient):
    """Speaks to a server over one WebSocket connection (text frames)."""

    def __init__(self, ws: ClientConnection) -> None:
        super().__init__()
        self.ws = ws
        self._reader = asyncio.create_task(self._read_loop())

    @classmethod
    async def connect(cls, url: str, **kwargs: Any) -> WebSocketClient:
        ws = await websockets.connect(url, max_size=None, **kwargs)
        return cls(ws)

    async def _read_loop(self) -> None:
        try:
            async for frame in self.ws:
                if isinstance(frame, bytes):
                    self.violations.append("server sent a binary frame")
                await self._on_text(frame)
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed.set()

    async def send_raw(self, data: str | bytes) -> None:
        await self.ws.send(data if isinstance(data, str) else data.decode())

    async def close(self) -> None:
        await self.ws.close()
