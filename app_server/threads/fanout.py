"""Who hears what: every initialized connection, or a thread's subscribers.

PROTOCOL.md §5: `thread/started`, `thread/status/changed`, `thread/archived`, `thread/unarchived`,
`thread/deleted` and `thread/closed` go to every initialized connection; a thread's turn, item
and settings events go only to the connections subscribed to it. A notification is rendered once
(`Notification` caches its JSON) however many connections receive it.
"""

from __future__ import annotations

from collections.abc import Iterable

from app_server.notification import Notification
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

    def broadcast(self, method: str, params: WireModel) -> Notification:
        """Send to every initialized connection."""
        notification = Notification(method, params)
        for session in list(self._sessions.values()):
            session.notify(notification)
        return notification


def publish(subscribers: Iterable[ClientSession], method: str, params: WireModel) -> None:
    """Send to the given connections (a thread's subscribers)."""
    notification = Notification(method, params)
    for session in subscribers:
        session.notify(notification)
