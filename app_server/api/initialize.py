"""`initialize`: tell the client who we are and where the data lives (PROTOCOL.md §2.2).

The dispatcher owns the handshake state (gate, capabilities); this handler only builds the answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from app_server.api.identity import platform_family, platform_os, user_agent
from app_server.client_connection import ClientConnection
from protocol import types as wire

if TYPE_CHECKING:
    from protocol.types import InitializeParams, InitializeResponse


class InitializeHandler:
    """Answers `initialize` with the server's identity and data dir."""

    def __init__(self, data_dir: Path) -> None:
        self._data_dir = data_dir

    async def __call__(
        self, connection: ClientConnection, params: InitializeParams
    ) -> InitializeResponse:
        return wire.InitializeResponse(
            user_agent=user_agent(params.client_info.name, params.client_info.version),
            codex_home=str(self._data_dir),
            platform_family=platform_family(),
            platform_os=platform_os(),
        )
