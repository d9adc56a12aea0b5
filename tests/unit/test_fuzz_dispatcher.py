"""Fuzzing the dispatcher in process: every input is answered correctly or ignored by the rules.

Faster than the process-level fuzz, so it runs many more examples; the properties are the same:
the server never raises, emits only JSON-RPC messages, and answers each request exactly once.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app_server.config import load_config
from app_server.rpc.connection import Connection
from app_server.server import AppServer
from tests.support.fuzz_strategies import json_values, random_bytes, requests

SETTINGS = settings(
    max_examples=600,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


class Sink:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def send(self, messages: list[bytes]) -> None:
        self.messages.extend(messages)

    async def close(self, reason: str) -> None:
        raise AssertionError(f"connection closed unexpectedly: {reason}")


async def feed(server: AppServer, data: bytes) -> list[dict[str, Any]]:
    await server.start()
    try:
        return await _feed(server, data)
    finally:
        await server.stop()


async def _feed(server: AppServer, data: bytes) -> list[dict[str, Any]]:
    sink = Sink()
    conn = Connection(sink, label="fuzz")
    conn.start()
    await server.dispatcher.dispatch(
        conn,
        b'{"id":"init","method":"initialize","params":{"clientInfo":{"name":"f","version":"1"}}}',
    )
    await server.dispatcher.dispatch(conn, data)
    await conn.finish(grace_seconds=10)
    out = [orjson.loads(m) for m in sink.messages]
    for message in out:
        assert isinstance(message, dict)
        assert "jsonrpc" not in message
        if "id" in message:
            assert ("result" in message) != ("error" in message), message
        else:
            assert "method" in message, message
            assert "emittedAtMs" in message, message
    return out[1:]


@pytest.fixture
def server(tmp_path: Path) -> AppServer:
    return AppServer(load_config(tmp_path / "data", []))


@SETTINGS
@given(data=random_bytes)
def test_random_bytes_are_answered_or_refused(server: AppServer, data: bytes) -> None:
    out = asyncio.run(feed(server, data))
    responses = [m for m in out if "id" in m]
    assert len(responses) <= 1
    if data.strip():
        assert responses, "a non-empty message must get an answer unless it is a notification"


@SETTINGS
@given(value=json_values)
def test_random_json_is_answered_or_ignored(server: AppServer, value: object) -> None:
    out = asyncio.run(feed(server, json.dumps(value).encode()))
    is_notification = isinstance(value, dict) and "method" in value and value.get("id") is None
    is_answer = (
        isinstance(value, dict)
        and "id" in value
        and "method" not in value
        and ("result" in value or "error" in value)
    )
    responses = [m for m in out if "id" in m]
    if is_notification or is_answer:
        assert responses == [] or all("error" in m for m in responses)
    else:
        assert len(responses) == 1


@SETTINGS
@given(data=st.data())
def test_every_request_gets_exactly_one_answer(server: AppServer, data: st.DataObject) -> None:
    message = data.draw(requests("r-1"))
    out = asyncio.run(feed(server, json.dumps(message).encode()))
    answers = [m for m in out if m.get("id") == "r-1"]
    assert len(answers) == 1
