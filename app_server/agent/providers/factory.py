"""Build the provider for a `ProviderConfig`, reusing it (and its HTTP connections) across turns.

Opening a TLS connection costs more than a short turn, so providers are cached: the same config,
key and headers on the same event loop get the same provider object, whose `httpx` client keeps
a connection pool. The cache is per event loop because pooled connections belong to the loop that
opened them.

The provider modules (and `httpx` under them) are imported when the first provider is built, not
with this module: the server imports it at startup, and a process that only lists threads or
answers `initialize` should not pay for an HTTP stack it never uses (issue 17).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

import orjson

from app_server.agent.providers.base import ModelProvider
from app_server.agent.providers.provider_config import (
    ProviderConfig,
    resolve_api_key,
    resolve_headers,
)

if TYPE_CHECKING:
    from app_server.agent.providers.chat_provider import ChatCompletionsProvider
    from app_server.agent.providers.responses_provider import ResponsesProvider

    _Provider: TypeAlias = ResponsesProvider | ChatCompletionsProvider

_CacheKey = tuple[str, str, str | None, bytes]
_caches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[_CacheKey, _Provider]] = (
    weakref.WeakKeyDictionary()
)
_loopless: dict[_CacheKey, _Provider] = {}


def create_provider(
    config: ProviderConfig, data_dir: Path, environ: Mapping[str, str]
) -> ModelProvider:
    """The provider for `config` (by `wire_api`), cached per (id, base_url, key, settings).

    Raises `MissingCredentials` when the provider needs a key that is not configured.
    """
    api_key = resolve_api_key(config, data_dir, environ)
    headers = resolve_headers(config, environ)
    settings = orjson.dumps({"config": asdict(config), "headers": headers}, default=str)
    key: _CacheKey = (config.id, config.base_url, api_key, settings)
    cache = _cache_for_current_loop()
    provider = cache.get(key)
    if provider is None:
        if config.wire_api == "chat":
            from app_server.agent.providers.chat_provider import ChatCompletionsProvider

            provider = ChatCompletionsProvider(config, api_key, headers=headers)
        else:
            from app_server.agent.providers.responses_provider import ResponsesProvider

            provider = ResponsesProvider(config, api_key, headers=headers)
        cache[key] = provider
    return provider


async def close_providers() -> None:
    """Close every cached provider of the running loop (server shutdown)."""
    cache = _cache_for_current_loop()
    providers = list(cache.values())
    cache.clear()
    for provider in providers:
        await provider.aclose()


def _cache_for_current_loop() -> dict[_CacheKey, _Provider]:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return _loopless
    cache = _caches.get(loop)
    if cache is None:
        cache = _caches[loop] = {}
    return cache
