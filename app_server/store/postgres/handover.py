"""Hand-over of an idle thread between processes sharing the PostgreSQL store.

A thread stays loaded in the process that loaded it (its writer lease) until that process
unloads it. When another process needs the thread (to archive it, delete it, or resume it when
nobody watches it there: a watched thread is served where it is, `rpc.forwarding`), it asks the
owner over PostgreSQL: `pg_notify('app_server_handover', '<owner id>:<thread id>')`
(ids only: a payload stays far below PostgreSQL's 8,000-byte limit). Every process listens on
the channel; the owner named in the payload calls its release handler (the thread manager, wired
by the composition root), which unloads the thread if no turn is running there, closing its
writer and so releasing the lease. The asking process retries taking the lease for
`HANDOVER_WAIT_SECONDS`; a thread whose turn is running stays where it is, and the asker gets
`ThreadLoadedElsewhere`.

The listening session is re-established when lost (`ResilientListener`); a request made while it
was down is not heard, and its asker gets `ThreadLoadedElsewhere` after the wait, as for a busy
owner (asking again succeeds).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Final, TypeVar

import asyncpg

from app_server.store.errors import ThreadLoadedElsewhere
from app_server.store.postgres.listener import ResilientListener

log = logging.getLogger(__name__)

HANDOVER_CHANNEL: Final = "app_server_handover"
"""The `LISTEN`/`NOTIFY` channel of hand-over requests."""
HANDOVER_WAIT_SECONDS: Final = 5.0
"""How long a request waits for the owner to release the thread: an idle owner needs a few
milliseconds (it closes a writer: one `UPDATE`); a busy one does not release at all, and the
client is answered after this long."""
HANDOVER_POLL_SECONDS: Final = 0.02
"""How often the lease is tried again while waiting for a hand-over (one query each)."""

ReleaseHandler = Callable[[str], Coroutine[Any, Any, bool]]
"""Unload this thread if it is idle here; whether it was released."""

T = TypeVar("T")


class Handover:
    """This process's side of hand-overs: it listens for requests and makes them."""

    def __init__(
        self, pool: asyncpg.Pool, process_id: str, *, wait_seconds: float = HANDOVER_WAIT_SECONDS
    ) -> None:
        self._pool = pool
        self._wait_seconds = wait_seconds
        self._process_id = process_id
        self._listener: ResilientListener | None = None
        self._handler: ReleaseHandler | None = None
        self._tasks: set[asyncio.Task[bool]] = set()

    def set_handler(self, handler: ReleaseHandler) -> None:
        self._handler = handler

    async def start(self) -> None:
        listener = ResilientListener(
            self._pool, HANDOVER_CHANNEL, self._on_request, process_id=self._process_id
        )
        await listener.start()
        self._listener = listener

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._listener is not None:
            await self._listener.close()
            self._listener = None

    def _on_request(self, connection: object, pid: int, channel: str, payload: object) -> None:
        owner, _, thread_id = str(payload).partition(":")
        if owner != self._process_id or self._handler is None or not thread_id:
            return
        task = asyncio.get_running_loop().create_task(self._handler(thread_id))
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[bool]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("handing a thread over failed", exc_info=task.exception())

    async def attempt(self, thread_id: str, operation: Callable[[], Awaitable[T]]) -> T:
        """`operation`, asking the owner for the thread and retrying while another process has
        it loaded (for at most `wait_seconds`, default `HANDOVER_WAIT_SECONDS`); raises the last
        `ThreadLoadedElsewhere` when the owner keeps it."""
        try:
            return await operation()
        except ThreadLoadedElsewhere as busy:
            if busy.owner is None:
                raise
            await self._pool.execute(
                "SELECT pg_notify($1, $2)", HANDOVER_CHANNEL, f"{busy.owner}:{thread_id}"
            )
            last = busy
        deadline = asyncio.get_running_loop().time() + self._wait_seconds
        while asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(HANDOVER_POLL_SECONDS)
            try:
                return await operation()
            except ThreadLoadedElsewhere as busy:
                last = busy
        raise last
