"""The initialize handshake over stdio and WebSocket (PROTOCOL.md §2)."""

from __future__ import annotations

from tests.conftest import Servers
from tests.support.client import RpcClient


def assert_initialize_result(result: dict[str, object], data_dir: str) -> None:
    assert result["codexHome"] == data_dir
    assert result["platformFamily"] == "unix"
    assert result["platformOs"] in ("linux", "macos")
    user_agent = result["userAgent"]
    assert isinstance(user_agent, str)
    assert user_agent.startswith("test-client/0.169.0 (")
    assert user_agent.endswith("(test-client; 1.0)")


async def test_initialize_over_stdio_returns_server_identity(servers: Servers) -> None:
    client = await servers.stdio()
    result = await client.initialize()
    assert_initialize_result(result, str(servers.dirs.data_dir))


async def test_initialize_over_websocket_returns_server_identity(servers: Servers) -> None:
    process = await servers.start(listen_ws=True)
    client = await servers.ws_client(process)
    result = await client.initialize()
    assert_initialize_result(result, str(servers.dirs.data_dir))


async def test_request_before_initialize_is_refused(servers: Servers) -> None:
    client = await servers.stdio()
    reply = await client.request("thread/list", {})
    assert (reply.code, reply.message) == (-32600, "Not initialized")


async def test_unknown_method_before_initialize_is_refused_as_not_initialized(
    servers: Servers,
) -> None:
    client = await servers.stdio()
    reply = await client.request("no/such/method", {})
    assert (reply.code, reply.message) == (-32600, "Not initialized")


async def test_second_initialize_is_refused(stdio_client: RpcClient) -> None:
    reply = await stdio_client.request(
        "initialize", {"clientInfo": {"name": "again", "version": "2"}}
    )
    assert (reply.code, reply.message) == (-32600, "Already initialized")


async def test_initialized_notification_is_accepted_but_not_required(servers: Servers) -> None:
    client = await servers.stdio()
    await client.call("initialize", {"clientInfo": {"name": "test-client", "version": "1.0"}})
    # No `initialized` sent: requests are served anyway (as 0.169 does).
    reply = await client.request("initialize", {"clientInfo": {"name": "x", "version": "1"}})
    assert reply.message == "Already initialized"


async def test_initialize_without_client_info_names_the_missing_field(servers: Servers) -> None:
    client = await servers.stdio()
    reply = await client.request("initialize", {})
    assert reply.code == -32602
    assert "clientInfo" in reply.message


async def test_requests_pipelined_behind_initialize_see_the_handshake(servers: Servers) -> None:
    client = await servers.stdio()
    await client.send_raw(
        b'{"id":1,"method":"initialize","params":{"clientInfo":{"name":"a","version":"1"}}}\n'
        b'{"id":2,"method":"initialize","params":{"clientInfo":{"name":"a","version":"1"}}}'
    )
    await client.wait_for(lambda: len(client.unmatched) == 2)
    by_id = {m["id"]: m for m in client.unmatched}
    assert "result" in by_id[1]
    assert by_id[2]["error"]["message"] == "Already initialized"


async def test_experimental_capability_is_remembered_per_connection(servers: Servers) -> None:
    process = await servers.start(listen_ws=True)
    stable = await servers.ws_client(process)
    experimental = await servers.ws_client(process)
    await stable.initialize()
    await experimental.initialize(experimental=True)
    refused = await stable.request("thread/search", {"searchTerm": "x"})
    allowed = await experimental.request("thread/search", {"searchTerm": "x"})
    assert refused.message == "thread/search requires experimentalApi capability"
    assert allowed.message != "thread/search requires experimentalApi capability"
