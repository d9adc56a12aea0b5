"""The dispatcher and connection without a transport: concurrency, server requests, fan-out."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from app_server.client_connection import ClientConnection, ClientGone
from app_server.notification import Notification
from app_server.rpc.connection import Connection
from app_server.rpc.dispatcher import Dispatcher, Handler
from protocol.types import (
    InitializeParams,
    InitializeResponse,
    Thread,
    ThreadListResponse,
    ThreadStartedNotification,
    ThreadStartResponse,
)


class CollectingSink:
    """A transport stand-in that records what would have been written."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.closed_with: str | None = None
        self.arrived = asyncio.Event()

    async def send(self, messages: list[bytes]) -> None:
        self.messages.extend(orjson.loads(m) for m in messages)
        self.arrived.set()

    async def close(self, reason: str) -> None:
        self.closed_with = reason

    async def wait_for(self, count: int) -> list[dict[str, Any]]:
        while len(self.messages) < count:
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), 5)
        return self.messages


async def initialize_handler(
    connection: ClientConnection, params: InitializeParams
) -> InitializeResponse:
    return InitializeResponse(
        codex_home="/tmp/x", platform_family="unix", platform_os="linux", user_agent="t"
    )


def make(handlers: dict[str, Handler]) -> tuple[Dispatcher, Connection, CollectingSink]:
    sink = CollectingSink()
    conn = Connection(sink, label="test")
    conn.start()
    return Dispatcher({"initialize": initialize_handler, **handlers}), conn, sink


INIT = orjson.dumps(
    {
        "id": 0,
        "method": "initialize",
        "params": {"clientInfo": {"name": "t", "version": "1"}, "capabilities": None},
    }
)


def sample_thread(**overrides: Any) -> Thread:
    fields: dict[str, Any] = {
        "id": "01a20eeb-d4ab-7d60-be7d-402cf5f03555",
        "session_id": "01a20eeb-d4ab-7d60-be7d-402cf5f03555",
        "cli_version": "0.1.0",
        "created_at": 1,
        "updated_at": 1,
        "cwd": "/tmp",
        "ephemeral": False,
        "model_provider": "openai",
        "preview": "",
        "source": "vscode",
        "status": {"type": "idle"},
        "turns": [],
        "can_accept_direct_input": True,
    }
    fields.update(overrides)
    return Thread.model_validate(fields)


async def test_slow_request_does_not_block_a_fast_one() -> None:
    release = asyncio.Event()

    async def slow(connection: ClientConnection, params: object) -> ThreadStartResponse:
        await release.wait()
        raise AssertionError("not reached in this test")

    async def fast(connection: ClientConnection, params: object) -> ThreadListResponse:
        return ThreadListResponse(data=[], next_cursor=None)

    dispatcher, conn, sink = make({"thread/start": slow, "thread/list": fast})
    await dispatcher.dispatch(conn, INIT)
    await dispatcher.dispatch(conn, b'{"id": 1, "method": "thread/start", "params": {}}')
    await dispatcher.dispatch(conn, b'{"id": 2, "method": "thread/list", "params": {}}')
    messages = await sink.wait_for(2)
    assert [m["id"] for m in messages] == [0, 2]
    release.set()


async def test_all_optional_params_may_be_omitted() -> None:
    async def listing(connection: ClientConnection, params: Any) -> ThreadListResponse:
        assert params.limit is None
        return ThreadListResponse(data=[], next_cursor=None)

    dispatcher, conn, sink = make({"thread/list": listing})
    await dispatcher.dispatch(conn, INIT)
    await dispatcher.dispatch(conn, b'{"id": 1, "method": "thread/list"}')
    messages = await sink.wait_for(2)
    assert messages[1] == {
        "id": 1,
        "result": {"data": [], "nextCursor": None, "backwardsCursor": None},
    }


async def test_handler_crash_is_internal_error_without_traceback() -> None:
    async def broken(connection: ClientConnection, params: object) -> ThreadListResponse:
        raise KeyError("secret internals")

    dispatcher, conn, sink = make({"thread/list": broken})
    await dispatcher.dispatch(conn, INIT)
    await dispatcher.dispatch(conn, b'{"id": 1, "method": "thread/list", "params": {}}')
    error = (await sink.wait_for(2))[1]["error"]
    assert error["code"] == -32603
    assert "secret" not in error["message"]
    assert "Traceback" not in error["message"]


async def test_server_requests_get_increasing_ids_and_resolve_by_id() -> None:
    dispatcher, conn, sink = make({})
    await dispatcher.dispatch(conn, INIT)
    params = ThreadStartedNotification(thread=sample_thread())
    first = conn.send_request("item/tool/call", params).future
    second = conn.send_request("item/tool/call", params).future
    messages = await sink.wait_for(3)
    assert [m["id"] for m in messages[1:]] == [0, 1]
    await dispatcher.dispatch(conn, b'{"id": 1, "result": {"second": true}}')
    await dispatcher.dispatch(conn, b'{"id": 0, "result": {"first": true}}')
    assert await first == {"first": True}
    assert await second == {"second": True}


async def test_pending_server_request_fails_when_client_goes_away() -> None:
    dispatcher, conn, sink = make({})
    await dispatcher.dispatch(conn, INIT)
    waiting = conn.send_request(
        "item/tool/call", ThreadStartedNotification(thread=sample_thread())
    ).future
    await sink.wait_for(2)
    conn.lost()
    with pytest.raises(ClientGone):
        await waiting


async def test_opted_out_notifications_are_not_sent() -> None:
    dispatcher, conn, sink = make({})
    init = orjson.loads(INIT)
    init["params"]["capabilities"] = {"optOutNotificationMethods": ["thread/started"]}
    await dispatcher.dispatch(conn, orjson.dumps(init))
    conn.notify(Notification("thread/started", ThreadStartedNotification(thread=sample_thread())))
    conn.notify(Notification("thread/closed", ThreadStartedNotification(thread=sample_thread())))
    messages = await sink.wait_for(2)
    assert [m.get("method") for m in messages] == [None, "thread/closed"]


async def test_experimental_fields_are_stripped_for_stable_clients() -> None:
    notification = Notification("thread/started", ThreadStartedNotification(thread=sample_thread()))
    stable = orjson.loads(notification.render(experimental=False))
    experimental = orjson.loads(notification.render(experimental=True))
    assert "canAcceptDirectInput" not in stable["params"]["thread"]
    assert experimental["params"]["thread"]["canAcceptDirectInput"] is True
    assert stable["emittedAtMs"] == experimental["emittedAtMs"]


async def test_notification_is_rendered_once_per_flavour() -> None:
    notification = Notification("thread/started", ThreadStartedNotification(thread=sample_thread()))
    assert notification.render(experimental=False) is notification.render(experimental=False)


async def test_too_many_requests_in_flight_are_refused_as_overloaded() -> None:
    release = asyncio.Event()

    async def slow(connection: ClientConnection, params: object) -> ThreadListResponse:
        await release.wait()
        return ThreadListResponse(data=[], next_cursor=None)

    dispatcher, conn, sink = make({"thread/list": slow})
    await dispatcher.dispatch(conn, INIT)
    for request_id in range(1, 258):
        await dispatcher.dispatch(
            conn, orjson.dumps({"id": request_id, "method": "thread/list", "params": {}})
        )
    messages = await sink.wait_for(2)
    assert messages[1] == {
        "id": 257,
        "error": {"code": -32001, "message": "Server overloaded; retry later."},
    }
    release.set()
    await sink.wait_for(258)


async def test_client_that_stops_reading_is_disconnected_not_waited_for() -> None:
    class StuckSink(CollectingSink):
        async def send(self, messages: list[bytes]) -> None:
            await asyncio.Event().wait()

    sink = StuckSink()
    conn = Connection(sink, label="stuck")
    conn.start()
    conn.initialized = True
    notification = Notification("thread/started", ThreadStartedNotification(thread=sample_thread()))
    for _ in range(50_002):
        conn.notify(notification)
    await asyncio.sleep(0)
    assert not conn.is_open
    assert sink.closed_with is not None
    assert "send queue overflow" in sink.closed_with
    conn.lost()


async def test_until_idle_waits_for_the_request_being_served() -> None:
    release = asyncio.Event()

    async def slow(connection: ClientConnection, params: object) -> ThreadListResponse:
        await release.wait()
        return ThreadListResponse(data=[], next_cursor=None)

    dispatcher, conn, sink = make({"thread/list": slow})
    await dispatcher.dispatch(conn, INIT)
    await dispatcher.dispatch(conn, b'{"id": 1, "method": "thread/list", "params": {}}')
    await asyncio.sleep(0.01)
    idle = asyncio.create_task(dispatcher.until_idle())
    await asyncio.sleep(0.05)
    assert not idle.done()
    release.set()
    await asyncio.wait_for(idle, 5)
    assert [m["id"] for m in await sink.wait_for(2)] == [0, 1]


async def test_until_quiet_waits_for_a_pause_after_the_last_request() -> None:
    async def fast(connection: ClientConnection, params: object) -> ThreadListResponse:
        return ThreadListResponse(data=[], next_cursor=None)

    dispatcher, conn, _sink = make({"thread/list": fast})
    await dispatcher.dispatch(conn, INIT)
    quiet = asyncio.create_task(dispatcher.until_quiet(0.2))
    for request_id in range(1, 4):  # a request every 0.1 s: never a 0.2 s pause
        await dispatcher.dispatch(
            conn, b'{"id": %d, "method": "thread/list", "params": {}}' % request_id
        )
        await asyncio.sleep(0.1)
        assert not quiet.done()
    await asyncio.wait_for(quiet, 5)
