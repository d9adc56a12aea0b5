"""A client that resumes a thread whose turn is running sees that turn whole, exactly once.

What "last seen" is for a client joining a loaded thread (`thread/resume` on this process, or on
another one and forwarded here, `rpc.forwarding`): the resume answer. It holds the turns that
finished before the client joined; the running turn is left out of it and follows as a stream,
from its `turn/started` to its `turn/completed`: the events it already had are replayed from
this log, then the live ones follow, in publication order. So a resuming client, like one
subscribed from the start, sees `turn/started` first and `turn/completed` last, each item once,
and deltas that join to exactly the model's text — wherever the turn runs and whichever
process the client reconnected to.

How: the thread keeps the events it published since its current turn started (`log`). When a
connection joins, its events are *held* from that instant (`hold`): the held list starts with
the log so far and receives every event published while the resume is being answered. The
answer leaves out the turns whose `turn/started` is held (`held_turn_ids`); right after it is
sent, the held events go out (`release`) and the connection is live. Nothing is published
between the hold and the answer without being held, and nothing held is in the answer: no gap,
no duplicate.

A turn that publishes more than `MAX_LOGGED_EVENTS` events stops being logged (its log is
dropped): a client joining it then gets the answer with the running turn as stored so far and
the live events from there on, as codex does.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from app_server.client_connection import ClientConnection
from app_server.notification import Notification
from protocol.types import TurnStartedNotification

MAX_LOGGED_EVENTS: Final = 50_000
"""Most events of one turn kept for joining clients: a long streamed answer is a few thousand
deltas (~100 bytes of JSON kept each, rendered once and shared); beyond this a turn's log would
hold megabytes, so joining it falls back to the stored turn."""

_TURN_STARTED: Final = "turn/started"
_TURN_COMPLETED: Final = "turn/completed"


class TurnReplay:
    """The running turn's events and the connections joining it (see the module docstring)."""

    def __init__(self) -> None:
        self._log: list[Notification] | None = None
        self._held: dict[int, list[Notification]] = {}

    def publish(self, audience: Iterable[ClientConnection], message: Notification) -> None:
        """Log a thread event and send it to its audience (held for joining connections)."""
        if message.method == _TURN_STARTED:
            self._log = []
        if self._log is not None:
            self._log.append(message)
            if len(self._log) > MAX_LOGGED_EVENTS:
                self._log = None
        if message.method == _TURN_COMPLETED:
            self._log = None
        for connection in audience:
            held = self._held.get(connection.connection_id)
            if held is not None:
                held.append(message)
            else:
                connection.notify(message)

    def hold(self, connection: ClientConnection) -> None:
        """The connection joins now: hold its events, starting with the running turn's so far."""
        if connection.connection_id not in self._held:
            self._held[connection.connection_id] = list(self._log or [])

    def held_turn_ids(self, connection: ClientConnection) -> set[str]:
        """The turns the connection will see as events (to leave out of its answer)."""
        return {
            message.params.turn.id
            for message in self._held.get(connection.connection_id, [])
            if isinstance(message.params, TurnStartedNotification)
        }

    def release(self, connection: ClientConnection) -> None:
        """The answer was sent: the held events follow, and the connection is live."""
        for message in self._held.pop(connection.connection_id, []):
            connection.notify(message)

    def forget(self, connection_id: int) -> None:
        """The connection went away."""
        self._held.pop(connection_id, None)
