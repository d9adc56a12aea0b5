"""Assemble the server: configuration → services → handlers → dispatcher → transport.

This is the only module that knows every layer; each layer below receives what it needs here.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass

from app_server.api.initialize import InitializeHandler
from app_server.config import ServerConfig
from app_server.notification import Notification
from app_server.rpc.dispatcher import Dispatcher, Handler
from app_server.session import ClientSession
from app_server.transport.auth import CapabilityToken
from app_server.transport.stdio import claim_stdout, serve_stdio
from app_server.transport.websocket import WebSocketListener
from protocol.types import ConfigWarningNotification

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ListenAddress:
    """Where to serve: stdio (`host` None) or a WebSocket listener."""

    host: str | None = None
    port: int = 0

    @classmethod
    def parse(cls, text: str) -> ListenAddress:
        """`stdio://` (or `stdio`) or `ws://IP:PORT`; raises ValueError otherwise."""
        if text in ("stdio", "stdio://"):
            return cls()
        if text.startswith("ws://"):
            hostport = text[len("ws://") :].rstrip("/")
            host, sep, port = hostport.rpartition(":")
            if sep and host and port.isdigit() and int(port) < 65536:
                return cls(host.strip("[]"), int(port))
        raise ValueError(f"invalid --listen {text!r}: expected stdio:// or ws://IP:PORT")


class AppServer:
    """The whole server for one data dir."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.dispatcher = Dispatcher(self._handlers(), on_initialized=self._after_initialize)

    def _handlers(self) -> dict[str, Handler]:
        return {
            "initialize": InitializeHandler(self.config.data_dir),
        }

    def _after_initialize(self, session: ClientSession) -> None:
        for problem in self.config.problems:
            session.notify(
                Notification(
                    "configWarning",
                    ConfigWarningNotification(
                        summary=problem.summary, details=problem.details, path=problem.path
                    ),
                )
            )

    async def run(self, listen: ListenAddress, token: CapabilityToken | None = None) -> None:
        """Serve until the client leaves (stdio) or SIGTERM/SIGINT arrives."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        try:
            if listen.host is None:
                await serve_stdio(self.dispatcher, stop, stdout_fd=claim_stdout())
            else:
                await WebSocketListener(self.dispatcher, token).serve(
                    listen.host, listen.port, stop
                )
        finally:
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)
        log.info("app-server stopped")
