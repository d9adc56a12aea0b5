"""The command channel between processes sharing the PostgreSQL store (`messages.py`)."""

from __future__ import annotations

import asyncio

from app_server.store.interface import EVERY_PROCESS, ProcessMessage
from app_server.store.postgres.store import PostgresThreadStore
from tests.store.test_postgres_channel_loss import two_processes


def inbox(store: PostgresThreadStore) -> tuple[list[ProcessMessage], asyncio.Event]:
    received: list[ProcessMessage] = []
    arrived = asyncio.Event()

    def handler(messages: list[ProcessMessage]) -> None:
        received.extend(messages)
        arrived.set()

    store.on_messages(handler)
    return received, arrived


async def test_a_message_to_every_process_reaches_each_other_process_once() -> None:
    async with two_processes() as (first, second):
        first_id, second_id = first.process_id, second.process_id
        to_first, first_heard = inbox(first)
        to_second, second_heard = inbox(second)

        first.send_message(ProcessMessage(EVERY_PROCESS, first_id, "k", "r", "hello"))
        await asyncio.wait_for(second_heard.wait(), 5)
        await asyncio.sleep(0.2)

    assert [(m.recipient, m.sender, m.body) for m in to_second] == [(second_id, first_id, "hello")]
    assert to_first == []
    assert not first_heard.is_set()
