"""A `LISTEN` that survives the loss of its connection.

A channel listener holds one database session. When that session ends (the database restarted,
a network cut, an administrator's `pg_terminate_backend`), PostgreSQL delivers nothing more to
it, and a process relying on it would miss every notification until it restarted. A
`ResilientListener` notices the loss at once (asyncpg's termination callback), reconnects with
a growing backoff (`RECONNECT_FIRST_SECONDS` doubling up to `RECONNECT_MAX_SECONDS`), listens
again, and then calls `on_reconnected` so its owner catches up on what was notified meanwhile
(the notifications themselves are lost; whatever they announced must be kept in a table, as the
command channel's outbox is, `messages.py`). While it is down, `listening` is False, so requests
that depend on hearing an answer can fail with a clear error instead of waiting in vain.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Final

import asyncpg

from app_server.store.postgres.connect import CONNECTION_ERRORS, Connection

log = logging.getLogger(__name__)

RECONNECT_FIRST_SECONDS: Final = 0.05
"""The first wait before listening again: a session ended by an administrator or a pooler is
usually replaceable at once, and every millisecond down is a millisecond of delayed messages."""
RECONNECT_MAX_SECONDS: Final = 5.0
"""The longest wait between attempts while the database stays away: one failed connection
attempt (a few ms, or `CONNECT_TIMEOUT_SECONDS` on a dead host) per this long."""
LISTENER_APPLICATION_NAME: Final = "app-server listener"
"""The `application_name` of listening sessions, followed by the process id (how an operator or
a test finds them: at most 20 + 36 characters of PostgreSQL's 63)."""

NotifyCallback = Callable[[object, int, str, object], None]


class ResilientListener:
    """`LISTEN channel` on a session of its own, re-established whenever it is lost."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        channel: str,
        callback: NotifyCallback,
        *,
        process_id: str,
        on_reconnected: Callable[[], None] = lambda: None,
    ) -> None:
        self._pool = pool
        self._channel = channel
        self._application_name = f"{LISTENER_APPLICATION_NAME} {process_id}"
        self._callback = callback
        self._on_reconnected = on_reconnected
        self._connection: Connection | None = None
        self._up = False
        """Listening now: cleared the moment the session is reported lost (a lost session's
        pooled proxy cannot be asked any more once it went back to the pool)."""
        self._reconnecting: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def listening(self) -> bool:
        """Whether notifications are being heard now."""
        return self._up

    async def start(self) -> None:
        """Listen (the first time: a failure is raised to the caller, which is starting)."""
        await self._listen()

    async def _listen(self) -> None:
        connection = await self._pool.acquire()
        try:
            await connection.execute(
                "SELECT set_config('application_name', $1, false)", self._application_name
            )
            await connection.add_listener(self._channel, self._callback)
            connection.add_termination_listener(self._lost)
        except BaseException:
            with contextlib.suppress(*CONNECTION_ERRORS, asyncpg.PostgresError):
                connection.remove_termination_listener(self._lost)
                await self._pool.release(connection)  # (a session that died is released already)
            raise
        self._connection = connection
        self._up = True

    def _lost(self, connection: object) -> None:
        """The session ended: listen again on a new one (unless this listener is closing)."""
        self._up = False
        if self._closed or self._reconnecting is not None:
            return
        log.warning("the %s listener lost its database session; reconnecting", self._channel)
        self._reconnecting = asyncio.get_running_loop().create_task(
            self._reconnect(), name=f"{self._channel} listener reconnect"
        )

    async def _reconnect(self) -> None:
        lost, self._connection = self._connection, None
        if lost is not None:  # asyncpg has usually released a session that died already
            with contextlib.suppress(*CONNECTION_ERRORS, asyncpg.PostgresError):
                await self._pool.release(lost)
        wait = RECONNECT_FIRST_SECONDS
        try:
            while not self._closed:
                await asyncio.sleep(wait)
                try:
                    await self._listen()
                except (*CONNECTION_ERRORS, asyncpg.PostgresError) as error:
                    log.warning("listening on %s again failed: %s", self._channel, error)
                    wait = min(wait * 2, RECONNECT_MAX_SECONDS)
                    continue
                log.info("listening on %s again", self._channel)
                self._on_reconnected()
                return
        finally:
            self._reconnecting = None

    async def close(self) -> None:
        self._closed = True
        self._up = False
        if self._reconnecting is not None:
            self._reconnecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconnecting
            self._reconnecting = None
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(*CONNECTION_ERRORS):  # a proxy asyncpg released already
                connection.remove_termination_listener(self._lost)
            with contextlib.suppress(*CONNECTION_ERRORS, asyncpg.PostgresError):
                await connection.remove_listener(self._channel, self._callback)
            with contextlib.suppress(*CONNECTION_ERRORS, asyncpg.PostgresError):
                await self._pool.release(connection)
