"""The WebSocket listener: sessions, HTTP endpoints, Origin refusal and capability tokens."""

from __future__ import annotations

import asyncio
import hashlib
import http.client
from pathlib import Path

import pytest
import websockets

from tests.conftest import Servers
from tests.support.server_process import ServerProcess

TOKEN = "s3cret-capability-token"


def http_get(url: str, path: str, headers: dict[str, str] | None = None) -> int:
    host, port = url.removeprefix("ws://").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        connection.request("GET", path, headers=headers or {})
        return connection.getresponse().status
    finally:
        connection.close()


async def test_two_clients_have_independent_handshakes(servers: Servers) -> None:
    process = await servers.start(listen_ws=True)
    first = await servers.ws_client(process)
    second = await servers.ws_client(process)
    await first.initialize(name="first")
    refused = await second.request("thread/list", {})
    assert refused.message == "Not initialized"
    result = await second.initialize(name="second")
    assert str(result["userAgent"]).endswith("(second; 1.0)")
    again = await first.request("initialize", {"clientInfo": {"name": "first", "version": "1"}})
    assert again.message == "Already initialized"


async def test_readyz_and_healthz_answer_200(servers: Servers) -> None:
    process = await servers.start(listen_ws=True)
    assert process.url is not None
    assert await asyncio.to_thread(http_get, process.url, "/readyz") == 200
    assert await asyncio.to_thread(http_get, process.url, "/healthz") == 200


async def test_unknown_http_path_is_bad_request(servers: Servers) -> None:
    process = await servers.start(listen_ws=True)
    assert process.url is not None
    assert await asyncio.to_thread(http_get, process.url, "/nope") == 400


async def test_request_with_origin_header_is_forbidden(servers: Servers) -> None:
    process = await servers.start(listen_ws=True)
    assert process.url is not None
    status = await asyncio.to_thread(
        http_get, process.url, "/healthz", {"Origin": "http://evil.example"}
    )
    assert status == 403


async def test_websocket_upgrade_with_origin_header_is_forbidden(servers: Servers) -> None:
    process = await servers.start(listen_ws=True)
    assert process.url is not None
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(process.url, origin="http://evil.example")  # type: ignore[arg-type]
    assert refused.value.response.status_code == 403


async def test_binding_non_loopback_without_auth_refuses_to_start(servers: Servers) -> None:
    process = await servers.start("--listen", "ws://0.0.0.0:0")
    code = await process.wait()
    assert code == 2
    assert "refusing to listen on non-loopback address 0.0.0.0" in process.stderr_text()


def write_token(tmp: Path) -> Path:
    path = tmp / "token"
    path.write_text(TOKEN + "\n")
    return path


async def start_with_token(servers: Servers, *auth: str) -> ServerProcess:
    return await servers.start("--ws-auth", "capability-token", *auth, listen_ws=True)


async def test_capability_token_from_file_admits_the_client(servers: Servers) -> None:
    token_file = write_token(servers.dirs.home)
    process = await start_with_token(servers, "--ws-token-file", str(token_file))
    client = await servers.ws_client(
        process, additional_headers={"Authorization": f"Bearer {TOKEN}"}
    )
    result = await client.initialize()
    assert result["codexHome"] == str(servers.dirs.data_dir)


async def test_capability_token_by_sha256_admits_the_client(servers: Servers) -> None:
    digest = hashlib.sha256(TOKEN.encode()).hexdigest()
    process = await start_with_token(servers, "--ws-token-sha256", digest)
    client = await servers.ws_client(
        process, additional_headers={"Authorization": f"Bearer {TOKEN}"}
    )
    await client.initialize()


async def test_wrong_capability_token_is_rejected(servers: Servers) -> None:
    token_file = write_token(servers.dirs.home)
    process = await start_with_token(servers, "--ws-token-file", str(token_file))
    assert process.url is not None
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(
            process.url, additional_headers={"Authorization": "Bearer wrong-token"}
        )
    assert refused.value.response.status_code == 401


async def test_missing_capability_token_is_rejected(servers: Servers) -> None:
    token_file = write_token(servers.dirs.home)
    process = await start_with_token(servers, "--ws-token-file", str(token_file))
    assert process.url is not None
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(process.url)
    assert refused.value.response.status_code == 401


async def test_non_loopback_bind_with_token_starts(servers: Servers) -> None:
    token_file = write_token(servers.dirs.home)
    process = await servers.start(
        "--listen",
        "ws://0.0.0.0:0",
        "--ws-auth",
        "capability-token",
        "--ws-token-file",
        str(token_file),
        wait_for_listen=True,
    )
    assert process.url is not None
    assert process.url.startswith("ws://0.0.0.0:")
    client = await servers.ws_client(
        process, additional_headers={"Authorization": f"Bearer {TOKEN}"}
    )
    await client.initialize()


async def test_binary_frame_is_dropped_without_reply(servers: Servers) -> None:
    process = await servers.start(listen_ws=True)
    client = await servers.ws_client(process)
    await client.initialize()
    await client.ws.send(b'{"id": 5, "method": "thread/list", "params": {}}')
    reply = await client.request("initialize", {"clientInfo": {"name": "x", "version": "1"}})
    assert reply.message == "Already initialized"
    assert client.unmatched == []


async def test_oversized_frame_is_refused_and_connection_stays_up(servers: Servers) -> None:
    process = await servers.start(listen_ws=True)
    client = await servers.ws_client(process)
    await client.initialize()
    big = '{"id": 1, "method": "thread/list", "params": {"searchTerm": "' + "y" * (17 << 20) + '"}}'
    await client.send_raw(big)
    await client.wait_for(lambda: len(client.unmatched) == 1, timeout=30)
    assert client.unmatched[0]["error"]["code"] == -32600
    reply = await client.request("initialize", {"clientInfo": {"name": "x", "version": "1"}})
    assert reply.message == "Already initialized"


async def test_one_client_disconnecting_does_not_affect_another(servers: Servers) -> None:
    process = await servers.start(listen_ws=True)
    leaving = await servers.ws_client(process)
    staying = await servers.ws_client(process)
    await leaving.initialize()
    await staying.initialize()
    await leaving.close()
    reply = await staying.request("initialize", {"clientInfo": {"name": "x", "version": "1"}})
    assert reply.message == "Already initialized"
