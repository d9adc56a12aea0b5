"""`modelProvider/list` and `modelProvider/capabilities/read`, from the configuration.

As codex 0.169: every `[model_providers.<id>]` table of the config (editable: it lives in the
user's `config.toml`), then the built-in `openai` (not editable, its endpoint not shown); the
default is `model_provider`. A table's auth is the environment variable it names (`env_key`),
credentials configured outside the form (`requires_openai_auth`, a bearer token), or none.
Capabilities are what this server's tools offer whatever the provider: no hosted web search and
no image generation (codex reports both true for its own backend).
"""

from __future__ import annotations

from app_server.agent.providers.provider_config import BUILTIN_PROVIDERS
from app_server.api.account import OPENAI_PROVIDER_ID, REQUIRES_OPENAI_AUTH_KEY
from app_server.client_connection import ClientConnection
from app_server.config import ServerConfig
from app_server.config.keys import ModelProviderToml
from protocol.types import (
    CustomGatewayProviderSettings,
    GatewayAuth,
    GatewayAuthEnvironmentVariable,
    ModeGatewayAuth,
    ModelProviderCapabilitiesReadParams,
    ModelProviderCapabilitiesReadResponse,
    ModelProviderListParams,
    ModelProviderListResponse,
    ModelProviderSummary,
    NoneGatewayAuth,
    OpenaiProviderSettings,
)


class ModelProviderHandlers:
    """Handlers of the two `modelProvider/*` read methods."""

    def __init__(self, config: ServerConfig) -> None:
        self._config = config

    async def list(
        self, connection: ClientConnection, params: ModelProviderListParams
    ) -> ModelProviderListResponse:
        toml = self._config.toml
        data = [
            self._custom(provider_id, table)
            for provider_id, table in toml.model_providers.items()
            if provider_id != OPENAI_PROVIDER_ID
        ]
        openai = BUILTIN_PROVIDERS[OPENAI_PROVIDER_ID]
        data.append(
            ModelProviderSummary(
                id=OPENAI_PROVIDER_ID,
                name=openai.name or OPENAI_PROVIDER_ID,
                can_edit=False,
                base_url=None,
                settings=OpenaiProviderSettings(),
            )
        )
        return ModelProviderListResponse(
            data=data, default_provider_id=toml.model_provider, can_change_default=True
        )

    def _custom(self, provider_id: str, table: ModelProviderToml) -> ModelProviderSummary:
        builtin = BUILTIN_PROVIDERS.get(provider_id)
        auth: GatewayAuth
        if self._config.get(f"model_providers.{provider_id}.{REQUIRES_OPENAI_AUTH_KEY}") is True:
            auth = ModeGatewayAuth(env_key=table.env_key)
        elif table.env_key:
            auth = GatewayAuthEnvironmentVariable(env_key=table.env_key)
        elif table.experimental_bearer_token:
            auth = ModeGatewayAuth(env_key=None)
        else:
            auth = NoneGatewayAuth()
        return ModelProviderSummary(
            id=provider_id,
            name=table.name or (builtin.name if builtin else None) or provider_id,
            can_edit=True,
            base_url=table.base_url or (builtin.base_url if builtin else None),
            settings=CustomGatewayProviderSettings(auth=auth),
        )

    async def capabilities(
        self, connection: ClientConnection, params: ModelProviderCapabilitiesReadParams
    ) -> ModelProviderCapabilitiesReadResponse:
        return ModelProviderCapabilitiesReadResponse(image_generation=False, web_search=False)
