"""What the layers below the RPC core know about a connected client.

Handlers, the thread manager and the agent must reach clients (fan out notifications, ask for
approvals) without importing the RPC layer that sits above them. They talk to this protocol; the
RPC `Connection` implements it.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from typing import Protocol

from msgspec import Struct

from app_server.notification import Notification
from protocol.types import RequestId
from protocol.wire_model import WireModel

CURRENT_REQUEST_ID: ContextVar[RequestId | None] = ContextVar("current_request_id", default=None)
"""The id of the request the running handler serves (the RPC layer sets it in each handler's
task): what a handler needs to tag notifications that belong to its request
(`thread/search/partial`) or to be found by a later cancel request."""


class ClientGone(Exception):
    """The client disconnected before answering a server request."""


class PendingServerRequest(Struct, frozen=True):
    """A server→client request on its way: its id on that connection, and the answer to come
    (`future` fails with `ClientGone` if the connection closes; cancel it to stop waiting)."""

    id: RequestId
    future: asyncio.Future[object]


class ServerRequestOutcome(Struct, frozen=True):
    """How a server→client request ended, whoever asked it."""

    result: object = None
    """The first answer's `result` (None when there was no successful answer)."""
    answered: bool = False
    """A client answered (with a result or with a JSON-RPC error)."""
    failed: bool = False
    """The first answer was a JSON-RPC error."""


UNANSWERED = ServerRequestOutcome()
"""Nobody answered: no recipient, every recipient disconnected, or the wait timed out."""


class ClientConnection(Protocol):
    """One initialized client connection, as seen by handlers and the thread manager."""

    @property
    def connection_id(self) -> int:
        """Process-unique number of the connection (for logs and subscription sets)."""
        ...

    @property
    def client_name(self) -> str:
        """`clientInfo.name` from `initialize`: the originator recorded in new threads."""
        ...

    @property
    def experimental_api(self) -> bool:
        """Whether the client opted into experimental methods and fields."""
        ...

    @property
    def is_open(self) -> bool:
        """False once the transport closed; notifications to it are dropped."""
        ...

    def notify(self, notification: Notification) -> None:
        """Queue a notification (dropped if the client opted out of its method); never blocks."""
        ...

    def send_request(self, method: str, params: WireModel) -> PendingServerRequest:
        """Send a server→client request (raises `ClientGone` if the connection is closed)."""
        ...
