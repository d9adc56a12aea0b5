"""`account/read`, `account/rateLimits/read`, `account/bedrock/checkGovCloudRequirements`.

This server has no ChatGPT sign-in: the account is the API key the configured provider uses.
`account/read` answers `account: null` (or `{type: "apiKey"}` when the OpenAI key comes from
`<data dir>/auth.json`, as codex does) and `requiresOpenaiAuth` true only when the provider
needs an OpenAI key that is configured nowhere, so a client shows its login screen exactly when
a turn would fail for want of a key. Rate limits are the latest the model server reported in its
response headers (an empty snapshot until one did). Nothing here talks to Bedrock: never GovCloud.
"""

from __future__ import annotations

import asyncio
import os

from app_server.agent.providers.base import MissingCredentials, ProviderError
from app_server.agent.providers.provider_config import (
    OPENAI_API_KEY_ENV,
    provider_from_config,
    resolve_api_key,
)
from app_server.agent.rate_limits import DEFAULT_LIMIT_ID, RateLimitBoard
from app_server.client_connection import ClientConnection
from app_server.config import ServerConfig
from protocol.types import (
    ApiKeyAccount,
    BedrockCheckGovCloudRequirementsParams,
    BedrockCheckGovCloudRequirementsResponse,
    GetAccountParams,
    GetAccountRateLimitsParams,
    GetAccountRateLimitsResponse,
    GetAccountResponse,
    RateLimitSnapshot,
)

OPENAI_PROVIDER_ID = "openai"
REQUIRES_OPENAI_AUTH_KEY = "requires_openai_auth"
"""Codex's per-provider switch: the provider takes OpenAI credentials."""


class AccountHandlers:
    """Handlers of the `account/*` methods this server answers locally."""

    def __init__(self, config: ServerConfig, rate_limits: RateLimitBoard) -> None:
        self._config = config
        self._rate_limits = rate_limits

    async def read(
        self, connection: ClientConnection, params: GetAccountParams
    ) -> GetAccountResponse:
        return await asyncio.to_thread(self._account)  # may read auth.json

    def _account(self) -> GetAccountResponse:
        toml = self._config.toml
        provider_id = toml.model_provider
        openai_auth = provider_id == OPENAI_PROVIDER_ID or (
            self._config.get(f"model_providers.{provider_id}.{REQUIRES_OPENAI_AUTH_KEY}") is True
        )
        if not openai_auth:
            return GetAccountResponse(account=None, requires_openai_auth=False)
        try:
            provider = provider_from_config(toml, provider_id, os.environ)
            resolve_api_key(provider, self._config.data_dir, os.environ)
        except MissingCredentials:
            return GetAccountResponse(account=None, requires_openai_auth=True)
        except ProviderError:
            return GetAccountResponse(account=None, requires_openai_auth=False)
        from_auth_file = (
            provider.id == OPENAI_PROVIDER_ID
            and not provider.experimental_bearer_token
            and not os.environ.get(provider.env_key or OPENAI_API_KEY_ENV, "").strip()
        )
        account = ApiKeyAccount() if from_auth_file else None
        return GetAccountResponse(account=account, requires_openai_auth=False)

    async def rate_limits_read(
        self, connection: ClientConnection, params: GetAccountRateLimitsParams
    ) -> GetAccountRateLimitsResponse:
        latest = self._rate_limits.latest
        if not latest:
            return GetAccountRateLimitsResponse(rate_limits=RateLimitSnapshot())
        main = latest.get(DEFAULT_LIMIT_ID) or next(iter(latest.values()))
        return GetAccountRateLimitsResponse(rate_limits=main, rate_limits_by_limit_id=latest)

    async def bedrock_gov_cloud(
        self, connection: ClientConnection, params: BedrockCheckGovCloudRequirementsParams
    ) -> BedrockCheckGovCloudRequirementsResponse:
        return BedrockCheckGovCloudRequirementsResponse(is_gov_cloud=False, should_warn=False)
