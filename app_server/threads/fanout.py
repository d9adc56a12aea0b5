"""Who hears what: every initialized connection, or a thread's subscribers.

PROTOCOL.md §5: `thread/started`, `thread/status/changed`, `thread/archived`, `thread/unarchived`,
`thread/deleted` and `thread/closed` go to every initialized connection; a thread's turn, item
and settings events go only to the connections subscribed to it. A notification is rendered once
(`Notification` caches its JSON) however many connections receive it.
"""

from __future__ import annotations

from collections.abc import Iterable

from app_server.notification import Notification, notification
from app_server.session import ClientSession
from protocol.wire_model import WireModel


class Sessions:
    """The initialized client connections of the process."""

    def __init__(self) -> None:
        self._sessions: dict[int, ClientSession] = {}

    def add(self, session: ClientSession) -> None:
        self._sessions[session.session_id] = session

    def remove(self, session: ClientSession) -> None:
        self._sessions.pop(session.session_id, None)

    def all(self) -> list[ClientSession]:
        return list(self._sessions.values())

    def broadcast(self, params: WireModel) -> Notification:
        """Send to every initialized connection (the method is the params type's)."""
        message = notification(params)
        for session in list(self._sessions.values()):
            session.notify(message)
        return message


def publish(
    subscribers: Iterable[ClientSession], params: WireModel, *, method: str | None = None
) -> None:
    """Send to the given connections (a thread's subscribers); the method is the params type's
    unless given (see `notification`)."""
    message = notification(params, method=method)
    for session in subscribers:
        session.notify(message)
