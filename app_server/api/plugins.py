"""`plugin/installed` and `plugin/list`: the plugins and marketplaces a home has.

This server installs no plugins and reads no marketplace files (codex's
`.agents/plugins/marketplace.json`, its curated remote catalog), so both answer what codex 0.169
answers for a home without plugins or marketplaces: no marketplaces, no load errors (and no
featured plugins). Codex's clients call them to fill their plugin and `$` mention menus; an
answer, even an empty one, lets those menus open instead of showing an error.
"""

from __future__ import annotations

from app_server.api.path_params import check_absolute_paths
from app_server.client_connection import ClientConnection
from protocol.types import (
    PluginInstalledParams,
    PluginInstalledResponse,
    PluginListParams,
    PluginListResponse,
)


class PluginHandlers:
    """Handlers of `plugin/installed` and `plugin/list`."""

    async def installed(
        self, connection: ClientConnection, params: PluginInstalledParams
    ) -> PluginInstalledResponse:
        check_absolute_paths("cwds", params.cwds or ())
        return PluginInstalledResponse(marketplaces=[], marketplace_load_errors=[])

    async def list(
        self, connection: ClientConnection, params: PluginListParams
    ) -> PluginListResponse:
        check_absolute_paths("cwds", params.cwds or ())
        return PluginListResponse(
            marketplaces=[], marketplace_load_errors=[], featured_plugin_ids=[]
        )
