"""Who hears what: every initialized connection, or a thread's subscribers.

PROTOCOL.md §5: `thread/started`, `thread/status/changed`, `thread/archived`, `thread/unarchived`,
`thread/deleted` and `thread/closed` go to every initialized connection; a thread's turn, item
and settings events go only to the connections subscribed to it. A notification is rendered once
(`Notification` caches its JSON) however many connections receive it.
"""

from __future__ import annotations

from collections.abc import Iterable

from app_server.client_connection import ClientConnection
from app_server.notification import Notification, notification
from protocol.wire_model import WireModel


class Connections:
    """The initialized client connections of the process."""

    def __init__(self) -> None:
        self._connections: dict[int, ClientConnection] = {}

    def add(self, connection: ClientConnection) -> None:
        self._connections[connection.connection_id] = connection

    def remove(self, connection: ClientConnection) -> None:
        self._connections.pop(connection.connection_id, None)

    def all(self) -> list[ClientConnection]:
        return list(self._connections.values())

    def broadcast(
        self, params: WireModel, *, also: Iterable[ClientConnection] = ()
    ) -> Notification:
        """Send to every initialized connection (the method is the params type's), and to the
        connections in `also` that are not among them (a thread's subscribers from other
        processes, `rpc.forwarding`), each once."""
        message = notification(params)
        targets = dict(self._connections)
        for connection in also:
            targets.setdefault(connection.connection_id, connection)
        for connection in list(targets.values()):
            connection.notify(message)
        return message


def publish(
    subscribers: Iterable[ClientConnection], params: WireModel, *, method: str | None = None
) -> None:
    """Send to the given connections (a thread's subscribers); the method is the params type's
    unless given (see `notification`)."""
    message = notification(params, method=method)
    for connection in subscribers:
        connection.notify(message)
