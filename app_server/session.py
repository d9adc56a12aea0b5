"""What the layers below the RPC core know about a connected client.

Handlers, the thread manager and the agent must reach clients (fan out notifications, ask for
approvals) without importing the RPC layer that sits above them. They talk to this protocol; the
RPC `Connection` implements it.
"""

from __future__ import annotations

from typing import Protocol

from app_server.notification import Notification
from protocol.wire_model import WireModel


class ClientGone(Exception):
    """The client disconnected before answering a server request."""


class ClientSession(Protocol):
    """One initialized client connection, as seen by handlers and the thread manager."""

    @property
    def session_id(self) -> int:
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

    async def request(self, method: str, params: WireModel) -> object:
        """Send a server→client request and wait for its result (raises `ClientGone`)."""
        ...
