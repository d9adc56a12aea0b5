"""Thread notifications every client hears, from whichever process they happen in.

On one process, `thread/started`, `thread/status/changed`, `thread/archived`,
`thread/unarchived`, `thread/deleted` and `thread/closed` go to every initialized connection
(PROTOCOL.md §5, `threads.fanout`). Several processes sharing a store behave as one server: the
process where the event happens sends it to its own connections and relays it to every other
live process (one outbox row each: the store's command channel, in the sender's order together
with its forwarded deliveries), which sends it to its own initialized connections, rendered for
each as a local notification would be (experimental fields, opt-outs).

A client of another process subscribed to the thread (a peer connection here,
`rpc.forwarding`) hears it through that relay only, not through its subscription too: each
client gets it once, and in the owner's order relative to the thread's other events (both go
through the same ordered outbox from the owner to that process).

A process is the authority on the threads it has loaded: a relayed `thread/status/changed` or
`thread/closed` of a thread loaded here is stale (it was sent by a process that had the thread
before it was handed over here) and is dropped, so a client never sees a thread it can use
reported `notLoaded`.

When a process stops, the clients of the others hear that its threads are no longer loaded
(`thread/status/changed` `notLoaded`, then `thread/closed`, as an idle unload says on one
process), so a client watching one from elsewhere knows to resume it where it is: a graceful
stop relays it itself (`departing`, after its turns were recorded interrupted); for a process
that was killed or cut off, the one process whose store claimed it (the store's `OWNER_GONE`
message) announces it (`owner_gone`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final

import orjson
from pydantic import ValidationError

from app_server.client_connection import ClientConnection
from app_server.notification import Notification, notification
from app_server.store.interface import EVERY_PROCESS, ProcessMessage, ProcessMessaging
from protocol import types as wire
from protocol.methods import SERVER_NOTIFICATIONS
from protocol.wire_model import WireModel

log = logging.getLogger(__name__)

BROADCAST: Final = "broadcast"
"""Any process → every other: a notification for every client (`body`: `{"method", "params",
"emittedAtMs"}`, the params rendered with experimental fields; `route`: the thread id)."""

RELAYED: Final = frozenset(
    {
        "thread/started",
        "thread/status/changed",
        "thread/archived",
        "thread/unarchived",
        "thread/deleted",
        "thread/closed",
    }
)
"""The notifications every initialized connection of every process hears, by method (their
params types are looked up in `SERVER_NOTIFICATIONS` when one arrives: named here, they were
created by every server start, PostgreSQL or not)."""
_OWNER_AUTHORITATIVE: Final = frozenset({"thread/status/changed", "thread/closed"})
"""Relayed methods dropped for a thread loaded here (this process knows better)."""


class BroadcastRelay:
    """Relays this process's thread broadcasts and delivers the other processes' here."""

    def __init__(
        self,
        messaging: ProcessMessaging,
        *,
        local_connections: Callable[[], list[ClientConnection]],
        is_loaded_here: Callable[[str], bool],
        is_peer: Callable[[ClientConnection], bool],
        broadcast: Callable[[WireModel], object],
    ) -> None:
        """`local_connections`: this process's initialized clients; `is_peer`: whether a
        connection here is another process's client (`rpc.forwarding`); `broadcast`: to every
        initialized connection here, and relayed (`threads.fanout.Connections.broadcast`)."""
        self._messaging = messaging
        self._local_connections = local_connections
        self._is_loaded_here = is_loaded_here
        self._is_peer = is_peer
        self._broadcast = broadcast

    def is_remote(self, connection: ClientConnection) -> bool:
        """A peer connection hears relayed broadcasts in its own process."""
        return self._is_peer(connection)

    @staticmethod
    def relays(message: Notification) -> bool:
        """Whether this notification goes to the clients of every process."""
        return message.method in RELAYED

    def relay(self, message: Notification) -> None:
        """Send a broadcast of this process to every other live process."""
        thread_id = getattr(message.params, "thread_id", None)
        if thread_id is None:  # thread/started names it inside the thread
            thread_id = getattr(getattr(message.params, "thread", None), "id", "")
        body = b"".join(
            (
                b'{"method":',
                orjson.dumps(message.method),
                b',"emittedAtMs":',
                orjson.dumps(message.emitted_at_ms),
                b',"params":',
                message.params.model_dump_json(by_alias=True).encode(),
                b"}",
            )
        )
        me = self._messaging.process_id
        self._messaging.send_message(
            ProcessMessage(EVERY_PROCESS, me, BROADCAST, str(thread_id), body.decode())
        )

    def received(self, message: ProcessMessage) -> None:
        """Another process's broadcast: to every initialized connection here."""
        try:
            body = orjson.loads(message.body)
            method = body["method"]
            if method not in RELAYED:
                raise KeyError(method)
            params = SERVER_NOTIFICATIONS[method].params.model_validate(body["params"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValidationError):
            log.warning("dropped a malformed broadcast from process %s", message.sender)
            return
        if body["method"] in _OWNER_AUTHORITATIVE and self._is_loaded_here(message.route):
            return
        relayed = Notification(body["method"], params, int(body["emittedAtMs"]))
        for connection in self._local_connections():
            connection.notify(relayed)

    def departing(self, thread_ids: list[str]) -> None:
        """This process stops: the other processes' clients hear that its threads are no longer
        loaded (its own clients are being disconnected)."""
        for thread_id in thread_ids:
            for params in _unloaded(thread_id):
                self.relay(notification(params))

    def owner_gone(self, message: ProcessMessage) -> None:
        """Another process stopped without saying so (`OWNER_GONE`): every client hears that
        its threads are no longer loaded (except those loaded here already)."""
        try:
            thread_ids = [str(thread_id) for thread_id in orjson.loads(message.body)]
        except (orjson.JSONDecodeError, TypeError):
            log.warning("dropped a malformed departure of process %s", message.sender)
            return
        for thread_id in thread_ids:
            if not self._is_loaded_here(thread_id):
                for params in _unloaded(thread_id):
                    self._broadcast(params)


def _unloaded(thread_id: str) -> list[WireModel]:
    """What every client hears when a thread stops being loaded (`ThreadUnloader.unload` and
    its idle unload, in that order)."""
    return [
        wire.ThreadStatusChangedNotification(
            thread_id=thread_id, status=wire.NotLoadedThreadStatus()
        ),
        wire.ThreadClosedNotification(thread_id=thread_id),
    ]
