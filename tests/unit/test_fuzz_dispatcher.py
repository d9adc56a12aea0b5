"""Fuzzing the dispatcher in process: every input is answered correctly or ignored by the rules.

Faster than the process-level fuzz, so it runs many more examples; the properties are the same:
the server never raises, emits only JSON-RPC messages, and answers each request exactly once.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app_server.config import load_config
from app_server.errors import INTERNAL_ERROR
from app_server.rpc.connection import Connection
from app_server.rpc.errors import short_repr
from app_server.server import AppServer
from tests.support.fuzz_strategies import (
    ParamsGenerator,
    json_values,
    random_bytes,
    requests,
    served_methods,
)
from tests.support.homes import BASE_MS, ThreadSpec, write_threads

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


# -- issue 14: generated requests for every served method, hostile values in every field --------

GENERATED_SETTINGS = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

ANSWER_TIMEOUT_SECONDS = 30

SEED_THREADS = [ThreadSpec(BASE_MS + 1000 * n, salt=n, text=f"seed {n} hello") for n in range(4)]
"""Stored threads the generated requests name; the last is the one archived and unarchived."""


def readable(data: bytes) -> bool:
    try:
        orjson.loads(data)
    except orjson.JSONDecodeError:
        return False
    return True


class Session:
    """One started server and one experimental connection, shared by every example: each
    example sends a batch of requests and waits for all their answers."""

    def __init__(self, server: AppServer) -> None:
        self.server = server
        self.sink = Sink()
        self.conn = Connection(self.sink, label="fuzz")
        self.answers: dict[object, dict[str, Any]] = {}
        self.null_id_errors: list[dict[str, Any]] = []
        """Answers with `id: null`, in arrival order."""
        self._read = 0
        self._ids = itertools.count()

    async def open(self) -> None:
        await self.server.start()
        self.conn.start()
        params = {
            "clientInfo": {"name": "f", "version": "1"},
            "capabilities": {"experimentalApi": True},
        }
        await self.request({"method": "initialize", "params": params})

    async def request(self, message: dict[str, Any]) -> dict[str, Any]:
        return (await self.batch([message]))[0]

    async def batch(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Send `messages`, each with a fresh id, and return their answers in order. A message
        nested beyond what orjson can parse has no readable id: its answer is the next error
        with `id: null`."""
        ids: list[str | None] = []
        for message in messages:
            request_id = f"g-{next(self._ids)}"
            data = orjson.dumps({"id": request_id, **message})
            ids.append(request_id if readable(data) else None)
            await self.server.dispatcher.dispatch(self.conn, data)
        deadline = asyncio.get_running_loop().time() + ANSWER_TIMEOUT_SECONDS
        while not self._all_answered(ids):
            if asyncio.get_running_loop().time() > deadline:
                late = [
                    short_repr(m, 300)
                    for i, m in zip(ids, messages, strict=True)
                    if i not in self.answers
                ]
                raise AssertionError(f"unanswered after {ANSWER_TIMEOUT_SECONDS} s: {late}")
            await asyncio.sleep(0.001)
            self._collect()
        return [self.null_id_errors.pop(0) if i is None else self.answers.pop(i) for i in ids]

    def _all_answered(self, ids: list[str | None]) -> bool:
        unreadable = ids.count(None)
        return len(self.null_id_errors) >= unreadable and all(
            request_id in self.answers for request_id in ids if request_id is not None
        )

    def _collect(self) -> None:
        while self._read < len(self.sink.messages):
            message = orjson.loads(self.sink.messages[self._read])
            self._read += 1
            if message.get("id") is None and "error" in message:
                self.null_id_errors.append(message)
            elif "id" in message and "method" not in message:
                assert message["id"] not in self.answers, f"answered twice: {message['id']}"
                self.answers[message["id"]] = message


def test_generated_requests_are_answered_once_and_never_with_an_internal_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Every served method, its params built from its model with hostile values mixed in at
    every level: each request gets exactly one answer, never -32603, and nothing is logged as
    an internal error."""
    data_dir = tmp_path / "data"
    *thread_ids, movable_id = write_threads(data_dir, SEED_THREADS)
    paths = [str(tmp_path), "/tmp", "relative/dir"]
    generator = ParamsGenerator(thread_ids, paths, [movable_id])
    requests = generator.any_request(served_methods())
    session = Session(AppServer(load_config(data_dir, [])))
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(session.open())

        @GENERATED_SETTINGS
        @given(batch=st.lists(requests, min_size=1, max_size=8))
        def check(batch: list[dict[str, Any]]) -> None:
            caplog.clear()
            for message, answer in zip(
                batch, loop.run_until_complete(session.batch(batch)), strict=True
            ):
                assert ("result" in answer) != ("error" in answer), answer
                if "error" in answer:
                    assert answer["error"]["code"] != INTERNAL_ERROR, (message["method"], answer)
            internal = [r for r in caplog.records if r.name == "app_server.rpc.errors"]
            assert not internal, internal[0].getMessage()

        check()
    finally:
        loop.run_until_complete(session.conn.finish(grace_seconds=10))
        loop.run_until_complete(session.server.stop())
        loop.close()
