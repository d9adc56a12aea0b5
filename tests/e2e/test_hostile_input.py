"""Issue 14: no input kills the server, on either transport.

Messages nested far deeper than any real one, and requests whose `id` is null, used to end the
process (stdio: every client and running turn lost) or drop the WebSocket without an answer, or
get no answer at all. Each must now be answered as JSON-RPC 2.0 says, and the connection must go
on serving.
"""

from __future__ import annotations

from typing import Any

import pytest

from app_server.transport.limits import MAX_NESTING_DEPTH
from tests.conftest import Servers
from tests.support.client import RpcClient

HOSTILE_DEPTH = 1000
"""The depth the tester used: under orjson's own 1024-level limit, so the JSON parses and only
our bound stops it."""


def nested_arrays(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.fixture(params=["stdio", "websocket"])
async def client(request: pytest.FixtureRequest, servers: Servers) -> RpcClient:
    """An initialized (experimental) client of a fresh server, over each transport."""
    if request.param == "stdio":
        rpc: RpcClient = await servers.stdio()
    else:
        process = await servers.start(listen_ws=True)
        rpc = await servers.ws_client(process)
    await rpc.initialize(experimental=True)
    return rpc


async def raw_answer(client: RpcClient, text: str, request_id: object) -> dict[str, Any]:
    """Send `text` as it is and wait for the answer carrying `request_id`."""
    before = len(client.unmatched)
    await client.send_raw(text)
    await client.wait_for(
        lambda: any(m.get("id") == request_id for m in client.unmatched[before:]), timeout=15
    )
    return next(m for m in client.unmatched[before:] if m.get("id") == request_id)


async def assert_still_serving(client: RpcClient) -> None:
    reply = await client.request("thread/loaded/list", {})
    assert reply.result == {"data": [], "nextCursor": None}


async def test_thousand_deep_params_are_invalid_request_and_the_connection_stays_open(
    client: RpcClient,
) -> None:
    text = f'{{"id": 1, "method": "thread/loaded/list", "params": {nested_arrays(HOSTILE_DEPTH)}}}'
    answer = await raw_answer(client, text, 1)
    assert answer["error"]["code"] == -32600
    assert f"nested deeper than {MAX_NESTING_DEPTH} levels" in answer["error"]["message"]
    await assert_still_serving(client)


async def test_thousand_deep_thread_list_cwd_is_invalid_request(client: RpcClient) -> None:
    text = (
        f'{{"id": "deep-cwd", "method": "thread/list", "params": {{"cwd": {nested_arrays(1000)}}}}}'
    )
    answer = await raw_answer(client, text, "deep-cwd")
    assert answer["error"]["code"] == -32600
    await assert_still_serving(client)


async def test_nesting_beyond_what_orjson_parses_is_invalid_request_too(client: RpcClient) -> None:
    """2,000 levels: orjson refuses to parse it, but it is still a too-deep message, not a
    parse error; the id cannot be read, so the answer carries `id: null`."""
    text = f'{{"id": 3, "method": "thread/list", "params": {nested_arrays(2000)}}}'
    answer = await raw_answer(client, text, None)
    assert answer["error"]["code"] == -32600
    await assert_still_serving(client)


async def test_request_with_null_id_is_answered_with_null_id(client: RpcClient) -> None:
    answer = await raw_answer(client, '{"id": null, "method": "thread/list", "params": {}}', None)
    assert answer["error"]["code"] == -32600
    assert "`id` must not be null" in answer["error"]["message"]
    await assert_still_serving(client)


async def test_answer_with_null_id_is_ignored(client: RpcClient) -> None:
    """A client answers `id: null` when it could not read a server request; answering that in
    turn would start a loop of errors."""
    await client.send_raw('{"id": null, "error": {"code": -32700, "message": "Parse error"}}')
    await client.send_raw('{"id": null, "result": {}}')
    await assert_still_serving(client)
    assert client.unmatched == []
