"""The command channel between processes when its `LISTEN` session is lost (`messages.py`,
`listener.py`): it listens again, and every message sent meanwhile arrives once, in order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from app_server.store.interface import ProcessMessage
from app_server.store.postgres.listener import LISTENER_APPLICATION_NAME
from app_server.store.postgres.messages import MESSAGE_CHANNEL
from app_server.store.postgres.store import PostgresThreadStore
from tests.support.postgres import fresh_schema, postgres_dsn


@asynccontextmanager
async def two_processes() -> AsyncIterator[tuple[PostgresThreadStore, PostgresThreadStore]]:
    """Two stores on one schema, as two processes sharing a database are."""
    async with fresh_schema() as (dsn, schema):
        first = PostgresThreadStore(dsn, schema=schema)
        await first.start()
        second = PostgresThreadStore(dsn, schema=schema)
        try:
            await second.start()
            try:
                yield first, second
            finally:
                await second.close()
        finally:
            await first.close()


async def terminate_listeners(store: PostgresThreadStore) -> int:
    """End the store's listening sessions on the message channel, as an administrator can."""
    connection = await asyncpg.connect(postgres_dsn())
    try:
        ended = await connection.fetchval(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = $1 AND query = $2) AS t",
            f"{LISTENER_APPLICATION_NAME} {store.process_id}",
            f'LISTEN "{MESSAGE_CHANNEL}"',
        )
    finally:
        await connection.close()
    return int(ended)


def collect(store: PostgresThreadStore) -> tuple[list[str], asyncio.Event, int]:
    """Bodies received by `store`, and an event set once `count` arrived."""
    received: list[str] = []
    done = asyncio.Event()
    count = 200

    def handler(messages: list[ProcessMessage]) -> None:
        received.extend(m.body for m in messages)
        if len(received) >= count:
            done.set()

    store.on_messages(handler)
    return received, done, count


async def test_messages_sent_while_the_listener_was_cut_arrive_once_in_order() -> None:
    async with two_processes() as (sender, recipient):
        received, done, count = collect(recipient)
        assert await terminate_listeners(recipient) >= 1

        for number in range(count):
            sender.send_message(
                ProcessMessage(recipient.process_id, sender.process_id, "test", "r", str(number))
            )
            if number % 50 == 0:
                await asyncio.sleep(0.01)
        await asyncio.wait_for(done.wait(), 10)
        await asyncio.sleep(0.2)  # anything delivered twice would arrive by now

    assert received == [str(number) for number in range(count)]


async def test_the_channel_says_it_is_not_listening_until_it_listens_again() -> None:
    async with two_processes() as (_, recipient):
        assert recipient.channel_listening
        await terminate_listeners(recipient)
        states: list[bool] = []
        for _ in range(2000):  # at most ~10 s
            states.append(recipient.channel_listening)
            if states[-1] and False in states:
                break
            await asyncio.sleep(0.005)

    assert False in states
    assert states[-1] is True
