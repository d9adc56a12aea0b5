"""`config/read` and `configRequirements/read`: the server-wide configuration as codex shows it.

`config/read` reports the configuration new threads start from (`config.toml` under the `-c`
flags), with codex's field names, each set key's origin and, on request, the layers (see
`app_server.config.wire_view`). There are no managed requirements (`requirements.toml`, MDM) on
this server, so `configRequirements/read` answers `requirements: null`, as codex does without them.
"""

from __future__ import annotations

from app_server.client_connection import ClientConnection
from app_server.config import ServerConfig
from app_server.config.wire_view import config_read_response
from protocol.types import ConfigReadParams, ConfigReadResponse, ConfigRequirementsReadResponse


class ConfigReadHandlers:
    """Handlers of `config/read` and `configRequirements/read`."""

    def __init__(self, config: ServerConfig) -> None:
        self._config = config

    async def read(
        self, connection: ClientConnection, params: ConfigReadParams
    ) -> ConfigReadResponse:
        return config_read_response(
            self._config.effective, include_layers=bool(params.include_layers)
        )

    async def requirements(
        self, connection: ClientConnection, params: None
    ) -> ConfigRequirementsReadResponse:
        return ConfigRequirementsReadResponse(
            requirements=None, supports_independent_speed_modes=True
        )
