"""Server→client requests of a loaded thread (approvals), asked of every subscriber.

PROTOCOL.md §4: a request goes to the connections subscribed to the thread. We send it to every
one of them and take the first answer; the others stop waiting. However the request ends —
answered, timed out, its connections gone, or its turn interrupted — each connection that got it
hears `serverRequest/resolved {threadId, requestId}` with its own request id, so no client keeps
showing a prompt nobody waits for.

A request nobody can answer must not hang a turn: with no subscriber it ends at once, when every
recipient disconnects it ends then, and otherwise it ends after `approval_timeout_seconds`.
"""

from __future__ import annotations

import asyncio

from app_server.client_connection import (
    UNANSWERED,
    ClientConnection,
    ClientGone,
    PendingServerRequest,
    ServerRequestOutcome,
)
from app_server.notification import notification
from protocol import types as wire
from protocol.wire_model import WireModel


async def ask_subscribers(
    thread_id: str,
    subscribers: list[ClientConnection],
    method: str,
    params: WireModel,
    *,
    timeout_seconds: float,
) -> ServerRequestOutcome:
    """Send `method` to every subscriber and wait for the first answer (module docstring)."""
    sent: list[tuple[ClientConnection, PendingServerRequest]] = []
    for connection in subscribers:
        try:
            sent.append((connection, connection.send_request(method, params)))
        except ClientGone:
            continue
    if not sent:
        return UNANSWERED
    try:
        async with asyncio.timeout(timeout_seconds if timeout_seconds > 0 else None):
            return await _first_answer({pending.future for _, pending in sent})
    except TimeoutError:
        return UNANSWERED
    finally:
        for connection, pending in sent:
            if not pending.future.done():
                pending.future.cancel()
            connection.notify(
                notification(
                    wire.ServerRequestResolvedNotification(
                        thread_id=thread_id, request_id=pending.id
                    ),
                )
            )


async def _first_answer(waiting: set[asyncio.Future[object]]) -> ServerRequestOutcome:
    while waiting:
        done, waiting = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        for future in done:
            if future.cancelled():
                continue
            error = future.exception()
            if error is None:
                return ServerRequestOutcome(future.result(), answered=True)
            if not isinstance(error, ClientGone):
                return ServerRequestOutcome(answered=True, failed=True)
    return UNANSWERED
