"""Requests for a thread another process has loaded are served there (several processes on one
shared store, e.g. PostgreSQL).

A thread is loaded (written, its turns run) in one process at a time. When a client of this
process (B) sends one of `FORWARDED_METHODS` for a thread this process has not loaded and the
store names another live process (A) as its owner, B forwards the request over the store's
command channel (`ProcessMessaging`) and answers the client with A's answer (the id put back).

On A, each forwarding client is a *peer connection*: an RPC `Connection` whose output goes back
to B as messages, initialized with the client's own `initialize` params. A's dispatcher serves
the request on it exactly as for a local client, so everything A sends that connection — the
response, the thread's notifications once it subscribed (`thread/resume`), server requests —
reaches the client on B in A's order, once each (each message is one outbox row, consumed once).
When the client disconnects from B, its peer connections on A are closed too (subscriptions end).

A `thread/resume` of a thread A has loaded but nobody there is subscribed to (and no turn runs)
is not forwarded: A unloads it and B loads it (a hand-over), so an idle thread moves to where it
is used. A's server requests to a peer connection (approvals) have ids of their own
(`peer-N`); B remembers which of its clients was asked by which process, and the client's answer
goes back there.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable
from typing import Final

import orjson

from app_server.client_connection import ClientConnection
from app_server.errors import InternalError, ServerOverloaded
from app_server.notification import render_model
from app_server.rpc.connection import Connection
from app_server.store.interface import ProcessMessage, ProcessMessaging
from protocol.types import InitializeParams, RequestId
from protocol.wire_model import WireModel

log = logging.getLogger(__name__)

FORWARDED_METHODS: Final = frozenset(
    {
        "thread/resume",
        "thread/unsubscribe",
        "thread/name/set",
        "thread/compact/start",
        "turn/start",
        "turn/steer",
        "turn/interrupt",
    }
)
"""Methods served by the process that has the thread loaded. Archive and delete are not among
them: the owner hands an idle thread over for them (`store.postgres.handover`)."""
OWNER_CHECK_SECONDS: Final = 2.0
"""While a forwarded request waits, how often the owner's liveness is checked (one query): a
client of an owner that died is answered after about this long instead of the full timeout."""
PEER_CHECK_SECONDS: Final = 5.0
"""How often the processes with peer connections here are checked (one query each): the peers
of a process that died are closed (their subscriptions end, so their threads can be unloaded)
within about this long."""
PEER_FLUSH_SECONDS: Final = 1.0
"""How long a stopping process waits for each peer connection's queued messages to be handed to
the channel (microseconds when the process is healthy; bounded so a stop is never held up)."""
FORWARD_TIMEOUT_SECONDS: Final = 30.0
"""How long a forwarded request waits for the owner's answer before failing: the owner answers
these methods at once (a turn runs after its `turn/start` answer); only a process that froze
or lost its database makes a client wait this long."""

REQUEST: Final = "request"
"""B → A: a client's request (`body`: `{"init": initialize params, "message": request text}`)."""
DELIVER: Final = "deliver"
"""A → B: one message A sent the peer connection (`body`: its JSON text)."""
HANDED_OVER: Final = "handed-over"
"""A → B: the thread was idle and unloaded; serve the request locally (`body`: request id)."""
ANSWER: Final = "answer"
"""B → A: the client's answer to a server request of its peer connection (`body`: its text)."""
CLOSED: Final = "closed"
"""B → A: the client disconnected; close its peer connection."""

_FORWARD_ID_PREFIX: Final = "fwd-"
_PEER_REQUEST_PREFIX: Final = "peer-"
"""The ids of a peer connection's server requests (distinct from the client's process's)."""


ALREADY_SENT: Final = b""
"""What `forward` returns when the owner's answer was sent to the client already: as it
arrived, so that what the owner sent after it (a resumed turn's events) reaches the client
after it too."""


class ForwardingFailed(InternalError):
    """The process that has the thread loaded did not answer a forwarded request."""


class ChannelUnavailable(ServerOverloaded):
    """This process cannot hear other processes now (its channel is reconnecting to the
    database): a forwarded request could not be answered, so it fails at once (-32001, retry)."""

    def __init__(self, thread_id: str) -> None:
        super().__init__(
            f"thread {thread_id} is loaded by another app-server process and the channel to it"
            " is reconnecting to PostgreSQL; retry in a moment"
        )


class _PeerSink:
    """A peer connection's transport: each outgoing message goes back to the client's process."""

    def __init__(self, messaging: ProcessMessaging, recipient: str, route: str) -> None:
        self._messaging = messaging
        self._recipient = recipient
        self._route = route

    async def send(self, messages: list[bytes]) -> None:
        me = self._messaging.process_id
        for data in messages:
            self._messaging.send_message(
                ProcessMessage(self._recipient, me, DELIVER, self._route, data.decode())
            )

    async def close(self, reason: str) -> None:
        log.info("peer connection %s closed: %s", self._route, reason)


class Forwarder:
    """Both ends of forwarding in this process (see the module docstring)."""

    def __init__(
        self,
        messaging: ProcessMessaging,
        *,
        is_loaded_here: Callable[[str], bool],
        release_if_unwatched: Callable[[str], Awaitable[bool]],
    ) -> None:
        self._messaging = messaging
        self._is_loaded_here = is_loaded_here
        self._release_if_unwatched = release_if_unwatched
        self._dispatch: Callable[[Connection, str], Awaitable[None]] | None = None
        self._on_peer_closed: Callable[[Connection], None] | None = None
        self._numbers = itertools.count(1)
        self._waiting: dict[str, tuple[asyncio.Future[bytes | None], Connection, RequestId]] = {}
        """Forwarded requests waiting for their answer: the future, the client, its request id."""
        self._clients: dict[str, Connection] = {}
        """This process's clients with forwarded requests, by route."""
        self._owners: dict[int, set[str]] = {}
        """The processes each client (by connection id) forwarded requests to."""
        self._asked: dict[tuple[int, str], tuple[str, str]] = {}
        """Server requests other processes sent this process's clients, by (connection id,
        request id): the asking process and the route to answer on."""
        self._peers: dict[str, Connection] = {}
        """Peer connections of other processes' clients, by route."""
        self._peer_ids: set[int] = set()
        """The connection ids of `_peers`."""
        self._other_kinds: dict[str, Callable[[ProcessMessage], None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._sweeper: asyncio.Task[None] | None = None
        messaging.on_messages(self._received)

    def on_kind(self, kind: str, handler: Callable[[ProcessMessage], None]) -> None:
        """Messages of this kind (not forwarding's own) go to `handler`, in their order among
        all the messages received."""
        self._other_kinds[kind] = handler

    def is_peer(self, connection: ClientConnection) -> bool:
        """Whether the connection is here for another process's client."""
        return connection.connection_id in self._peer_ids

    def attach(
        self,
        dispatch: Callable[[Connection, str], Awaitable[None]],
        on_peer_closed: Callable[[Connection], None],
    ) -> None:
        """The dispatcher that serves peer connections, and what ends one."""
        self._dispatch = dispatch
        self._on_peer_closed = on_peer_closed

    # -- the client's side (B) --------------------------------------------------------------------
    async def forward(
        self, conn: Connection, method: str, request_id: RequestId, params: WireModel | None
    ) -> bytes | None:
        """`ALREADY_SENT` when the request was served by the thread's owner (its answer went
        to the client as it arrived); None when it is to be served here."""
        if method not in FORWARDED_METHODS or params is None:
            return None
        thread_id = getattr(params, "thread_id", None)
        if not isinstance(thread_id, str) or self._is_loaded_here(thread_id):
            return None
        owner = await self._messaging.live_owner(thread_id)
        if owner is None or conn.initialize_params is None:
            return None
        if not self._messaging.channel_listening:
            raise ChannelUnavailable(thread_id)
        me = self._messaging.process_id
        route = f"{me}/{conn.connection_id}"
        forward_id = f"{_FORWARD_ID_PREFIX}{next(self._numbers)}"
        message = b"".join(
            (
                b'{"id":',
                orjson.dumps(forward_id),
                b',"method":',
                orjson.dumps(method),
                b',"params":',
                render_model(params, experimental=True),
                b"}",
            )
        )
        init = render_model(conn.initialize_params, experimental=True)
        body = b'{"init":' + init + b',"message":' + orjson.dumps(message.decode()) + b"}"
        future: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        self._waiting[forward_id] = (future, conn, request_id)
        self._clients[route] = conn
        self._owners.setdefault(conn.connection_id, set()).add(owner)
        self._messaging.send_message(ProcessMessage(owner, me, REQUEST, route, body.decode()))
        try:
            answer = await self._answer(future, owner, thread_id, method)
        finally:
            self._waiting.pop(forward_id, None)
        if answer is None:
            return None  # handed over: served here
        return ALREADY_SENT

    async def _answer(
        self, future: asyncio.Future[bytes | None], owner: str, thread_id: str, method: str
    ) -> bytes | None:
        """The owner's answer; None (serve here) for a `thread/resume` whose owner died, and
        `ForwardingFailed` for another request, or when no answer came in time."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + FORWARD_TIMEOUT_SECONDS
        while True:
            slice_seconds = min(OWNER_CHECK_SECONDS, deadline - loop.time())
            if slice_seconds <= 0:
                raise ForwardingFailed(
                    f"the app-server process that has thread {thread_id} loaded did not answer"
                    f" {method} within {FORWARD_TIMEOUT_SECONDS:g} s"
                )
            try:
                return await asyncio.wait_for(asyncio.shield(future), slice_seconds)
            except TimeoutError:
                if await self._messaging.process_alive(owner):
                    continue
                if method == "thread/resume":
                    return None
                raise ForwardingFailed(
                    f"the app-server process that had thread {thread_id} loaded stopped before"
                    f" answering {method}; resume the thread to continue it here"
                ) from None

    def client_closed(self, conn: ClientConnection) -> None:
        """A client of this process disconnected: its peer connections elsewhere end too."""
        me = self._messaging.process_id
        route = f"{me}/{conn.connection_id}"
        self._clients.pop(route, None)
        for key in [key for key in self._asked if key[0] == conn.connection_id]:
            del self._asked[key]
        for owner in self._owners.pop(conn.connection_id, set()):
            self._messaging.send_message(ProcessMessage(owner, me, CLOSED, route, ""))

    # -- receiving ---------------------------------------------------------------------------------
    def _received(self, messages: list[ProcessMessage]) -> None:
        for message in messages:
            if message.kind == DELIVER:
                self._deliver(message)
            elif message.kind == HANDED_OVER:
                waiting = self._waiting.get(message.body)
                if waiting is not None and not waiting[0].done():
                    waiting[0].set_result(None)
            elif message.kind == REQUEST:
                self._serve(message)
            elif message.kind == ANSWER:
                self._answer_peer(message)
            elif message.kind == CLOSED:
                self._close_peer(message.route)
            elif (handler := self._other_kinds.get(message.kind)) is not None:
                handler(message)

    def _deliver(self, message: ProcessMessage) -> None:
        data = message.body.encode()
        if data.startswith(b'{"id":"' + _FORWARD_ID_PREFIX.encode()):
            response = orjson.loads(data)
            waiting = self._waiting.get(response.get("id"))
            if waiting is not None and not waiting[0].done():
                future, client, response["id"] = waiting
                client.send_bytes(orjson.dumps(response))  # before what follows it from there
                future.set_result(ALREADY_SENT)
            return
        conn = self._clients.get(message.route)
        if conn is None:
            return
        if data.startswith(b'{"id":"' + _PEER_REQUEST_PREFIX.encode()):
            request_id = orjson.loads(data)["id"]
            self._asked[(conn.connection_id, request_id)] = (message.sender, message.route)
        conn.send_bytes(data)

    def answer(self, conn: Connection, request_id: RequestId, text: bytes) -> bool:
        """A client of this process answered a server request: when another process asked it,
        the answer goes there (whether it did)."""
        if not isinstance(request_id, str):
            return False
        asked = self._asked.pop((conn.connection_id, request_id), None)
        if asked is None:
            return False
        owner, route = asked
        self._messaging.send_message(
            ProcessMessage(owner, self._messaging.process_id, ANSWER, route, text.decode())
        )
        return True

    # -- the owner's side (A) ----------------------------------------------------------------------
    def _serve(self, message: ProcessMessage) -> None:
        body = orjson.loads(message.body)
        peer = self._peers.get(message.route)
        if peer is None:
            peer = Connection(
                _PeerSink(self._messaging, message.sender, message.route),
                label=f"peer {message.route}",
                server_request_prefix=_PEER_REQUEST_PREFIX,
            )
            peer.accept_initialize(InitializeParams.model_validate(body["init"]))
            peer.start()
            self._peers[message.route] = peer
            self._peer_ids.add(peer.connection_id)
            if self._sweeper is None:
                self._sweeper = asyncio.get_running_loop().create_task(
                    self._sweep_peers(), name="peer connection sweeper"
                )
        task = asyncio.get_running_loop().create_task(
            self._serve_request(peer, message, body["message"])
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve_request(self, peer: Connection, message: ProcessMessage, text: str) -> None:
        request = orjson.loads(text)
        if request.get("method") == "thread/resume":
            thread_id = request.get("params", {}).get("threadId")
            if isinstance(thread_id, str) and await self._release_if_unwatched(thread_id):
                self._messaging.send_message(
                    ProcessMessage(
                        message.sender,
                        self._messaging.process_id,
                        HANDED_OVER,
                        message.route,
                        str(request["id"]),
                    )
                )
                return
        if self._dispatch is not None:
            await self._dispatch(peer, text)

    def _answer_peer(self, message: ProcessMessage) -> None:
        peer = self._peers.get(message.route)
        if peer is not None and self._dispatch is not None:
            task = asyncio.get_running_loop().create_task(self._serve_answer(peer, message.body))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _serve_answer(self, peer: Connection, text: str) -> None:
        if self._dispatch is not None:
            await self._dispatch(peer, text)

    async def _sweep_peers(self) -> None:
        """Close the peer connections of processes that died (every `PEER_CHECK_SECONDS`)."""
        while True:
            await asyncio.sleep(PEER_CHECK_SECONDS)
            senders = {route.partition("/")[0] for route in self._peers}
            for sender in senders:
                try:
                    alive = await self._messaging.process_alive(sender)
                except Exception:  # the store is unreachable: try again next time
                    log.warning("could not check process %s", sender, exc_info=True)
                    continue
                if not alive:
                    for route in [r for r in self._peers if r.partition("/")[0] == sender]:
                        self._close_peer(route)

    async def finish_peers(self) -> None:
        """This process stops: what its peer connections still queue (the last events of the
        turns it stopped) goes to their processes first (for at most `PEER_FLUSH_SECONDS`)."""
        peers = list(self._peers.values())
        await asyncio.gather(*(peer.finish(PEER_FLUSH_SECONDS) for peer in peers))

    def _close_peer(self, route: str) -> None:
        peer = self._peers.pop(route, None)
        if peer is None:
            return
        self._peer_ids.discard(peer.connection_id)
        if self._on_peer_closed is not None:
            self._on_peer_closed(peer)
        peer.lost()
