"""Fuzzing the real server process over stdio.

Whatever arrives on stdin, the server must stay up, write nothing but JSON-RPC to stdout (checked
for every line by the client), and answer every request with a result or an error.
"""

from __future__ import annotations

import itertools
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.client import StdioClient
from tests.support.fuzz_strategies import json_values, random_bytes, requests

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


async def sentinel(client: StdioClient) -> None:
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
