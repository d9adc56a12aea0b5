"""A message queued in pieces (`Connection.send_parts`): written piece by piece to stdio, joined
for a transport that takes whole messages, in order with the other messages."""

from __future__ import annotations

import asyncio

from app_server.rpc.connection import Connection
from app_server.transport.stdio import PIPE_WRITE_CHUNK_BYTES, StdoutSink


class RecordingWriter:
    """An stdout stand-in that records each write."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    async def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))


class WholeMessageSink:
    """A transport that takes whole messages only (as WebSocket does)."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def send(self, messages: list[bytes]) -> None:
        self.messages.extend(messages)

    async def close(self, reason: str) -> None:
        pass


async def test_stdio_writes_the_pieces_of_a_message_as_one_line() -> None:
    writer = RecordingWriter()
    parts = [b'{"id":1,"result":[', b"1", b",", b"2", b"]}"]

    await StdoutSink(writer).send_parts(parts)

    assert b"".join(writer.writes) == b'{"id":1,"result":[1,2]}\n'


async def test_stdio_releases_each_piece_once_written() -> None:
    parts = [b"x" * 10, b"y" * PIPE_WRITE_CHUNK_BYTES, b"z"]

    await StdoutSink(RecordingWriter()).send_parts(parts)

    assert parts == [b"", b"", b""]


async def test_a_big_piece_is_written_on_its_own() -> None:
    writer = RecordingWriter()
    big = b"y" * PIPE_WRITE_CHUNK_BYTES

    await StdoutSink(writer).send_parts([b"[", big, b"]"])

    assert writer.writes == [b"[", big, b"]\n"]


async def test_a_transport_of_whole_messages_gets_the_pieces_joined_in_order() -> None:
    sink = WholeMessageSink()
    connection = Connection(sink, label="test")
    connection.initialized = True
    connection.send_bytes(b"first")
    connection.send_parts([b"sec", b"ond"])
    connection.send_bytes(b"third")
    connection.start()

    await connection.finish(5)
    await asyncio.sleep(0)

    assert sink.messages == [b"first", b"second", b"third"]
