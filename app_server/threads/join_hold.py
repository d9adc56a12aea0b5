"""A client joining a loaded thread misses nothing after its resume answer, and sees nothing
twice.

What "last seen" is for a client joining a loaded thread (`thread/resume` on this process, or
on another one and forwarded here, `rpc.forwarding`): the resume answer. As codex 0.169 does,
the answer holds the turns so far — a running turn too, as stored so far (`inProgress`, with
the items completed before the answer was read) — and the live events continue after it: the
rest of the running turn's items, deltas and its `turn/completed`. (A delta stream that began
before the client joined continues without its `item/started`; its `item/completed` carries the
whole text.)

Exactness: the answer is read from the store while the thread keeps publishing, so the
connection's events are *held* from the instant it subscribes (`hold`), before the history is
read; after the answer is sent, the held events go out (`release`) except those the answer
already reflects (`Snapshot.covers`: the `turn/started` of a turn in it, the `turn/completed` of
a turn it shows finished, the events of an item it holds), and the connection is live. Nothing
published after the hold is missed, and nothing in the answer is sent again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from msgspec import Struct, field

from app_server.client_connection import ClientConnection
from app_server.notification import Notification
from app_server.rollout.turn_entry import TurnEntry


class Snapshot(Struct, frozen=True):
    """What a resume answer told the client of the turns it holds: status and item ids."""

    turns: dict[str, tuple[str, frozenset[str]]] = field(default_factory=dict)

    @classmethod
    def of(cls, entries: Sequence[TurnEntry], turn_ids: set[str]) -> Snapshot:
        """The snapshot of the answer's turns among `turn_ids` (only those are parsed)."""
        turns: dict[str, tuple[str, frozenset[str]]] = {}
        for entry in entries:
            if entry.turn_id in turn_ids:
                turn = entry.turn
                turns[turn.id] = (turn.status, frozenset(item.id for item in turn.items))
        return cls(turns)

    def covers(self, message: Notification) -> bool:
        """Whether the answer already told what this event tells."""
        params = message.params
        turn = getattr(params, "turn", None)
        turn_id = turn.id if turn is not None else getattr(params, "turn_id", None)
        known = self.turns.get(turn_id) if isinstance(turn_id, str) else None
        if known is None:
            return False
        status, items = known
        if message.method == "turn/started":
            return True
        if message.method == "turn/completed":
            return status != "inProgress"
        item = getattr(params, "item", None)
        item_id = item.id if item is not None else getattr(params, "item_id", None)
        return item_id in items


def turn_ids_of(messages: Iterable[Notification]) -> set[str]:
    """The turns these events are about."""
    ids: set[str] = set()
    for message in messages:
        turn = getattr(message.params, "turn", None)
        turn_id = turn.id if turn is not None else getattr(message.params, "turn_id", None)
        if isinstance(turn_id, str):
            ids.add(turn_id)
    return ids


class JoinHold:
    """The connections joining a thread, and their events held until their answer is sent."""

    def __init__(self) -> None:
        self._held: dict[int, list[Notification]] = {}

    def publish(self, audience: Iterable[ClientConnection], message: Notification) -> None:
        """Send a thread event to its audience (held for connections joining it)."""
        for connection in audience:
            held = self._held.get(connection.connection_id)
            if held is not None:
                held.append(message)
            else:
                connection.notify(message)

    def hold(self, connection: ClientConnection) -> None:
        """The connection joins now (before the answer's history is read)."""
        self._held.setdefault(connection.connection_id, [])

    def held_turn_ids(self, connection: ClientConnection) -> set[str]:
        """The turns the events held for the connection so far are about."""
        return turn_ids_of(self._held.get(connection.connection_id, []))

    def release(self, connection: ClientConnection, answered: Snapshot | None = None) -> None:
        """The answer was sent: the held events it does not reflect follow, then it is live.
        (None: the answer held no turns, so every held event follows.)"""
        for message in self._held.pop(connection.connection_id, []):
            if answered is None or not answered.covers(message):
                connection.notify(message)

    def forget(self, connection_id: int) -> None:
        """The connection went away."""
        self._held.pop(connection_id, None)
