"""A WebSocket client that stops reading is cut off promptly, and nobody else notices.

The client here is a plain socket with a tiny receive buffer driven by websockets' sans-I/O
client protocol, so it can stop reading for real (a library client keeps reading into its own
queue). The server is judged from the kernel's table of TCP connections: once the server has
given up on the client, its side of the connection must be gone within seconds, not left
hanging until a keepalive ping times out.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path
from typing import Any

from websockets.client import ClientProtocol
from websockets.frames import Frame
from websockets.protocol import State
from websockets.uri import parse_uri

from tests.conftest import Servers
from tests.support.model_replies import Reply
from tests.support.model_server import ModelServer
from tests.support.turn_env import MODEL_ENV, text_input, write_model_config

STREAMED_DELTAS = 150_000
"""Enough deltas to fill the kernel buffers and then the server's 50,000-message queue."""
DROP_DEADLINE_SECONDS = 12.0
"""The server's close frame may wait 5 s behind unread output before it aborts; keepalive
(what used to end such connections) takes 20 s or more."""
OVERFLOW_LOG = "client is not reading; closing the connection"


class StalledClient:
    """A WebSocket client over a blocking socket that reads only when told to."""

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("ws://").rsplit(":", 1)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.settimeout(10)
        self.sock.connect((host, int(port)))
        self.local_port = self.sock.getsockname()[1]
        self.protocol = ClientProtocol(parse_uri(url), max_size=None)
        self.protocol.send_request(self.protocol.connect())
        self._flush()
        while self.protocol.state is not State.OPEN:
            self.protocol.receive_data(self.sock.recv(65536))
        self._next_id = 0

    def _flush(self) -> None:
        for data in self.protocol.data_to_send():
            if data:
                self.sock.sendall(data)

    def send(self, method: str, params: dict[str, Any]) -> int:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        self.protocol.send_text(json.dumps(message).encode())
        self._flush()
        return self._next_id

    def read_until_answer(self, request_id: int) -> dict[str, Any]:
        """Read frames until the answer to `request_id` (this is the only reading we do)."""
        while True:
            for event in self.protocol.events_received():
                if isinstance(event, Frame):
                    message = json.loads(bytes(event.data))
                    if message.get("id") == request_id and "method" not in message:
                        return dict(message)
            self.protocol.receive_data(self.sock.recv(65536))

    def close(self) -> None:
        self.sock.close()


def established_ports(server_port: int) -> set[int]:
    """Client ports of ESTABLISHED TCP connections to `server_port` on loopback, seen from the
    server's side (Linux `/proc/net/tcp`)."""
    ports: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            local, remote, state = fields[1], fields[2], fields[3]
            if state == "01" and int(local.rsplit(":", 1)[1], 16) == server_port:
                ports.add(int(remote.rsplit(":", 1)[1], 16))
    return ports


async def test_a_client_that_stops_reading_is_disconnected_within_seconds(
    servers: Servers, model_server: ModelServer
) -> None:
    write_model_config(servers.dirs.data_dir, model_server.base_url)
    model_server.enqueue(Reply.text("x" * STREAMED_DELTAS, deltas=STREAMED_DELTAS))
    process = await servers.start(listen_ws=True, env=MODEL_ENV)
    assert process.url is not None
    server_port = int(process.url.rsplit(":", 1)[1])
    bystander = await servers.ws_client(process)
    await bystander.initialize()

    stalled = await asyncio.to_thread(StalledClient, process.url)
    try:
        init = await asyncio.to_thread(
            stalled.send, "initialize", {"clientInfo": {"name": "stalled", "version": "1"}}
        )
        await asyncio.to_thread(stalled.read_until_answer, init)
        start = await asyncio.to_thread(stalled.send, "thread/start", {})
        thread = (await asyncio.to_thread(stalled.read_until_answer, start))["result"]["thread"]
        await asyncio.to_thread(
            stalled.send, "turn/start", {"threadId": thread["id"], "input": text_input("go")}
        )
        # From here on the stalled client never reads again.
        deadline = time.monotonic() + 60
        while OVERFLOW_LOG not in process.stderr_text():
            assert time.monotonic() < deadline, "the server never gave up on the client"
            await asyncio.sleep(0.05)
        gave_up = time.monotonic()
        while stalled.local_port in established_ports(server_port):
            assert time.monotonic() - gave_up < DROP_DEADLINE_SECONDS, (
                "the server kept the stalled client's connection open"
            )
            await asyncio.sleep(0.1)
    finally:
        stalled.close()

    reply = await bystander.request("initialize", {"clientInfo": {"name": "x", "version": "1"}})
    assert reply.message == "Already initialized"
