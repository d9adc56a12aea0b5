"""The per-process command channel between processes sharing the PostgreSQL store.

A process sends another one a message (a forwarded request, an answer, a notification of a
forwarded subscription) by inserting a row into `process_messages` (the outbox: bodies of any
size) and `pg_notify('app_server_messages', '<recipient id>')` in the same transaction (ids only:
far below PostgreSQL's 8,000-byte payload limit). Every process listens on the channel; the one
named drains its rows (`DELETE … RETURNING`, so each row is delivered once) in id order.

Order: one sender task per process writes every queued message in order, a batch per
transaction, so the rows of one sender reach a recipient in the order they were sent; a batch
coalesces everything queued while the previous one was written (under load, many deltas share
one transaction and one `NOTIFY`).

Losing the database: a batch that cannot be written for want of a connection stays queued, in
order, and is written again after `SEND_RETRY_SECONDS` (nothing is dropped while the process
lives; a batch the database refuses as such is logged and dropped, so it cannot block the
rest). The listening session is re-established by `ResilientListener`; once it listens again
the process drains its rows, catching up on every message sent to it meanwhile (rows wait in
the outbox, and each is deleted by the drain that delivers it: none lost, none twice). While
it is not listening, `listening` is False and requests that wait for another process's answer
fail at once with `ChannelUnavailable` instead of timing out.

Processes that stopped without saying so are found here too (`departures.py`): the process that
claims one gets an `OWNER_GONE` message from its own store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Final

import asyncpg
import orjson

from app_server.store.interface import EVERY_PROCESS, OWNER_GONE, ProcessMessage
from app_server.store.postgres.connect import CONNECTION_ERRORS
from app_server.store.postgres.departures import SWEEP_SECONDS, claim_departed
from app_server.store.postgres.lease import LEASE_SECONDS, owner_is_dead
from app_server.store.postgres.listener import ResilientListener

log = logging.getLogger(__name__)

MESSAGE_CHANNEL: Final = "app_server_messages"
"""The `LISTEN`/`NOTIFY` channel; a payload is the id of the process that has rows waiting."""
MAX_BATCH_MESSAGES: Final = 2000
"""Most messages written in one transaction: bounds a transaction's size (a delta is ~200
bytes) while a burst of deltas still costs one commit per this many."""
SEND_RETRY_SECONDS: Final = 0.2
"""The wait before writing a batch again after the database refused it: short, as messages are
answers and notifications clients wait for; one failed attempt per this long while it is away."""

LIVE_PROCESS_SECONDS: Final = 3 * LEASE_SECONDS
"""A process whose heartbeat is older than this gets no broadcasts (it died without removing
its row): three missed leases, so a process that merely stalled for a lease or two keeps
hearing them."""
_INSERT_BATCH_SQL: Final = f"""
WITH batch AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
    WITH ORDINALITY AS b(recipient, sender, kind, route, body, n)
), written AS (
  INSERT INTO process_messages (recipient, sender, kind, route, body)
  SELECT COALESCE(p.id, b.recipient), b.sender, b.kind, b.route, b.body
  FROM batch AS b LEFT JOIN processes AS p
    ON b.recipient = '{EVERY_PROCESS}' AND p.id <> b.sender
    AND p.heartbeat_at > now() - make_interval(secs => $6)
  WHERE b.recipient <> '{EVERY_PROCESS}' OR p.id IS NOT NULL
  ORDER BY b.n, p.id
  RETURNING recipient
)
SELECT pg_notify($7, r) FROM (SELECT DISTINCT recipient AS r FROM written) AS d
"""
"""Writes a batch in order (ids follow the batch's order) and notifies each recipient once."""

CLOSE_FLUSH_SECONDS: Final = 2.0
"""How long a stopping process waits for its queued messages to be written (a few ms with a
live database; bounded so that a stop without one is not held up)."""

MessageHandler = Callable[[list[ProcessMessage]], None]
"""Receives the messages addressed to this process, in the order they were sent."""


class PostgresMessages:
    """This process's end of the command channel (see the module docstring)."""

    def __init__(self, pool: asyncpg.Pool, process_id: str) -> None:
        self._pool = pool
        self.process_id = process_id
        self._listener: ResilientListener | None = None
        self._handler: MessageHandler | None = None
        self._outgoing: list[ProcessMessage] = []
        self._send_wakeup = asyncio.Event()
        self._all_sent = asyncio.Event()
        """Set while nothing waits to be written."""
        self._drain_wakeup = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def set_handler(self, handler: MessageHandler) -> None:
        self._handler = handler

    async def start(self) -> None:
        await self._pool.execute(
            "DELETE FROM process_messages WHERE recipient NOT IN (SELECT id FROM processes)"
        )
        listener = ResilientListener(
            self._pool,
            MESSAGE_CHANNEL,
            self._on_notify,
            process_id=self.process_id,
            on_reconnected=self._drain_wakeup.set,
        )
        await listener.start()
        self._listener = listener
        self._drain_wakeup.set()  # rows sent to this id before it listened (none when new)
        self._tasks = [
            asyncio.create_task(self._send_loop(), name="process messages sender"),
            asyncio.create_task(self._drain_loop(), name="process messages receiver"),
            asyncio.create_task(self._sweep_loop(), name="departed processes sweeper"),
        ]

    async def close(self) -> None:
        """Write what is still queued (for at most `CLOSE_FLUSH_SECONDS`: a stopping process's
        last notifications, e.g. that its threads are no longer loaded), then stop."""
        if self._outgoing and self._tasks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._all_sent.wait(), CLOSE_FLUSH_SECONDS)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._listener is not None:
            await self._listener.close()
            self._listener = None

    @property
    def listening(self) -> bool:
        """Whether messages sent to this process are heard now (its `LISTEN` session is up)."""
        return self._listener is not None and self._listener.listening

    # -- sending ---------------------------------------------------------------------------------
    def send(self, message: ProcessMessage) -> None:
        """Queue a message; never blocks. Messages are written in the order they were queued."""
        self._outgoing.append(message)
        self._all_sent.clear()
        self._send_wakeup.set()

    async def _send_loop(self) -> None:
        while True:
            await self._send_wakeup.wait()
            self._send_wakeup.clear()
            while self._outgoing:
                batch = self._outgoing[:MAX_BATCH_MESSAGES]
                try:
                    await self._write(batch)
                except CONNECTION_ERRORS as error:
                    log.warning(
                        "%d messages to other processes wait for the database: %s",
                        len(self._outgoing),
                        error,
                    )
                    await asyncio.sleep(SEND_RETRY_SECONDS)
                    continue
                except asyncpg.PostgresError as error:  # refused as such: retrying cannot help
                    log.error("%d messages to other processes lost: %s", len(batch), error)
                del self._outgoing[: len(batch)]
            self._all_sent.set()

    async def _write(self, batch: list[ProcessMessage]) -> None:
        """One statement: the batch's rows in order (a message to `EVERY_PROCESS` becomes one
        row per other live process), and one `NOTIFY` per recipient, sent at commit."""
        await self._pool.execute(
            _INSERT_BATCH_SQL,
            [m.recipient for m in batch],
            [m.sender for m in batch],
            [m.kind for m in batch],
            [m.route for m in batch],
            [m.body for m in batch],
            LIVE_PROCESS_SECONDS,
            MESSAGE_CHANNEL,
        )

    # -- receiving -------------------------------------------------------------------------------
    def _on_notify(self, connection: object, pid: int, channel: str, payload: object) -> None:
        if payload == self.process_id:
            self._drain_wakeup.set()

    async def _drain_loop(self) -> None:
        while True:
            await self._drain_wakeup.wait()
            self._drain_wakeup.clear()
            try:
                rows = await self._pool.fetch(
                    "DELETE FROM process_messages WHERE recipient = $1"
                    " RETURNING id, recipient, sender, kind, route, body",
                    self.process_id,
                )
            except (*CONNECTION_ERRORS, asyncpg.PostgresError) as error:
                log.warning("could not read messages from other processes: %s", error)
                await asyncio.sleep(SEND_RETRY_SECONDS)
                self._drain_wakeup.set()  # they wait in the outbox: read them again
                continue
            rows.sort(key=lambda row: int(row["id"]))
            messages = [
                ProcessMessage(
                    recipient=row["recipient"],
                    sender=row["sender"],
                    kind=row["kind"],
                    route=row["route"],
                    body=row["body"],
                )
                for row in rows
            ]
            if messages and self._handler is not None:
                try:
                    self._handler(messages)
                except Exception:
                    log.exception("handling messages from other processes failed")

    async def _sweep_loop(self) -> None:
        """Find processes that stopped without saying so (`departures.py`) and tell this
        process's handler (an `OWNER_GONE` message per departed process)."""
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            try:
                departures = await claim_departed(self._pool, self.process_id)
            except (*CONNECTION_ERRORS, asyncpg.PostgresError) as error:
                log.warning("could not look for stopped processes: %s", error)
                continue
            gone = [
                ProcessMessage(
                    self.process_id,
                    departure.process_id,
                    OWNER_GONE,
                    "",
                    orjson.dumps(departure.thread_ids).decode(),
                )
                for departure in departures
            ]
            if gone and self._handler is not None:
                try:
                    self._handler(gone)
                except Exception:
                    log.exception("handling stopped processes failed")

    # -- owners ----------------------------------------------------------------------------------
    async def live_owner(self, thread_id: str) -> str | None:
        """The other live process holding the thread's writer lease, or None (nobody, this
        process, an expired lease, or an owner that died)."""
        async with self._pool.acquire() as connection, connection.transaction():
            owner = await connection.fetchval(
                "SELECT writer_owner FROM threads WHERE id = $1 AND writer_owner IS NOT NULL"
                " AND writer_expires_at > now() AND NOT archived",
                thread_id,
            )
            if owner is None or owner == self.process_id:
                return None
            if await owner_is_dead(connection, str(owner)):
                return None
            return str(owner)

    async def process_alive(self, process_id: str) -> bool:
        """Whether the process still holds its liveness lock; the messages waiting for a dead
        one are removed (nobody will read them)."""
        async with self._pool.acquire() as connection, connection.transaction():
            if not await owner_is_dead(connection, process_id):
                return True
            await connection.execute(
                "DELETE FROM process_messages WHERE recipient = $1", process_id
            )
            return False
