"""Who hears what: every initialized connection, or a thread's subscribers.

PROTOCOL.md §5: `thread/started`, `thread/status/changed`, `thread/archived`, `thread/unarchived`,
`thread/deleted` and `thread/closed` go to every initialized connection; a thread's turn, item
and settings events go only to the connections subscribed to it. A notification is rendered once
(`Notification` caches its JSON) however many connections receive it.

With several processes sharing a store, the composition root installs a `Relay`: a broadcast it
accepts also goes to every other process, which sends it to its own connections; a subscriber
that is another process's client (a peer connection) then hears it from there, not from here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from app_server.client_connection import ClientConnection
from app_server.notification import Notification, notification
from protocol.wire_model import WireModel


class Relay(Protocol):
    """Carries broadcasts to the other processes sharing the store (`rpc.relay`)."""

    def relays(self, message: Notification) -> bool:
        """Whether this notification goes to every process's clients."""
        ...

    def relay(self, message: Notification) -> None:
        """Send it to the other processes."""
        ...

    def is_remote(self, connection: ClientConnection) -> bool:
        """Whether the connection stands for another process's client (it hears relays
        there)."""
        ...


class Connections:
    """The initialized client connections of the process."""

    def __init__(self) -> None:
        self._connections: dict[int, ClientConnection] = {}
        self.relay: Relay | None = None
        """Set by the composition root when other processes share the store."""

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
        relay = self.relay if self.relay is not None and self.relay.relays(message) else None
        targets = dict(self._connections)
        for connection in also:
            if relay is None or not relay.is_remote(connection):
                targets.setdefault(connection.connection_id, connection)
        for connection in list(targets.values()):
            connection.notify(message)
        if relay is not None:
            relay.relay(message)
        return message


def publish(
    subscribers: Iterable[ClientConnection], params: WireModel, *, method: str | None = None
) -> None:
    """Send to the given connections (a thread's subscribers); the method is the params type's
    unless given (see `notification`)."""
    message = notification(params, method=method)
    for connection in subscribers:
        connection.notify(message)
