"""`experimentalFeature/list`: the codex feature switches (`[features]`) this server honours.

Codex 0.169 lists its whole catalog (215 switches, most of them for parts of codex this server
does not have). Listing a switch that changes nothing here would invite a client to toggle it
for no effect, so only the switches that change what this server does are listed, with codex's
name and stage, and `enabled` as the loaded config says (README, "Compatibility").
"""

from __future__ import annotations

from collections.abc import Callable

from msgspec import Struct

from app_server.api.list_page import list_page
from app_server.client_connection import ClientConnection
from app_server.config import ConfigToml, ServerConfig
from protocol.types import (
    ExperimentalFeature,
    ExperimentalFeatureListParams,
    ExperimentalFeatureListResponse,
    ExperimentalFeatureStage,
)

DEFAULT_PAGE_SIZE = 100
"""Features per page when the client gives no limit (the list is short)."""


class _Switch(Struct, frozen=True):
    name: str
    stage: ExperimentalFeatureStage
    default_enabled: bool
    enabled: Callable[[ConfigToml], bool]


SWITCHES = (
    _Switch("multi_agent", "deprecated", True, lambda c: c.features.multi_agent),
    _Switch("multi_agent_v2", "stable", False, lambda c: c.features.multi_agent_v2),
    _Switch(
        "local_thread_store_compression",
        "underDevelopment",
        True,  # ours compresses cold rollouts unless told not to (codex: off by default)
        lambda c: (
            c.rollout_compression.enabled and c.features.local_thread_store_compression is not False
        ),
    ),
)
"""Codex's switches this server reads, in codex's catalog order."""


class ExperimentalFeatureHandlers:
    """Handler of `experimentalFeature/list`."""

    def __init__(self, config: ServerConfig) -> None:
        self._config = config

    async def list(
        self, connection: ClientConnection, params: ExperimentalFeatureListParams
    ) -> ExperimentalFeatureListResponse:
        toml = self._config.toml
        features = [
            ExperimentalFeature(
                name=switch.name,
                stage=switch.stage,
                display_name=None,
                description=None,
                announcement=None,
                enabled=switch.enabled(toml),
                default_enabled=switch.default_enabled,
            )
            for switch in SWITCHES
        ]
        page, next_cursor = list_page(features, params.cursor, params.limit, DEFAULT_PAGE_SIZE)
        return ExperimentalFeatureListResponse(data=page, next_cursor=next_cursor)
