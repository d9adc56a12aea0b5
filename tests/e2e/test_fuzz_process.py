"""Fuzzing the real server process, over stdio and over WebSocket.

Whatever arrives, the server must stay up, write nothing but JSON-RPC (checked for every message
by the client, against codex's schema), and answer every request with a result or a typed error,
never -32603. The first tests throw random bytes, JSON and almost-right requests at stdio; the
last one sends thousands of requests generated from every served method's params model, with
hostile values in every field, over both transports, and prints what it sent and got back.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from app_server.errors import INTERNAL_ERROR
from app_server.rpc.errors import short_repr
from tests.conftest import ServerDirs, Servers
from tests.support.client import RpcClient, StdioClient
from tests.support.fuzz_strategies import (
    ParamsGenerator,
    json_values,
    random_bytes,
    requests,
    served_methods,
)
from tests.support.homes import BASE_MS, ThreadSpec, write_threads
from tests.support.server_process import ServerProcess

FUZZ_SETTINGS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

_counter = itertools.count()


async def answered(client: StdioClient, request_id: object) -> bool:
    await client.wait_for(
        lambda: any(m.get("id") == request_id for m in client.unmatched), timeout=15
    )
    return True


async def sentinel(client: RpcClient) -> None:
    """A request that is always answered at once, to know everything before it was read."""
    reply = await client.request(
        "initialize", {"clientInfo": {"name": "fuzz", "version": "1"}}, timeout=15
    )
    assert reply.message == "Already initialized"


@FUZZ_SETTINGS
@given(data=random_bytes)
async def test_random_bytes_never_break_the_server(stdio_client: StdioClient, data: bytes) -> None:
    await stdio_client.send_raw(data.replace(b"\n", b" ") + b"\n")
    await sentinel(stdio_client)
    assert stdio_client.process.returncode is None


@FUZZ_SETTINGS
@given(value=json_values)
async def test_random_json_never_breaks_the_server(
    stdio_client: StdioClient, value: object
) -> None:
    await stdio_client.send_raw(json.dumps(value))
    await sentinel(stdio_client)
    assert stdio_client.process.returncode is None


@FUZZ_SETTINGS
@given(data=st.data())
async def test_every_random_request_is_answered(
    stdio_client: StdioClient, data: st.DataObject
) -> None:
    request_id = f"fuzz-{next(_counter)}"
    message = data.draw(requests(request_id))
    await stdio_client.send_raw(json.dumps(message))
    assert await answered(stdio_client, request_id)
    reply = next(m for m in stdio_client.unmatched if m.get("id") == request_id)
    assert ("result" in reply) != ("error" in reply)
    if "error" in reply:
        assert isinstance(reply["error"]["code"], int)
        assert reply["error"]["message"]
    assert stdio_client.process.returncode is None


# -- issue 14: generated requests for every served method, over stdio and WebSocket -------------

GENERATED_EXAMPLES = 200
"""Hypothesis examples per transport; each sends a batch of `BATCH_SIZE` requests."""

BATCH_SIZE = (20, 40)
"""Requests per example (min, max), pipelined: one example checks them all."""

MIN_REQUESTS_PER_TRANSPORT = 4_000
"""What the test must send per transport (issue 14 asks for 5,000 across both)."""

ANSWER_TIMEOUT_SECONDS = 30.0

SEEDS = {"stdio": 14, "websocket": 1414}
"""Fixed seeds, one per transport: every run sends the same requests, and the two transports
get different ones."""

GENERATED_SETTINGS = settings(
    max_examples=GENERATED_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],  # no shrinking: each try is a process round trip
)

SEED_THREADS = [ThreadSpec(BASE_MS + 1000 * n, salt=n, text=f"seed {n} hello") for n in range(4)]
"""Stored threads the generated requests name; the last is the one archived and unarchived."""


def _nested_arrays(depth: int) -> str:
    return "[" * depth + "]" * depth


JUNK = (
    (f'{{"id": "x", "method": "thread/list", "params": {_nested_arrays(1100)}}}', 1),
    ('{"id": null, "method": "thread/loaded/list", "params": {}}', 1),
    ('{"id": null, "error": {"code": -32700, "message": "Parse error"}}', 0),
)
"""Envelopes sent beside the generated requests, each with how many answers (all `id: null`)
it gets: nesting past what any parser reads (the id is lost with it), a request with a null id,
and a client's null-id answer (never answered). Generated requests cover readable deep values."""


def _wire_params(message: dict[str, Any]) -> object:
    """The params as the client should send them (it turns a `None` into `{}`)."""
    params = message.get("params")
    return orjson.Fragment(b"null") if "params" in message and params is None else params


@dataclass
class Tally:
    """What one transport's run sent and got back."""

    requests: int = 0
    junk: int = 0
    answers: Counter[str] = field(default_factory=Counter)

    def line(self, transport: str) -> str:
        codes = ", ".join(f"{code}: {count}" for code, count in sorted(self.answers.items()))
        return (
            f"fuzz over {transport}: {self.requests} generated requests and {self.junk} junk "
            f"envelopes sent; answers by outcome: {codes}"
        )


class FuzzRun:
    """One server process and one experimental client; every example sends a batch."""

    def __init__(self, servers: Servers, transport: str) -> None:
        self.servers = servers
        self.transport = transport
        self.tally = Tally()
        self.client: RpcClient | None = None
        self.process: ServerProcess | None = None

    async def open(self) -> None:
        if self.transport == "stdio":
            self.process = await self.servers.start()
            self.client = self.process.stdio_client()
            self.servers.clients.append(self.client)
        else:
            self.process = await self.servers.start(listen_ws=True)
            self.client = await self.servers.ws_client(self.process)
        await self.client.initialize(experimental=True)

    async def batch(self, messages: list[dict[str, Any]], junk: list[int]) -> None:
        client, process = self.client, self.process
        assert client is not None
        assert process is not None
        null_answers_before = sum(1 for m in client.unmatched if m.get("id") is None)
        for kind in junk:
            await client.send_raw(JUNK[kind][0])
        expected_null_answers = sum(JUNK[kind][1] for kind in junk)
        self.tally.junk += len(junk)
        readable = []
        for message in messages:
            if _id_readable(message):
                readable.append(message)
            else:  # nested past what any parser reads: the answer cannot carry the id
                await client.send_raw(orjson.dumps({"id": "lost", **message}))
                expected_null_answers += 1
        replies = await asyncio.gather(
            *(
                client.request(
                    message["method"],
                    _wire_params(message),
                    omit_params="params" not in message,
                    timeout=ANSWER_TIMEOUT_SECONDS,
                )
                for message in readable
            )
        )
        await sentinel(client)
        self.tally.requests += len(messages)
        self.tally.answers["-32600 (id lost with the nesting)"] += len(messages) - len(readable)
        for message, reply in zip(readable, replies, strict=True):
            outcome = "result" if reply.error is None else str(reply.code)
            self.tally.answers[outcome] += 1
            if reply.code == INTERNAL_ERROR:
                pytest.fail(f"-32603 for {short_repr(message, 500)}\n{process.stderr_text()}")
        null_answers = [m for m in client.unmatched if m.get("id") is None]
        new_null_answers = null_answers[null_answers_before:]
        assert len(new_null_answers) == expected_null_answers, new_null_answers
        assert all(m["error"]["code"] == -32600 for m in new_null_answers), new_null_answers
        unasked = [m for m in client.unmatched if m.get("id") is not None]
        assert not unasked, f"answers nobody asked for: {short_repr(unasked, 500)}"
        assert process.process.returncode is None, process.stderr_text()
        assert not client.closed.is_set(), "the server closed the connection"


def _id_readable(message: dict[str, Any]) -> bool:
    """Whether the server can parse the message at all (orjson reads 1024 levels at most)."""
    try:
        orjson.loads(orjson.dumps(message))
    except orjson.JSONDecodeError:
        return False
    return True


@pytest.mark.timeout(300)
@pytest.mark.parametrize("transport", ["stdio", "websocket"])
def test_generated_requests_never_end_the_server_nor_get_an_internal_error(
    transport: str, dirs: ServerDirs, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 14. Requests for every served method, built from its params model with hostile
    values (deep, huge, NUL, control characters, wrong types) at every level, pipelined in
    batches with envelopes a hostile client sends: every request is answered exactly once,
    never with -32603; the process never exits and the connection stays open. Prints what was
    sent and the answers by code."""
    *thread_ids, movable_id = write_threads(dirs.data_dir, SEED_THREADS)
    paths = [str(dirs.home), str(dirs.data_dir), "/tmp", "relative/dir"]
    generator = ParamsGenerator(thread_ids, paths, [movable_id])
    requests = generator.any_request(served_methods())
    batches = st.lists(requests, min_size=BATCH_SIZE[0], max_size=BATCH_SIZE[1])
    junk = st.lists(st.integers(0, len(JUNK) - 1), max_size=3)
    servers = Servers(dirs)
    run = FuzzRun(servers, transport)
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(run.open())

        @seed(SEEDS[transport])
        @GENERATED_SETTINGS
        @given(messages=batches, envelopes=junk)
        def check(messages: list[dict[str, Any]], envelopes: list[int]) -> None:
            loop.run_until_complete(run.batch(messages, envelopes))

        check()
        assert run.process is not None
        internal = [line for line in run.process.stderr_lines if "internal error" in line]
        assert not internal, internal[:3]
        assert run.client is not None
        assert not run.client.violations, run.client.violations[:5]
    finally:
        loop.run_until_complete(servers.close())
        loop.close()
    with capsys.disabled():
        print("\n" + run.tally.line(transport))
    assert run.tally.requests >= MIN_REQUESTS_PER_TRANSPORT
